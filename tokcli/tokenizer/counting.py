"""Counting tokens: the one way every command counts (`count`, `check`, `diff`, `count --field`, `--chat`,
the Dask workers), so that they agree to the token.

    count_inputs(tokenizers, sources)   one InputCount per input (files, stdin, streams, bytes in memory):
                                        small files read whole and counted in batches, the rest streamed
    count_texts(tok, texts, label)      the count of each text, each a whole input (records, messages)
    count_read(tokenizers, read, label) one input's InputCount from a reader of its text (a file's piece)
    caching(cache)                      count_inputs inside keeps counts in a count cache (tokcli.files.countcache)

An UncutTooLong raised while counting is given the name of its input here (`about`), once for all of them.
Text a tokenizer with an unknown token loses is collected as `UnknownText`; the result types are in
tokcli.tokenizer.countresults.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from tokcli.errors import InputError, UncutTooLong
from tokcli.files.opening import open_file
from tokcli.files.text import decode_blocks, iter_text, read_blocks
from tokcli.files.walk import SNIFF_BYTES, Source

from .base import Tokenizer
from .countresults import InputCount, UnknownText

if TYPE_CHECKING:
    from tokcli.files.countcache import CountCache


_cache: ContextVar[CountCache | None] = ContextVar("count_cache", default=None)


@contextmanager
def caching(cache: CountCache | None) -> Iterator[None]:
    """Every count_inputs inside (of `count`, `check`, `diff`) looks files up in `cache` and keeps its counts
    there, unless given another; None: no cache."""
    token = _cache.set(cache)
    try:
        yield
    finally:
        _cache.reset(token)


@contextmanager
def about(label: str) -> Iterator[None]:
    """An UncutTooLong raised inside, naming the input `label` (the one place it is given a name)."""
    try:
        yield
    except UncutTooLong as e:
        raise e.about(label) from None


def _measured(chunks: Iterable[str], row: InputCount, first: bool, count_bytes: bool = True) -> Iterable[str]:
    for c in chunks:
        if first:
            row.chars += len(c)
            if count_bytes:
                row.bytes += _utf8_len(c)
        yield c


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))  # isascii is O(1) on a str


def count_inputs(
    tokenizers: Sequence[Tokenizer],
    sources: Iterable[Source],
    *,
    errors: str = "strict",
    strict_unk: bool = False,
    skipped: list[tuple[str, str]] | None = None,
    cache: CountCache | None = None,
) -> list[InputCount]:
    """Token counts of every input under every tokenizer, exact, in bounded memory; one row per input, in order.
    `sources` may be a generator: each is let go once counted (a diff reads each version as it is counted).

    A small regular file (or bytes in memory) is read whole and counted in a batch with others; a larger one
    is streamed, read once per tokenizer; stdin, which can be read only once, is held in memory when several
    tokenizers need it (as are FIFOs and other streams). An input that is not text (binary, not UTF-8, a
    stretch too long to cut) raises InputError, unless it is `walked` and `skipped` is given: then it is left
    out and (path, reason) added to `skipped`. For a tokenizer with an unknown token, each row's `unknown`
    says what text became it; with `strict_unk` the first such text raises InputError instead.

    With a `cache` (tokcli.files.countcache; default: the one `caching` set), a file (or bytes in memory) whose content and tokenizers
    it has seen is read and hashed but not tokenized, and what is counted is kept there; only where no
    tokenizer has an unknown token and each has a fingerprint (tokcli.tokenizer.fingerprint).
    """
    rows: list[InputCount] = []
    batch = _SmallFiles(tokenizers, rows) if all(t.unk_id is None for t in tokenizers) else None
    cache = cache if cache is not None else _cache.get()
    if batch is not None and cache is not None:
        batch.use(cache, errors)
    for src in sources:
        try:
            if batch is not None and batch.add(src, errors):
                continue
            if batch is not None:
                batch.flush()  # the rows stay in the order of the inputs
                if batch.cache is not None and (done := batch.cached_large(src, errors)) is not None:
                    rows.append(done)
                    continue
            rows.append(_count_one(tokenizers, src, errors=errors, strict_unk=strict_unk))
        except InputError as e:  # an input a walk found that is not text: left out, and said so
            if not src.walked or skipped is None:
                raise
            skipped.append((src.path, str(e).removeprefix(f"{src.path}: ")))
    if batch is not None:
        batch.close()
    return rows


def count_texts(tok: Tokenizer, texts: Sequence[str], label: str | None) -> list[int]:
    """The count of each text, each a whole input: exactly `tok.count_stream([text])` (texts up to a segment
    long in one batch call, longer ones streamed); an UncutTooLong names `label` (None: the caller names it,
    inside its own `about`)."""
    if label is None:
        return tok.count_texts(texts)
    with about(label):
        return tok.count_texts(texts)


def count_read(
    tokenizers: Sequence[Tokenizer],
    read: Callable[[int], Iterable[str]],
    label: str,
    *,
    strict_unk: bool = False,
    count_bytes: bool = True,
) -> InputCount:
    """One input's counts, its text given in chunks by `read(i)` for each tokenizer i in turn (chars, and
    with `count_bytes` its UTF-8 bytes, measured on the first reading)."""
    row = InputCount(label)
    with about(label):
        for i, tok in enumerate(tokenizers):
            chunks = _measured(read(i), row, first=i == 0, count_bytes=count_bytes)
            if tok.unk_id is None:
                row.tokens[tok.name] = tok.count_stream(chunks)
            else:
                unknown = row.unknown[tok.name] = UnknownText.of(tok)
                stream = checked_stream(tok, chunks, unknown, strict=strict_unk, label=label)
                row.tokens[tok.name] = sum(len(ids) for ids in stream)
    return row


SMALL_FILE_BYTES = 1 << 18  # a file this small is read whole and counted in a batch with others
SMALL_BATCH_CHARS = 1 << 20  # characters of small files counted by one batch call


class _SmallFiles:
    """Small regular files read whole and counted many at a time (`Tokenizer.count_texts`, one batch call
    of the engine instead of one per file), the next batch read while a thread counts the last one (the
    engines release the GIL). A row is appended in input order once its batch is counted; the counts are
    each file's own `count_stream`. Only for tokenizers without an unknown token (no text to report).

    With a count cache (`use`), a file the cache knows under every tokenizer rides in the batch already
    counted; the others are counted and kept in the cache."""

    def __init__(self, tokenizers: Sequence[Tokenizer], rows: list[InputCount]) -> None:
        self.tokenizers = tokenizers
        self.rows = rows
        self.batch: list[InputCount] = []  # the rows of the batch being read, in order
        self.texts: list[str] = []  # the texts of those of them still to count
        self.todo: list[tuple[InputCount, bytes | None]] = []  # their rows and cache keys (blob ids)
        self.chars = 0
        self.pending: Any = None  # the Future of the batch being counted
        self.pool: Any = None
        self.cache: CountCache | None = None
        self.fps: list[str] = []

    def use(self, cache: CountCache, errors: str) -> None:
        """Look files up in `cache` and keep their counts there (where every tokenizer has a fingerprint)."""
        from .fingerprint import cache_fingerprint

        fps = [cache_fingerprint(t, errors) for t in self.tokenizers]
        if all(fps):
            self.cache, self.fps = cache, [fp for fp in fps if fp]
        else:
            missing = ", ".join(t.name for t, fp in zip(self.tokenizers, fps, strict=True) if not fp)
            cache.warnings.append(f"{missing}: tokcli cannot fingerprint this tokenizer; its counts are not cached")

    def _lookup(self, label: str, blob: bytes) -> InputCount | None:
        """The row of a file from the cache, if it has every tokenizer's count of it."""
        assert self.cache is not None
        row = InputCount(label)
        for tok, fp in zip(self.tokenizers, self.fps, strict=True):
            entry = self.cache.get(fp, blob)
            if entry is None or (row.tokens and (entry.chars, entry.bytes) != (row.chars, row.bytes)):
                return None
            row.chars, row.bytes = entry.chars, entry.bytes
            row.tokens[tok.name] = entry.tokens
        return row

    def _keep(self, row: InputCount, blob: bytes) -> None:
        from tokcli.files.countcache import Entry

        assert self.cache is not None
        for tok, fp in zip(self.tokenizers, self.fps, strict=True):
            self.cache.put(fp, blob, Entry(row.tokens[tok.name], row.chars, row.bytes))

    def add(self, src: Source, errors: str) -> bool:
        """Read `src` into the batch if it is a small regular file; False (nothing read) otherwise."""
        if src.is_stdin or src.stream:
            return False
        try:
            size = src.nbytes()
        except OSError:
            return False  # the normal path says what is wrong
        if size > SMALL_FILE_BYTES:
            return False
        data = src.data if src.data is not None else _read_whole(src)
        blob = None
        if self.cache is not None:
            from tokcli.files.countcache import blob_id

            blob = blob_id(data)
            if (row := self._lookup(src.label, blob)) is not None:
                self.batch.append(row)
                return True
        text = _decode_whole(data, src.label, errors)
        row = InputCount(src.label, chars=len(text), bytes=_utf8_len(text))
        self.batch.append(row)
        self.texts.append(text)
        self.todo.append((row, blob))
        self.chars += len(text)
        if self.chars >= SMALL_BATCH_CHARS:
            self._submit()
        return True

    def cached_large(self, src: Source, errors: str) -> InputCount | None:
        """A file too large for a batch, from the cache, else counted as `_count_one` counts it and kept
        there; None for a stream (or a file that cannot be read: the normal path says why)."""
        if src.is_stdin or src.stream:
            return None
        from tokcli.files.countcache import blob_id

        before = None
        try:
            if src.data is not None:
                blob = blob_id(src.data)
            else:
                import hashlib

                before = os.stat(src.path)
                h = hashlib.sha1(b"blob %d\0" % before.st_size)
                read = 0
                with open_file(src.path) as f:
                    for block in read_blocks(f, src.label):
                        h.update(block)
                        read += len(block)
                if read != before.st_size:
                    return None  # changed while read: the normal path counts what it reads
                blob = h.digest()
        except OSError:
            return None
        if (row := self._lookup(src.label, blob)) is not None:
            return row
        row = _count_one(self.tokenizers, src, errors=errors, strict_unk=False)
        if before is None or _same_file(before, os.stat(src.path)):  # else changed since: not kept
            self._keep(row, blob)
        return row

    def _submit(self) -> None:
        batch, texts, todo = self.batch, self.texts, self.todo
        self.batch, self.texts, self.todo, self.chars = [], [], [], 0
        if not batch:
            return

        def count() -> list[InputCount]:
            if texts:
                for tok in self.tokenizers:
                    for (row, _), n in zip(todo, tok.count_texts(texts), strict=True):
                        row.tokens[tok.name] = n
            return batch

        self._collect()
        if not texts:  # every file from the cache
            self.rows.extend(batch)
            return
        if self.pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(1)
        self.pending = (self.pool.submit(count), todo)

    def _collect(self) -> None:
        if self.pending is not None:
            (pending, todo), self.pending = self.pending, None
            self.rows.extend(pending.result())
            for row, blob in todo:
                if blob is not None:
                    self._keep(row, blob)

    def flush(self) -> None:
        """Every file read so far counted and its row appended."""
        self._submit()
        self._collect()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self.pool is not None:
                self.pool.shutdown()


