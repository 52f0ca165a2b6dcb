"""Reading text inputs (files, directories, stdin) strictly as UTF-8, in chunks."""

from __future__ import annotations

import codecs
import io
import itertools
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, BinaryIO

from tokcli.errors import InputError, UsageError

from .opening import open_file
from .walk import SNIFF_BYTES, Source, WalkOptions, classify, expand

CHUNK_BYTES = 1 << 20  # 1 MiB read at a time


class Inputs(list[Source]):
    """The sources of command-line inputs, and what the walk skipped: (path, reason) pairs."""

    skipped: list[tuple[str, str]]


def expand_inputs(paths: Iterable[str], options: WalkOptions | None = None) -> Inputs:
    """Files and streams as given, directories walked and globs expanded (see tokcli.files.walk), '-' for stdin."""
    paths = list(paths)
    w = expand(paths, options or WalkOptions())
    sources = Inputs(w.found)
    sources.skipped = w.skipped
    if not sources:
        raise InputError(
            f"{', '.join(paths)}: has no text files to read (binary files are skipped; hidden and "
            ".gitignored ones too, unless --hidden / --no-ignore)"
        )
    return sources


def one_input(path: str) -> Source:
    """The one text input of chunk and truncate: a file, a stream or '-' (checked as every input is)."""
    if path != "-" and classify(path) == "dir":
        raise InputError(f"{path}: is a directory; give one file (or - for stdin)")
    (source,) = expand_inputs([path])
    return source


def _open_binary(source: Source) -> BinaryIO:
    if source.data is not None:
        return io.BytesIO(source.data)
    return stdin_binary() if source.is_stdin else open_file(source.path)


class _WaitingReader(io.RawIOBase):
    """A file descriptor in non-blocking mode read as if it blocked: where a read finds nothing yet
    (EAGAIN), it waits with select() for data or the end. The descriptor's mode is left as it is (the
    parent that set it shares it)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        import select

        while True:
            try:
                data = os.read(self._fd, len(buffer))
            except BlockingIOError:
                select.select([self._fd], [], [])
                continue
            buffer[: len(data)] = data
            return len(data)


def stdin_binary() -> BinaryIO:
    """Standard input as bytes, read as if it blocked even when a parent left it in non-blocking mode
    (O_NONBLOCK, which makes a plain read fail or return nothing before the writer has written)."""
    stdin = sys.stdin
    if stdin is None:  # closed (`<&-`): nothing to read
        return io.BytesIO()
    try:
        fd = stdin.fileno()
        blocking = os.get_blocking(fd)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):  # no descriptor (tests), Windows
        return stdin.buffer
    if blocking:
        return stdin.buffer
    return io.BufferedReader(_WaitingReader(fd), CHUNK_BYTES)


def read_blocks(f: BinaryIO, label: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The bytes of an open input in blocks; an error while reading (EIO from a device or /proc, a
    vanished network file) is an InputError naming the input, not taken for a failed write."""
    while True:
        try:
            block = f.read(chunk_bytes)
        except OSError as e:
            raise InputError(f"{label}: cannot read it ({e.strerror or e}); give a readable text file") from None
        if not block:
            return
        yield block


def iter_text(
    source: Source, *, errors: str = "strict", chunk_bytes: int = CHUNK_BYTES, read_bytes: list[int] | None = None
) -> Iterator[str]:
    """Yield the text of `source` in chunks of about `chunk_bytes` bytes, decoded as UTF-8.

    errors='strict' raises InputError naming the file and the byte offset of the first bad byte;
    'replace' substitutes U+FFFD. A NUL byte in the first 8 KiB is reported as a binary file.
    `read_bytes`, when given, has the number of bytes read added to its first item as they are read (with
    errors='strict' that is the UTF-8 size of the text, without encoding it again).
    """
    f = _open_binary(source)
    try:
        yield from decode_blocks(
            read_blocks(f, source.label, chunk_bytes), source.label, errors=errors, read_bytes=read_bytes
        )
    finally:
        if not source.is_stdin:
            f.close()


def decode_blocks(
    blocks: Iterable[bytes],
    label: str,
    *,
    errors: str = "strict",
    offset: int = 0,
    read_bytes: list[int] | None = None,
) -> Iterator[str]:
    """Decode consecutive blocks of a file as UTF-8, yielding text as it comes; `offset` is the position of
    the first block in the file (the errors name byte offsets in the whole file).

    errors='strict': a NUL byte in the first 8 KiB of the file is reported as a binary file, and the first
    bad byte by its offset; 'replace' substitutes U+FFFD.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors=errors)
    sniff = offset == 0 and errors == "strict"
    for block in itertools.chain(blocks, [b""]):
        if sniff and b"\x00" in block[:SNIFF_BYTES]:
            nul = block.index(b"\x00")
            raise InputError(
                f"{label}: looks like a binary file (NUL byte at offset {nul}); "
                "give a text file, or --errors replace to read it anyway"
            )
        sniff = False
        pending = len(decoder.getstate()[0])  # bytes of an unfinished character held from the last block
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError as e:
            raise InputError(
                f"{label}: not valid UTF-8 at byte {offset - pending + e.start}; "
                "convert it to UTF-8, or pass --errors replace to go on"
            ) from None
        offset += len(block)
        if read_bytes is not None:
            read_bytes[0] += len(block)
        if text:
            yield text


def read_text(source: Source | str, *, errors: str = "strict", limit: tuple[int, str, str] | None = None) -> str:
    """The whole text of one input; with `limit` (bytes, the environment variable that sets it, what the
    text is), an InputError once more bytes than that are read, before they are all held."""
    if isinstance(source, str):
        source = Source(source)
    if limit is None:
        return "".join(iter_text(source, errors=errors))
    most, env, what = limit
    seen = [0]
    parts = []
    for chunk in iter_text(source, errors=errors, read_bytes=seen):
        if seen[0] > most:
            raise InputError(
                f"{source.label}: more than {most:,} bytes, the most tokcli reads as {what}; give less "
                f"(or set {env} to a larger number of bytes)"
            )
        parts.append(chunk)
    return "".join(parts)


def split_holdout(text: str, fraction: float) -> tuple[str, str]:
    """(first part, last `fraction` of the characters): the train/validation split nanoGPT makes."""
    n = int(len(text) * (1 - fraction))
    return text[:n], text[n:]


def training_texts(sources: Sequence[Source], *, holdout: float = 0.0, errors: str = "strict") -> Iterator[str]:
    """The text of each source as a stream of chunks, or with `holdout` all but its last fraction (what
    `tokcli lm train` and `compare --train` hold out)."""
    if not 0 <= holdout < 1:
        raise UsageError(f"--holdout {holdout} must be in [0, 1)")
    return _training_texts(sources, holdout, errors)


def _training_texts(sources: Sequence[Source], holdout: float, errors: str) -> Iterator[str]:
    for s in sources:
        if holdout:
            yield split_holdout(read_text(s, errors=errors), holdout)[0]
        else:
            yield from iter_text(s, errors=errors)
