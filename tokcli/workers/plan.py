"""Cutting inputs into tasks: whole files, or byte ranges of a long file cut where every tokenizer's
pre-tokenization guarantees that the parts encode to exactly the ids of the whole.

A plain-text file longer than `task_bytes` is cut near every multiple of `task_bytes`, at the first
position after it where each tokenizer's `cut_pattern` matches (the cut points `Tokenizer.segments` uses
when it streams a long text: encoding the two sides separately gives the ids of encoding them
together). Where a tokenizer has no cut pattern, or streams inexactly (sentencepiece unigram models:
`SPM_CUT`), files are not cut: each is read whole by one task, which then gives exactly what one
process gives. Short files are grouped into tasks of about `task_bytes` (at most TASK_FILES files a task),
so that 100,000 tiny files make a few dozen tasks, not 100,000; a task counts its whole small files in
batches (tokcli.tokenizer.counting, as one process counts them).

The plan depends only on the inputs, the tokenizers and `task_bytes`, never on the number of workers, so
shards written with and without workers are the same bytes.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from tokcli.files.walk import Source
from tokcli.tokenizer.base import Tokenizer

from .files import open_binary

if TYPE_CHECKING:
    import regex

TASK_BYTES = 64 << 20  # bytes of text a task reads: a shard of encode --to holds about this many tokens / 4
TASK_FILES = 2048  # pieces one task reads at most: many tiny files still make tasks enough to share out
MIN_TASK_BYTES = 4096  # tasks smaller than this are refused (cut patterns look ~16 characters around a cut)
WINDOW_BYTES = 1 << 16  # read at a time when looking for a cut point
MAX_SEARCH_BYTES = 16 << 20  # past a cut's target, look this far for a cut point before giving up on that cut
_LOOK = 16  # characters a cut pattern may look around its position (base._LOOKAHEAD)
_INEXACT_CUTS = (r"(?<=\S)(?= \S)",)  # SPM_CUT: a unigram model's segments may tie-break differently


@dataclass(frozen=True)
class Piece:
    """Part of one input file: bytes [start, stop) (stop None: to the end)."""

    file: int  # index into the plan's files
    path: str
    start: int
    stop: int | None
    first: bool  # the part that starts the file (BOS, the binary-file check)
    last: bool  # the part that ends it (EOS, the end-of-document token)

    @property
    def nbytes(self) -> int:
        return (self.stop if self.stop is not None else self.start) - self.start


@dataclass(frozen=True)
class Task:
    """What one worker does in one go: read these pieces in order."""

    index: int
    pieces: tuple[Piece, ...]

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.pieces)


def splittable(tokenizers: Sequence[Tokenizer]) -> bool:
    """Whether files may be cut for every one of these tokenizers (see the module docstring)."""
    return all(t.cut_pattern is not None and t.cut_pattern not in _INEXACT_CUTS for t in tokenizers)


def check_task_bytes(task_bytes: int) -> None:
    if task_bytes < MIN_TASK_BYTES:
        from tokcli.errors import UsageError

        raise UsageError(f"--task-bytes {task_bytes}: give at least {MIN_TASK_BYTES}")


def plan(files: Sequence[Source], tokenizers: Sequence[Tokenizer], task_bytes: int = TASK_BYTES) -> list[Task]:
    """The tasks that read `files`: pieces in file order, grouped into tasks of about `task_bytes`."""
    check_task_bytes(task_bytes)
    cut = splittable(tokenizers)
    patterns = list(dict.fromkeys(t.cut_pattern for t in tokenizers if t.cut_pattern is not None))
    pieces: list[Piece] = []
    for i, f in enumerate(files):
        size = f.nbytes()
        cuts = cut_points(f, patterns, task_bytes) if cut and size > task_bytes else []
        bounds = [0, *cuts, size]
        n = len(bounds) - 1
        for k in range(n):
            pieces.append(Piece(i, f.path, bounds[k], bounds[k + 1], first=k == 0, last=k == n - 1))
    tasks: list[Task] = []
    group: list[Piece] = []
    held = 0  # bytes of the pieces in `group` (a running sum: grouping is linear in the number of files)
    for p in pieces:
        if group and (held + p.nbytes > task_bytes or len(group) >= TASK_FILES):
            tasks.append(Task(len(tasks), tuple(group)))
            group, held = [], 0
        group.append(p)
        held += p.nbytes
    if group:
        tasks.append(Task(len(tasks), tuple(group)))
    return tasks


def cut_points(f: Source, patterns: Sequence[str], task_bytes: int) -> list[int]:
    """Byte offsets where `f` may be cut: one at or after each multiple of `task_bytes` (see `find_cut`)."""
    import regex

    size = f.nbytes()
    compiled = [regex.compile(p) for p in patterns]
    cuts: list[int] = []
    with open_binary(f.path) as fh:
        target = task_bytes
        while target < size - MIN_TASK_BYTES:
            at = find_cut(fh, target, compiled, min(size, target + MAX_SEARCH_BYTES))
            if at is None or at >= size - MIN_TASK_BYTES:
                break
            cuts.append(at)
            target = max(at + MIN_TASK_BYTES, target + task_bytes)
    return cuts


def find_cut(fh: IO[bytes], target: int, compiled: Sequence[regex.Pattern[str]], limit: int) -> int | None:
    """The byte offset of the first position at or after `target` (and before `limit`) where every pattern
    matches, judged with at least _LOOK characters of context on each side; None where there is none or
    the bytes there are not UTF-8 (that file is then read whole, and reports its own error)."""
    pos = target
    while pos < limit:
        fh.seek(pos)
        block = fh.read(WINDOW_BYTES + 4 * _LOOK)
        if not block:
            return None
        skip = 0
        while skip < min(4, len(block)) and block[skip] & 0xC0 == 0x80:  # to a character boundary
            skip += 1
        try:
            text = codecs.getincrementaldecoder("utf-8")("strict").decode(block[skip:], final=False)
        except UnicodeDecodeError:
            return None
        for m in compiled[0].finditer(text, _LOOK, max(_LOOK, len(text) - _LOOK)):
            p = m.start()
            if p + _LOOK > len(text):
                break
            if all(c.match(text, p) for c in compiled[1:]) and _matches_in_context(compiled[0], text, p):
                return pos + skip + len(text[:p].encode("utf-8"))
        pos += WINDOW_BYTES
    return None


def _matches_in_context(pattern: regex.Pattern[str], text: str, p: int) -> bool:
    """The pattern matches at p when its lookahead sees past the window edge too (no endpos clipping)."""
    return pattern.match(text, p) is not None
