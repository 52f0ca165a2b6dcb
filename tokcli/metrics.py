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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import regex

from .tokenizer import Tokenizer

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


def unit_for(text: str) -> str:
    """'char' when over NO_SPACE_SHARE of the letters are in scripts written without spaces, else 'word'."""
    letters = len(_LETTER.findall(text))
    if not letters:
        return "word"
    return "char" if len(_NO_SPACE.findall(text)) / letters > NO_SPACE_SHARE else "word"


def unit_spans(text: str, unit: str) -> list[tuple[int, int]]:
    """Byte spans of the units: whitespace-separated words, or non-space characters."""
    pattern = _WORD if unit == "word" else _NONSPACE_CHAR
    spans = []
    pos_b, pos_c = 0, 0
    for m in pattern.finditer(text):
        pos_b += len(text[pos_c : m.start()].encode("utf-8"))
        end_b = pos_b + len(m.group().encode("utf-8"))
        spans.append((pos_b, end_b))
        pos_b, pos_c = end_b, m.end()
    return spans


# -- aligning tokens with the text -----------------------------------------------------------------


def token_spans(tok: Tokenizer, text: str, ids: Sequence[int]) -> list[tuple[int, int]]:
    """The byte span of the text each token covers.

    Exact where a token's bytes are the text at that point (every lossless tokenizer). A token whose
    bytes are not there (<unk>, or a normalised piece) is given the text up to the next token that
    matches; a run of such tokens shares that gap one character each, the last taking the rest.
    """
    data = text.encode("utf-8")
    pieces = [tok.token_bytes(i) for i in ids]
    spans: list[tuple[int, int]] = []
    pos, i, n = 0, 0, len(pieces)
    while i < n:
        b = pieces[i]
        if data.startswith(b, pos):
            spans.append((pos, pos + len(b)))
            pos += len(b)
            i += 1
            continue
        # a run of tokens whose bytes are not the text here: it ends where a later token's bytes appear
        j, end = i + 1, len(data)
        while j < n:
            found = data.find(pieces[j], pos + 1) if pieces[j] else -1
            if found >= 0:
                end = found
                break
            j += 1
        spans.extend(_share(data, pos, end, j - i))
        pos, i = end, j
    return spans


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


def continued_units(units: Sequence[tuple[int, int]], tokens: Sequence[tuple[int, int]]) -> int:
    """How many units overlap two or more token spans (both lists sorted by start)."""
    continued, t = 0, 0
    for us, ue in units:
        while t < len(tokens) and tokens[t][1] <= us:
            t += 1
        k, j = 0, t
        while j < len(tokens) and tokens[j][0] < ue and k < 2:
            if tokens[j][1] > tokens[j][0]:
                k += 1
            j += 1
        continued += k >= 2
    return continued


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
    units = unit_spans(text, unit)
    cont = continued_units(units, token_spans(tok, text, ids)) if units else 0
    decoded = tok.decode(ids)
    diff = first_difference(text, decoded)
    counts = Counter(ids)
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
        units=len(units),
        fertility=ratio(t, len(units)),
        continued=ratio(cont, len(units)),
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
