"""`tokcli lm eval`: a deterministic pass over a whole text with sliding windows, and the same text scored
by Kneser-Ney n-gram baselines, all in the same units.

Windows. A model with a context of T tokens sees windows of at most T tokens, and window k starts
`stride` tokens after window k - 1 (the last window is moved back so that it ends at the text's end). Row t of
a window's logits predicts the token after position t, so a window ids[s:e] can score the tokens s+1..e. Every
token after the first is scored exactly once, in the first window that reaches it: the first window scores
all its T tokens (with 1..T tokens of context), every later one only its last `stride` tokens (with at
least T - stride + 1 tokens of context). stride = T scores each token once with no overlap (fast, less
context); stride = 1 gives every token a full window (T times slower). The default is T // 2.

Units. nats/token is the mean negative log-likelihood of the scored tokens (the first token, with nothing
before it, is not scored). Per character and per byte it is charged to the whole text, as the trainer
reports it:  bits/char = nats/token x tokens / chars / ln 2  and  bits/byte = nats/token x tokens / bytes /
ln 2; so a model that spreads its probability evenly over V tokens scores exactly log2(V) x tokens / chars
bits per character. Perplexity is exp(nats/token). Tokenizers are compared fairly only per character or
per byte: a token of a bigger vocabulary carries more text.

Context. The average context is the number of tokens (and the characters they cover) a scored token was
predicted from: its position in its window. Characters per token come from each token's bytes (a
character counts where its first UTF-8 byte is); an unknown token's characters are what the rest leaves.

The model is any `logits_fn(ids) -> logits [len(ids), V]`, e.g. `tokcli.model.load_model(spec).forward`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tokcli.errors import UsageError
from tokcli.files.text import split_holdout
from tokcli.tokenizer.base import Tokenizer

from .ngram import MAX_ORDER, KneserNey, NgramResult

LN2 = math.log(2)

LogitsFn = Callable[[np.ndarray], np.ndarray]  # ids [T] -> logits [T, V]


@dataclass(frozen=True)
class Window:
    start: int  # the window is ids[start:end]
    end: int
    first: int  # the first token it scores; it scores first..end (ids[end] is predicted by the last row)

    @property
    def scored(self) -> int:
        return self.end - self.first + 1


@dataclass(frozen=True)
class TextStats:
    chars: int
    bytes: int
    tokens: int
    unk_tokens: int  # tokens that are the tokenizer's unknown token (they make the text look easy)


@dataclass
class EvalResult:
    """The Transformer's score on one text, and the n-gram baselines' on the same tokens."""

    model: str
    tokenizer: str
    vocab_size: int
    block_size: int
    stride: int
    text: TextStats
    scored_tokens: int
    windows: int
    nats_per_token: float
    bits_per_token: float
    bits_per_char: float
    bits_per_byte: float
    perplexity: float
    avg_context_tokens: float
    avg_context_chars: float
    seconds: float
    tokens_per_second: float
    baselines: list[NgramResult] = field(default_factory=list)
    ngram_train_tokens: int | None = None  # tokens the n-gram baselines were trained on

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def windows(n_tokens: int, block_size: int, stride: int) -> list[Window]:
    """The sliding windows that score tokens 1..n_tokens-1 of a text of n_tokens tokens once each."""
    if block_size < 1:
        raise UsageError(f"context {block_size}: must be at least 1")
    if not 1 <= stride <= block_size:
        raise UsageError(f"--stride {stride}: choose 1 to the model's context ({block_size})")
    out: list[Window] = []
    done = 0  # tokens 1..done are scored
    last = n_tokens - 1
    start = 0
    while done < last:
        end = min(start + block_size, last)
        s = max(0, end - block_size)  # the last window is moved back: the most context that fits
        out.append(Window(start=s, end=end, first=done + 1))
        done = end
        start += stride
    return out


def token_char_lengths(tokenizer: Tokenizer, ids: np.ndarray, n_chars: int) -> np.ndarray:
    """Characters each token covers (float64 [n]), summing to n_chars.

    From the token's bytes: a character is counted where its first UTF-8 byte is. The unknown token's
    characters are unknowable from the ids: each one gets an equal share of what the others leave, and
    when the lengths still disagree with the text (a normalising tokenizer) they are scaled to it.
    """
    uniq, inv = np.unique(ids, return_inverse=True)
    lens = np.array([sum(1 for b in tokenizer.token_bytes(int(i)) if b & 0xC0 != 0x80) for i in uniq], float)
    per = lens[inv]
    if tokenizer.unk_id is not None:
        unk = ids == tokenizer.unk_id
        if unk.any():
            rest = n_chars - per[~unk].sum()
            per[unk] = max(rest, 0.0) / unk.sum()
    total = per.sum()
    if total > 0 and abs(total - n_chars) > 1e-6:
        per *= n_chars / total
    return per


def score(logits_fn: LogitsFn, ids: np.ndarray, block_size: int, stride: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Negative log-likelihoods (nats, float64) of ids[1:], the context each was predicted from (in
    tokens), and the number of windows."""
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    nll = np.empty(max(n - 1, 0))
    context = np.empty(max(n - 1, 0), dtype=np.int64)
    wins = windows(n, block_size, stride)
    for w in wins:
        logits = np.asarray(logits_fn(ids[w.start : w.end]), dtype=np.float64)  # [e - s, V]
        rows = logits[w.first - 1 - w.start :]  # the rows that predict tokens first..end
        mx = rows.max(axis=1, keepdims=True)
        lse = (mx + np.log(np.exp(rows - mx).sum(axis=1, keepdims=True)))[:, 0]  # [k]
        targets = ids[w.first : w.end + 1]
        nll[w.first - 1 : w.end] = lse - rows[np.arange(len(targets)), targets]
        context[w.first - 1 : w.end] = np.arange(w.first, w.end + 1) - w.start
    return nll, context, len(wins)


