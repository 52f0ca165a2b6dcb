"""compare, models, check, chunk, truncate: comparing tokenizers and keeping texts within token budgets."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from . import app
from .common import Errors, ErrorsOpt, TokenizerOpt, TokenizersOpt, inputs_or_stdin


class TableFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    tsv = "tsv"
    markdown = "markdown"


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    junit = "junit"


TableFormatOpt = Annotated[
    TableFormat,
    typer.Option(
        "--format",
        "-f",
        help="table (rich on a terminal, aligned text when piped), json, csv, tsv or markdown.",
    ),
]
OutputOpt = Annotated[
    str | None, typer.Option("--output", "-o", help="Write to this file (atomically) instead of stdout.")
]
ModelsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--model", "-m",
        help="A model from `tokcli models`: show the share of its context window used, whether it fits and "
        "how many chunks it takes. Repeatable.",
    ),
]  # fmt: skip
MaxTokensOpt = Annotated[int, typer.Option("--max-tokens", "-n", help="At most this many tokens.", min=1)]
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
ChartOpt = Annotated[
    str | None,
    typer.Option(
        "--chart",
        help="Also draw a bar chart of one metric: tokens, chars_per_token, bytes_per_token, fertility, continued, "
        "unk_rate, utilisation, renyi, nsl, mb_per_s, ...; with --parity: premium.",
    ),
]


@app.command()
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
    format: TableFormatOpt = TableFormat.table,
    output: OutputOpt = None,
    errors: ErrorsOpt = Errors.strict,
) -> None:
    """Compare tokenizers on the same inputs: compression, fertility, unknown and byte-fallback rates,
    exact round trip, vocabulary use, Rényi efficiency, normalized sequence length and speed.

    With no arguments: the bundled char, word and bpe tokenizers and cl100k_base on the bundled sample
    corpora. The best value in each column is marked per input (compression among the tokenizers that
    round-trip the input exactly). Every formula is in docs/metrics.md.
    """
    from tokcli import compare as c
    from tokcli.output import compare as render

    if parity:
        table = c.parity(parity, tokenizer or ["cl100k_base"], pivot=pivot, errors=errors.value)
        render.parity(table, format.value, chart=chart, output=output)
        return
    specs = [c.TrainSpec.parse(s) for s in train or []]
    texts = c.read_inputs(inputs or [], errors=errors.value)
    result = c.compare(texts, tokenizer or [], train=specs, holdout=holdout, reference=reference, models=model or [])
    render.comparison(result, format.value, chart=chart, output=output)


@app.command()
def models(
    format: TableFormatOpt = TableFormat.table,
    output: OutputOpt = None,
) -> None:
    """List the models tokcli knows: context window, input limit, maximum output, the tokenizer counts are
    made with (exact, or an estimate with a stated proxy), and the source and date of each entry.

    Add or override entries in $TOKCLI_CONFIG (default ~/.config/tokcli/config.toml) under
    [models.NAME], or in pyproject.toml under [tool.tokcli.models.NAME]: context, input-limit,
    max-output, tokenizer (a name or a tokenizer.json path), proxy, source, as-of, note.
    """
    from tokcli.contexts import load_models
    from tokcli.output import compare as render

    render.models(list(load_models().values()), format.value, output=output)


@app.command()
def check(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files, directories (walked honouring .gitignore) or globs. Default: the current directory, "
            "or with no budget options the budgets of [tool.tokcli] in pyproject.toml.",
            show_default=False,
        ),
    ] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", "-n", help="The limit in tokens.", min=1)] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Limit to this model's input budget (see `tokcli models`).")
    ] = None,
    reserve: Annotated[int, typer.Option("--reserve", help="Tokens kept free for the answer.", min=0)] = 0,
    tokenizer: Annotated[
        str | None,
        typer.Option("-t", "--tokenizer", help="Count with this tokenizer (default: the model's, else cl100k_base)."),
    ] = None,
    total: Annotated[bool, typer.Option("--total", help="Apply the limit to all files together, not to each.")] = False,
    format: Annotated[
        CheckFormat,
        typer.Option("--format", "-f", help="text, json (schema tokcli-check/1), github (annotations) or junit."),
    ] = CheckFormat.text,
    output: OutputOpt = None,
    errors: ErrorsOpt = Errors.strict,
) -> None:
    """Check that files stay within a token budget: exit 0 when all are within it, 1 when any is over,
    2 on a usage or input error.

    Budgets come from --max-tokens, or --model with --reserve, applied to each file (or with --total to
    their sum); without either, from [[tool.tokcli.budget]] tables in pyproject.toml (paths, max-tokens
    or model and reserve, tokenizer, total), so `tokcli check` alone works in a repository.
    """
    from tokcli import budget as b
    from tokcli.errors import CheckFailed
    from tokcli.output import warn
    from tokcli.output.budget import render

    if max_tokens is None and model is None:
        budgets, restrict = b.pyproject_budgets(), paths or []
    else:
        budgets, restrict = [b.make_budget(paths or ["."], max_tokens=max_tokens, model=model, reserve=reserve,
                                           tokenizer=tokenizer, total=total)], []  # fmt: skip
    report = b.check(budgets, restrict=restrict, errors=errors.value)
    for w in report.warnings:
        warn(w)
    render(report, format.value, output)
    if not report.ok:
        raise CheckFailed(report.summary())


@app.command()
def chunk(
    input: Annotated[str | None, typer.Argument(help="A file, or - for stdin (the default when piped).")] = None,
    tokenizer: TokenizerOpt = "cl100k_base",
    max_tokens: MaxTokensOpt = 512,
    overlap: Annotated[
        int, typer.Option("--overlap", help="Start each piece with the last K tokens of the one before.")
    ] = 0,
    out_dir: Annotated[
        str | None, typer.Option("--out-dir", help="Write the pieces as numbered files DIR/00001.txt, ... instead.")
    ] = None,
    errors: ErrorsOpt = Errors.strict,
) -> None:
    """Split text into pieces of at most N tokens, preferring paragraph, then line, then sentence
    boundaries, and cutting between tokens (never inside a character) only when one piece is too long.

    Writes JSON lines: {"text", "tokens", "start", "end"} per piece, start and end being character
    offsets into the input. Without --overlap the pieces concatenate back to the input exactly.
    """
    from tokcli import load
    from tokcli.chunking import chunk as split
    from tokcli.output.chunks import pieces
    from tokcli.textio import Source, iter_text

    source = Source(inputs_or_stdin([input] if input else None)[0])
    stream = split(load(tokenizer), iter_text(source, errors=errors.value), max_tokens, overlap=overlap)
    pieces(stream, out_dir=out_dir)


@app.command()
def truncate(
    input: Annotated[str | None, typer.Argument(help="A file, or - for stdin (the default when piped).")] = None,
    tokenizer: TokenizerOpt = "cl100k_base",
    max_tokens: MaxTokensOpt = 512,
    from_end: Annotated[bool, typer.Option("--from-end", help="Keep the last N tokens instead of the first.")] = False,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when anything was cut.")] = False,
    errors: ErrorsOpt = Errors.strict,
) -> None:
    """Keep the first (or --from-end the last) N tokens of the text, cut between tokens but never
    inside a character. Says on stderr whether anything was cut; --exit-code also exits 1 then.
    """
    from tokcli import load
    from tokcli.chunking import Truncator
    from tokcli.output.chunks import truncated
    from tokcli.textio import Source, iter_text

    source = Source(inputs_or_stdin([input] if input else None)[0])
    t = Truncator(load(tokenizer), max_tokens, from_end=from_end)
    truncated(t, t.run(iter_text(source, errors=errors.value)))
    if t.cut and exit_code:
        raise typer.Exit(1)
