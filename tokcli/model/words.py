"""Attention between words: sub-word pieces grouped into the words they spell.

Words are found in the text, not in the vocabulary: a run of letters, digits, marks and underscores (with
inner apostrophes: "didn't" is one word), a run of Han, of Hiragana or of Katakana characters (Japanese
has no spaces; a script change is the closest cheap cut), or any other single visible character
(punctuation, an emoji). Each token belongs to the word its first visible character falls in; a token of
whitespace only belongs to the word after it (GPT-style pieces carry the space before a word), or the
last word at the end of the text. A word that no token starts in is merged into the word before it, and
a word's label is the text its tokens cover (spaces stripped).

Weights between words: for an attending word with pieces Q and an attended word with pieces K,
w = mean over q in Q of (sum over k in K of a[q, k]). Each attention row sums to 1 over tokens, so each
word row sums to 1 over words, in every layer and head; a causal model's word rows reach only words up to
the attending one.

What this does not handle: a token that spans two words counts wholly for the first; Japanese words are
approximated by script runs (漢字 + かな is two words, not one inflected word).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import regex

from tokcli.errors import UsageError
from tokcli.tokenizer.alignment import char_byte_offsets, token_offsets

from .attention import attention_report
from .model import Model

_LETTER = r"[\p{L}\p{M}\p{N}_--\p{Han}\p{Hiragana}\p{Katakana}]"
WORD = regex.compile(
    rf"\p{{Han}}+|[\p{{Hiragana}}ー]+|[\p{{Katakana}}ー]+|{_LETTER}+(?:['’]{_LETTER}+)*|(?!\s)\X", regex.V1
)


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words of `text` (see the module docstring)."""
    return [m.span() for m in WORD.finditer(text)]


def token_char_spans(model: Model, text: str, ids: Sequence[int]) -> list[tuple[int, int]]:
    """The character span of each token of `text` (`ids` encode all of it).

    A token whose bytes are the text at that point spans them. A run of tokens whose bytes are not there
    (<unk>, which is never looked for by its bytes) spans the text up to where the next matching token's
    bytes are found, shared one word each (with the spaces after it) when the gap holds enough words, else
    one character each, the last token taking the rest. Offsets inside a character (byte tokens) are rounded
    up to the character's end. The alignment is tokcli.tokenizer.alignment's, with this sharing rule.
    """
    data = text.encode("utf-8")
    char_at = np.zeros(len(data) + 1, dtype=np.int64)  # byte offset -> characters before it (rounds up)
    np.cumsum(np.frombuffer(data, dtype=np.uint8) & 0xC0 != 0x80, out=char_at[1:])
    byte_at = char_byte_offsets(text)  # character -> its byte offset

    def share(data: bytes, start: int, end: int, k: int) -> list[tuple[int, int]]:
        spans = _share(text, int(char_at[start]), int(char_at[end]), k)
        return [(int(byte_at[s]), int(byte_at[e])) for s, e in spans]

    starts, ends = token_offsets(model.tokenizer, text, ids, share=share, unk_is_gap=True)
    return list(zip(char_at[starts].tolist(), char_at[ends].tolist(), strict=True))


def _share(text: str, start: int, end: int, k: int) -> list[tuple[int, int]]:
    """k character spans covering text[start:end]: a word each where there are k words or more, else a
    character each; the last one takes the rest."""
    cuts = [start + m.start() for m in WORD.finditer(text[start:end])][1:]  # where words 2.. begin
    if len(cuts) < k - 1:
        cuts = list(range(start + 1, end))
    cuts = cuts[: k - 1]
    cuts += [end] * (k - 1 - len(cuts))
    bounds = [start, *cuts, end]
    return [(bounds[r], bounds[r + 1]) for r in range(k)]


