"""Reading the records of a dataset: one text field of every line of a JSONL file, or one column of a
Parquet file, in bounded memory.

    for rec in iter_records("train.jsonl.zst", "meta.text"):
        rec.id, rec.text, rec.problem      # text None (and problem saying why) where the record has no text

Formats, by the file's name:

    NAME.jsonl, NAME.ndjson, other names, -   one JSON value per line (UTF-8); blank lines are not records
    NAME.jsonl.gz, NAME.jsonl.zst             the same, gzip- or zstd-compressed (zstd needs the [data] extra)
    NAME.parquet                              a Parquet file (pyarrow, the [data] extra), read a batch of
                                              parquet.BATCH_ROWS rows at a time

A field is a dotted path into nested objects (`meta.text`); a part that is a number indexes a list
(`turns.0.text`). A record whose field is absent, null or not a string is still yielded, with `text`
None and `problem` saying what is there instead, so callers count and report it instead of skipping it.
A line that is not JSON is an InputError naming FILE:LINE; a line longer than `max_line_bytes` (default
jsonlimits.MAX_LINE_BYTES, TOKCLI_MAX_LINE_BYTES) is refused before it is read whole.

Record ids: the value of `id_field` when given (as a string); else the line number for JSONL (1-based,
as editors and `sed -n Np` count) and the row number for Parquet (0-based, as pyarrow and pandas count).

Splitting for parallel readers (`splits`): an uncompressed JSONL file is cut at line starts into byte
ranges, a Parquet file into runs of row groups; `iter_records(..., start=, stop=, first=)` reads one
split, with the same ids the whole-file reading gives.

The limits on JSON (depth, values, huge integers, surrogates) are in tokcli.files.jsonlimits; the Parquet
reading in tokcli.files.parquet.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, NamedTuple

from tokcli.errors import BackendMissing, InputError, UsageError

from .jsonlimits import loads, max_line_bytes
from .opening import open_file
from .parquet import DATA_EXTRA, iter_values, parquet_file, rows_before

SCAN_BYTES = 1 << 20  # read at a time when looking for line starts


class Record(NamedTuple):
    """One record: its id, the text of the field (None when it has none), and why it has none."""

    id: str
    text: str | None
    problem: str | None = None  # e.g. "no field 'text'", "'text' is a number, not a string"
    fields: tuple[str, ...] | None = None  # where the record lacks the field: the fields it has there instead


@dataclass(frozen=True)
class Split:
    """A part of a records file one reader can read alone (see `splits`)."""

    path: str
    start: int  # JSONL: the byte offset of a line start; Parquet: the first row group
    stop: (
        int | None
    )  # JSONL: the byte offset where it ends (a line start, the file size; None: the end); Parquet: the row group after the last
    first: int  # the id number of the part's first line or row (JSONL: line number; Parquet: row number)


def kind(path: str) -> str:
    """'parquet', 'jsonl.gz', 'jsonl.zst' or 'jsonl', by the file's name ('-' is JSONL)."""
    lower = path.lower()
    if lower.endswith(".parquet"):
        return "parquet"
    if lower.endswith(".gz"):
        return "jsonl.gz"
    if lower.endswith((".zst", ".zstd")):
        return "jsonl.zst"
    return "jsonl"


def field_path(field: str) -> tuple[str, ...]:
    """The parts of a dotted field path; UsageError for an empty part (`a..b`, `.a`)."""
    parts = tuple(field.split("."))
    if not field or any(p == "" for p in parts):
        raise UsageError(f"--field {field!r}: give a field name, or a dotted path such as meta.text")
    return parts


def _type(v: Any) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", int: "a number", float: "a number",
            str: "a string"}.get(type(v), type(v).__name__)  # fmt: skip


def lookup(obj: Any, path: tuple[str, ...]) -> tuple[Any, str | None]:
    """(the value at `path` in `obj`, None) or (None, what is wrong: "no field 'meta.text'", ...)."""
    cur = obj
    for i, part in enumerate(path):
        where = ".".join(path[: i + 1])
        if isinstance(cur, dict):
            if part not in cur:
                return None, f"no field {where!r}"
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit():
            if int(part) >= len(cur):
                return None, f"no item {where!r} (the list has {len(cur)})"
            cur = cur[int(part)]
        else:
            return None, f"no field {where!r} ({'the record' if i == 0 else repr('.'.join(path[:i]))} is {_type(cur)})"
    return cur, None


