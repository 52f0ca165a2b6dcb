"""`tokcli score`: the probability a model gives to whole continuations of a prompt.

    P(continuation | prompt) = product over its tokens c_i of P(c_i | prompt, c_1 .. c_{i-1})

Each factor is the softmax of the model's logits at the position before c_i, so the log-probability is
the sum of the tokens' log-probabilities (natural logs: nats; bits = nats / ln 2). Among the given
continuations the probabilities are also normalised, softmax over their log-probabilities: "of these
answers, how the model splits its belief", which is the seed's table (it is not the share of all possible
continuations, most of which nobody listed).

The tokens at the boundary. A continuation is scored as the tokens the model would see in the joined
text: encode(prompt + continuation) after the prompt's own tokens, when encode(prompt) is a prefix of it
("joint"). A tokenizer may instead merge across the boundary (BPE: a prompt ending in a space, where
" dog" is one token but the prompt holds the space alone); then the continuation is tokenised apart and
appended to the prompt's tokens ("apart"), and the result says so. Leading spaces matter: "To be" + " or"
is not "To be" + "or".

The window. Each token is predicted from the tokens before it as `generate` would have seen them: a
prompt longer than the context is cropped to its last T tokens, and when the window is full it jumps
forward keeping the last `keep` (3/4 of T), so every token sees between `keep` and T tokens of context
(GenerationStats / tokcli.model.generate). One forward pass covers every token a window predicts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tokcli.errors import UsageError

from .generate import window_keep
from .model import Model

MAX_CONTINUATIONS = 100
MAX_CONTINUATION_TOKENS = 2048
LN2 = math.log(2)

LogitsFn = Callable[[np.ndarray], np.ndarray]  # ids [T] -> logits [T, V]


@dataclass(frozen=True)
class Split:
    """A continuation's tokens after the prompt's, and how they were found (see the module docstring)."""

    prompt_ids: list[int]
    cont_ids: list[int]
    joint: bool  # True: the tokens of prompt + continuation; False: the continuation tokenised apart


def split_ids(encode: Callable[[str], list[int]], prompt: str, continuation: str) -> Split:
    p = encode(prompt)
    full = encode(prompt + continuation)
    if full[: len(p)] == p and len(full) > len(p):
        return Split(p, full[len(p) :], True)
    return Split(p, encode(continuation), False)


@dataclass(frozen=True)
class TokenScore:
    id: int
    token: str
    logprob: float  # natural log
    rank: int  # 1 = the model's most likely token at that position
    context: int  # tokens the prediction saw

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "token": self.token, "logprob": self.logprob, "prob": math.exp(self.logprob),
                "rank": self.rank, "context": self.context}  # fmt: skip


@dataclass
class ContinuationScore:
    text: str
    split: Split
    tokens: list[TokenScore]
    normalized: float = 0.0  # its share among the given continuations (filled by score_continuations)

    @property
    def logprob(self) -> float:
        return float(sum(t.logprob for t in self.tokens))

    @property
    def prob(self) -> float:
        return math.exp(self.logprob)

    def to_dict(self, *, tokens: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "text": self.text,
            "prob": self.prob,
            "logprob": self.logprob,
            "bits": -self.logprob / LN2,
            "normalized": self.normalized,
            "n_tokens": len(self.tokens),
            "boundary": "joint" if self.split.joint else "apart",
        }
        if tokens:
            d["tokens"] = [t.to_dict() for t in self.tokens]
        return d


@dataclass
class ScoreReport:
    model: str
    prompt: str
    prompt_ids: list[int]
    context: int  # the model's context length
    continuations: list[ContinuationScore]
    notes: list[str] = field(default_factory=list)

    def to_dict(self, *, tokens: bool = True) -> dict[str, Any]:
        return {
            "model": self.model,
            "prompt": self.prompt,
            "prompt_tokens": len(self.prompt_ids),
            "context": self.context,
            "units": "logprob in nats (natural log), bits = -logprob / ln 2",
            "continuations": [c.to_dict(tokens=tokens) for c in self.continuations],
        }


def normalize(logprobs: Sequence[float]) -> list[float]:
    """softmax of log-probabilities: the shares among them, summing to 1 (all zero when none is finite)."""
    a = np.asarray(logprobs, dtype=np.float64)
    if a.size == 0 or not np.isfinite(a).any():
        return [0.0] * a.size
    e = np.exp(a - a[np.isfinite(a)].max())
    return [float(x) for x in e / e.sum()]


def log_softmax(rows: np.ndarray) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float64)  # [R, V]
    m = x.max(axis=-1, keepdims=True)
    out: np.ndarray = x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))
    return out


def token_logprobs(
    logits_fn: LogitsFn, ids: Sequence[int], first: int, block_size: int, keep: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log P(ids[t] | its window), rank, context length) for t = first .. len(ids)-1; `generate`'s windows."""
    a = np.asarray(ids, dtype=np.int64)
    n, T = len(a), block_size
    if not 1 <= first <= n:
        raise UsageError("nothing to score: give a prompt and a non-empty continuation")
    lp, rank, ctx = [], [], []
    start = max(0, first - T)  # the window before target t is a[start:t]
    t = first
    while t < n:
        if t - start > T:
            start = t - keep
        u = min(n - 1, start + T)  # this window predicts targets t..u
        logits = logits_fn(a[start:u])  # [u - start, V]; row r predicts a[start + r + 1]
        rows = log_softmax(logits[t - 1 - start : u - start])  # [u - t + 1, V]
        tgt = a[t : u + 1]
        got = rows[np.arange(len(tgt)), tgt]
        lp.append(got)
        rank.append((rows > got[:, None]).sum(axis=1) + 1)
        ctx.append(np.arange(t, u + 1) - start)
        t = u + 1
    return np.concatenate(lp), np.concatenate(rank), np.concatenate(ctx)