def group_tokens(text: str, spans: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Token indices of each word, in order (see the module docstring); every token is in exactly one."""
    words = word_spans(text)
    if not words:
        return [list(range(len(spans)))] if spans else []
    starts = np.array([s for s, _ in words])
    ends = np.array([e for _, e in words])
    owner = []
    for s, e in spans:
        piece = text[s:e]
        lead = len(piece) - len(piece.lstrip())
        first = s + lead  # the first visible character, or e when there is none
        if first < e:  # every visible character is in a word: the first one ending after it
            w = min(int(np.searchsorted(ends, first, side="right")), len(words) - 1)
        else:
            w = min(int(np.searchsorted(starts, s, side="left")), len(words) - 1)  # the next word
        owner.append(w)
    for k in range(1, len(owner)):  # never go back: a word continues until a token starts a later one
        owner[k] = max(owner[k], owner[k - 1])
    groups: dict[int, list[int]] = {}
    for t, w in enumerate(owner):
        groups.setdefault(w, []).append(t)
    return list(groups.values())


def word_weights(weights: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """[L, H, T, T] token attention -> [L, H, W, W] word attention: mean over the attending word's
    pieces, sum over the attended word's pieces."""
    T = weights.shape[-1]
    member = np.zeros((len(groups), T))  # [W, T] 1 where token t is in word w
    for w, g in enumerate(groups):
        member[w, list(g)] = 1.0
    mean = member / member.sum(axis=1, keepdims=True)  # [W, T]
    words: np.ndarray = np.einsum("wt,lhts,vs->lhwv", mean, weights, member)  # [L, H, W, W]
    return words


@dataclass
class WordAttention:
    """Attention between the words of a text's window, and the word chosen to look at."""

    model: str
    text: str  # the whole text given
    words: list[str]  # labels: the text each word's tokens cover, spaces stripped
    spans: list[tuple[int, int]]  # character span of each word's tokens in `text`
    groups: list[list[int]]  # token indices (in the window) of each word
    tokens: list[str]  # printable tokens of the window
    ids: list[int]
    index: int  # the chosen word
    weights: np.ndarray  # [L, H, W, W]
    notes: list[str] = field(default_factory=list)

    @property
    def word(self) -> str:
        return self.words[self.index]

    def names(self) -> list[str]:
        """Labels made unique where a word repeats before the chosen one: `the#1`, `the#5` (word index)."""
        seen: dict[str, int] = {}
        for w in self.words[: self.index + 1]:
            seen[w] = seen.get(w, 0) + 1
        return [f"{w}#{i}" if seen.get(w, 0) > 1 else w for i, w in enumerate(self.words)]

    def head_mean(self) -> np.ndarray:
        """[L, index + 1]: the chosen word's weights over the words up to it, averaged over heads."""
        mean: np.ndarray = self.weights[:, :, self.index, : self.index + 1].mean(axis=1)
        return mean

    def to_dict(self) -> dict[str, object]:
        k = self.index
        hm = self.head_mean()
        return {
            "model": self.model,
            "view": "words",
            "words": [
                {"word": w, "start": s, "end": e, "tokens": g}
                for w, (s, e), g in zip(self.words, self.spans, self.groups, strict=True)
            ],
            "tokens": self.tokens,
            "index": k,
            "word": self.word,
            "layers": [
                {
                    "layer": li,
                    "mean": [round(float(x), 6) for x in hm[li]],
                    "heads": [[round(float(x), 6) for x in head[k, : k + 1]] for head in layer],
                }
                for li, layer in enumerate(self.weights)
            ],
            "mean": [round(float(x), 6) for x in hm.mean(axis=0)],
        }


def _choose(words: list[str], groups: list[list[int]], tokens: list[str], word: str | None, index: int | None,
            notes: list[str]) -> int:  # fmt: skip
    if word is not None and index is not None:
        raise UsageError("give --token or --index, not both")
    if word is not None:
        want = word.strip()
        matches = [w for w, label in enumerate(words) if label == want]
        if not matches:  # a token of a word ("animal" when the word is "animal's")
            tok = [t for t, s in enumerate(tokens) if s.strip() == want]
            matches = sorted({w for w, g in enumerate(groups) for t in tok if t in g})
        if not matches:
            shown = ", ".join(repr(w) for w in words[:20]) + (" ..." if len(words) > 20 else "")
            raise UsageError(f"--token {word!r} is not one of the text's words ({shown}); or give --index")
        if len(matches) > 1:
            notes.append(f"{want!r} occurs {len(matches)} times (words {matches}); showing the first")
        return matches[0]
    if index is not None:
        T = sum(len(g) for g in groups)
        if not -T <= index < T:
            raise UsageError(f"--index {index}: the text has {T} tokens (0..{T - 1}, or -1 for the last)")
        t = index % T
        return next(w for w, g in enumerate(groups) if t in g)
    return len(words) - 1


def word_attention(model: Model, text: str, *, word: str | None = None, index: int | None = None) -> WordAttention:
    """Word-level attention of `text` (its last block_size tokens). The chosen word is `word` (a word of the
    text, or a token of one; its first occurrence), the word holding token `index`, or the last word."""
    rep = attention_report(model, text)  # the last token: the choice is made here, over words
    all_ids = model.encode(text)
    spans = token_char_spans(model, text, all_ids)[len(all_ids) - len(rep.ids) :]
    off = spans[0][0] if spans else 0
    window = text[off:]
    groups = group_tokens(window, [(s - off, e - off) for s, e in spans])
    wspans = [(spans[g[0]][0], spans[g[-1]][1]) for g in groups]
    labels = [text[s:e].strip() or text[s:e] for s, e in wspans]
    notes = list(rep.notes)
    k = _choose(labels, groups, rep.tokens, word, index, notes)
    return WordAttention(model.name, text, labels, wspans, groups, rep.tokens, rep.ids, k,
                         word_weights(rep.weights, groups), notes)  # fmt: skip


@dataclass
class ContrastRow:
    a: int | None  # word index in the first text, or None where only the second has it
    b: int | None
    weights_a: list[float]  # per layer, head-averaged ([] where a is None)
    weights_b: list[float]


@dataclass
class Contrast:
    """The chosen word's head-averaged attention in two texts, word against word."""

    first: WordAttention
    second: WordAttention
    rows: list[ContrastRow]
    same_prefix: bool  # the texts agree up to and including the chosen words: a causal model sees no change

    def to_dict(self) -> dict[str, object]:
        na, nb = self.first.names(), self.second.names()
        return {
            "same_prefix": self.same_prefix,
            "rows": [
                {
                    "a": None if r.a is None else na[r.a],
                    "b": None if r.b is None else nb[r.b],
                    "a_index": r.a,
                    "b_index": r.b,
                    "weights_a": [round(x, 6) for x in r.weights_a],
                    "weights_b": [round(x, 6) for x in r.weights_b],
                    "difference": [round(y - x, 6) for x, y in zip(r.weights_a, r.weights_b, strict=True)]
                    if r.a is not None and r.b is not None
                    else None,
                }
                for r in self.rows
            ],
        }


def contrast(first: WordAttention, second: WordAttention) -> Contrast:
    """Pair the words up to each chosen word (difflib on the lower-cased labels; words replaced one for
    one are paired in order) and set their head-averaged weights side by side, per layer."""
    a, b = first.words[: first.index + 1], second.words[: second.index + 1]
    ha, hb = first.head_mean(), second.head_mean()  # [L, ka + 1], [L, kb + 1]

    def col(h: np.ndarray, i: int) -> list[float]:
        return [float(x) for x in h[:, i]]

    rows: list[ContrastRow] = []
    sm = difflib.SequenceMatcher(None, [w.lower() for w in a], [w.lower() for w in b], autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        n = min(i2 - i1, j2 - j1) if op in ("equal", "replace") else 0
        rows += [ContrastRow(i1 + d, j1 + d, col(ha, i1 + d), col(hb, j1 + d)) for d in range(n)]
        rows += [ContrastRow(i, None, col(ha, i), []) for i in range(i1 + n, i2)]
        rows += [ContrastRow(None, j, [], col(hb, j)) for j in range(j1 + n, j2)]
    last_a = first.groups[first.index][-1]
    last_b = second.groups[second.index][-1]
    same = first.ids[: last_a + 1] == second.ids[: last_b + 1]  # the same inputs: the same computation
    return Contrast(first, second, rows, same)
