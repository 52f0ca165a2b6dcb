"""Tokenizer metrics: pure functions over a text and its ids, and `measure`, which makes one `Row` of them.

Every rate is a ratio of sums over the whole input (not a mean of per-document ratios). Formulas and
citations: docs/metrics.md. Only the `Tokenizer` API is used, so every metric works for every kind.

    chars_per_token = C / T            bytes_per_token = B / T        (C characters, B UTF-8 bytes, T tokens)
    fertility       = T / W            (W units: whitespace words, or characters for scripts without spaces)
    continued       = |{units covered by >= 2 tokens}| / W                            (Rust et al. 2021)
    unk_rate        = |{tokens == unk}| / T     byte_fallback_rate = |{byte-fallback tokens}| / T
    utilisation     = |{distinct ids}| / |V|
    renyi           = H_a(p) / log |V|,  H_a(p) = log(sum_i p_i^a) / (1 - a),  a = 2.5  (Zouhar et al. 2023)
    nsl             = T / T_reference                                                  (Dagan et al. 2024)
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import regex

from tokcli.tokenizer.base import Tokenizer

from .alignment import offset_dtype, token_offsets

Spans = Sequence[tuple[int, int]] | tuple[np.ndarray, np.ndarray]  # pairs, or arrays of starts and ends
RENYI_ALPHA = 2.5
# Scripts written without spaces between words: whitespace words mean nothing there, characters are the unit.
NO_SPACE_SCRIPTS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}"
NO_SPACE_SHARE = 0.3  # above this share of letters in such scripts, the unit is the character
_LETTER = regex.compile(r"\p{L}")
_NO_SPACE = regex.compile(rf"[{NO_SPACE_SCRIPTS}]")
_WORD = regex.compile(r"\S+")
_NONSPACE_CHAR = regex.compile(r"\S")


@dataclass(frozen=True)
class Row:
    """The metrics of one tokenizer on one input. Rates are fractions (0.25 = 25%); None: not applicable."""

    input: str
    tokenizer: str
    vocab_size: int
    chars: int
    bytes: int
    tokens: int
    chars_per_token: float | None
    bytes_per_token: float | None
    unit: str  # "word" (whitespace words) or "char" (characters, for scripts written without spaces)
    units: int
    fertility: float | None  # tokens per unit
    continued: float | None  # share of units covered by two or more tokens
    unk_rate: float | None  # None when the tokenizer has no unknown token
    byte_fallback_rate: float | None  # None when the tokenizer does not fall back to bytes
    round_trip: bool
    first_diff: int | None  # character offset of the first difference when round_trip is False
    distinct: int
    utilisation: float | None
    renyi: float | None
    renyi_vocab: int  # the |V| the Rényi efficiency was normalised by
    nsl: float | None  # tokens / tokens of the reference tokenizer on the same input
    reference: str | None
    seconds: float  # encoding alone: loading and the first encode's set-up are in load_s
    mb_per_s: float | None
    load_s: float | None = None  # seconds to load the tokenizer and make it ready to encode (see warm_up)


# -- the unit of fertility -------------------------------------------------------------------------


def _codepoints(text: str) -> np.ndarray:
    """The text's code points, [C] uint32."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _char_byte_offsets(cp: np.ndarray) -> np.ndarray:
    """[C + 1] int32 (int64 past 2 GiB): the UTF-8 byte offset of every character, and the total at the end."""
    dtype = offset_dtype(4 * len(cp))
    n_bytes = (cp >= 0x80).astype(dtype)
    n_bytes += cp >= 0x800
    n_bytes += cp >= 0x10000
    n_bytes += 1
    out = np.empty(len(cp) + 1, dtype=dtype)
    out[0] = 0
    np.cumsum(n_bytes, out=out[1:])
    return out


def _distinct_codepoints(cp: np.ndarray) -> np.ndarray:
    """The distinct code points of `cp`, ascending (a presence table over all of Unicode: no sort)."""
    seen = np.zeros(max(0x110000, int(cp.max()) + 1 if len(cp) else 0), dtype=bool)
    seen[cp] = True
    return np.flatnonzero(seen)


