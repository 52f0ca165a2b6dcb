"""Counting and looking at tokens: per-input counts, token spans for `show`, id parsing for `decode`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tokcli.errors import UsageError
from tokcli.textio import Source, iter_text
from tokcli.tokenizer.base import Tokenizer


@dataclass
class InputCount:
    input: str
    chars: int = 0
    bytes: int = 0
    tokens: dict[str, int] = field(default_factory=dict)  # tokenizer name -> count


def _measured(chunks: Iterable[str], row: InputCount, first: bool) -> Iterable[str]:
    for c in chunks:
        if first:
            row.chars += len(c)
            row.bytes += len(c.encode("utf-8"))
        yield c


def count_inputs(
    tokenizers: Sequence[Tokenizer], sources: Sequence[Source], *, errors: str = "strict"
) -> list[InputCount]:
    """Token counts of every input under every tokenizer, streaming (bounded memory, exact counts).

    Files are read once per tokenizer; stdin, which can be read only once, is held in memory when
    several tokenizers need it.
    """
    rows = []
    for src in sources:
        row = InputCount(src.label)
        held: list[str] | None = list(iter_text(src, errors=errors)) if src.is_stdin and len(tokenizers) > 1 else None
        for i, tok in enumerate(tokenizers):
            chunks = held if held is not None else iter_text(src, errors=errors)
            row.tokens[tok.name] = tok.count_stream(_measured(chunks, row, first=i == 0))
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Span:
    text: str  # the text these tokens stand for
    ids: tuple[int, ...]  # usually one id; several when a character is split across byte tokens


def token_spans(tok: Tokenizer, text: str) -> list[Span]:
    """The tokens of `text` as readable spans; byte tokens that only together make a character are merged."""
    spans: list[Span] = []
    pending = b""
    ids: list[int] = []
    for i in tok.encode(text):
        pending += tok.token_bytes(i)
        ids.append(i)
        try:
            s = pending.decode("utf-8")
        except UnicodeDecodeError:
            if len(pending) < 4:
                continue
            s = pending.decode("utf-8", errors="replace")
        spans.append(Span(s, tuple(ids)))
        pending, ids = b"", []
    if ids:
        spans.append(Span(pending.decode("utf-8", errors="replace"), tuple(ids)))
    return spans


_ID_SEP = re.compile(r"[\s,\[\]]+")


def parse_ids(words: Iterable[str], vocab_size: int, name: str) -> list[int]:
    """Ids from arguments or stdin: whitespace- or comma-separated, a JSON list works too."""
    ids = []
    for word in words:
        for part in _ID_SEP.split(word):
            if not part:
                continue
            try:
                i = int(part)
            except ValueError:
                raise UsageError(
                    f"{part!r} is not a token id: give integers, e.g. `tokcli decode 15339 1917`"
                ) from None
            if not 0 <= i < vocab_size:
                raise UsageError(f"token id {i} is outside the vocabulary of {name} (0..{vocab_size - 1})")
            ids.append(i)
    return ids
