"""What `count --field`, `count --chat` and `chunk --field` do once their options are parsed (no commands of
their own: the count and chunk commands call these)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tokcli.errors import UsageError

from .common import DEFAULT_TOKENIZER, inputs_or_stdin

if TYPE_CHECKING:
    from .common import DistOptions


def tokenizer_names(tokenizers: Sequence[str] | None, entries: Sequence) -> list[str]:
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
        from tokcli.dist.records import count_records as count_parts
        from tokcli.output.dist import TaskProgress

        with TaskProgress("counting records") as bar:
            report = count_parts(inputs, [t.name for t in toks], field, workers=dist.workers, scheduler=dist.scheduler,
                                 windows=windows, id_field=id_field, errors=errors, special=special,
                                 add_special=add_special, task_bytes=dist.task_bytes, progress=bar.update)  # fmt: skip
    else:
        report = count_records(toks, inputs, field, windows=windows, id_field=id_field, errors=errors)
    records(report, fmt=fmt)


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


def refuse_with_field(**given: object) -> None:
    """UsageError for options that do not go with --field or --chat."""
    for name, value in given.items():
        if value:
            raise UsageError(f"--{name.replace('_', '-')} does not go with --field or --chat")


def check_inputs(inputs: Sequence[str], what: str) -> None:
    """Record and chat inputs are files (or - for stdin): a directory is refused, naming the fix."""
    import os

    for p in inputs:
        if p != "-" and os.path.isdir(p):
            raise UsageError(f"{p}: is a directory; {what} reads files: give them (e.g. {p}/*.jsonl)")


def count_chat(
    inputs: list[str], tokenizers: Sequence[str] | None, models: Sequence[str], *, field: str | None,
    id_field: str | None, chat: bool, reserve: int, fmt: str, errors: str, special: str, add_special: bool,
    dist: DistOptions | None = None,
) -> None:  # fmt: skip
    """`count --chat`: conversations, per message with --format json, against models' windows with -m."""
    from tokcli import load
    from tokcli.budget.chat import count_chat as counted
    from tokcli.budget.chat import overhead_for
    from tokcli.budget.models import fit, get_model
    from tokcli.output.chat import conversations

    if field or id_field:
        raise UsageError("--chat reads conversations; --field and --id-field read dataset records: choose one")
    check_inputs(inputs, "--chat")
    entries = [get_model(m) for m in models]
    names = tokenizer_names(tokenizers, entries)
    by_model = {e.counting_tokenizer: e for e in entries}
    toks = [(tok, overhead_for(tok, by_model.get(n))) for n in names
            for tok in [load(n).with_special(special, add_special)]]  # fmt: skip
    rows = list(counted(toks, inputs, errors=errors))
    fits = [(c.label, fit(c.tokens[e.counting_tokenizer], e, reserve=reserve)) for c in rows for e in entries]
    conversations(rows, [(t.name, oh) for t, oh in toks], fmt=fmt, fits=fits)
