"""count: tokens per input and in total, under one or more tokenizers; --model, --cost, --field, --chat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from tokcli.errors import UsageError

from .app import app
from .cache import CacheOptions, cache_options, counting_cache
from .common import (
    DEFAULT_TOKENIZER,
    AddSpecialOpt,
    Errors,
    ErrorsOpt,
    FieldOpt,
    IdFieldOpt,
    InputsArg,
    ModelsOpt,
    Special,
    SpecialOpt,
    StrictUnkOpt,
    TableFormat,
    TableFormatOpt,
    TokenizersOpt,
)
from .groups import DistOptions, dist_options, walk_options
from .inputs import check_inputs, inputs_or_stdin

if TYPE_CHECKING:
    from tokcli.budget.models import Fit, ModelEntry
    from tokcli.files.walk import WalkOptions
    from tokcli.tokenizer.base import Tokenizer
    from tokcli.tokenizer.countresults import InputCount


@app.command()
@cache_options
@dist_options
@walk_options
def count(
    inputs: InputsArg = None,
    tokenizer: TokenizersOpt = None,
    model: ModelsOpt = None,
    reserve: Annotated[int, typer.Option("--reserve", help="Tokens kept free for the answer (with --model).")] = 0,
    cost: Annotated[
        bool,
        typer.Option(
            "--cost", help="With --model: also show the input cost of the total at the model's input price (USD)."
        ),
    ] = False,
    output_tokens: Annotated[
        int,
        typer.Option(
            "--output-tokens",
            min=0,
            help="With --model: the expected answer's tokens, priced at the "
            "model's output price and kept free in its window (as --reserve). Implies --cost.",
        ),
    ] = 0,
    cached_tokens: Annotated[
        str | None,
        typer.Option(
            "--cached-tokens",
            metavar="N|P%",
            help="With --model: N of the input tokens (or P% of them) "
            "are read from the prompt cache, priced at the cached-input price. Implies --cost.",
        ),
    ] = None,
    format: TableFormatOpt = TableFormat.text,
    errors: ErrorsOpt = Errors.strict,
    strict_unk: StrictUnkOpt = False,
    special: SpecialOpt = Special.text,
    add_special: AddSpecialOpt = False,
    field: FieldOpt = None,
    id_field: IdFieldOpt = None,
    chat: Annotated[
        bool,
        typer.Option(
            "--chat",
            help="Read the inputs as chat conversations (OpenAI's format: a JSON object with a messages array, or "
            "JSONL with one per line) and count what the model is sent, per-message overhead included.",
        ),
    ] = False,
    api: Annotated[
        bool,
        typer.Option(
            "--api",
            help="Ask the -m model's vendor (Anthropic, Gemini, OpenAI) for its exact count, over "
            "the network, with the key from its usual environment variable (the [api] extra).",
        ),
    ] = False,
    api_auto: Annotated[
        bool,
        typer.Option("--api-auto", help="As --api, but when the vendor cannot answer, warn and count locally (~)."),
    ] = False,
    tree: Annotated[
        bool,
        typer.Option(
            "--tree",
            help="Per-directory totals and shares of the total, each directory's largest first (see the README's "
            "Token trees).",
        ),
    ] = False,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            metavar="N",
            help="With --tree: fold directories deeper than N levels into their ancestor.",
            show_default=False,
        ),  # fmt: skip
    ] = None,
    *,
    walk: WalkOptions,
    dist: DistOptions,
    cache: CacheOptions,
) -> None:
    """Count tokens per input and in total, under one or more tokenizers side by side.

    With one input and one tokenizer and stdout not a terminal it prints the bare number, so
    `n=$(tokcli count -t gpt-4o file.txt)` works in scripts. Counting streams in bounded memory.
    Text a tokenizer does not know (it becomes <unk>) is reported on stderr, or with --strict-unk is
    an error.
    With --model, the total is also counted with each model's own tokenizer (or its stated proxy,
    marked as an estimate, ~) and set against its context window; --cost adds its input cost,
    --output-tokens the answer's cost, --cached-tokens the prompt cache's discount.
    With --field, per-record statistics of datasets (and with --model the records over its window);
    with --chat, conversations with their per-message overhead (see the README).
    With --tree, per-directory totals and their shares of the total (--depth N folds deeper directories).
    With --workers N or --scheduler, files are counted in parallel by Dask workers, with the same totals.
    With --api, the vendor of each -m model counts each input (or conversation) itself: the only time
    tokcli uses the network.
    """
    if depth is not None and not tree:
        raise UsageError("--depth folds the directories of --tree: add --tree")
    if depth is not None and depth < 0:
        raise UsageError(f"--depth {depth}: give 0 (the inputs alone) or more levels of directories")
    if tree and (api or api_auto or field or chat or id_field):
        raise UsageError("--tree sums the files of directories: it does not go with --api, --field or --chat")
    if api or api_auto:
        from .count_api import count_api

        return count_api(inputs_or_stdin(inputs), model or [], chat=chat, auto=api_auto, fmt=format.value,
                         errors=errors.value, refused={"field": field, "id-field": id_field, "cost": cost,
                         "reserve": reserve, "output-tokens": output_tokens,
                         "cached-tokens": cached_tokens, "workers": dist.workers, "scheduler": dist.scheduler,
                         "tokenizer": tokenizer})  # fmt: skip
    if field or chat or id_field:
        refuse_with_field(output_tokens=output_tokens, cached_tokens=cached_tokens)
        return count_field_or_chat(inputs, tokenizer, model or [], field=field, id_field=id_field, chat=chat,
                                   reserve=reserve, cost=cost, strict_unk=strict_unk, fmt=format.value,
                                   errors=errors.value, special=special.value, add_special=add_special,
                                   dist=dist)  # fmt: skip

    cost = cost or bool(output_tokens) or cached_tokens is not None
    with counting_cache(cache):
        count_files(inputs_or_stdin(inputs), tokenizer, model or [], reserve=reserve, cost=cost, fmt=format,
                    errors=errors.value, strict_unk=strict_unk, special=special.value, add_special=add_special,
                    walk=walk, dist=dist.on(inputs or ["-"]), tree=tree, depth=depth, output_tokens=output_tokens,
                    cached=cached_tokens)  # fmt: skip


def count_files(
    inputs: list[str],
    tokenizers: Sequence[str] | None,
    models: Sequence[str],
    *,
    reserve: int,
    cost: bool,
    fmt: TableFormat,
    errors: str,
    strict_unk: bool,
    special: str,
    add_special: bool,
    walk: WalkOptions,
    dist: DistOptions,
    tree: bool = False,
    depth: int | None = None,
    output_tokens: int = 0,
    cached: str | None = None,
) -> None:
    """count of files and streams: the table (or the bare number), or with `tree` the token tree of the inputs
    (tokcli.analysis.tree), its directories folded `depth` levels down."""
    from tokcli import load
    from tokcli import output as o
    from tokcli.output import is_tty
    from tokcli.output.tokens import counts
    from tokcli.tokenizer.countresults import unknown_totals

    if cost and not models:
        opt = "--output-tokens" if output_tokens else "--cached-tokens" if cached is not None else "--cost"
        raise UsageError(f"{opt} needs a model to price the tokens: add --model NAME (see `tokcli models`)")
    if models:  # the model table is only needed with --model (start-up time, issue #6)
        from tokcli.budget.models import cached_tokens, fit, get_model, parse_cached

        parse_cached(cached)  # a bad --cached-tokens before anything is counted
    entries = [get_model(m) for m in models]
    toks = [load(t).with_special(special, add_special) for t in tokenizer_names(tokenizers, entries)]
    skipped: list[tuple[str, str]] = []
    rows = count_rows(toks, inputs, walk, dist, special=special, add_special=add_special, errors=errors,
                      strict_unk=strict_unk, skipped=skipped)  # fmt: skip
    o.skipped(skipped)
    totals = [(sum(r.tokens[e.counting_tokenizer] for r in rows), e) for e in entries]
    fits = [fit(n, e, reserve=reserve, output_tokens=output_tokens, cached=cached_tokens(cached, n, e.name))
            for n, e in totals]  # fmt: skip
    if tree:
        count_tree(rows, inputs, [t.name for t in toks], entries, depth=depth, fmt=fmt, fits=fits, cost=cost,
                   skipped=skipped, given=len(tokenizers or ([] if entries else [DEFAULT_TOKENIZER])))  # fmt: skip
    else:
        bare = len(rows) == 1 and len(toks) == 1 and not is_tty() and not fits and fmt is TableFormat.text
        counts(rows, [t.name for t in toks], fmt=fmt.value, bare=bare, fits=fits, cost=cost, skipped=skipped)
    for f, e in zip(fits, entries, strict=True):
        if f.cached_tokens and f.cached_input_price is None and f.input_price is not None:
            o.warn(f"{f.model}: no cached-input price known; its cached tokens are priced at the input price")
        if e.max_output is not None and output_tokens > e.max_output:
            o.warn(f"{f.model} answers at most {e.max_output:,} tokens; --output-tokens {output_tokens:,} is more")
    for unknown in unknown_totals(rows):
        o.warn(unknown.describe())


def count_tree(
    rows: Sequence[InputCount], inputs: list[str], names: Sequence[str], entries: Sequence[ModelEntry], *,
    depth: int | None, fmt: TableFormat, fits: Sequence[Fit], cost: bool, skipped: Sequence[tuple[str, str]],
    given: int,
) -> None:  # fmt: skip
    """`count --tree`: a column per -t tokenizer (the first `given` of the counted `names`: the default one
    unless models are given) and per model, counted with its own tokenizer or its proxy (~)."""
    from tokcli.analysis.tree import token_tree
    from tokcli.output.tree import TreeColumn
    from tokcli.output.tree import token_tree as render

    cols = [TreeColumn(t, t) for t in names[:given]]
    cols += [TreeColumn(e.name, e.counting_tokenizer, e.exact) for e in entries]
    built = token_tree(rows, inputs, names, by=cols[0].tokenizer, depth=depth)
    render(built, cols, fmt=fmt.value, fits=fits, cost=cost, skipped=skipped)


def count_rows(
    toks: Sequence[Tokenizer], inputs: list[str], walk: WalkOptions, dist: DistOptions, *, special: str,
    add_special: bool, errors: str, strict_unk: bool, skipped: list[tuple[str, str]],
) -> list[InputCount]:  # fmt: skip
    """The count rows of `inputs`: in this process, or across the workers or the cluster `dist` names."""
    if not dist.active:
        from tokcli.files.text import expand_inputs
        from tokcli.tokenizer.counting import count_inputs

        sources = expand_inputs(inputs, walk)
        skipped += sources.skipped
        return count_inputs(toks, sources, errors=errors, strict_unk=strict_unk, skipped=skipped)
    from tokcli.output.dist import TaskProgress
    from tokcli.workers import count

    with TaskProgress("counting") as bar:
        return count(inputs, [t.name for t in toks], workers=dist.workers, scheduler=dist.scheduler, timeout=dist.timeout,
                     special=special, add_special=add_special, errors=errors, strict_unk=strict_unk, walk=walk,
                     task_bytes=dist.task_bytes, skipped=skipped, progress=bar.update)  # fmt: skip


def tokenizer_names(tokenizers: Sequence[str] | None, entries: Sequence[ModelEntry]) -> list[str]:
    """The -t tokenizers (default: the default one, unless models are given) and each model's own."""
    names = list(tokenizers or ([] if entries else [DEFAULT_TOKENIZER]))
    names += dict.fromkeys(e.counting_tokenizer for e in entries if e.counting_tokenizer not in names)
    return names


