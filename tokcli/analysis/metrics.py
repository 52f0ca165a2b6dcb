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
    seconds: float
    mb_per_s: float | None


# -- the unit of fertility -------------------------------------------------------------------------


def _codepoints(text: str) -> np.ndarray:
    """The text's code points, [C] uint32."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _char_byte_offsets(cp: np.ndarray) -> np.ndarray:
    """[C + 1] int64: the UTF-8 byte offset of every character, and the total at the end."""
    n_bytes = 1 + (cp >= 0x80).astype(np.int64) + (cp >= 0x800) + (cp >= 0x10000)
    return np.concatenate([[0], np.cumsum(n_bytes)])


def _classify(cp: np.ndarray, pattern: regex.Pattern[str]) -> np.ndarray:
    """[C] bool: whether each character matches `pattern`, tested once per distinct character."""
    uniq, inverse = np.unique(cp, return_inverse=True)
    hit = np.fromiter((pattern.fullmatch(chr(c)) is not None for c in uniq.tolist()), dtype=bool, count=len(uniq))
    return hit[inverse]


def unit_for(text: str) -> str:
    """'char' when over NO_SPACE_SHARE of the letters are in scripts written without spaces, else 'word'."""
    uniq, counts = np.unique(_codepoints(text), return_counts=True)
    letters = no_space = 0
    for c, k in zip(uniq.tolist(), counts.tolist(), strict=True):
        ch = chr(c)
        if _LETTER.fullmatch(ch):
            letters += k
            no_space += k if _NO_SPACE.fullmatch(ch) else 0
    if not letters:
        return "word"
    return "char" if no_space / letters > NO_SPACE_SHARE else "word"


def unit_offsets(text: str, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Byte starts and ends ([U] int64 each) of the units: whitespace-separated words, or non-space characters."""
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


# -- aligning tokens with the text -----------------------------------------------------------------


def token_offsets(tok: Tokenizer, text: str, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Byte starts and ends ([T] int64 each) of the text each token covers.

    Exact where a token's bytes are the text at that point (every lossless tokenizer). A token whose
    bytes are not there (<unk>, or a normalised piece) is given the text up to the next token that
    matches; a run of such tokens shares that gap one character each, the last taking the rest.

    Runs of matching tokens are checked a block of bytes at a time with numpy (the block doubles while
    the text keeps matching), so the Python loop runs once per mismatch, not once per token.
    """
    data = text.encode("utf-8")
    table = {i: tok.token_bytes(i) for i in set(ids)}  # distinct ids only
    pieces = list(map(table.__getitem__, ids))
    n = len(pieces)
    lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=n)
    cum = np.concatenate([[0], np.cumsum(lengths)])  # [T + 1] offsets into the concatenated pieces
    joined = b"".join(pieces)
    if joined == data:
        return cum[:-1], cum[1:]
    a = np.frombuffer(joined, dtype=np.uint8)
    d = np.frombuffer(data, dtype=np.uint8)
    starts = np.empty(n, dtype=np.int64)
    ends = np.empty(n, dtype=np.int64)
    next_at: dict[bytes, int] = {}  # piece -> its first occurrence at or after the last search (-1: none left)
    pos, i, block = 0, 0, 0
    while i < n:
        if block:
            # a long run of matching tokens: find how far it goes, `block` bytes at a time
            lo = int(cum[i])
            w = min(block, len(a) - lo, len(d) - pos)
            diff = np.flatnonzero(a[lo : lo + w] != d[pos : pos + w])
            matched = int(diff[0]) if len(diff) else w
            k = int(np.searchsorted(cum, lo + matched, side="right")) - 1  # tokens i..k-1 lie in the match
            starts[i:k] = cum[i:k] + (pos - lo)
            ends[i:k] = cum[i + 1 : k + 1] + (pos - lo)
            pos += int(cum[k]) - lo
            i = k
            block = block * 2 if not len(diff) and w == block else 0  # all matched: look further at once
            continue
        run = 0  # a few tokens in Python first: short runs between mismatches are common
        while i < n and run < 16 and data.startswith(pieces[i], pos):
            starts[i] = pos
            pos += len(pieces[i])
            ends[i] = pos
            i += 1
            run += 1
        if run == 16:
            block = 1024
            continue
        if i == n:
            break
        # a run of tokens whose bytes are not the text here: it ends where a later token's bytes appear
        j, end = i + 1, len(data)
        while j < n:
            piece = pieces[j]
            found = next_at.get(piece, 0) if piece else -1
            if 0 <= found <= pos:  # cached from an earlier search, now behind us: search again
                found = next_at[piece] = data.find(piece, pos + 1)
            if found >= 0:
                end = found
                break
            j += 1
        for t, (s, e) in enumerate(_share(data, pos, end, j - i), start=i):
            starts[t], ends[t] = s, e
        pos, i = end, j
    return starts, ends


def token_spans(tok: Tokenizer, text: str, ids: Sequence[int]) -> list[tuple[int, int]]:
    """The byte span of the text each token covers (see token_offsets)."""
    starts, ends = token_offsets(tok, text, ids)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _share(data: bytes, start: int, end: int, k: int) -> list[tuple[int, int]]:
    """k spans splitting data[start:end] one UTF-8 character each, the last one taking the rest."""
    out, pos = [], start
    for _ in range(k - 1):
        nxt = pos + 1 if pos < end else pos
        while nxt < end and (data[nxt] & 0xC0) == 0x80:
            nxt += 1
        out.append((pos, nxt))
        pos = nxt
    out.append((pos, end))
    return out


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


def encode_timed(tok: Tokenizer, text: str) -> tuple[list[int], float]:
    """The ids of `text` (encoded a segment at a time, see Tokenizer.encode_stream) and the seconds taken."""
    tok.encode("warm up")  # lazy set-up (thread pools, caches) is not encoding speed
    t0 = time.perf_counter()
    ids = [i for part in tok.encode_stream([text]) for i in part]
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
) -> Row:
    """Every metric of `tok` on `text` (see the module docstring)."""
    ids, seconds = encode_timed(tok, text)
    n_bytes = len(text.encode("utf-8"))
    t = len(ids)
    unit = unit or unit_for(text)
    units = unit_offsets(text, unit)
    n_units = len(units[0])
    cont = continued_units(units, token_offsets(tok, text, ids)) if n_units else 0
    decoded = tok.decode(ids)
    diff = first_difference(text, decoded)
    distinct, freq = np.unique(np.asarray(ids, dtype=np.int64), return_counts=True)
    counts = dict(zip(distinct.tolist(), freq.tolist(), strict=True))
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
