"""Generation: predict, sample, append, slide the window; with a KV cache, stop strings and several samples.

The window. The model sees at most block_size (T) tokens and its positions are learned and absolute, so
a cached key computed at position p is wrong once the window slides and that token sits at p-1. So:

  * a prompt longer than T is cropped to its last T tokens;
  * while the window has room, each new token is one cached step (only its own row is computed);
  * when a new token would make the window T+1 long, the window jumps forward and keeps its last
    `keep` tokens (default 3/4 of T); the cache is emptied and filled again from that cropped window
    in one forward pass, and cached steps go on until it is full again.

Cropping only when full (not at every token, as nanoGPT's `generate` does) costs one forward pass per
T - keep tokens instead of one per token, and the model always sees at least `keep` tokens of context.
`use_cache=False` follows exactly the same windows without a cache (a full forward pass per token); the
tests check both give the same tokens. keep = T reproduces nanoGPT's crop-at-every-token windows.

The trace. With `trace`, generate_ids reports each step as it happens: a TokenStep per generated token
(its probability, rank and the entropy of the distribution it was drawn from, how many tokens survived the
filters) and a WindowSlide each time the window moves (a prompt longer than T cropped before the first
step; a full window jumping forward), with how many tokens were dropped and kept.

The unknown token. A model whose tokenizer has one (`<unk>`: the word model) never samples it
(Model.banned_ids): it stands for any word the vocabulary lacks, so it would write nothing readable.

Determinism: each sample draws from its own numpy Generator, child i of SeedSequence(seed), by inverse
CDF on float64 probabilities (tokcli.model.sampling.draw), so a seed gives the same text on every run.
Across machines the only source of difference is float32 matmul rounding in the BLAS build, which can
very rarely move a draw that falls right at a boundary between two tokens.
"""

from __future__ import annotations

import codecs
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from tokcli.errors import UsageError

from .limits import MAX_SAMPLES, MAX_TOKENS, MAX_TOTAL_TOKENS
from .model import Model
from .sampling import Filtered, SamplingOptions, filter_logits, sample, sample_filtered
from .threads import single_thread


@dataclass(frozen=True)
class GenerateOptions:
    max_tokens: int = 200  # new tokens per sample at most
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    seed: int | None = None  # None: a fresh random seed (reported in GenerationStats.seed)
    num_samples: int = 1  # independent continuations of the same prompt
    stop: tuple[str, ...] = ()  # stop a sample when its text contains one of these (not included)
    keep: int | None = None  # tokens kept when the window slides; default 3/4 of the context
    use_cache: bool = True  # False: a full forward pass per token (the reference the tests compare with)
    trace: bool = False  # record a TokenStep per token and a WindowSlide per window move (Generation.trace)

    def __post_init__(self) -> None:
        if self.max_tokens < 0:
            raise UsageError(f"--max-tokens {self.max_tokens}: give a number >= 0")
        if self.num_samples < 1:
            raise UsageError(f"--num-samples {self.num_samples}: give a number >= 1")
        if self.max_tokens > MAX_TOKENS:
            raise UsageError(f"--max-tokens {self.max_tokens}: give at most {MAX_TOKENS:,} tokens per sample")
        if self.num_samples > MAX_SAMPLES:
            raise UsageError(f"--num-samples {self.num_samples}: give at most {MAX_SAMPLES:,} samples")
        if self.max_tokens * self.num_samples > MAX_TOTAL_TOKENS:
            raise UsageError(
                f"--max-tokens {self.max_tokens} x --num-samples {self.num_samples} is more than the "
                f"{MAX_TOTAL_TOKENS:,} tokens tokcli generates in one run; give fewer samples or tokens"
            )
        if any(s == "" for s in self.stop):
            raise UsageError("--stop: give a non-empty string")
        if self.seed is not None and self.seed < 0:
            raise UsageError(f"--seed {self.seed}: give a number >= 0")


@dataclass(frozen=True)
class TokenStep:
    """One generated token, as the trace reports it. Probabilities are after the repetition penalty."""

    step: int  # 1-based: the n-th token of this sample
    id: int
    token: str
    prob: float  # the model's probability of it (temperature 1)
    p_sample: float  # its probability in the draw (after temperature, top-k, top-p, min-p, <unk> masking)
    rank: int  # 1 = the model's most likely token (ties share a rank)
    entropy_bits: float  # entropy of the model's distribution (temperature 1), in bits
    sample_entropy_bits: float  # entropy of the distribution the draw used, in bits (0: greedy)
    kept: int  # tokens that survived the sampling filters
    context: int  # tokens in the window the prediction saw

    def to_dict(self) -> dict[str, object]:
        return {"event": "token", **asdict(self)}


