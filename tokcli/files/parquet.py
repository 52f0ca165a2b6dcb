"""Reading one column of a Parquet file (pyarrow, the [data] extra) in bounded memory, for the records of
tokcli.files.datasets: a batch of BATCH_ROWS rows at a time (fewer where rows are large), pages read as
they are needed, a dictionary-encoded column's values made once each; a row group too large to read
within the limits is refused from the file's metadata, before it is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tokcli.errors import BackendMissing, InputError, UsageError, limit_from_env

from .jsonlimits import max_line_bytes

BATCH_ROWS = 1024  # Parquet rows read at a time
BATCH_BYTES = 64 << 20  # about the most bytes of column data one Parquet batch holds
BUFFER_BYTES = 1 << 20  # read at a time from the file
MAX_PARQUET_CHUNK_BYTES = 256 << 20  # the largest decompressed column chunk read (TOKCLI_MAX_PARQUET_CHUNK_BYTES)
DATA_EXTRA = 'pip install "tokcli[data]"'


def pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BackendMissing(f"reading Parquet files needs pyarrow: {DATA_EXTRA}") from None
    return pq


def parquet_file(path: str, dictionary: list[str] | None = None) -> Any:
    pq = pyarrow_parquet()
    if path == "-":
        raise UsageError("a Parquet file cannot be read from stdin; give its path")
    try:
        # pages read as they are needed, not whole column chunks at once: memory follows the batch size
        return pq.ParquetFile(path, pre_buffer=False, buffer_size=BUFFER_BYTES, read_dictionary=dictionary)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or directory") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory; give a .parquet file (a dataset directory is not read)") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except Exception as e:  # pyarrow.ArrowInvalid and friends: not a Parquet file
        raise InputError(f"{path}: not a Parquet file tokcli can read ({e})") from None


def iter_values(
    path: str, column: str, id_column: str | None, start: int, stop: int | None
) -> Iterator[tuple[Any, Any]]:
    """(the value of `column`, the value of `id_column` or None) of each row of the row groups from `start`
    to `stop`, a batch at a time; UsageError for a column the file lacks, InputError for a file that cannot
    be read as Parquet or a row group too large to read (see `_batch_rows`)."""
    pf = parquet_file(path)
    names = pf.schema_arrow.names
    for col in (column, id_column):
        if col is not None and col not in names:
            raise UsageError(f"{path}: no column {col!r}; its columns are {', '.join(names) or '(none)'}")
    groups = range(pf.num_row_groups)[start:stop]
    columns = list(dict.fromkeys(c for c in (column, id_column) if c is not None))
    if not groups:
        return
    batch_rows = _batch_rows(path, pf.metadata, list(groups), columns)

    if _dictionary_encoded(pf, column, list(groups)):
        pf = parquet_file(path, [column])  # kept a dictionary: a value repeated in many rows is held once
    try:
        batches = pf.iter_batches(batch_size=batch_rows, row_groups=list(groups), columns=columns)
        for batch in batches:
            values = _values(batch.column(columns.index(column)))
            ids = batch.column(columns.index(id_column)).to_pylist() if id_column else None
            for i, v in enumerate(values):
                yield v, None if ids is None else ids[i]
    except OSError as e:
        raise InputError(f"{path}: cannot read it as Parquet ({e})") from None
    except Exception as e:
        if type(e).__module__.startswith("pyarrow"):
            raise InputError(f"{path}: cannot read it as Parquet ({e})") from None
        raise


def _dictionary_encoded(pf: Any, name: str, groups: list[int]) -> bool:
    """Whether the string column `name` is dictionary-encoded in the file (its pages may then stand for far
    more text than their size says)."""
    import pyarrow as pa

    kind = pf.schema_arrow.field(name).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return False
    md = pf.metadata
    return any(
        md.row_group(g).column(j).has_dictionary_page
        for g in groups
        for j in range(md.num_columns)
        if md.row_group(g).column(j).path_in_schema == name
    )


def _values(column: Any) -> list[Any]:
    """The Python values of a column of a batch; a dictionary column's values made once each."""
    if hasattr(column, "dictionary") and hasattr(column, "indices"):
        unique = column.dictionary.to_pylist()
        return [None if i is None else unique[i] for i in column.indices.to_pylist()]
    return list(column.to_pylist())


def _batch_rows(path: str, md: Any, groups: list[int], columns: list[str]) -> int:
    """Rows per batch: BATCH_ROWS, fewer where rows are large (from the sizes the file's metadata gives
    each column chunk, before any is read). A row group whose rows average more than
    TOKCLI_MAX_LINE_BYTES (the longest JSONL line) is refused, as a longer line would be; so is one whose
    column chunk is larger than TOKCLI_MAX_PARQUET_CHUNK_BYTES (256 MiB) once decompressed (pyarrow holds a
    whole page, and a page may be the whole chunk)."""
    limit = max_line_bytes()
    chunk_most = limit_from_env("TOKCLI_MAX_PARQUET_CHUNK_BYTES", MAX_PARQUET_CHUNK_BYTES)
    widest = 0.0
    for g in groups:
        rg = md.row_group(g)
        if not rg.num_rows:
            continue
        size = sum(
            rg.column(j).total_uncompressed_size
            for j in range(rg.num_columns)
            if rg.column(j).path_in_schema.split(".")[0] in columns
        )
        if size > chunk_most:
            raise InputError(
                f"{path}: row group {g} holds {size:,} bytes of {', '.join(columns)} once decompressed, more "
                f"than {chunk_most:,}; write it with smaller row groups (or set TOKCLI_MAX_PARQUET_CHUNK_BYTES "
                "higher)"
            )
        per_row = size / rg.num_rows
        if per_row > limit:
            raise InputError(
                f"{path}: row group {g} holds rows of {per_row:,.0f} bytes on average, more than {limit:,}; "
                "write it with smaller rows (or set TOKCLI_MAX_LINE_BYTES higher)"
            )
        widest = max(widest, per_row)
    return max(1, min(BATCH_ROWS, int(BATCH_BYTES // widest) if widest else BATCH_ROWS))


def rows_before(path: str, group: int) -> int:
    if not group:
        return 0
    md = parquet_file(path).metadata
    return sum(md.row_group(i).num_rows for i in range(min(group, md.num_row_groups)))
