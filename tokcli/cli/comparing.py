"""What `compare` does once its options are parsed (no command of its own): --parity's table of parallel texts,
or the comparison of the inputs (in this process, or each input on a Dask worker), handed to their views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokcli.errors import UsageError

from .common import DEFAULT_TOKENIZER

if TYPE_CHECKING:
    from tokcli.walk import WalkOptions

    from .common import DistOptions


def compare_parity(
    directory: str, tokenizers: list[str] | None, *, pivot: str, errors: str, chart: str | None, fmt: str,
    output: str | None, dist: DistOptions,
) -> None:  # fmt: skip
    """`compare --parity DIR`: each language's tokens relative to the pivot's, under each tokenizer."""
    from tokcli.analysis.compare import parity
    from tokcli.output import compare as render

    if dist.active:
        raise UsageError("--parity reads small parallel texts in one process: leave out --workers and --scheduler")
    table = parity(directory, tokenizers or [DEFAULT_TOKENIZER], pivot=pivot, errors=errors)
    render.parity(table, fmt, chart=chart, output=output)


def compare_files(
    inputs: list[str], tokenizers: list[str], *, train: list[str], holdout: float, reference: str | None,
    models: list[str], errors: str, chart: str | None, fmt: str, output: str | None, walk: WalkOptions,
    dist: DistOptions,
) -> None:  # fmt: skip
    """`compare [INPUTS]`: the tokenizers (and those --train trains) measured on each input (no inputs: the
    bundled samples); with --workers or --scheduler, each input by a worker."""
    from tokcli import output as o
    from tokcli.analysis import compare as c
    from tokcli.output import compare as render

    specs = [c.TrainSpec.parse(s) for s in train]  # before reading: a wrong spec is refused at once
    skipped: list[tuple[str, str]] = []
    texts = c.read_inputs(inputs, errors=errors, options=walk, skipped=skipped)
    o.skipped(skipped)
    dist = dist.on(inputs)
    if dist.active:
        from .dist import compare_inputs as on_workers

        result = on_workers(texts, tokenizers, dist, train=bool(specs), reference=reference, models=models)
    else:
        result = c.compare(texts, tokenizers, train=specs, holdout=holdout, reference=reference, models=models)
    render.comparison(result, fmt, chart=chart, output=output)