def count_field_or_chat(
    inputs: list[str] | None, tokenizers: Sequence[str] | None, models: Sequence[str], *, field: str | None,
    id_field: str | None, chat: bool, reserve: int, cost: bool, strict_unk: bool, fmt: str, errors: str,
    special: str, add_special: bool, dist: DistOptions,
) -> None:  # fmt: skip
    """`count --field` or `count --chat`: the options that do not go with them refused, then the records or the
    conversations counted (stdin when no input is given and it is piped)."""
    refuse_with_field(cost=cost, strict_unk=strict_unk)
    if chat:
        refuse_with_field(workers=dist.workers, scheduler=dist.scheduler)
    dist = dist.on(inputs or ["-"])
    run = count_chat if chat else count_field
    run(inputs_or_stdin(inputs), tokenizers, models, field=field, id_field=id_field, chat=chat, reserve=reserve,
        fmt=fmt, errors=errors, special=special, add_special=add_special, dist=dist)  # fmt: skip


def count_field(
    inputs: list[str], tokenizers: Sequence[str] | None, models: Sequence[str], *, field: str | None,
    id_field: str | None, chat: bool, reserve: int, fmt: str, errors: str, special: str, add_special: bool,
    dist: DistOptions | None = None,
) -> None:  # fmt: skip
    """`count --field`: per-record statistics of the record files `inputs` (with `dist`, counted by Dask workers)."""
    if field is None:
        raise UsageError("--id-field names the records of --field NAME: give --field too")
    from tokcli import load
    from tokcli.analysis.records import Exceeding, count_records
    from tokcli.budget.models import get_model, input_budget
    from tokcli.output.records import records

    check_inputs(inputs, "--field")
    entries = [get_model(m) for m in models]
    toks = [load(t).with_special(special, add_special) for t in tokenizer_names(tokenizers, entries)]
    windows = [Exceeding(e.name, e.counting_tokenizer, e.exact, input_budget(e, reserve)) for e in entries]
    if dist is not None and dist.active:
        from tokcli.output.dist import TaskProgress
        from tokcli.workers.records import count_records as count_parts

        with TaskProgress("counting records") as bar:
            report = count_parts(inputs, [t.name for t in toks], field, workers=dist.workers, scheduler=dist.scheduler, timeout=dist.timeout,
                                 windows=windows, id_field=id_field, errors=errors, special=special,
                                 add_special=add_special, task_bytes=dist.task_bytes, progress=bar.update)  # fmt: skip
    else:
        report = count_records(toks, inputs, field, windows=windows, id_field=id_field, errors=errors)
    records(report, fmt=fmt)