def _classify(cp: np.ndarray, pattern: regex.Pattern[str]) -> np.ndarray:
    """[C] bool: whether each character matches `pattern`, tested once per distinct character."""
    uniq = _distinct_codepoints(cp)
    table = np.zeros(int(uniq[-1]) + 1 if len(uniq) else 1, dtype=bool)
    table[uniq] = np.fromiter(
        (pattern.fullmatch(chr(c)) is not None for c in uniq.tolist()), dtype=bool, count=len(uniq)
    )
    matches: np.ndarray = table[cp]
    return matches


def unit_for(text: str) -> str:
    """'char' when over NO_SPACE_SHARE of the letters are in scripts written without spaces, else 'word'."""
    cp = _codepoints(text)
    counts = np.bincount(cp) if len(cp) else np.zeros(0, dtype=np.int64)
    uniq = np.flatnonzero(counts)
    letters = no_space = 0
    for c, k in zip(uniq.tolist(), counts[uniq].tolist(), strict=True):
        ch = chr(c)
        if _LETTER.fullmatch(ch):
            letters += k
            no_space += k if _NO_SPACE.fullmatch(ch) else 0
    if not letters:
        return "word"
    return "char" if no_space / letters > NO_SPACE_SHARE else "word"


def unit_offsets(text: str, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Byte starts and ends ([U] int32, int64 past 2 GiB) of the units: whitespace-separated words, or non-space characters."""
    cp = _codepoints(text)
    off = _char_byte_offsets(cp)
    solid = _classify(cp, _NONSPACE_CHAR)  # [C]
    if unit != "word":
        idx = np.flatnonzero(solid)
        return off[idx], off[idx + 1]
    edges = np.diff(np.concatenate([[False], solid, [False]]).astype(np.int8))  # +1 where a word starts, -1 after it
    return off[np.flatnonzero(edges == 1)], off[np.flatnonzero(edges == -1)]


def unit_spans(text: str, unit: str) -> list[tuple[int, int]]:
    """Byte spans of the units (see unit_offsets)."""
    starts, ends = unit_offsets(text, unit)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


# -- the metrics --------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def continued_units(units: Spans, tokens: Spans) -> int:
    """How many units overlap two or more non-empty token spans (spans in text order).

    Token spans from token_offsets never go backwards, so the tokens overlapping [us, ue) are those
    starting before ue less those ending at or before us: two binary searches per unit.
    """
    us, ue = _as_offsets(units)
    ts, te = _as_offsets(tokens)
    keep = te > ts
    ts, te = ts[keep], te[keep]
    overlapping = np.searchsorted(ts, ue, side="left") - np.searchsorted(te, us, side="right")
    return int(np.count_nonzero(overlapping >= 2))


def _as_offsets(spans: Spans) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(spans, tuple) and len(spans) == 2 and isinstance(spans[0], np.ndarray):
        return spans[0], spans[1]
    arr = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def renyi_entropy(counts: Sequence[int], alpha: float = RENYI_ALPHA) -> float:
    """H_alpha of the unigram distribution given by `counts`, in nats (Shannon entropy for alpha = 1)."""
    total = sum(counts)
    if not total:
        return 0.0
    ps = [c / total for c in counts if c]
    if alpha == 1:
        return -sum(p * math.log(p) for p in ps)
    return math.log(sum(p**alpha for p in ps)) / (1 - alpha)


def renyi_efficiency(counts: Sequence[int], vocab_size: int, alpha: float = RENYI_ALPHA) -> float | None:
    """H_alpha(p) / log |V| (Zouhar et al. 2023); None for |V| < 2."""
    if vocab_size < 2 or not sum(counts):
        return None
    return renyi_entropy(counts, alpha) / math.log(vocab_size)


def first_difference(a: str, b: str) -> int | None:
    """The first character offset where a and b differ, or None when equal."""
    if a == b:
        return None
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def has_byte_fallback(tok: Tokenizer) -> bool:
    """Whether any id of the vocabulary is a byte-fallback token."""
    key = id(tok)
    if key not in _FALLBACK_CACHE:
        _FALLBACK_CACHE[key] = any(tok.is_byte_fallback(i) for i in range(tok.vocab_size))
    return _FALLBACK_CACHE[key]


_FALLBACK_CACHE: dict[int, bool] = {}


def encode_ids(tok: Tokenizer, text: str) -> np.ndarray:
    """The ids of `text` as one [T] uint32 array, encoded a segment at a time (Tokenizer.encode_array: no
    list of Python ints for the whole text)."""
    return tok.encode_array([text])


# Text for a tokenizer's first encode, through the path measure() times: engines set themselves up lazily
# (splintr builds its merge tables and thread pool on the first text that needs them: 0.2 s for cl100k_base,
# 0.8 s for o200k_base), which is loading, not encoding speed. Letters, digits, punctuation, whitespace runs
# and several scripts, so that the set-up any text needs happens here.
WARM_UP = (
    "Warm-up: naïve Tokenisierung, 12345 + 0.5e-3 == x; aaaaaaaa\n\tdef f(x):\n        return x  # ok?\n"
    "日本語のテキスト、中文。 Привет, мир! नमस्ते 안녕하세요 مرحبا 🙂\n"
)


def warm_up(tok: Tokenizer) -> float:
    """Encode WARM_UP the way measure() encodes its text; the seconds taken (the tokenizer's lazy set-up on
    the first call, next to nothing after)."""
    t0 = time.perf_counter()
    encode_ids(tok, WARM_UP)
    return time.perf_counter() - t0


def encode_timed(tok: Tokenizer, text: str) -> tuple[np.ndarray, float]:
    """The ids of `text` (see encode_ids) and the seconds taken, after a warm-up (see WARM_UP)."""
    warm_up(tok)
    t0 = time.perf_counter()
    ids = encode_ids(tok, text)
    return ids, time.perf_counter() - t0


def measure(
    tok: Tokenizer,
    text: str,
    *,
    input_name: str = "-",
    tokenizer_name: str | None = None,
    reference_tokens: int | None = None,
    reference: str | None = None,
    unit: str | None = None,
    units: tuple[np.ndarray, np.ndarray] | None = None,
) -> Row:
    """Every metric of `tok` on `text` (see the module docstring).

    `unit` and `units` (unit_offsets(text, unit)) may be given when measuring many tokenizers on one text.
    """
    ids, seconds = encode_timed(tok, text)
    n_bytes = len(text.encode("utf-8"))
    t = len(ids)
    unit = unit or unit_for(text)
    if units is None:
        units = unit_offsets(text, unit)
    n_units = len(units[0])
    cont = continued_units(units, token_offsets(tok, text, ids)) if n_units else 0
    decoded = tok.decode(ids.tolist())
    diff = first_difference(text, decoded)
    del decoded
    freq = np.bincount(ids) if t else np.zeros(0, dtype=np.int64)
    distinct = np.flatnonzero(freq)
    counts = dict(zip(distinct.tolist(), freq[distinct].tolist(), strict=True))
    del freq
    v = tok.vocab_size
    return Row(
        input=input_name,
        tokenizer=tokenizer_name or tok.name,
        vocab_size=v,
        chars=len(text),
        bytes=n_bytes,
        tokens=t,
        chars_per_token=ratio(len(text), t),
        bytes_per_token=ratio(n_bytes, t),
        unit=unit,
        units=n_units,
        fertility=ratio(t, n_units),
        continued=ratio(cont, n_units),
        unk_rate=None if tok.unk_id is None else ratio(counts.get(tok.unk_id, 0), t) or 0.0,
        byte_fallback_rate=(ratio(sum(c for i, c in counts.items() if tok.is_byte_fallback(i)), t) or 0.0)
        if has_byte_fallback(tok)
        else None,
        round_trip=diff is None,
        first_diff=diff,
        distinct=len(counts),
        utilisation=ratio(len(counts), v),
        renyi=renyi_efficiency(list(counts.values()), v),
        renyi_vocab=v,
        nsl=ratio(t, reference_tokens) if reference_tokens is not None else None,
        reference=reference,
        seconds=seconds,
        mb_per_s=n_bytes / 1e6 / seconds if seconds > 0 and n_bytes else None,
    )
