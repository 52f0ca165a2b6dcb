"""compare: tokenizers side by side on the same texts, with the metrics of the literature."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from tokcli.errors import UsageError

from .app import app
from .common import (
    DEFAULT_TOKENIZER,
    Errors,
    ErrorsOpt,
    ModelsOpt,
    OutputOpt,
    TableFormat,
    TableFormatOpt,
    TokenizersOpt,
)
from .groups import DistOptions, dist_options, walk_options

if TYPE_CHECKING:
    from tokcli.analysis.compare import Comparison, Input, Trained
    from tokcli.files.walk import WalkOptions

CompareInputs = Annotated[
    list[str] | None,
    typer.Argument(
        help="Files, directories (their text files joined) or - for stdin; one group of rows each. "
        "Default: the bundled sample corpora.",
        show_default=False,
    ),
]
TrainOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--train",
        help="Train a tokenizer KIND[:VOCAB] (char, word, bpe, unigram; e.g. bpe:8000) on all but the held-out "
        "part of each input, and measure every tokenizer on the held-out part. Repeatable.",
    ),
]
HoldoutOpt = Annotated[
    float, typer.Option("--holdout", help="With --train: the last FRACTION of each input, measured on.")
]
ReferenceOpt = Annotated[
    str | None,
    typer.Option(
        "--reference", "-r", help="The tokenizer normalized sequence length (NSL) is relative to. Default: the first."
    ),
]
ParityOpt = Annotated[
    str | None,
    typer.Option(
        "--parity",
        help="A directory of parallel texts, one file per language (an index.tsv with file and bcp47 columns "
        "names them): show each language's tokens relative to --pivot.",
    ),
]
PivotOpt = Annotated[
    str,
    typer.Option("--pivot", help="With --parity: the language the others are relative to (a BCP 47 tag or file stem)."),
]
# the metrics a bar chart can show, as choices checked when the command line is parsed; the same as
# tokcli.output.tables.CHART_METRICS (a test checks it), spelt out here so that start-up does not build
# the output module's columns
CHART_METRICS = (
    "vocab_size", "tokens", "chars_per_token", "bytes_per_token", "fertility", "continued", "unk_rate",
    "byte_fallback_rate", "utilisation", "renyi", "nsl", "mb_per_s", "load_s", "seconds",
)  # fmt: skip
Chart = Enum("Chart", {m: m for m in [*CHART_METRICS, "premium"]}, type=str)  # type: ignore[misc]
ChartOpt = Annotated[
    Chart | None,
    typer.Option(
        "--chart",
        metavar="METRIC",
        help="Also draw a bar chart of one metric: tokens, chars_per_token, bytes_per_token, fertility, continued, "
        "unk_rate, utilisation, renyi, nsl, mb_per_s, load_s, ...; with --parity: premium or tokens.",
    ),
]


@app.command()
@dist_options
@walk_options
def compare(
    inputs: CompareInputs = None,
    tokenizer: TokenizersOpt = None,
    train: TrainOpt = None,
    holdout: HoldoutOpt = 0.1,
    reference: ReferenceOpt = None,
    model: ModelsOpt = None,
    parity: ParityOpt = None,
    pivot: PivotOpt = "en",
    chart: ChartOpt = None,
    format: TableFormatOpt = TableFormat.text,
    output: OutputOpt = None,
    errors: ErrorsOpt = Errors.strict,
    *,
    walk: WalkOptions,
    dist: DistOptions,
) -> None:
    """Compare tokenizers on the same inputs: compression, fertility, unknown and byte-fallback rates,
    exact round trip, vocabulary use, Rényi efficiency, normalized sequence length and speed.

    With no arguments: the bundled char, word, bpe and ja-char tokenizers and cl100k_base on the bundled sample
    corpora. The best value in each column is marked per input (compression among the tokenizers that
    round-trip the input exactly). Every formula is in docs/metrics.md. With --workers N or --scheduler,
    each input is measured by a Dask worker (the same figures but the timed ones).
    """

    if parity:
        return compare_parity(parity, tokenizer, pivot=pivot, errors=errors.value, chart=chart and chart.value,
                              fmt=format.value, output=output, dist=dist)  # fmt: skip
    compare_files(inputs or [], tokenizer or [], train=train or [], holdout=holdout, reference=reference,
                  models=model or [], errors=errors.value, chart=chart and chart.value, fmt=format.value,
                  output=output, walk=walk, dist=dist)  # fmt: skip


def compare_parity(
    directory: str, tokenizers: list[str] | None, *, pivot: str, errors: str, chart: str | None, fmt: str,
    output: str | None, dist: DistOptions,
) -> None:  # fmt: skip
    """`compare --parity DIR`: each language's tokens relative to the pivot's, under each tokenizer."""
    from tokcli.analysis.compare import parity
    from tokcli.output import tables as render

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
    from tokcli.output import tables as render

    specs = [c.TrainSpec.parse(s) for s in train]  # before reading: a wrong spec is refused at once
    skipped: list[tuple[str, str]] = []
    texts = c.read_inputs(inputs, errors=errors, options=walk, skipped=skipped)
    o.skipped(skipped)
    dist = dist.on(inputs)
    if dist.active:
        on_workers = compare_inputs

        result = on_workers(texts, tokenizers, dist, train=bool(specs), reference=reference, models=models)
    else:
        result = c.compare(texts, tokenizers, train=specs, holdout=holdout, reference=reference, models=models)
        warn_shortfalls(result.trained)
    render.comparison(result, fmt, chart=chart, output=output)


def warn_shortfalls(trained: list[Trained]) -> None:
    """A warning for each tokenizer --train gave fewer tokens than asked for (the text supports no more)."""
    from tokcli import output as o

    from .train import shortfall

    for t in trained:
        if t.requested_vocab_size is not None and t.vocab_size < t.requested_vocab_size:
            asked = f"--train {t.spec.kind}:{t.requested_vocab_size}"
            if t.spec.vocab_size is None:
                asked = f"--train {t.spec.kind} (its default size, {t.requested_vocab_size})"
            o.warn(shortfall(asked, t.spec.kind, t.requested_vocab_size, t.vocab_size))


def compare_inputs(
    texts: list[Input],
    tokenizers: list[str],
    dist: DistOptions,
    *,
    train: bool,
    reference: str | None,
    models: list[str],
) -> Comparison:
    """`compare --workers`: each input measured by a worker (training stays a one-process job)."""
    from tokcli.errors import UsageError
    from tokcli.output.dist import TaskProgress
    from tokcli.workers.compare import compare

    if train:
        raise UsageError("--train trains on all the inputs in one process: leave out --workers and --scheduler")
    with TaskProgress("comparing") as bar:
        return compare(texts, tokenizers, workers=dist.workers, scheduler=dist.scheduler, timeout=dist.timeout, reference=reference,
                       models=models, progress=bar.update)  # fmt: skip