@dataclass(frozen=True)
class WindowSlide:
    """The window moved before step `before_step`: `dropped` tokens left it, `kept` stayed."""

    before_step: int  # the first step that sees the new window (1-based)
    kind: Literal["crop", "slide"]  # crop: the prompt was longer than the context; slide: the window was full
    dropped: int
    kept: int
    context: int  # the model's context length (block_size)

    def to_dict(self) -> dict[str, object]:
        return {"event": "window", **asdict(self)}


TraceFn = Callable[[TokenStep | WindowSlide], None]


def entropy_bits(p: np.ndarray) -> float:
    """Shannon entropy of a distribution, in bits (0 log 0 = 0)."""
    q = p[p > 0]
    return float(-(q * np.log2(q)).sum()) + 0.0


def token_step(model: Model, step: int, tok: int, f: Filtered, context: int) -> TokenStep:
    probs = f.probs
    return TokenStep(
        step=step,
        id=tok,
        token=model.tokenizer.id_to_token(tok),
        prob=float(probs[tok]),
        p_sample=float(f.sample_probs[tok]),
        rank=int((probs > probs[tok]).sum()) + 1,
        entropy_bits=entropy_bits(probs),
        sample_entropy_bits=entropy_bits(f.sample_probs),
        kept=int(f.keep.sum()),
        context=context,
    )


def window_keep(model: Model, keep: int | None) -> int:
    T = model.block_size
    k = T - T // 4 if keep is None else keep
    if not 1 <= k <= T:
        raise UsageError(f"keep {k}: give 1 to {T} tokens to keep when the window slides")
    return k


def generate_ids(
    model: Model,
    prompt_ids: Sequence[int],
    max_tokens: int,
    sampling: SamplingOptions,
    rng: np.random.Generator,
    *,
    keep: int | None = None,
    use_cache: bool = True,
    state: dict[str, list[int]] | None = None,
    trace: TraceFn | None = None,
) -> Iterator[int]:
    """New token ids after `prompt_ids` (at least one), one at a time; see the module docstring.

    `state`, when given, is kept up to date with "window" (the ids the last prediction saw).
    `trace`, when given, is called with each TokenStep and WindowSlide as it happens (the tokens drawn are
    the same with or without it). The repetition penalty looks at the tokens of the current window.
    """
    if not prompt_ids:
        raise UsageError("the prompt has no tokens: give some text to continue")
    T = model.block_size
    k = window_keep(model, keep)
    tokens = list(prompt_ids)
    start = max(0, len(tokens) - T)  # the window is tokens[start:]
    cache = model.new_cache() if use_cache else None
    banned = model.banned_ids
    if trace is not None and start > 0 and max_tokens > 0:
        trace(WindowSlide(before_step=1, kind="crop", dropped=start, kept=len(tokens) - start, context=T))

    def predict(new: Sequence[int]) -> np.ndarray:  # logits [V] of the token after tokens[start:]
        if state is not None:
            state["window"] = tokens[start:]
        with single_thread():  # see tokcli/model/threads.py
            if cache is None:
                last: np.ndarray = model.forward(tokens[start:])[-1]
                return last
            return model.forward_cached(new, cache)

    logits = predict(tokens[start:])
    for i in range(max_tokens):
        window = tokens[start:]
        if trace is None:
            tok = sample(logits, sampling, rng, window, banned)
        else:
            f = filter_logits(logits, sampling, window, banned)
            tok = sample_filtered(f, sampling, rng)
            trace(token_step(model, i + 1, tok, f, len(window)))
        tokens.append(tok)
        yield tok
        if i == max_tokens - 1:
            break
        if len(tokens) - start > T:  # the window is full: jump, and rebuild the cache from what is kept
            if trace is not None:
                trace(WindowSlide(before_step=i + 2, kind="slide", dropped=len(tokens) - k - start, kept=k, context=T))
            start = len(tokens) - k
            if cache is not None:
                cache.reset()
            logits = predict(tokens[start:])
        else:
            logits = predict([tok])