def _decode_whole(data: bytes, label: str, errors: str) -> str:
    """A small file's text, as iter_text gives it (the same checks and errors: one block of decode_blocks),
    decoded in one call where it is plain UTF-8 text."""
    if errors == "strict" and b"\x00" not in data[:SNIFF_BYTES]:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass  # decode_blocks says where
    return "".join(decode_blocks([data], label, errors=errors))


def _read_whole(src: Source) -> bytes:
    """A small file's bytes, read errors as iter_text gives them."""
    with open_file(src.path) as f:
        return b"".join(read_blocks(f, src.label))


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_ino, a.st_dev, a.st_size, a.st_mtime_ns) == (b.st_ino, b.st_dev, b.st_size, b.st_mtime_ns)


def _count_one(tokenizers: Sequence[Tokenizer], src: Source, *, errors: str, strict_unk: bool) -> InputCount:
    once = src.is_stdin or src.stream  # a stream can be read once: held when several tokenizers need it
    # strictly decoded text is exactly the bytes read: counted as read, not encoded again
    read = [0] if errors == "strict" else None
    held: list[str] | None = (
        list(iter_text(src, errors=errors, read_bytes=read)) if once and len(tokenizers) > 1 else None
    )

    def text(i: int) -> Iterable[str]:
        return held if held is not None else iter_text(src, errors=errors, read_bytes=read if i == 0 else None)

    row = count_read(tokenizers, text, src.label, strict_unk=strict_unk, count_bytes=read is None)
    if read is not None:
        row.bytes = read[0]
    return row


def checked_stream(
    tok: Tokenizer, chunks: Iterable[str], unknown: UnknownText, *, strict: bool = False, label: str = "<text>"
) -> Iterator[list[int]]:
    """`tok.encode_stream(chunks)`, adding to `unknown` the text that became the unknown token.

    Only a segment whose ids hold the unknown id is looked at again (`unknown_pieces`), so text without
    unknowns costs one scan of its ids. With `strict` the first such segment raises InputError before
    its ids are yielded.
    """
    unk = tok.unk_id
    if unk is None:
        yield from tok.encode_stream(chunks)
        return
    for segment, ids in tok.encode_segments(chunks):
        if unk in ids:
            found = UnknownText(unknown.tokenizer, unknown.unk_token)
            found.add(tok.unknown_pieces(segment))
            if not found:  # a tokenizer that cannot say which: the ids still say how many
                found.pieces = ids.count(unk)
            if strict:
                raise InputError(
                    f"{label}: {found.describe(became='would become')} (--strict-unk); use a tokenizer "
                    "without an unknown token (bpe, cl100k_base, ...), or leave out --strict-unk to go on"
                )
            unknown.merge(found)
        yield ids
