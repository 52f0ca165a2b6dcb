"""The one base class: every tokenizer, trained or loaded, has the same verbs.

    encode(text) -> ids        decode(ids) -> text        count(text) -> int
    encode_batch(texts)        token_bytes(id) -> bytes   id_to_token(id) -> str
    vocab_size                 save(path)

plus streaming versions of encode and count that cut a long text only where encoding the pieces
separately gives exactly the ids of encoding it whole (see `SAFE_CUT`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from .patterns import SAFE_CUT

if TYPE_CHECKING:
    import regex

SEGMENT_CHARS = 1 << 18  # aim for segments of about 256 K characters
BATCH_SEGMENTS = 8  # segments encoded together by encode_batch (threads in tiktoken and tokenizers)


class Tokenizer:
    """Base class. Subclasses set `name` and `kind` and implement the verbs that raise here."""

    name: str = "?"
    kind: str = "?"  # char | word | bpe | unigram | tiktoken | hf | sentencepiece
    unk_id: int | None = None  # id of the unknown token, None when there is none
    lossless: bool = True  # decode(encode(text)) == text for every text
    cut_pattern: str | None = SAFE_CUT  # None: cannot be streamed, the whole text is encoded at once

    # -- what subclasses implement -------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: Sequence[int]) -> str:
        raise NotImplementedError

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes a token stands for (a byte-level token may be part of one UTF-8 character)."""
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def save(self, path: str) -> None:
        raise NotImplementedError(f"{self.name}: this kind of tokenizer cannot be saved")

    # -- derived verbs, overridden where a backend does better --------------------------------
    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def id_to_token(self, token_id: int) -> str:
        """A printable form of one token: its text, or <0xNN> bytes where it is not whole UTF-8."""
        b = self.token_bytes(token_id)
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            return "".join(f"<0x{x:02X}>" for x in b)

    def is_byte_fallback(self, token_id: int) -> bool:
        """True for a token that stands for one raw byte because the text was not in the vocabulary."""
        return False

    def unknown_pieces(self, text: str) -> list[str]:
        """The pieces of `text` that encode to the unknown token (none for a tokenizer without one)."""
        if self.unk_id is None:
            return []
        raise NotImplementedError(f"{self.name}: this kind of tokenizer cannot say which pieces are unknown")

    # -- streaming ---------------------------------------------------------------------------------
    def segments(self, chunks: Iterable[str]) -> Iterator[str]:
        """Re-cut a stream of text chunks into segments that encode independently.

        Memory is bounded by SEGMENT_CHARS plus the longest stretch of text without a safe cut point
        (in practice a line or a paragraph). A tokenizer with no `cut_pattern` gets one segment.
        """
        if self.cut_pattern is None:
            yield "".join(chunks)
            return
        cut = None  # compiled when first needed: a short text never imports regex
        parts: list[str] = []
        size = 0
        yielded = False
        for chunk in chunks:
            parts.append(chunk)
            size += len(chunk)
            if size < SEGMENT_CHARS:
                continue
            text = "".join(parts)
            cut = cut or _compiled_reverse(self.cut_pattern)
            # the last cut point; only the newest chunk (and one char before it) is searched
            m = cut.search(text, max(0, len(text) - len(chunk) - 1))
            if m is None or m.start() == 0:
                parts, size = [text], len(text)
                continue
            yield text[: m.start()]
            yielded = True
            rest = text[m.end() :]
            parts, size = [rest], len(rest)
        if parts or not yielded:
            tail = "".join(parts)
            if tail or not yielded:
                yield tail

    def encode_stream(self, chunks: Iterable[str]) -> Iterator[list[int]]:
        """Ids of a long text, a segment at a time; concatenated they equal encode(whole text)."""
        batch: list[str] = []
        for seg in self.segments(chunks):
            batch.append(seg)
            if len(batch) == BATCH_SEGMENTS:
                yield from self.encode_batch(batch)
                batch = []
        if batch:
            yield from self.encode_batch(batch)

    def count_stream(self, chunks: Iterable[str]) -> int:
        return sum(len(ids) for ids in self.encode_stream(chunks))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} kind={self.kind} vocab={self.vocab_size}>"


_CUT_CACHE: dict[str, regex.Pattern[str]] = {}


def _compiled_reverse(pattern: str) -> regex.Pattern[str]:
    if pattern not in _CUT_CACHE:
        import regex

        _CUT_CACHE[pattern] = regex.compile(pattern, regex.REVERSE)
    return _CUT_CACHE[pattern]