def text_stats(text: str, tokenizer: Tokenizer, ids: np.ndarray) -> TextStats:
    unk = int((ids == tokenizer.unk_id).sum()) if tokenizer.unk_id is not None else 0
    return TextStats(chars=len(text), bytes=len(text.encode("utf-8")), tokens=len(ids), unk_tokens=unk)


def _units(nats_per_token: float, t: TextStats) -> dict[str, Any]:
    return {
        "nats_per_token": nats_per_token,
        "bits_per_char": nats_per_token * t.tokens / t.chars / LN2,
        "bits_per_byte": nats_per_token * t.tokens / t.bytes / LN2,
        "perplexity": math.exp(min(nats_per_token, 700.0)),
    }


def evaluate(
    logits_fn: LogitsFn,
    text: str,
    tokenizer: Tokenizer,
    block_size: int,
    *,
    stride: int | None = None,
    ngram_train: str | None = None,
    max_order: int = MAX_ORDER,
    model_name: str = "transformer",
    on_window: Callable[[int, int], None] | None = None,
) -> EvalResult:
    """Score `text` with the model (sliding windows) and, given `ngram_train`, with Kneser-Ney n-grams of
    orders 1..max_order trained on it with the same tokenizer. on_window(done, total) reports progress."""
    stride = (block_size // 2 or 1) if stride is None else stride
    ids = np.asarray(tokenizer.encode(text), dtype=np.int64)
    if len(ids) < 2:
        raise UsageError(f"the text has {len(ids)} token(s); evaluation needs at least 2")
    stats = text_stats(text, tokenizer, ids)
    fn = logits_fn
    if on_window is not None:
        total = len(windows(len(ids), block_size, stride))
        done = [0]

        def fn(x: np.ndarray) -> np.ndarray:
            r = logits_fn(x)
            done[0] += 1
            on_window(done[0], total)
            return r

    t0 = time.perf_counter()
    nll, ctx, n_windows = score(fn, ids, block_size, stride)
    seconds = time.perf_counter() - t0
    nats = float(nll.mean())
    per_char = token_char_lengths(tokenizer, ids, stats.chars)
    cum = np.concatenate([[0.0], np.cumsum(per_char)])  # cum[i]: characters of tokens 0..i-1
    pos = np.arange(1, len(ids))
    ctx_chars = cum[pos] - cum[pos - ctx]
    result = EvalResult(
        model=model_name, tokenizer=tokenizer.name, vocab_size=tokenizer.vocab_size, block_size=block_size,
        stride=stride, text=stats, scored_tokens=len(nll), windows=n_windows, **_units(nats, stats),
        bits_per_token=nats / LN2, avg_context_tokens=float(ctx.mean()), avg_context_chars=float(ctx_chars.mean()),
        seconds=seconds, tokens_per_second=len(nll) / seconds if seconds > 0 else 0.0,
    )  # fmt: skip
    if ngram_train is not None:
        train_ids = tokenizer.encode(ngram_train)
        result.baselines = ngram_baselines(train_ids, ids, tokenizer.vocab_size, stats, max_order=max_order)
        result.ngram_train_tokens = len(train_ids)
    return result


def ngram_baselines(
    train_ids: Sequence[int] | np.ndarray,
    ids: np.ndarray,
    vocab_size: int,
    stats: TextStats,
    *,
    max_order: int = MAX_ORDER,
) -> list[NgramResult]:
    """Kneser-Ney models of orders 1..max_order on train_ids, scored on ids[1:] (the tokens the
    Transformer scores), in the same units."""
    if len(train_ids) == 0:
        raise UsageError("the n-gram training text is empty")
    lm = KneserNey.train(np.asarray(train_ids, dtype=np.int64), vocab_size, max_order=max_order)
    out = []
    for order in range(1, lm.max_order + 1):
        t0 = time.perf_counter()
        nats = float(-lm.logprobs(ids, order).mean())
        seconds = time.perf_counter() - t0
        out.append(NgramResult(order=order, tokens=len(ids) - 1, seconds=seconds, **_units(nats, stats)))
    return out


def split_texts(texts: Sequence[str], split: str, val_fraction: float) -> tuple[str, str | None]:
    """(text to evaluate, text to train the n-grams on or None) for split all | val | train, applied to each
    text as `lm train` splits it: val is the last val_fraction of each text's characters, train the first
    part. Only val leaves an honest training text for the n-grams (the first part)."""
    if split not in ("all", "val", "train"):
        raise UsageError(f"--split {split!r}: choose all, val or train")
    if not 0 < val_fraction < 1:
        raise UsageError(f"--val-fraction {val_fraction} must be between 0 and 1")
    if split == "all":
        return "".join(texts), None
    parts = [split_holdout(t, val_fraction) for t in texts]
    train, val = "".join(p[0] for p in parts), "".join(p[1] for p in parts)
    return (val, train) if split == "val" else (train, None)


def eval_texts(
    texts: Sequence[str],
    split: str,
    val_fraction: float,
    *,
    baseline: str = "none",
    train_text: Sequence[str] | None = None,
) -> tuple[str, str | None]:
    """(text to evaluate, text to train the n-grams on or None) for `lm eval`: the split of `texts`, and the
    n-grams' training text: `train_text` whole when given (it implies the ngram baseline), else with
    baseline 'ngram' the first part of the inputs, which only split 'val' leaves honest."""
    if baseline not in ("none", "ngram"):
        raise UsageError(f"--baseline {baseline!r}: choose none or ngram")
    text, rest = split_texts(texts, split, val_fraction)
    if train_text:
        return text, "".join(train_text)
    if baseline == "none":
        return text, None
    if rest is None:
        raise UsageError("--baseline ngram needs --train-text FILE (the model's training split), "
                         "or --split val to train the n-grams on the first part of the inputs")  # fmt: skip
    return text, rest