def check_continuations(continuations: Sequence[str]) -> list[str]:
    if not continuations:
        raise UsageError("no continuation: give one or more with -c TEXT")
    if len(continuations) > MAX_CONTINUATIONS:
        raise UsageError(f"{len(continuations)} continuations: give at most {MAX_CONTINUATIONS}")
    for c in continuations:
        if c == "":
            raise UsageError("-c '': give a non-empty continuation")
    return list(dict.fromkeys(continuations))


def score_continuations(
    model: Model, prompt: str, continuations: Sequence[str], *, logits_fn: LogitsFn | None = None
) -> ScoreReport:
    """Score each continuation of `prompt` (see the module docstring). `logits_fn` defaults to the model's
    forward pass (tests give a function whose probabilities they know)."""
    conts = check_continuations(continuations)
    if prompt == "":
        raise UsageError("the prompt is empty: give the text the continuations follow")
    fn = logits_fn or model.forward
    T, keep = model.block_size, window_keep(model, None)
    tok = model.tokenizer
    out, notes = [], []
    if len(conts) < len(continuations):
        notes.append("a continuation given twice is scored once")
    prompt_ids: list[int] = []
    for c in conts:
        sp = split_ids(model.encode, prompt, c)
        prompt_ids = sp.prompt_ids
        if not sp.prompt_ids:
            raise UsageError("the prompt has no tokens: give some text")
        if len(sp.cont_ids) > MAX_CONTINUATION_TOKENS:
            raise UsageError(f"a continuation of {len(sp.cont_ids)} tokens: give at most {MAX_CONTINUATION_TOKENS}")
        if not sp.joint:
            notes.append(
                f"{c!r} merges with the end of the prompt when joined; scored as its own tokens after the prompt's"
            )
        ids = sp.prompt_ids + sp.cont_ids
        lp, rank, ctx = token_logprobs(fn, ids, len(sp.prompt_ids), T, keep)
        toks = [TokenScore(int(i), tok.id_to_token(int(i)), float(x), int(r), int(k))
                for i, x, r, k in zip(sp.cont_ids, lp, rank, ctx, strict=True)]  # fmt: skip
        out.append(ContinuationScore(c, sp, toks))
    for cs, share in zip(out, normalize([cs.logprob for cs in out]), strict=True):
        cs.normalized = share
    if len(prompt_ids) > T:
        notes.append(f"the prompt is {len(prompt_ids)} tokens; the model sees only the last {T} (its context length)")
    return ScoreReport(model.name, prompt, prompt_ids, T, out, notes)
