"""What a worker does with a task: load the tokenizers (by name, or from the bytes of a file shipped from
the client), read its pieces as UTF-8 and count or encode them. Everything here is picklable and uses
only the public Tokenizer methods, so a task runs the same in the client's process and on a worker.

An error that is about the input (not UTF-8, a line too long, a missing file) is returned as a value,
not raised, so the scheduler does not retry what cannot succeed; the client raises it (or, for a file a
walk found, leaves the file out and says so), as one process does.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from tokcli.errors import TokcliError
from tokcli.files.text import decode_blocks
from tokcli.tokenizer.base import Tokenizer
from tokcli.tokenizer.counting import about, count_inputs, count_read

from .files import open_binary
from .plan import Piece, Task

if TYPE_CHECKING:
    import numpy as np

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class TokSpec:
    """How a worker gets a tokenizer: a name its registry knows, or the bytes of a file given on the client."""

    spec: str  # the name or path given on the client (also the tokenizer's name there)
    data: bytes | None = None  # the file's bytes, where spec is a local file (or a model directory's tokenizer.json)
    filename: str = ""  # its file name (the format is told by its name and first byte)
    special: str = "text"
    add_special: bool = False

    @classmethod
    def of(cls, spec: str, special: str = "text", add_special: bool = False) -> TokSpec:
        from tokcli.tokenizer.registry import looks_like_path, resolve

        target = resolve(spec).tokenizer  # a path, or a model whose config names a file: the file is shipped
        path = os.path.join(target, "tokenizer.json") if os.path.isdir(target) else target
        if os.path.isfile(path) and looks_like_path(target):
            from tokcli.tokenizer.fileread import read_tokenizer_file  # regular, and within the size limit

            return cls(spec, read_tokenizer_file(path), os.path.basename(path), special, add_special)
        return cls(spec, None, "", special, add_special)

    def load(self) -> Tokenizer:
        return _load(self).with_special(self.special, self.add_special)


@cache
def _load(spec: TokSpec) -> Tokenizer:
    from tokcli.tokenizer.registry import load, load_file

    if spec.data is None:
        return load(spec.spec)
    if os.path.isfile(spec.spec) and _same_bytes(spec.spec, spec.data):  # the client, or a worker beside it
        return load_file(spec.spec, name=spec.spec)
    with tempfile.TemporaryDirectory(prefix="tokcli-tok-") as d:  # loaded whole: the copy can go at once
        path = os.path.join(d, spec.filename)
        with open(path, "wb") as f:
            f.write(spec.data)
        return load_file(path, name=spec.spec)


def _same_bytes(path: str, data: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(data) + 1) == data
    except OSError:
        return False


def parts(tok: Tokenizer) -> tuple[Tokenizer, list[int], list[int]]:
    """(the tokenizer without what it adds around an input, the ids it adds before, after): a file cut
    into pieces gets them once, around the whole file."""
    if not tok.add_special:
        return tok, [], []
    before, after = tok.added_around()
    return tok.with_special(tok.special, False), list(before), list(after)


def read_piece(piece: Piece, *, errors: str = "strict", hasher: Any = None) -> Iterator[str]:
    """The text of bytes [start, stop) of a file, in chunks, decoded as UTF-8 as tokcli.files.text.iter_text
    decodes a whole file (the same errors, with offsets in the whole file). With `hasher` (a hashlib object),
    every byte read is fed to it too."""
    with open_binary(piece.path) as f:
        f.seek(piece.start)

        def blocks() -> Iterator[bytes]:
            offset = piece.start
            while piece.stop is None or offset < piece.stop:
                want = CHUNK_BYTES if piece.stop is None else min(CHUNK_BYTES, piece.stop - offset)
                block = f.read(want)
                if not block:
                    return
                offset += len(block)
                if hasher is not None:
                    hasher.update(block)
                yield block

        yield from decode_blocks(blocks(), piece.path, errors=errors, offset=piece.start)


# -- counting -------------------------------------------------------------------------------------------


@dataclass
class PieceCount:
    chars: int = 0
    bytes: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    unknown: dict[str, Any] = field(default_factory=dict)  # tokenizer name -> UnknownText
    error: str | None = None  # an input error: the message, without the path


@dataclass
class TaskResult:
    task: int
    pieces: list[Any]  # one result per piece of the task
    nbytes: int = 0


def count_task(task: Task, specs: Sequence[TokSpec], errors: str = "strict", strict_unk: bool = False) -> TaskResult:
    """Count every piece of `task` under every tokenizer (the ids they add around a file are added by the
    client, once per file), as tokcli.tokenizer.counting counts a whole file."""
    toks = [parts(s.load())[0] for s in specs]
    whole = _whole_files(task, toks, errors, strict_unk)  # many small files counted in batches
    out = []
    for k, piece in enumerate(task.pieces):
        if k in whole:
            out.append(whole[k])
            continue
        try:
            row = count_read(toks, partial(_read, piece, errors), piece.path, strict_unk=strict_unk)
            r = PieceCount(row.chars, row.bytes, row.tokens, row.unknown)
        except TokcliError as e:
            r = PieceCount(error=str(e))
        out.append(r)
    return TaskResult(task.index, out, task.nbytes)


def _whole_files(task: Task, toks: Sequence[Tokenizer], errors: str, strict_unk: bool) -> dict[int, PieceCount]:
    """The counts of the pieces of `task` that are whole local files, by their index in the task: counted by
    count_inputs, which reads small files whole and counts them many to a batch call (one call per file
    made a task of 2,000 tiny files 40 times slower than one process)."""
    from tokcli.files.walk import Source

    at = [k for k, p in enumerate(task.pieces) if p.first and p.last and "://" not in p.path]
    if len(at) < 2:
        return {}
    failed: list[tuple[str, str]] = []
    sources = [Source(task.pieces[k].path, walked=True) for k in at]  # walked: a failure is kept, not raised
    rows = iter(count_inputs(toks, sources, errors=errors, strict_unk=strict_unk, skipped=failed))
    reasons = iter(failed)
    out = {}
    row = next(rows, None)
    for k in at:  # the rows come in the order of the files, less those that failed
        path = task.pieces[k].path
        if row is not None and row.input == path:
            out[k] = PieceCount(row.chars, row.bytes, row.tokens, row.unknown)
            row = next(rows, None)
        else:
            failed_path, why = next(reasons)
            out[k] = PieceCount(error=f"{failed_path}: {why}")
    return out


def _read(piece: Piece, errors: str, _tokenizer: int) -> Iterator[str]:
    return read_piece(piece, errors=errors)


# -- encoding -------------------------------------------------------------------------------------------


def encode_ids(task: Task, spec: TokSpec, *, eot: int | None = None, errors: str = "strict",
               digests: list[str] | None = None) -> np.ndarray:  # fmt: skip
    """The ids of the pieces of `task` in order, as one [T] uint32 array: BOS/EOS once around each whole file,
    and `eot` after the end of each file, where given. With `digests` (a list), the sha256 of the bytes
    read of each piece is appended to it ('sha256:<hex>', see tokcli.workers.files.digest). Raises InputError."""
    import hashlib

    import numpy as np

    tok, before, after = parts(spec.load())
    end = [*after, *([] if eot is None else [eot])]
    ids: list[np.ndarray] = []
    for piece in task.pieces:
        if piece.first:
            ids.append(np.asarray(before, dtype=np.uint32))
        h = hashlib.sha256()
        with about(piece.path):
            ids.append(tok.encode_array(read_piece(piece, errors=errors, hasher=h)))
        if digests is not None:
            digests.append("sha256:" + h.hexdigest())
        if piece.last:
            ids.append(np.asarray(end, dtype=np.uint32))
    return np.concatenate(ids) if ids else np.zeros(0, dtype=np.uint32)


@dataclass
class ShardResult:
    task: int
    file: str
    tokens: int
    nbytes: int  # text bytes read
    error: str | None = None
    missing: int = 0  # records without text in the field (encode --to --field)
    digests: list[str] = field(default_factory=list)  # sha256 of the bytes read of each source, in order


def encode_task(task: Task, spec: TokSpec, out_dir: str, dtype: str, eot: int | None = None,
                errors: str = "strict") -> ShardResult:  # fmt: skip
    """Encode `task` and write its shard (atomically) into `out_dir`."""
    import numpy as np

    from tokcli.files.shards import SHARD_NAME

    from .files import join, write_bytes

    name = SHARD_NAME.format(task.index)
    digests: list[str] = []
    try:
        ids = encode_ids(task, spec, eot=eot, errors=errors, digests=digests)
        write_bytes(join(out_dir, name), np.asarray(ids, dtype=np.dtype(dtype).newbyteorder("<")).tobytes())
    except TokcliError as e:
        return ShardResult(task.index, name, 0, task.nbytes, error=str(e))
    return ShardResult(task.index, name, len(ids), task.nbytes, digests=digests)
