"""Turning logits into a next token: repetition penalty, temperature, top-k, top-p, min-p, then a draw.

The order is HF transformers' (`generate`: logits processors, then warpers):

    1. repetition penalty  on the raw logits of tokens already in the context (CTRL's rule: a positive
                           logit is divided by the penalty, a negative one multiplied by it)
    2. temperature         logits / T; T = 0 means greedy: only the most likely token survives
    3. top-k               keep the k most likely tokens (ties with the k-th are kept, as HF); 0 = off
    4. top-p (nucleus)     keep the most likely tokens until their probability reaches p; 1 = off
    5. min-p               keep tokens whose probability is at least min_p x the top token's; 0 = off

Each filter sees the distribution the previous one left (renormalised), and each keeps at least one token.
Before them, `banned` ids (a model's unknown token, `<unk>`: it stands for any word the vocabulary lacks,
so drawing it writes nothing a reader can use) get no probability in the draw, as HF's `bad_words_ids`
does; the model's own probability of them (`Filtered.probs`) is still reported.
The draw is by inverse CDF on float64 probabilities with one `rng.random()` per token, so a seed gives
the same draw on every machine for the same logits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from tokcli.errors import UsageError

ORDER = ("repetition_penalty", "temperature", "top_k", "top_p", "min_p")


@dataclass(frozen=True)
class SamplingOptions:
    temperature: float = 1.0  # 0 = greedy (argmax); below 1 sharper, above 1 flatter
    top_k: int = 0  # keep the k most likely tokens; 0 = off
    top_p: float = 1.0  # nucleus: smallest set of top tokens with probability >= p; 1 = off
    min_p: float = 0.0  # drop tokens below min_p x the top probability; 0 = off
    repetition_penalty: float = 1.0  # > 1 discourages tokens already in the context; 1 = off

    def __post_init__(self) -> None:
        check(self)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def check(o: SamplingOptions) -> None:
    """UsageError (exit 2) for a value out of range."""
    if not math.isfinite(o.temperature) or o.temperature < 0:
        raise UsageError(f"--temperature {o.temperature}: give a number >= 0 (0 = greedy)")
    if o.top_k < 0:
        raise UsageError(f"--top-k {o.top_k}: give a number >= 0 (0 = off)")
    if not (0 < o.top_p <= 1):
        raise UsageError(f"--top-p {o.top_p}: give a number in (0, 1] (1 = off)")
    if not (0 <= o.min_p <= 1):
        raise UsageError(f"--min-p {o.min_p}: give a number in [0, 1] (0 = off)")
    if not math.isfinite(o.repetition_penalty) or o.repetition_penalty <= 0:
        raise UsageError(f"--repetition-penalty {o.repetition_penalty}: give a number > 0 (1 = off)")


def softmax64(logits: np.ndarray) -> np.ndarray:
    """Probabilities in float64; -inf logits get probability 0."""
    x = np.asarray(logits, dtype=np.float64)  # [V]
    e = np.exp(x - x.max())  # [V]
    p: np.ndarray = e / e.sum()  # [V]
    return p


def apply_repetition_penalty(logits: np.ndarray, seen: Iterable[int], penalty: float) -> np.ndarray:
    """CTRL's penalty on the tokens in `seen` (each once, however often it occurs). Returns a new array."""
    out = np.array(logits, dtype=np.float64)  # [V]
    if penalty == 1.0:
        return out
    idx = np.unique(np.fromiter(seen, dtype=np.int64))  # [S]
    if idx.size:
        v = out[idx]
        out[idx] = np.where(v > 0, v / penalty, v * penalty)
    return out


def top_k_mask(probs: np.ndarray, k: int) -> np.ndarray:
    """Keep the k most probable (and any tied with the k-th); k = 0 or k >= V keeps all."""
    if k <= 0 or k >= probs.size:
        return probs > 0
    kth = np.partition(probs, probs.size - k)[probs.size - k]  # the k-th largest
    keep: np.ndarray = probs >= kth  # [V] bool
    return keep


