"""Looking at tokens: token spans for `show`, id parsing for `decode`. (Counting is tokcli.tokenizer.counting,
low enough that `check` and `diff` count through it too.)"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tokcli.errors import UsageError
from tokcli.tokenizer.base import Tokenizer


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


def parse_ids(words: Iterable[str], tok: Tokenizer) -> list[int]:
    """Ids from arguments or stdin: whitespace- or comma-separated, a JSON list works too.

    Each must be a token of `tok`: inside its vocabulary, and assigned (tiktoken's encodings leave gaps
    below their special tokens, cl100k_base 100261-100275 for one, which its decoder cannot decode).
    """
    vocab_size, name = tok.vocab_size, tok.name
    ids = []
    for word in words:
        for part in _ID_SEP.split(word):
            if not part:
                continue
            try:
                i = int(part)
            except ValueError:
                shown = repr(part if len(part) <= 40 else part[:40] + "...")
                raise UsageError(f"{shown} is not a token id: give integers, e.g. `tokcli decode 15339 1917`") from None
            if not 0 <= i < vocab_size:
                raise UsageError(f"token id {i} is outside the vocabulary of {name} (0..{vocab_size - 1})")
            ids.append(i)
    for i in set(ids):
        try:
            tok.token_bytes(i)
        except Exception:  # each library has its own (KeyError in tiktoken, IndexError, ValueError, ...)
            raise UsageError(
                f"token id {i} is not assigned in {name}; give ids that `tokcli encode -t {name}` gives"
            ) from None
    return ids
