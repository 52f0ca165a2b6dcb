"""`count` across processes and machines: per-piece counts merged into exactly the rows one process
gives (tokcli.tokenizer.counting.count_inputs): the same chars, bytes, tokens and unknown text per file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tokcli.errors import InputError
from tokcli.files.walk import Source, WalkOptions
from tokcli.tokenizer.countresults import InputCount, UnknownText

from .files import expand
from .plan import TASK_BYTES, Task, plan
from .runner import Where, run
from .work import PieceCount, TaskResult, TokSpec, count_task, parts


@dataclass
class Progress:
    """How far a run is: what a progress display shows (files and bytes done of all)."""

    files: int
    nbytes: int
    tasks: int
    files_done: int = 0
    bytes_done: int = 0
    tasks_done: int = 0
    _left: dict[int, int] = field(default_factory=dict)  # file index -> pieces not yet done

    @classmethod
    def of(cls, files: Sequence[Source], tasks: Sequence[Task]) -> Progress:
        p = cls(len(files), sum(f.nbytes() for f in files), len(tasks))
        for t in tasks:
            for piece in t.pieces:
                p._left[piece.file] = p._left.get(piece.file, 0) + 1
        return p

    def done(self, task: Task) -> None:
        self.tasks_done += 1
        self.bytes_done += task.nbytes
        for piece in task.pieces:
            self._left[piece.file] -= 1
            if not self._left[piece.file]:
                self.files_done += 1


ProgressFn = Callable[[Progress], None]


def specs_of(tokenizers: str | Sequence[str], special: str = "text", add_special: bool = False) -> list[TokSpec]:
    names = [tokenizers] if isinstance(tokenizers, str) else list(tokenizers)
    return [TokSpec.of(n, special, add_special) for n in names]


def count(
    paths: str | Sequence[str],
    tokenizer: str | Sequence[str],
    client: Any = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float | None = None,
    special: str = "text",
    add_special: bool = False,
    errors: str = "strict",
    strict_unk: bool = False,
    walk: WalkOptions | None = None,
    task_bytes: int = TASK_BYTES,
    skipped: list[tuple[str, str]] | None = None,
    progress: ProgressFn | None = None,
) -> list[InputCount]:
    """Token counts of every file of `paths` (files, directories, globs, fsspec URLs) under `tokenizer` (a
    name or path, or several), as `tokcli count` gives them: one InputCount per file, exact.

    Runs in this process, or on `client` (a distributed.Client), `workers` local processes or the cluster
    at `scheduler`. A file a walk found that is not text is left out and added to `skipped` when given
    (else it is an InputError, as is any other file that cannot be read).

        >>> rows = count(["corpora/"], "o200k_base")               # doctest: +SKIP
        >>> rows = count(["s3://bucket/shards/"], "o200k_base", client=Client("tcp://10.0.0.1:8786"))  # doctest: +SKIP
    """
    specs = specs_of(tokenizer, special, add_special)
    where = Where(workers, scheduler, client, timeout=timeout)
    where.check()
    files, walk_skipped = expand([paths] if isinstance(paths, str) else list(paths), walk)
    if skipped is not None:
        skipped += walk_skipped
    toks = [s.load() for s in specs]
    tasks = plan(files, [parts(t)[0] for t in toks], task_bytes)
    state = Progress.of(files, tasks)
    merged = _Merge(files, toks, skipped)

    def done(task: Task, result: TaskResult) -> None:
        merged.add(task, result)
        state.done(task)
        if progress:
            progress(state)

    run(count_task, tasks, where, done, specs=specs, errors=errors, strict_unk=strict_unk)
    return merged.rows()


class _Merge:
    def __init__(self, files: Sequence[Source], toks: Sequence[Any], skipped: list[tuple[str, str]] | None) -> None:
        self.files, self.toks, self.skipped = files, toks, skipped
        self.rows_: dict[int, InputCount] = {}
        self.bad: dict[int, str] = {}

    def add(self, task: Task, result: TaskResult) -> None:
        for piece, r in zip(task.pieces, result.pieces, strict=True):
            if piece.file in self.bad:
                continue
            if r.error is not None:
                if not self.files[piece.file].walked or self.skipped is None:
                    raise InputError(r.error)
                self.bad[piece.file] = r.error
                continue
            row = self.rows_.setdefault(piece.file, self._row(piece.file))
            _add(row, r)

    def _row(self, i: int) -> InputCount:
        row = InputCount(self.files[i].path)
        for tok in self.toks:
            _, before, after = parts(tok)
            row.tokens[tok.name] = len(before) + len(after)
            if tok.unk_id is not None:
                row.unknown[tok.name] = UnknownText.of(tok)
        return row

    def rows(self) -> list[InputCount]:
        for i, why in sorted(self.bad.items()):
            self.rows_.pop(i, None)
            assert self.skipped is not None
            path = self.files[i].path
            self.skipped.append((path, why.removeprefix(f"{path}: ")))
        return [self.rows_[i] for i in sorted(self.rows_)]


def _add(row: InputCount, r: PieceCount) -> None:
    row.chars += r.chars
    row.bytes += r.bytes
    for name, n in r.tokens.items():
        row.tokens[name] += n
    for name, u in r.unknown.items():
        row.unknown[name].merge(u)
