"""Where a text's tokens go: characters and tokens per script or character class, and the costliest runs.

Classes (each character is in exactly one): Han, Hiragana, Katakana (with the prolonged sound mark ー),
Latin (letters and the marks on them), digits (any script's decimal digits), indentation (spaces and tabs
at the start of a line), whitespace (every other space, tab and line break), punctuation (punctuation and
symbols), emoji (a grapheme with emoji presentation: ZWJ sequences, flags, skin tones and a following
U+FE0F count with it), other (every other script, and anything else).

How a token's cost is shared (the rule): each token counts 1, shared among the characters it covers in
proportion to how much of each it covers: a whole character weighs 1, a character split over k byte tokens
weighs in each the share of its UTF-8 bytes that token holds. A class's tokens are the sum of its shares,
so the classes' tokens add up to the total exactly (they are kept as exact fractions; a token that covers
no character, which only a special token added around the text can be, counts for "other"). " the" under
a GPT tokenizer is 1/4 whitespace and 3/4 Latin; a kanji spread over two byte tokens is 2 Han tokens.

A run is a maximal stretch of one class (a Latin word, a run of kanji, of kana, of digits, an emoji, a line's
indentation); its tokens are the shares of its characters. The costliest runs are those with the most
tokens per character, then the most tokens in all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import regex

from tokcli.tokenizer.base import Tokenizer

from .alignment import token_offsets

CLASSES = ("Han", "Hiragana", "Katakana", "Latin", "digits", "indentation", "whitespace", "punctuation", "emoji",
           "other")  # fmt: skip
OTHER = CLASSES.index("other")
_UNIT = 12  # a character's weight in units: 12 / its UTF-8 length per byte (1, 2, 3 and 4 all divide 12)

RUNS = regex.compile(
    r"(?P<emoji>(?:(?=\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F|\p{Regional_Indicator})\X)+)"
    r"|(?P<indentation>(?m:^)[^\S\n]+)"
    r"|(?P<whitespace>\n+|[^\S\n]+)"
    r"|(?P<Han>\p{Han}+)"
    r"|(?P<Hiragana>\p{Hiragana}+)"
    r"|(?P<Katakana>[\p{Katakana}ー]+)"
    r"|(?P<Latin>\p{Latin}[\p{Latin}\p{M}]*)"
    r"|(?P<digits>\p{Nd}+)"
    r"|(?P<punctuation>[\p{P}\p{S}]+)"
    r"|(?P<other>[\p{L}\p{M}]+|\X)",
    regex.V0,
)


@dataclass
class ClassCost:
    name: str
    chars: int
    tokens: Fraction  # exact: the classes' tokens sum to the total

    @property
    def chars_per_token(self) -> float | None:
        return self.chars / float(self.tokens) if self.tokens else None


@dataclass
class Run:
    text: str
    cls: str
    count: int  # occurrences
    chars: int  # characters of one occurrence
    tokens: float  # over all occurrences

    @property
    def tokens_per_char(self) -> float:
        return self.tokens / (self.count * self.chars)


@dataclass
class TokenizerCost:
    name: str
    tokens: int
    classes: list[ClassCost]  # every class, in CLASSES order
    runs: list[Run]  # the costliest first
    char_costs: list[np.ndarray] = field(default_factory=list, repr=False)  # [N] tokens per character, per text


@dataclass
class Why:
    inputs: list[str]
    chars: int
    tokenizers: list[TokenizerCost]
    texts: list[tuple[str, str]] = field(default_factory=list, repr=False)  # kept with keep_char_costs
    runs_capped: bool = False  # more than MAX_RUNS distinct runs: the costliest are among those seen first

    def to_dict(self, top: int) -> dict[str, object]:
        def f(x: float | None, d: int = 4) -> float | None:
            return None if x is None else round(float(x), d)

        return {
            "schema": "tokcli-why/1",
            "inputs": self.inputs,
            "chars": self.chars,
            "rule": "each token counts 1, shared among the characters it covers (a character split over byte "
            "tokens in proportion to its bytes); per class the shares sum, so the classes sum to the total",
            "tokenizers": [
                {
                    "name": t.name,
                    "tokens": t.tokens,
                    "chars_per_token": f(self.chars / t.tokens) if t.tokens else None,
                    "classes": [
                        {
                            "class": c.name,
                            "chars": c.chars,
                            "tokens": f(float(c.tokens)),
                            "chars_per_token": f(c.chars_per_token),
                            "share_of_tokens": f(float(c.tokens / t.tokens)) if t.tokens else None,
                        }
                        for c in t.classes
                        if c.chars or c.tokens
                    ],  # fmt: skip
                    "expensive": [
                        {
                            "run": r.text,
                            "class": r.cls,
                            "count": r.count,
                            "chars": r.chars,
                            "tokens": f(r.tokens),
                            "tokens_per_char": f(r.tokens_per_char),
                        }
                        for r in t.runs[:top]
                    ],  # fmt: skip
                }
                for t in self.tokenizers
            ],
        }


MAX_RUNS = 1 << 20  # distinct runs tallied (text and class); past it only those already seen are


@dataclass
class _Text:
    """A window of a text (one segment of a tokenizer's): its characters' classes and byte weights."""

    text: str
    data: bytes
    cls_of_byte: np.ndarray  # [B] class index
    units: np.ndarray  # [B] weight units of each byte
    char_byte: np.ndarray  # [N + 1] byte offset of each character
    class_chars: np.ndarray  # [C]


def _prepare(text: str, runs: Sequence[tuple[int, int, int]]) -> _Text:
    """The window `text` with `runs` ((class, start, end), relative to it and clipped to it)."""
    cls = np.full(len(text), OTHER, dtype=np.int8)
    for c, s, e in runs:
        cls[s:e] = c
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    nbytes = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000)  # [N] UTF-8 length
    char_byte = np.zeros(len(text) + 1, dtype=np.int64)
    np.cumsum(nbytes, out=char_byte[1:])
    return _Text(text, text.encode("utf-8"), np.repeat(cls, nbytes), np.repeat(_UNIT // nbytes, nbytes), char_byte,
                 np.bincount(cls, minlength=len(CLASSES)))  # fmt: skip


def _cost(tok: Tokenizer, t: _Text, ids: Sequence[int]) -> tuple[int, list[Fraction], np.ndarray, np.ndarray]:
    """(tokens, exact tokens per class, [N] tokens per character, [N + 1] their running sum) of the window's
    ids."""
    n = len(ids)
    starts, ends = token_offsets(tok, t.text, ids) if n else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    starts, ends = starts.astype(np.int64), ends.astype(np.int64)
    per_class = np.zeros((len(CLASSES), n), dtype=np.int64)  # [C, T] units of each class in each token
    for c in range(len(CLASSES)):
        cum = np.zeros(len(t.data) + 1, dtype=np.int64)
        np.cumsum(np.where(t.cls_of_byte == c, t.units, 0), out=cum[1:])
        per_class[c] = cum[ends] - cum[starts]
    total = per_class.sum(axis=0)  # [T] units of each token
    per_class[OTHER] += total == 0  # a token covering nothing counts for "other"
    total = np.maximum(total, 1)
    sizes, inverse = np.unique(total, return_inverse=True)
    exact = []
    for c in range(len(CLASSES)):
        sums = np.bincount(inverse, weights=per_class[c], minlength=len(sizes))
        exact.append(sum((Fraction(int(s), int(u)) for s, u in zip(sums, sizes, strict=True) if s), Fraction(0)))
    # each byte's share of its token, summed per character
    share = np.zeros(len(t.data) + 1)
    lengths = np.maximum(ends - starts, 0)
    covered = np.repeat(np.arange(n), lengths)  # [covered bytes] the token of each
    pos = np.arange(int(lengths.sum())) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)  # the byte
    np.add.at(share, pos, t.units[pos] / total[covered])
    running = np.zeros(len(t.data) + 1)
    np.cumsum(share[:-1], out=running[1:])
    per_char_cum = running[t.char_byte]  # [N + 1]
    return n, exact, np.diff(per_char_cum), per_char_cum


def why(toks: Sequence[Tokenizer], texts: Sequence[tuple[str, str]], *, keep_char_costs: bool = False) -> Why:
    """The cost of `texts` ((label, text) pairs) per class under each tokenizer, and the costliest runs.

    Each text is taken a segment at a time (Tokenizer.encode_segments: the ids of the whole text, cut
    where cutting changes nothing), so memory beyond the texts is bounded by a segment and the runs tallied
    (at most MAX_RUNS distinct ones; Why.runs_capped says when more were left out)."""
    chars = sum(len(text) for _, text in texts)
    class_chars = np.zeros(len(CLASSES), dtype=np.int64)
    out = []
    capped = False
    for k, tok in enumerate(toks):
        n_tokens = 0
        exact = [Fraction(0)] * len(CLASSES)
        runs: dict[tuple[str, int], list[float]] = {}  # (text, class) -> [count, tokens]
        costs = []
        for label, text in texts:
            tally = _Tally(text, runs)
            per_text = []
            for seg, ids in _segments(tok, label, text):
                p = _prepare(seg, tally.window(len(seg)))
                if k == 0:
                    class_chars += p.class_chars
                n, ex, per_char, cum = _cost(tok, p, ids)
                n_tokens += n
                exact = [a + b for a, b in zip(exact, ex, strict=True)]
                tally.add(cum)
                if keep_char_costs:
                    per_text.append(per_char)
            capped = capped or tally.capped
            if keep_char_costs:
                costs.append(np.concatenate(per_text) if per_text else np.zeros(0))
        ranked = sorted(
            (Run(text, CLASSES[c], int(k), len(text), tokens) for (text, c), (k, tokens) in runs.items()),
            key=lambda r: (-round(r.tokens_per_char, 9), -round(r.tokens, 6), r.text, r.cls),  # float noise: no order
        )
        classes = [ClassCost(name, int(class_chars[c]), exact[c]) for c, name in enumerate(CLASSES)]
        out.append(TokenizerCost(tok.name, n_tokens, classes, ranked, costs))
    return Why([label for label, _ in texts], chars, out, list(texts) if keep_char_costs else [], capped)


def _segments(tok: Tokenizer, label: str, text: str) -> Iterator[tuple[str, list[int]]]:
    """tok.encode_segments([text]); a stretch too long to cut is an error that names the input."""
    from tokcli.errors import UncutTooLong

    try:
        yield from tok.encode_segments([text])
    except UncutTooLong as e:
        raise UncutTooLong(f"{label}: {e}") from None


class _Tally:
    """The runs of one text (RUNS over the whole text, so that a line's start is known in every window),
    handed out window by window and tallied into `runs` as their tokens come. The runs cover the text end
    to end, so at most one goes on past a window's end; its tokens so far are carried to the next."""

    def __init__(self, text: str, runs: dict[tuple[str, int], list[float]]) -> None:
        self.text, self.runs = text, runs
        self.found = RUNS.finditer(text)
        self.queue: list[tuple[int, int, int]] = []  # absolute (class, start, end), not yet tallied
        self.carried = 0.0  # tokens so far of queue[0] when it began in an earlier window
        self.start = self.end = 0  # the current window
        self.capped = False

    def window(self, length: int) -> list[tuple[int, int, int]]:
        """The runs of the next `length` characters, relative to the window and clipped to it: every run
        queued overlaps it (the one carried from the last window, those found up to its end)."""
        start, end = self.start, self.end = self.end, self.end + length
        queue = self.queue
        while not queue or queue[-1][2] < end:
            m = next(self.found, None)
            if m is None:
                break
            s, e = m.span()
            queue.append((CLASSES.index(m.lastgroup or "other"), s, e))
        rel = [(c, s - start, e - start) for c, s, e in queue]
        for i in (0, -1)[: len(rel)]:
            c, s, e = rel[i]
            rel[i] = (c, min(max(s, 0), length), max(0, min(e, length)))
        self.rel = rel
        return rel

    def add(self, cum: np.ndarray) -> None:
        """Add the window's tokens (`cum`: [N + 1] the running sum per character) to its runs; the last run
        may go on into the next window, and its tokens so far are carried."""
        if not self.queue:
            return
        rel = np.asarray(self.rel, dtype=np.int64).reshape(-1, 3)
        tokens = (cum[rel[:, 2]] - cum[rel[:, 1]]).tolist()
        if self.queue[0][1] < self.start:
            tokens[0] += self.carried
        last = self.queue[-1]
        done = self.queue if last[2] <= self.end else self.queue[:-1]
        runs, text = self.runs, self.text
        for (c, s, e), t in zip(done, tokens, strict=False):
            key = (text[s:e], c)
            r = runs.get(key)
            if r is None:
                if len(runs) >= MAX_RUNS:
                    self.capped = True
                    continue
                r = runs[key] = [0, 0.0]
            r[0] += 1
            r[1] += t
        if last[2] > self.end:
            self.queue, self.carried = [last], tokens[-1]
        else:
            self.queue, self.carried = [], 0.0
