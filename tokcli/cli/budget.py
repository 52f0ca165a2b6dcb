"""models, check, chunk, truncate: the model table, and keeping texts within token budgets."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from tokcli.errors import UsageError

from .app import app
from .cache import CacheOptions, cache_options, counting_cache
from .common import (
    DEFAULT_TOKENIZER,
    Errors,
    ErrorsOpt,
    FieldOpt,
    IdFieldOpt,
    InputArg,
    MaxTokensOpt,
    OutputOpt,
    TableFormat,
    TableFormatOpt,
    TokenizerOpt,
    TokenizersOpt,
    complete_model,
    complete_tokenizer,
    resolve_opt,
)
from .groups import walk_options
from .inputs import check_inputs, inputs_or_stdin

if TYPE_CHECKING:
    from tokcli.files.walk import WalkOptions


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    csv = "csv"
    tsv = "tsv"
    markdown = "markdown"
    github = "github"
    junit = "junit"


StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="A file a limit covers that cannot be counted (binary, not UTF-8, ...) is an input error, exit 2 "
        "(without it: a failed check, exit 1).",
    ),
]


@app.command()
def models(
    query: Annotated[
        list[str] | None,
        typer.Argument(
            help="List only the models whose name (or alias, LiteLLM key, maker or provider) holds each of these "
            "words (case and the spelling of versions ignored: sonnet-4.5 finds claude-sonnet-4-5).",
            show_default=False,
        ),
    ] = None,
    provider: Annotated[
        list[str] | None,
        typer.Option(
            "--provider",
            "-p",
            help="List only this maker's models (openai, anthropic, google, meta, mistral, qwen, deepseek, xai, "
            "cohere) or LiteLLM provider's (gemini, deepinfra, ...). Repeat for several.",
            show_default=False,
        ),
    ] = None,
    format: TableFormatOpt = TableFormat.text,
    output: OutputOpt = None,
) -> None:
    """List the models tokcli knows: context window, input limit, maximum output, the tokenizer counts are
    made with (exact, or an estimate with a stated proxy), prices (input, cached input, output; USD per
    million tokens), and the source and date of each entry; sorted by maker and name.

    The table holds every chat model LiteLLM lists for OpenAI, Anthropic, Google, Mistral, Meta, DeepSeek,
    Qwen, xAI and Cohere (hundreds): narrow it with words (`tokcli models sonnet`) and --provider.
    Add or override entries in $TOKCLI_CONFIG (default ~/.config/tokcli/config.toml) under
    [models.NAME], or in pyproject.toml under [tool.tokcli.models.NAME]: context, input-limit,
    max-output, tokenizer (a name or a tokenizer.json path), proxy, source, as-of, note, input-price,
    cached-input-price, output-price.
    """
    from tokcli import output as o
    from tokcli.budget.models import load_models, matching
    from tokcli.output import tables as render

    table = load_models()
    entries = matching(table, query or [], provider or [])
    if not entries:
        makers = sorted({e.maker for e in table.values() if e.maker})
        o.warn("no model matches " + " and ".join(repr(w) for w in [*(query or []), *(provider or [])])
               + f"; `tokcli models` lists them all (--provider: {', '.join(makers)}, or a LiteLLM provider)")  # fmt: skip
    render.models(entries, format.value, output=output)


@app.command()
@cache_options
@walk_options
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
        typer.Option(
            "-t",
            "--tokenizer",
            autocompletion=complete_tokenizer,
            callback=resolve_opt,
            help="Count with this tokenizer (default: the model's, else cl100k_base).",
        ),
    ] = None,
    total: Annotated[bool, typer.Option("--total", help="Apply the limit to all files together, not to each.")] = False,
    margin: Annotated[
        str | None,
        typer.Option(
            "--margin",
            help="Safety margin on estimated counts, 0%-100% (e.g. 10%): an estimate (a private tokenizer, "
            "~) is multiplied by 1 + margin before it is set against the limit; exact counts never are. "
            "Overrides margin in pyproject.toml.",
            show_default=False,
        ),
    ] = None,
    chat: Annotated[
        bool,
        typer.Option(
            "--chat",
            help="The files are chat conversations (as count --chat reads): each one, overhead included, "
            "is held to the limit.",
        ),
    ] = False,
    format: Annotated[
        CheckFormat,
        typer.Option(
            "--format",
            "-f",
            help="text, json (schema tokcli-check/1), csv, tsv, markdown, github (annotations) or junit.",
        ),
    ] = CheckFormat.text,
    output: OutputOpt = None,
    errors: ErrorsOpt = Errors.strict,
    strict: StrictOpt = False,
    *,
    walk: WalkOptions,
    cache: CacheOptions,
) -> None:
    """Check that files stay within a token budget: exit 0 when all are within it, 1 when any is over,
    2 on a usage or input error.

    A file a budget covers that tokcli cannot count (binary, not UTF-8, a stretch too long to cut, not a
    chat file, unreadable) or a directory under it that cannot be listed fails the check: it is listed with
    its reason and the exit is 1 (2 with --strict). Narrow the budget's paths or --exclude what is not text.

    Budgets come from --max-tokens, or --model with --reserve, applied to each file (or with --total to
    their sum); without either, from [[tool.tokcli.budget]] tables in pyproject.toml (paths, max-tokens
    or model and reserve, tokenizer, total, allow-empty, margin), so `tokcli check` alone works in a repository.
    With --margin 10% (margin = "10%") an estimated count is raised by that share before it is compared.
    A budget that matches no file is an error (exit 2) unless it sets allow-empty = true.
    With --chat (chat = true in a budget table) each conversation of a chat file is checked, as
    `count --chat` counts it; rows name FILE:LINE in a JSONL file.
    """
    from tokcli.budget import budgets as bb
    from tokcli.budget import check as b
    from tokcli.errors import CheckFailed, UsageError
    from tokcli.files.config import margin_value
    from tokcli.output import skipped, warn
    from tokcli.output.budget import render

    try:
        m = None if margin is None else margin_value(margin)
    except ValueError as e:
        raise UsageError(f"--margin {e}") from None
    budgets, restrict = bb.budgets_for(paths, max_tokens=max_tokens, model=model, reserve=reserve,
                                       tokenizer=tokenizer, total=total, chat=chat, margin=m)  # fmt: skip
    with counting_cache(cache):
        report = b.check(budgets, restrict=restrict, errors=errors.value, options=walk)
    for w in report.warnings:
        warn(w)
    skipped(report.skipped)
    render(report, format.value, output)
    _fail(report.failed, strict)
    if not report.ok:
        raise CheckFailed(report.summary())


def _fail(failed: list[tuple[str, str]], strict: bool) -> None:
    """With --strict, files a limit covers that could not be counted are an input error (exit 2)."""
    if failed and strict:
        from tokcli.errors import InputError

        path, why = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise InputError(f"{path}: {why}{more}; --strict: every file a limit covers must be counted")


class DiffFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    github = "github"


@app.command()
@cache_options
@walk_options
def diff(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="REF PATHS",
            help="REF: a branch, tag or commit (origin/main, v1.2, HEAD~1; REF... for its merge base with HEAD); "
            "default: the merge base of HEAD with the default branch (origin/HEAD, main, master), else HEAD. "
            "PATHS: files, directories or globs, walked as count walks them; default: the whole repository.",
            show_default=False,
        ),
    ] = None,
    tokenizer: TokenizersOpt = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            autocompletion=complete_model,
            help="Also count with this model's tokenizer (see `tokcli models`); repeatable.",
        ),
    ] = None,
    max_growth: Annotated[
        int | None, typer.Option("--max-growth", help="Exit 1 when a file grows by more than N tokens.", min=0)
    ] = None,
    max_growth_percent: Annotated[
        float | None,
        typer.Option("--max-growth-percent", help="Exit 1 when a file grows by more than P percent.", min=0),
    ] = None,
    total: Annotated[
        bool, typer.Option("--total", help="Apply the limits to all files together, not to each.")
    ] = False,
    no_budgets: Annotated[
        bool, typer.Option("--no-budgets", help="Do not apply the budgets of [tool.tokcli] to the changed files.")
    ] = False,
    format: Annotated[
        DiffFormat,
        typer.Option("--format", "-f", help="text, json (schema tokcli-diff/1), markdown or github (annotations)."),
    ] = DiffFormat.text,
    output: OutputOpt = None,
    errors: ErrorsOpt = Errors.strict,
    strict: StrictOpt = False,
    *,
    walk: WalkOptions,
    cache: CacheOptions,
) -> None:
    """Show how the changes since REF move token counts: each changed file's tokens before (in REF) and
    after (in the working tree, uncommitted changes included), the change and the total; added, deleted
    and renamed files shown as such. Exit 1 when a file (or with --total, the total) grows past
    --max-growth / --max-growth-percent or a changed file goes over a [tool.tokcli] budget, 2 on errors.
    Under a limit, a changed file that cannot be counted (binary, not UTF-8, ...) fails it: listed with
    its reason, exit 1 (2 with --strict).

    git is never run: the repository is read with dulwich, so no hook, fsmonitor or filter runs.
    """
    from tokcli.budget.diff import Limits
    from tokcli.budget.diff import diff as compute
    from tokcli.errors import CheckFailed
    from tokcli.output import skipped
    from tokcli.output.diff import render
    from tokcli.tokenizer.registry import load

    limits = Limits(max_growth, max_growth_percent, total)
    toks = [load(t) for t in _counting_tokenizers(tokenizer, model)]
    with counting_cache(cache):
        report = compute(args or [], toks, limits, errors=errors.value, options=walk, budgets=not no_budgets)
    skipped(report.skipped)
    render(report, format.value, output)
    _fail(report.uncounted, strict)
    if not report.ok:
        raise CheckFailed(report.summary())


def _counting_tokenizers(tokenizers: list[str] | None, models: list[str] | None) -> list[str]:
    """-t names, then the tokenizer each -m model is counted with (as count does), each once."""
    names = list(tokenizers or [])
    if models:
        from .common import resolve_tokenizer

        names += [resolve_tokenizer(m) for m in models]
    return list(dict.fromkeys(names or [DEFAULT_TOKENIZER]))


@app.command()
def chunk(
    input: InputArg = None,
    tokenizer: TokenizerOpt = DEFAULT_TOKENIZER,
    max_tokens: MaxTokensOpt = 512,
    overlap: Annotated[
        int, typer.Option("--overlap", help="Start each piece with the last K tokens of the one before.")
    ] = 0,
    out_dir: Annotated[
        str | None,
        typer.Option(
            "--out-dir",
            help="Write the pieces as numbered files DIR/00001.txt, ... instead; they replace the numbered "
            "pieces of an earlier run, other files in DIR are left alone.",
        ),
    ] = None,
    errors: ErrorsOpt = Errors.strict,
    field: FieldOpt = None,
    id_field: IdFieldOpt = None,
) -> None:
    """Split text into pieces of at most N tokens, preferring paragraph, then line, then sentence
    boundaries, and cutting between tokens (never inside a character) only when one piece is too long.

    Writes JSON lines: {"text", "tokens", "start", "end"} per piece, start and end being character
    offsets into the input. Without --overlap the pieces concatenate back to the input exactly.

    With --out-dir, all or nothing: the pieces are written to a hidden directory inside DIR and moved in
    once the last one is written, so an error or Ctrl-C leaves DIR as it was. Numbered pieces of an
    earlier run (NNNNN.txt) are removed then, so DIR holds just the new set; other files are never touched.

    With --field, the input is a dataset (.jsonl, .jsonl.gz, .jsonl.zst, .parquet) and each record's text is
    cut alone: JSON lines {"id", "piece", "text", "tokens", "start", "end"}, id naming the record.
    """
    if field or id_field:
        return chunk_field(input, field, id_field, tokenizer, max_tokens, overlap, errors.value, out_dir=out_dir)
    from tokcli import load
    from tokcli.analysis.chunking import chunk as split
    from tokcli.files.text import iter_text, one_input
    from tokcli.output.chunks import pieces

    source = one_input(inputs_or_stdin([input] if input else None)[0])
    stream = split(load(tokenizer), iter_text(source, errors=errors.value), max_tokens, overlap=overlap)
    pieces(stream, out_dir=out_dir)


@app.command()
def truncate(
    input: InputArg = None,
    tokenizer: TokenizerOpt = DEFAULT_TOKENIZER,
    max_tokens: MaxTokensOpt = 512,
    from_end: Annotated[bool, typer.Option("--from-end", help="Keep the last N tokens instead of the first.")] = False,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when anything was cut.")] = False,
    errors: ErrorsOpt = Errors.strict,
) -> None:
    """Keep the first (or --from-end the last) N tokens of the text, cut between tokens but never
    inside a character. Says on stderr whether anything was cut; --exit-code also exits 1 then.
    """
    from tokcli import load
    from tokcli.analysis.chunking import Truncator
    from tokcli.files.text import iter_text, one_input
    from tokcli.output.chunks import truncated

    source = one_input(inputs_or_stdin([input] if input else None)[0])
    t = Truncator(load(tokenizer), max_tokens, from_end=from_end)
    truncated(t, t.run(iter_text(source, errors=errors.value)))
    if t.cut and exit_code:
        raise typer.Exit(1)


def chunk_field(
    input: str | None, field: str | None, id_field: str | None, tokenizer: str, max_tokens: int, overlap: int,
    errors: str, *, out_dir: str | None = None,
) -> None:  # fmt: skip
    """`chunk --field`: the pieces of every record's text, as JSON lines carrying the record id (stdin when no
    input is given and it is piped)."""
    from tokcli import load
    from tokcli.analysis.records import chunk_records
    from tokcli.output.records import record_pieces

    if out_dir or not field:
        raise UsageError("--field writes JSON lines on stdout: leave out --out-dir" if field else
                         "--id-field names the records of --field NAME: give --field too")  # fmt: skip
    input = inputs_or_stdin([input] if input else None)[0]
    check_inputs([input], "--field")
    missing, stream = chunk_records(load(tokenizer), input, field, max_tokens, overlap=overlap, id_field=id_field,
                                    errors=errors)  # fmt: skip
    record_pieces(stream, missing)