def top_p_mask(probs: np.ndarray, p: float) -> np.ndarray:
    """Keep the most probable tokens until their cumulative probability reaches p (at least one)."""
    if p >= 1.0:
        return probs > 0
    order = np.argsort(-probs, kind="stable")  # [V], most probable first; ties by id
    before = np.concatenate(([0.0], np.cumsum(probs[order])[:-1]))  # [V], mass of the tokens ranked above
    keep_sorted = before < p  # a token survives if the set above it has not yet reached p
    keep_sorted[0] = True
    keep = np.zeros(probs.size, dtype=bool)
    keep[order] = keep_sorted
    return keep & (probs > 0)


def min_p_mask(probs: np.ndarray, min_p: float) -> np.ndarray:
    """Keep tokens with probability >= min_p x the largest probability."""
    if min_p <= 0:
        return probs > 0
    keep: np.ndarray = probs >= min_p * probs.max()
    return keep


@dataclass
class Filtered:
    """What the filters leave: the model's probabilities, the sampling probabilities and the survivors."""

    probs: np.ndarray  # [V] float64, softmax of the (penalised) logits at temperature 1
    sample_probs: np.ndarray  # [V] float64, what a draw uses: 0 outside `keep`, sums to 1
    keep: np.ndarray  # [V] bool, the tokens that survive every filter


def filter_logits(
    logits: np.ndarray, o: SamplingOptions, seen: Iterable[int] = (), banned: Sequence[int] = ()
) -> Filtered:
    """Apply the filters in ORDER to one logits vector [V]; `banned` ids never survive (unless they are
    all there is)."""
    x = apply_repetition_penalty(logits, seen, o.repetition_penalty)  # [V] float64
    probs = softmax64(x)  # [V]
    x = mask_banned(x, banned)
    if o.temperature == 0:  # greedy: no division, the first of the most likely tokens
        keep = np.zeros(x.size, dtype=bool)
        keep[int(np.argmax(x))] = True
        return Filtered(probs, keep.astype(np.float64), keep)
    p = softmax64(x / o.temperature)  # [V]
    keep = top_k_mask(p, o.top_k) & (p > 0)
    p = _renorm(p, keep)
    keep &= top_p_mask(p, o.top_p)
    p = _renorm(p, keep)
    keep &= min_p_mask(p, o.min_p)
    p = _renorm(p, keep)
    return Filtered(probs, p, keep)


def mask_banned(x: np.ndarray, banned: Sequence[int]) -> np.ndarray:
    """`x` with the banned ids at -inf (a copy); unchanged when that would leave no token."""
    if len(banned) == 0 or len(banned) >= x.size:
        return x
    out = np.array(x, dtype=np.float64)  # [V]
    out[np.asarray(banned, dtype=np.int64)] = -np.inf
    return out


def _renorm(p: np.ndarray, keep: np.ndarray) -> np.ndarray:
    q = np.where(keep, p, 0.0)  # [V]
    r: np.ndarray = q / q.sum()
    return r


def draw(sample_probs: np.ndarray, rng: np.random.Generator) -> int:
    """One token by inverse CDF: the first id whose cumulative probability exceeds one uniform draw."""
    u = rng.random()  # one float64 in [0, 1) per token, the same on every machine for a seed
    cum = np.cumsum(sample_probs)  # [V], float64
    i = int(np.searchsorted(cum, u * cum[-1], side="right"))
    i = min(i, sample_probs.size - 1)
    while sample_probs[i] == 0:  # rounding put u at the very end: step back to a token that survived
        i -= 1
    return i


def sample(
    logits: np.ndarray,
    o: SamplingOptions,
    rng: np.random.Generator,
    seen: Iterable[int] = (),
    banned: Sequence[int] = (),
) -> int:
    """The next token: greedy at temperature 0 (no draw), else one draw from the filtered distribution."""
    if o.temperature == 0 and o.repetition_penalty == 1.0:
        return int(np.argmax(mask_banned(logits, banned)))
    return sample_filtered(filter_logits(logits, o, seen, banned), o, rng)


def sample_filtered(f: Filtered, o: SamplingOptions, rng: np.random.Generator) -> int:
    """The token `sample` would give from what the filters left (for callers that also report `f`)."""
    if o.temperature == 0:
        return int(np.argmax(f.keep))
    return draw(f.sample_probs, rng)
