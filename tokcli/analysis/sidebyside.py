"""Several tokenizations of one text, aligned by character offset: where they split the same, where not.

Each tokenizer's tokens are mapped to the characters they cover (tokcli.analysis.alignment gives the byte
spans). Byte-level tokens that start inside a character (a character split over byte tokens) are merged
with the token before them into one span holding all their ids, so that every span starts and ends on a
character: a boundary inside a character cannot be drawn, and the text of such a span is whole.

A boundary is a character offset where a span starts (the start and the end of the text are not
counted). It differs when some of the tokenizers put one there and others do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tokcli.tokenizer.base import Tokenizer

from .alignment import token_offsets


@dataclass(frozen=True)
class CharSpan:
    start: int  # character offsets into the text, end exclusive
    end: int
    ids: tuple[int, ...]  # usually one id; several where byte tokens share a character


@dataclass
class Tokenization:
    name: str
    spans: list[CharSpan]

    @property
    def tokens(self) -> int:
        return sum(len(s.ids) for s in self.spans)

    def boundaries(self) -> set[int]:
        """Character offsets where a span starts, other than the start of the text."""
        return {s.start for s in self.spans if s.start > 0}


@dataclass
class SideBySide:
    text: str
    tokenizations: list[Tokenization]

    def differing(self) -> list[int]:
        """Character offsets where some tokenizers put a boundary and others do not, in order."""
        sets = [t.boundaries() for t in self.tokenizations]
        if not sets:
            return []
        return sorted(set().union(*sets) - set(sets[0]).intersection(*sets[1:]))

    def all_boundaries(self) -> list[int]:
        return sorted(set().union(*(t.boundaries() for t in self.tokenizations)))

    def to_dict(self, label: str | None = None) -> dict[str, object]:
        chars = len(self.text)
        doc: dict[str, object] = {} if label is None else {"input": label}
        doc.update(
            {
                "chars": chars,
                "text": self.text,
                "tokenizers": [
                    {
                        "name": t.name,
                        "tokens": t.tokens,
                        "chars_per_token": round(chars / t.tokens, 4) if t.tokens else None,
                        "spans": [
                            {"start": s.start, "end": s.end, "text": self.text[s.start : s.end], "ids": list(s.ids)}
                            for s in t.spans
                        ],
                    }
                    for t in self.tokenizations
                ],
                "boundaries": len(self.all_boundaries()),
                "differing": self.differing(),
            }
        )
        return doc


def char_spans(tok: Tokenizer, text: str, ids: Sequence[int] | None = None) -> list[CharSpan]:
    """The character span of each token of `text` (see the module docstring for tokens inside a character)."""
    if ids is None:
        ids = tok.encode(text)
    if not len(ids):
        return []
    starts, ends = token_offsets(tok, text, ids)
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    lead = (data & 0xC0) != 0x80  # [B] the first byte of a character
    char_at = np.zeros(len(data) + 1, dtype=np.int64)  # byte offset -> characters before it (rounding up)
    np.cumsum(lead, out=char_at[1:])
    at_char = np.append(lead, True)  # [B + 1] offset on a character boundary
    st, en, idl = starts.tolist(), ends.tolist(), list(ids)
    out: list[CharSpan] = []
    group: list[int] = []
    g_start = g_end = 0
    for k in range(len(idl)):
        if group and not at_char[st[k]]:  # starts inside a character: part of the span before
            group.append(idl[k])
            g_end = max(g_end, en[k])
            continue
        if group:
            out.append(CharSpan(int(char_at[g_start]), int(char_at[g_end]), tuple(group)))
        group, g_start, g_end = [idl[k]], st[k], en[k]
    out.append(CharSpan(int(char_at[g_start]), int(char_at[g_end]), tuple(group)))
    return out


def side_by_side(toks: Sequence[Tokenizer], text: str) -> SideBySide:
    """`text` under each tokenizer, as character spans."""
    return SideBySide(text, [Tokenization(t.name, char_spans(t, text)) for t in toks])