def fields_near(obj: Any, path: tuple[str, ...]) -> tuple[str, ...]:
    """The fields `obj` has where `path` leaves it, dotted from the top: the keys of the deepest object on the
    way that has any (what a record holds instead of a field it lacks). Empty for a record with no fields."""
    cur: Any = obj
    at: list[str] = []
    best: tuple[str, ...] = ()
    for part in (*path, None):
        if not isinstance(cur, dict):
            break
        if cur:
            best = tuple(".".join([*at, str(k)]) for k in cur)
        if part is None or part not in cur:
            break
        cur = cur[part]
        at.append(part)
    return best


def record_of(obj: Any, path: tuple[str, ...], rid: str) -> Record:
    """The Record of one JSON object (or Parquet row): its text at `path`, or why it has none (and, where it
    lacks the field, the fields it has)."""
    text, problem = text_of(obj, path)
    if text is None and lookup(obj, path)[1] is not None:
        return Record(rid, None, problem, fields_near(obj, path))
    return Record(rid, text, problem)


def text_of(obj: Any, path: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(the string at `path`, None), or (None, why there is none)."""
    value, problem = lookup(obj, path)
    if problem is not None:
        return None, problem
    if value is None:
        return None, f"{'.'.join(path)!r} is null"
    if not isinstance(value, str):
        return None, f"{'.'.join(path)!r} is {_type(value)}, not a string"
    return value, None


# -- JSONL ----------------------------------------------------------------------------------------------


def _label(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _open(path: str, how: str) -> BinaryIO:
    """The decompressed bytes of a JSONL file (or stdin)."""
    if path == "-":
        from .text import stdin_binary

        return stdin_binary()
    raw = open_file(path, directory="a .jsonl or .parquet file")
    if how == "jsonl.gz":
        import gzip

        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if how == "jsonl.zst":
        try:
            import zstandard
        except ImportError:
            raw.close()
            raise BackendMissing(f"{path}: reading .zst files needs zstandard: {DATA_EXTRA}") from None
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader, SCAN_BYTES)
    return raw


def _read_error(path: str, how: str, e: Exception) -> InputError:
    what = {"jsonl.gz": "gzip", "jsonl.zst": "zstd"}.get(how, "")
    return InputError(f"{_label(path)}: cannot read it{' as ' + what if what else ''} ({e})")


def iter_lines(
    path: str, *, start: int = 0, stop: int | None = None, first: int = 1, limit: int | None = None
) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each line that is not blank, of the whole file or of the byte range
    [start, stop) (uncompressed files only; `start` a line start, `first` its line number).

    A line longer than `limit` bytes (default `max_line_bytes()`) is an InputError before more than
    `limit` bytes of it are read.
    """
    how = kind(path)
    limit = max_line_bytes() if limit is None else limit
    ranged = start or stop is not None
    if ranged and (how != "jsonl" or path == "-"):
        raise UsageError(f"{_label(path)}: only an uncompressed JSONL file can be read by byte ranges")
    f = _open(path, how)
    pos = start
    n = first - 1
    try:
        if start:
            f.seek(start)
        while stop is None or pos < stop:
            try:
                line = f.readline(limit + 1)
            except (OSError, EOFError, ValueError) as e:  # a corrupt gzip or zstd stream
                raise _read_error(path, how, e) from None
            except Exception as e:  # zstandard.ZstdError is no OSError
                if type(e).__module__.startswith("zstandard"):
                    raise _read_error(path, how, e) from None
                raise
            if not line:
                return
            n += 1
            pos += len(line)
            if len(line) > limit:
                raise InputError(
                    f"{_label(path)}:{n}: line longer than {limit:,} bytes; is it JSONL? "
                    "(set TOKCLI_MAX_LINE_BYTES higher to read it anyway)"
                )
            if line.strip():
                yield n, line
    finally:
        if path != "-":
            f.close()


def parse_line(path: str, n: int, line: bytes, errors: str = "strict") -> Any:
    """The JSON value of line `n`; InputError `FILE:LINE: not JSON (...)` or not UTF-8 (see `loads`)."""
    try:
        text = line.rstrip(b"\r\n").decode("utf-8", errors=errors)
    except UnicodeDecodeError as e:
        raise InputError(
            f"{_label(path)}:{n}: not valid UTF-8 at byte {e.start} of the line; convert the file to UTF-8, "
            "or pass --errors replace to go on"
        ) from None
    fix = "fix or remove the line"
    if path.lower().endswith(".json"):
        fix += " (records are read as JSONL: one JSON value a line, not one document)"
    return loads(text, f"{_label(path)}:{n}", errors=errors, fix=fix)


def iter_json_lines(
    path: str, *, start: int = 0, stop: int | None = None, first: int = 1, errors: str = "strict",
    limit: int | None = None,
) -> Iterator[tuple[int, Any]]:  # fmt: skip
    """(line number, JSON value) of each line that is not blank (see `iter_lines`, `parse_line`)."""
    for n, line in iter_lines(path, start=start, stop=stop, first=first, limit=limit):
        yield n, parse_line(path, n, line, errors)


def _id(obj: Any, id_field: tuple[str, ...] | None, default: int) -> str:
    if id_field is None:
        return str(default)
    value, problem = lookup(obj, id_field)
    if problem is not None or value is None or isinstance(value, dict | list):
        return str(default)  # a record without an id keeps its position, so it can still be found
    return str(value)


def _jsonl_records(
    path: str, fp: tuple[str, ...], id_fp: tuple[str, ...] | None, start: int, stop: int | None, first: int,
    errors: str, limit: int | None,
) -> Iterator[Record]:  # fmt: skip
    for n, obj in iter_json_lines(path, start=start, stop=stop, first=first, errors=errors, limit=limit):
        yield record_of(obj, fp, _id(obj, id_fp, n))


# -- Parquet (tokcli.files.parquet) ---------------------------------------------------------------------


def _parquet_records(
    path: str, fp: tuple[str, ...], id_fp: tuple[str, ...] | None, start: int, stop: int | None, first: int
) -> Iterator[Record]:
    row = first
    for v, idv in iter_values(path, fp[0], id_fp[0] if id_fp else None, start, stop):
        rid = str(row) if id_fp is None else _id({id_fp[0]: idv}, id_fp, row)
        yield record_of({fp[0]: v}, fp, rid)
        row += 1


# -- the entry points -------------------------------------------------------------------------------------


def iter_records(
    path: str,
    field: str,
    *,
    start: int | None = None,
    stop: int | None = None,
    first: int | None = None,
    id_field: str | None = None,
    errors: str = "strict",
    max_line_bytes: int | None = None,
) -> Iterator[Record]:
    """Every record of `path` (see the module docstring), or of the part from `start` to `stop`
    (JSONL: byte offsets at line starts; Parquet: row group numbers) whose first line or row has the
    number `first` (`splits` gives all three)."""
    fp = field_path(field)
    id_fp = field_path(id_field) if id_field else None
    if kind(path) == "parquet":
        row0 = first if first is not None else rows_before(path, start or 0)
        return _parquet_records(path, fp, id_fp, start or 0, stop, row0)
    return _jsonl_records(path, fp, id_fp, start or 0, stop, 1 if first is None else first, errors, max_line_bytes)


def splits(path: str, parts: int) -> list[Split]:
    """`path` cut into at most `parts` parts for separate readers.

    JSONL (uncompressed): byte ranges of about equal size, each starting at a line start, with the line
    number it starts at (one reading pass counts the lines). Parquet: runs of whole row groups, with the
    row number each starts at. A compressed JSONL file, or stdin, is one part.
    """
    if parts < 1:
        raise UsageError(f"parts {parts} must be positive")
    how = kind(path)
    if how == "parquet":
        md = parquet_file(path).metadata
        n = md.num_row_groups
        bounds = sorted({round(i * n / parts) for i in range(parts + 1)})
        out, row = [], 0
        for a, b in zip(bounds, bounds[1:], strict=False):
            out.append(Split(path, a, b, row))
            row += sum(md.row_group(i).num_rows for i in range(a, b))
        return out or [Split(path, 0, 0, 0)]
    if how != "jsonl" or path == "-":
        return [Split(path, 0, None, 1)]
    size = _size(path)
    targets = [size * i // parts for i in range(1, parts)]
    cuts: list[tuple[int, int]] = [(0, 1)]  # (offset of a line start, its line number)
    with open(path, "rb") as f:
        pos, line = 0, 1  # line: the number of the line that starts at or before pos
        while targets:
            block = f.read(SCAN_BYTES)
            if not block:
                break
            while targets:
                t = max(targets[0] - 1, cuts[-1][0], pos)  # the line start after the first newline from here
                if t >= pos + len(block):
                    break
                j = block.find(b"\n", t - pos)
                if j == -1:
                    break
                cut = pos + j + 1
                if cut < size:
                    cuts.append((cut, line + block.count(b"\n", 0, j + 1)))
                targets = [x for x in targets if x > cut]
            line += block.count(b"\n")
            pos += len(block)
    ends = [c[0] for c in cuts[1:]] + [size]
    return [Split(path, s, e, n) for (s, n), e in zip(cuts, ends, strict=True)]


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or directory") from None


def count_records(path: str) -> int:
    """The number of records (non-blank lines, or Parquet rows) of `path`, without parsing JSON."""
    if kind(path) == "parquet":
        return int(parquet_file(path).metadata.num_rows)
    return sum(1 for _ in iter_lines(path))
