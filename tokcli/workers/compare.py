"""`compare --workers`: each input measured by a worker under every tokenizer (its rows as one process
measures them, tokcli.analysis.compare.measure_input), the rows put together in input order. Only the
timed columns differ from one process: they are timed on whichever worker ran the input, and load_s is
what loading the tokenizer took on that worker (once per worker process, the first time it needed it)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from tokcli.analysis.compare import DEFAULT_TOKENIZERS, Comparison, Input, measure_input, model_fits
from tokcli.analysis.metrics import warm_up
from tokcli.files.walk import Source

from .count import Progress, ProgressFn, specs_of
from .runner import Where, run
from .work import TokSpec


@dataclass(frozen=True)
class _One:
    file: int


@dataclass(frozen=True)
class InputTask:
    index: int
    input: Input

    @property
    def pieces(self) -> tuple[_One, ...]:
        return (_One(self.index),)

    @property
    def nbytes(self) -> int:
        return len(self.input.text.encode("utf-8", "surrogatepass"))


def input_task(task: InputTask, specs: Sequence[TokSpec], reference: str) -> list[Any]:
    ready = [(s.spec, *_ready(s)) for s in specs]
    return measure_input(task.input, [(name, tok) for name, tok, _ in ready], reference,
                         {name: seconds for name, _, seconds in ready})  # fmt: skip


@cache
def _ready(spec: TokSpec) -> tuple[Any, float]:
    """The tokenizer on this worker, loaded and warmed up once (tokcli.analysis.compare.load_ready), and the
    seconds that took."""
    t0 = time.perf_counter()
    tok = spec.load()
    warm_up(tok)
    return tok, time.perf_counter() - t0


def compare(
    inputs: Sequence[Input], tokenizers: Sequence[str] = (), client: Any = None, *, reference: str | None = None,
    models: Sequence[str] = (), workers: int | None = None, scheduler: str | None = None, timeout: float | None = None,
    progress: ProgressFn | None = None,
) -> Comparison:  # fmt: skip
    """tokcli.analysis.compare.compare (without training), each input measured as a task."""
    names = list(dict.fromkeys(tokenizers or DEFAULT_TOKENIZERS))
    ref = reference or names[0]
    if ref not in names:
        names.insert(0, ref)
    specs = specs_of(names)
    where = Where(workers, scheduler, client, timeout=timeout)
    where.check()
    tasks = [InputTask(i, inp) for i, inp in enumerate(inputs)]
    state = Progress.of([Source(t.input.name, size=t.nbytes) for t in tasks], tasks)  # type: ignore[arg-type]

    def done(task: InputTask, rows: list[Any]) -> None:
        state.done(task)  # type: ignore[arg-type]
        if progress:
            progress(state)

    results = run(input_task, tasks, where, done, specs=specs, reference=ref)  # type: ignore[arg-type]
    fits = model_fits(inputs, models, {s.spec: s.load() for s in specs}) if models else []
    return Comparison([r for rows in results for r in rows], names, [i.name for i in inputs], ref, None, None, fits)
