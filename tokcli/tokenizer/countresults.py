"""What counting gives: one InputCount per input (its chars, bytes and each tokenizer's tokens), and the
text a tokenizer with an unknown token lost (UnknownText), per input and in total (unknown_totals).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Tokenizer


@dataclass
class InputCount:
    input: str
    chars: int = 0
    bytes: int = 0
    tokens: dict[str, int] = field(default_factory=dict)  # tokenizer name -> count
    unknown: dict[str, UnknownText] = field(default_factory=dict)  # tokenizer name -> text it lost (if it can)


MAX_DISTINCT = 10_000  # distinct unknown pieces remembered; the totals stay exact beyond


@dataclass
class UnknownText:
    """Text a tokenizer could not represent: each of its pieces became the unknown token."""

    tokenizer: str
    unk_token: str
    chars: int = 0
    pieces: int = 0
    distinct: Counter[str] = field(default_factory=Counter)  # piece -> times (the first MAX_DISTINCT pieces)
    more_distinct: bool = False  # more distinct pieces were seen than `distinct` holds

    @classmethod
    def of(cls, tok: Tokenizer) -> UnknownText:
        return cls(tok.name, tok.id_to_token(tok.unk_id) if tok.unk_id is not None else "<unk>")

    def __bool__(self) -> bool:
        return self.pieces > 0

    def add(self, pieces: Iterable[str]) -> None:
        for p in pieces:
            self.chars += len(p)
            self.pieces += 1
            if p in self.distinct or len(self.distinct) < MAX_DISTINCT:
                self.distinct[p] += 1
            else:
                self.more_distinct = True

    def merge(self, other: UnknownText) -> None:
        self.chars += other.chars
        self.pieces += other.pieces
        for p, n in other.distinct.items():
            if p in self.distinct or len(self.distinct) < MAX_DISTINCT:
                self.distinct[p] += n
            else:
                self.more_distinct = True
        self.more_distinct |= other.more_distinct

    def describe(self, became: str = "became") -> str:
        """E.g. "3 characters (2 distinct: 'é', '漢') are not in char's vocabulary and became <unk>"."""
        what = f"{self.chars} character{'' if self.chars == 1 else 's'}"
        if self.pieces != self.chars:  # some pieces are longer than one character (words)
            what += f" in {self.pieces} piece{'' if self.pieces == 1 else 's'}"
        shown = ", ".join(_short_repr(p) for p, _ in self.distinct.most_common(5))
        n = len(self.distinct)
        if n == 1 and not self.more_distinct:
            which = shown
        else:
            which = f"{'over ' if self.more_distinct else ''}{n} distinct: {shown}{', ...' if n > 5 else ''}"
        verb = "is" if self.pieces == 1 and self.chars == 1 else "are"
        return f"{what} ({which}) {verb} not in {self.tokenizer}'s vocabulary and {became} {self.unk_token}"


def _short_repr(piece: str, limit: int = 24) -> str:
    return repr(piece if len(piece) <= limit else piece[: limit - 1] + "…")


def unknown_totals(rows: Iterable[InputCount]) -> list[UnknownText]:
    """The unknown text of each tokenizer over all rows, for those that lost any."""
    totals: dict[str, UnknownText] = {}
    for row in rows:
        for name, u in row.unknown.items():
            if name not in totals:
                totals[name] = UnknownText(u.tokenizer, u.unk_token)
            totals[name].merge(u)
    return [u for u in totals.values() if u]