@dataclass
class GenerationStats:
    prompt_tokens: int = 0  # tokens of the prompt as given (before cropping)
    generated_tokens: int = 0
    context_tokens: int = 0  # tokens in the window of the last prediction
    context_chars: int = 0  # characters those tokens stand for
    elapsed_s: float = 0.0
    stopped_by: str = "max_tokens"  # max_tokens | stop
    seed: int = 0  # the seed of the whole run (every sample)
    sample: int = 0  # which sample (0-based)

    @property
    def tokens_per_s(self) -> float:
        return self.generated_tokens / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "generated_tokens": self.generated_tokens,
            "context_tokens": self.context_tokens,
            "context_chars": self.context_chars,
            "elapsed_s": round(self.elapsed_s, 4),
            "tokens_per_s": round(self.tokens_per_s, 1),
            "stopped_by": self.stopped_by,
        }


class Generation:
    """One sample as text pieces, as tokens arrive: `for piece in g: ...`, then `g.text`, `g.stats`.

    Pieces are whole UTF-8 characters (a byte-level token may carry part of one); text that could be the
    start of a stop string is held back until it is clear that it is not.
    """

    def __init__(
        self,
        model: Model,
        prompt_ids: Sequence[int],
        options: GenerateOptions,
        rng: np.random.Generator,
        *,
        seed: int = 0,
        sample: int = 0,
    ) -> None:
        self.model, self.prompt_ids, self.options, self.rng = model, list(prompt_ids), options, rng
        self.ids: list[int] = []
        self.trace: list[TokenStep | WindowSlide] = []  # filled when options.trace
        self.text = ""
        self.stats = GenerationStats(prompt_tokens=len(self.prompt_ids), seed=seed, sample=sample)

    def __iter__(self) -> Iterator[str]:
        o, tok = self.options, self.model.tokenizer
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stops = _StopFilter(o.stop)
        state: dict[str, list[int]] = {}
        t0 = time.perf_counter()
        try:
            for t in generate_ids(
                self.model,
                self.prompt_ids,
                o.max_tokens,
                o.sampling,
                self.rng,
                keep=o.keep,
                use_cache=o.use_cache,
                state=state,
                trace=self.trace.append if o.trace else None,
            ):
                self.ids.append(t)
                piece, stopped = stops.push(decoder.decode(tok.token_bytes(t)))
                if piece:
                    self.text += piece
                    yield piece
                if stopped:
                    self.stats.stopped_by = "stop"
                    return
            piece, _ = stops.push(decoder.decode(b"", final=True))
            piece += stops.flush()
            if piece:
                self.text += piece
                yield piece
        finally:
            s = self.stats
            s.elapsed_s = time.perf_counter() - t0
            s.generated_tokens = len(self.ids)
            window = state.get("window", [])
            s.context_tokens = len(window)
            s.context_chars = len(tok.decode(window)) if window else 0


def generate(model: Model, prompt: str | Sequence[int], options: GenerateOptions | None = None) -> Iterator[Generation]:
    """`num_samples` Generations of `prompt` (text or ids), each with its own Generator (see the module doc).

    Iterate each Generation to run it; sample i is the same for a seed whatever num_samples is.
    """
    o = options or GenerateOptions()
    ids = model.encode(prompt) if isinstance(prompt, str) else list(prompt)
    seed = o.seed if o.seed is not None else secrets.randbits(32)
    children = np.random.SeedSequence(seed).spawn(o.num_samples)
    for i, ss in enumerate(children):
        yield Generation(model, ids, o, np.random.default_rng(ss), seed=seed, sample=i)


def prompt_ids(model: Model, prompt: str) -> tuple[list[int], list[str]]:
    """The prompt's ids and notes for the user; an empty prompt starts from a newline token."""
    notes = []
    ids = model.encode(prompt)
    if not ids:
        ids = model.encode("\n")
        if not ids:
            raise UsageError("the prompt is empty and the model has no newline token to start from: give a prompt")
        notes.append("empty prompt: starting from a newline")
    if len(ids) > model.block_size:
        notes.append(
            f"the prompt is {len(ids)} tokens; the model sees only the last {model.block_size} (its context length)"
        )
    return ids, notes


class _StopFilter:
    """Cuts the text at the first stop string, holding back a tail that may be the start of one."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.held = ""

    def push(self, piece: str) -> tuple[str, bool]:
        if not self.stops:
            return piece, False
        buf = self.held + piece
        hits = [i for i in (buf.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.held = ""
            return buf[: min(hits)], True
        hold = 0
        for s in self.stops:  # the longest tail of buf that is a proper prefix of a stop string
            for n in range(min(len(s) - 1, len(buf)), hold, -1):
                if buf.endswith(s[:n]):
                    hold = n
                    break
        self.held = buf[len(buf) - hold :] if hold else ""
        return buf[: len(buf) - hold], False

    def flush(self) -> str:
        out, self.held = self.held, ""
        return out
