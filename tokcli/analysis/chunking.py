"""Split a text into pieces of at most N tokens (`chunk`), or keep its first or last N tokens (`Truncator`).

Both read a stream of text chunks and hold only what they need. A piece ends at the last paragraph
boundary that keeps it within N tokens, else the last line boundary, else the last sentence boundary;
only a stretch with none of these is cut at a token boundary. A token boundary can fall inside a
multi-byte character (a byte-level BPE splits an emoji into several tokens; tiktoken issue #236): every
cut backs off to the previous whole character, so no piece ever holds half a character. Pieces are exact
slices of the input, so without overlap they concatenate back to it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import regex

from tokcli.errors import UsageError
from tokcli.tokenizer.base import SEGMENT_CHARS, Tokenizer

from .alignment import token_spans

# boundaries, most preferred first; a piece ends right after the separator
BOUNDARIES = (
    regex.compile(r"\n[ \t]*\n\s*"),  # paragraph: a blank line (and any whitespace after it)
    regex.compile(r"\n"),  # line
    regex.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|(?<=[。！？])[」』）]*"),  # sentence
)


@dataclass(frozen=True)
class Piece:
    text: str
    tokens: int
    start: int  # character offsets of the piece in the whole input: input[start:end] == text
    end: int


def _char_offset(text: str, byte_offset: int, *, forward: bool = False) -> int:
    """The character offset of a byte offset into text's UTF-8, moved off a character's middle bytes
    (back to the character's start, or forward past it)."""
    data = text.encode("utf-8")
    b = max(0, min(byte_offset, len(data)))
    while 0 < b < len(data) and (data[b] & 0xC0) == 0x80:
        b += 1 if forward else -1
    return len(data[:b].decode("utf-8"))


def count(tok: Tokenizer, text: str) -> int:
    """tok.count(text), streamed for a long text (a segment at a time: memory bounded by SEGMENT_CHARS)."""
    return tok.count(text) if len(text) <= SEGMENT_CHARS else tok.count_stream([text])


def token_cut(tok: Tokenizer, text: str, n: int) -> int:
    """The character offset after at most `n` whole tokens of `text`, never inside a character; a long text
    is encoded a segment at a time, up to the segment where the cut falls."""
    if len(text) <= SEGMENT_CHARS or tok.cut_pattern is None:
        return _token_cut(tok, text, n)
    kept = off = 0
    for i, (seg, ids) in enumerate(tok.encode_segments([text])):
        if kept + len(ids) > n:
            h, _ = segment_cut(tok, seg, i == 0, n - kept)
            return off + h
        kept += len(ids)
        off += len(seg)
    return len(text)


def segment_cut(tok: Tokenizer, seg: str, first: bool, n: int) -> tuple[int, int]:
    """(the offset after at most `n` whole tokens of a segment of a longer text, the first when `first`;
    their count), as the segment is encoded within the text (see Tokenizer.segment_inputs)."""
    (body,) = tok.segment_inputs([seg], first)
    h = _token_cut(tok, body, n)
    return (len(seg) - len(body) + h, tok.count(body[:h])) if h else (0, 0)


def _token_cut(tok: Tokenizer, text: str, n: int) -> int:
    ids = tok.encode(text)
    if len(ids) <= n:
        return len(text)
    spans = token_spans(tok, text, ids)
    h = _char_offset(text, spans[n - 1][1] if n else 0)
    while h > 0 and tok.count(text[:h]) > n:  # a prefix can tokenize differently: make sure
        h -= 1
    return h


def _fits(tok: Tokenizer, text: str, s: int, e: int, n: int) -> bool:
    return count(tok, text[s:e]) <= n


def piece_end(tok: Tokenizer, text: str, s: int, n: int, *, final: bool = True) -> int | None:
    """Where the piece starting at `s` ends (see the module docstring); None when more text is needed."""
    window = max(256, 8 * n)
    while True:
        e = min(len(text), s + window)
        if count(tok, text[s:e]) > n:
            break
        if e == len(text):
            return len(text) if final else None
        window *= 2
    h = s + token_cut(tok, text[s:e], n)
    if h == s:
        ch = text[s]
        raise UsageError(
            f"--max-tokens {n} is too small: the character {ch!r} at offset {s} alone takes {tok.count(ch)} tokens"
        )
    if not final and e == len(text) and h >= len(text) - 1:
        return None
    for pattern in BOUNDARIES:
        cands: list[int] = [m.end() for m in pattern.finditer(text, s, h) if s < m.end() <= h]
        for c in reversed(cands):
            if _fits(tok, text, s, c, n):
                return c
    return h


def chunk(tok: Tokenizer, chunks: Iterable[str], max_tokens: int, *, overlap: int = 0) -> Iterator[Piece]:
    """Pieces of at most `max_tokens` tokens covering the text; each after the first starts with the last
    `overlap` tokens (backed off to a whole character) of the one before."""
    if max_tokens < 1:
        raise UsageError(f"--max-tokens {max_tokens} must be positive")
    if not 0 <= overlap < max_tokens:
        raise UsageError(f"--overlap {overlap} must be at least 0 and less than --max-tokens {max_tokens}")
    it = iter(chunks)
    buf, base, s, eof = "", 0, 0, False
    while True:
        if eof and s >= len(buf):
            return
        end = None if s >= len(buf) else piece_end(tok, buf, s, max_tokens, final=eof)
        if end is None:
            try:
                buf, base, s = buf[s:] + next(it), base + s, 0
            except StopIteration:
                eof = True
            continue
        text = buf[s:end]
        yield Piece(text, count(tok, text), base + s, base + end)
        if end >= len(buf) and eof:
            return
        s = _overlap_start(tok, buf, s, end, overlap)


def _overlap_start(tok: Tokenizer, text: str, s: int, e: int, k: int) -> int:
    """The start of the last k tokens of text[s:e] (moved forward to a whole character), or e."""
    if k == 0:
        return e
    if e - s > SEGMENT_CHARS and tok.cut_pattern is not None:  # only the segments that hold the last k tokens
        held: deque[tuple[int, int]] = deque()  # (offset in the piece, tokens) of the last segments
        inside = off = 0
        for seg, ids in tok.encode_segments([text[s:e]]):
            held.append((off, len(ids)))
            inside += len(ids)
            off += len(seg)
            while len(held) > 1 and inside - held[0][1] >= k:
                inside -= held.popleft()[1]
        s += held[0][0]
    piece = text[s:e]
    ids = tok.encode(piece)
    if len(ids) <= k:
        return e
    spans = token_spans(tok, piece, ids)
    start = s + _char_offset(piece, spans[len(ids) - k][0], forward=True)
    return start if s < start < e else e


class Truncator:
    """Keep the first (or, with from_end, the last) `max_tokens` tokens of a stream of text.

        t = Truncator(tok, 100)
        kept = "".join(t.run(chunks))       # then t.cut, t.kept, t.total

    The stream is re-cut into segments that encode independently (Tokenizer.segments), so counts are
    exact; the first N tokens are written as soon as they are known and the rest is not read.
    """

    def __init__(self, tok: Tokenizer, max_tokens: int, *, from_end: bool = False) -> None:
        if max_tokens < 1:
            raise UsageError(f"--max-tokens {max_tokens} must be positive")
        self.tok, self.n, self.from_end = tok, max_tokens, from_end
        self.cut = False
        self.kept = 0
        self.total: int | None = None  # tokens in the whole input (known with from_end, or when nothing is cut)

    def run(self, chunks: Iterable[str]) -> Iterator[str]:
        return self._tail(chunks) if self.from_end else self._head(chunks)

    def _head(self, chunks: Iterable[str]) -> Iterator[str]:
        for i, (seg, ids) in enumerate(self.tok.encode_segments(chunks)):
            k = len(ids)
            if self.kept + k <= self.n:
                self.kept += k
                yield seg
                continue
            self.cut = True
            h, kept = segment_cut(self.tok, seg, i == 0, self.n - self.kept)
            self.kept += kept
            if h:
                yield seg[:h]
            return
        self.total = self.kept

    def _tail(self, chunks: Iterable[str]) -> Iterator[str]:
        held: deque[tuple[str, int]] = deque()
        inside, total = 0, 0
        for seg, ids in self.tok.encode_segments(chunks):
            k = len(ids)
            held.append((seg, k))
            inside += k
            total += k
            while held and inside - held[0][1] >= self.n:
                inside -= held.popleft()[1]
        self.total = total
        if inside > self.n:
            self.cut = True
            seg, k = held.popleft()
            rest = inside - k
            want = self.n - rest
            start = _tail_cut(self.tok, seg, want)
            held.appendleft((seg[start:], self.tok.count(seg[start:])))
        self.kept = sum(k for _, k in held)
        for seg, _ in held:
            if seg:
                yield seg


def _tail_cut(tok: Tokenizer, text: str, n: int) -> int:
    """The character offset where the last `n` tokens of text begin, moved forward to a whole character."""
    if n <= 0:
        return len(text)
    ids = tok.encode(text)
    if len(ids) <= n:
        return 0
    spans = token_spans(tok, text, ids)
    c = _char_offset(text, spans[len(ids) - n][0], forward=True)
    while c < len(text) and tok.count(text[c:]) > n:
        c += 1
    return c