def refuse_with_field(**given: object) -> None:
    """UsageError for options that do not go with --field or --chat."""
    for name, value in given.items():
        if value:
            raise UsageError(f"--{name.replace('_', '-')} does not go with --field or --chat")


def count_chat(
    inputs: list[str], tokenizers: Sequence[str] | None, models: Sequence[str], *, field: str | None,
    id_field: str | None, chat: bool, reserve: int, fmt: str, errors: str, special: str, add_special: bool,
    dist: DistOptions | None = None,
) -> None:  # fmt: skip
    """`count --chat`: conversations, per message with --format json, against models' windows with -m."""
    from tokcli import load
    from tokcli.budget.chat import chat_columns
    from tokcli.budget.chat import count_chat as counted
    from tokcli.budget.models import fit, get_model
    from tokcli.output.chat import conversations

    if field or id_field:
        raise UsageError("--chat reads conversations; --field and --id-field read dataset records: choose one")
    check_inputs(inputs, "--chat")
    entries = [get_model(m) for m in models]
    loaded = {n: load(n).with_special(special, add_special) for n in tokenizer_names(tokenizers, entries)}
    cols, key = chat_columns(loaded, entries)
    toks = [(tok, oh) for _, tok, oh in cols]
    rows = list(counted(toks, inputs, errors=errors, keys=[k for k, _, _ in cols]))
    fits = [(c.label, fit(c.tokens[key[e.name]], e, reserve=reserve)) for c in rows for e in entries]
    conversations(rows, [(k, oh) for k, _, oh in cols], fmt=fmt, fits=fits)
