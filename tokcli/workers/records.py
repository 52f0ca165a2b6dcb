"""`count --field` across processes: each JSONL or Parquet file cut into parts (tokcli.files.datasets.splits:
byte ranges at line starts, runs of row groups, with the ids a whole read gives), each part counted
into a report of its own (tokcli.analysis.records.count_into), the reports merged in file order: the
same statistics, lists of ids and totals as one process."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tokcli.analysis.records import (
    BATCH_RECORDS,
    MAX_IDS,
    NEAR_RECORDS,
    Exceeding,
    InputRecords,
    Lengths,
    Missing,
    RecordReport,
    check_field,
    count_into,
)
from tokcli.errors import InputError, TokcliError
from tokcli.files.datasets import Split, iter_records, kind, splits
from tokcli.files.walk import Source

from .count import Progress, ProgressFn, specs_of
from .plan import TASK_BYTES, check_task_bytes
from .runner import Where, run
from .work import TokSpec


@dataclass(frozen=True)
class _One:
    file: int


@dataclass(frozen=True)
class RecordTask:
    index: int
    file: int
    label: str
    split: Split
    nbytes: int

    @property
    def pieces(self) -> tuple[_One, ...]:
        return (_One(self.file),)


def record_tasks(paths: Sequence[str], task_bytes: int) -> tuple[list[Source], list[RecordTask]]:
    """The record files and their parts (tokcli.files.datasets.splits), about `task_bytes` each."""
    check_task_bytes(task_bytes)
    tasks: list[RecordTask] = []
    files = []
    for i, path in enumerate(paths):
        if path == "-":
            raise InputError("--workers and --scheduler read files: stdin cannot be shared with workers; give files")
        try:
            size = os.path.getsize(path)
        except OSError:
            raise InputError(f"{path}: no such file or directory") from None
        if os.path.isdir(path):
            raise InputError(f"{path}: is a directory; --field reads files: give them (e.g. {path}/*.jsonl)")
        files.append(Source(path, size=size))
        parts = splits(path, max(1, math.ceil(size / task_bytes)))
        for s in parts:
            ranged = kind(path) == "jsonl"
            nbytes = (s.stop if s.stop is not None else size) - s.start if ranged else size // len(parts)
            tasks.append(RecordTask(len(tasks), i, path, s, nbytes))
    return files, tasks


def record_task(task: RecordTask, specs: Sequence[TokSpec], field: str, windows: Sequence[Exceeding],
                id_field: str | None, errors: str) -> RecordReport | str:  # fmt: skip
    """The report of one part of a file, or the message of the input error that stopped it."""
    toks = [s.load() for s in specs]
    report = RecordReport(field, [t.name for t in toks], [], {t.name: Lengths(t.name) for t in toks}, Missing(),
                          [Exceeding(w.model, w.tokenizer, w.exact, w.limit) for w in windows])  # fmt: skip
    s = task.split
    try:
        records = iter_records(s.path, field, start=s.start, stop=s.stop, first=s.first, id_field=id_field,
                               errors=errors)  # fmt: skip
        count_into(report, toks, task.label, records)
    except TokcliError as e:
        return str(e)
    return report


def count_records(
    paths: Sequence[str], tokenizer: str | Sequence[str], field: str, client: Any = None, *,
    workers: int | None = None, scheduler: str | None = None, timeout: float | None = None,
    windows: Sequence[Exceeding] = (),
    id_field: str | None = None, errors: str = "strict", special: str = "text", add_special: bool = False,
    task_bytes: int = TASK_BYTES, progress: ProgressFn | None = None,
) -> RecordReport:  # fmt: skip
    """tokcli.analysis.records.count_records, with each file's parts counted as tasks where `client`,
    `workers` or `scheduler` say (see tokcli.workers.count)."""
    specs = specs_of(tokenizer, special, add_special)
    where = Where(workers, scheduler, client, timeout=timeout)
    where.check()
    files, tasks = record_tasks(paths, task_bytes)
    state = Progress.of(files, tasks)  # type: ignore[arg-type]

    def done(task: RecordTask, r: RecordReport | str) -> None:
        if isinstance(r, str):
            raise InputError(r)
        state.done(task)  # type: ignore[arg-type]
        if progress:
            progress(state)

    results = run(record_task, tasks, where, done, specs=specs, field=field, windows=list(windows),  # type: ignore[arg-type]
                  id_field=id_field, errors=errors)  # fmt: skip
    return merge(results, tasks, [s.load().name for s in specs], field, windows)


def merge(results: Sequence[RecordReport], tasks: Sequence[RecordTask], names: list[str], field: str,
          windows: Sequence[Exceeding]) -> RecordReport:  # fmt: skip
    """The reports of the parts, in task order, as one report of whole files."""
    report = RecordReport(field, names, [], {n: Lengths(n) for n in names}, Missing(), list(windows))
    rows: dict[int, InputRecords] = {}
    for t, r in zip(tasks, results, strict=True):
        (part,) = r.inputs
        row = rows.get(t.file)
        if row is None:
            row = rows[t.file] = InputRecords(part.input, tokens={n: 0 for n in names})
            report.inputs.append(row)
        row.records += part.records
        row.chars += part.chars
        row.absent += part.absent
        row.near += part.near[: NEAR_RECORDS - len(row.near)]
        for n in names:
            row.tokens[n] += part.tokens[n]
            report.lengths[n].merge(r.lengths[n])
        report.missing.records += r.missing.records
        report.missing.examples += r.missing.examples[: MAX_IDS - len(report.missing.examples)]
        for w, pw in zip(report.exceeding, r.exceeding, strict=True):
            w.records += pw.records
            w.ids += pw.ids[: MAX_IDS - len(w.ids)]
    if not report.records:
        raise InputError(f"{', '.join(t.label for t in tasks[:1]) or '(no inputs)'}: no records (every line is blank)")
    check_field(report)
    return report


def encode_record_task(task: RecordTask, spec: TokSpec, out_dir: str, dtype: str, eot: int | None = None,
                       errors: str = "strict", field: str = "text") -> Any:  # fmt: skip
    """Encode the records of one part of a file (each record a document: `eot` after each) into a shard;
    records without text in `field` are left out and counted."""
    import numpy as np

    from tokcli.files.shards import SHARD_NAME

    from .files import digest, join, write_bytes
    from .work import ShardResult

    tok = spec.load()
    name = SHARD_NAME.format(task.index)
    ids: list[int] = []
    missing = 0
    end = [] if eot is None else [eot]
    s = task.split
    try:
        digests = [digest(*source_range(task))]  # what the shard is made of, read before its records
        records = iter_records(s.path, field, start=s.start, stop=s.stop, first=s.first, errors=errors)
        for batch in _batched(records, BATCH_RECORDS):
            texts = [r.text for r in batch if r.text is not None]
            missing += len(batch) - len(texts)
            for row in _encoded(tok, texts):
                ids += row
                ids += end
        write_bytes(join(out_dir, name), np.asarray(ids, dtype=np.dtype(dtype).newbyteorder("<")).tobytes())
    except TokcliError as e:
        return ShardResult(task.index, name, 0, task.nbytes, error=str(e))
    return ShardResult(task.index, name, len(ids), task.nbytes, missing=missing, digests=digests)


def source_range(task: RecordTask) -> tuple[str, int, int | None]:
    """(path, start, stop) of the bytes a part depends on: its byte range of an uncompressed JSONL file,
    else the whole file (a Parquet part's row groups, a compressed file)."""
    s = task.split
    return (s.path, s.start, s.stop) if kind(s.path) == "jsonl" else (s.path, 0, None)


def _batched(items: Iterable[Any], n: int) -> Iterator[list[Any]]:
    batch = []
    for x in items:
        batch.append(x)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


def _encoded(tok: Any, texts: list[str]) -> list[list[int]]:
    """Each text's ids, as `tok.encode(text)` (long texts streamed, as encode streams a file)."""
    from tokcli.tokenizer.base import SEGMENT_CHARS

    short = iter(tok.encode_batch([t for t in texts if len(t) <= SEGMENT_CHARS]))
    return [next(short) if len(t) <= SEGMENT_CHARS else [i for part in tok.encode_stream([t]) for i in part]
            for t in texts]  # fmt: skip
