"""`count` over files and streams (the plain path; --field and --chat are in records.py): the tokenizers
and models named, the rows counted (by Dask workers when asked), and the table, fits and warnings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tokcli.errors import UsageError

from .common import TableFormat
from .records import tokenizer_names

if TYPE_CHECKING:
    from tokcli.walk import WalkOptions

    from .common import DistOptions


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
) -> None:
    from tokcli import load
    from tokcli import output as o
    from tokcli.analysis.counting import unknown_totals
    from tokcli.output import is_tty
    from tokcli.output.tokens import counts

    from .dist import count_rows

    if cost and not models:
        raise UsageError("--cost needs a model to price the tokens: add --model NAME (see `tokcli models`)")
    if models:  # the model table is only needed with --model (start-up time, issue #6)
        from tokcli.budget.models import fit, get_model
    entries = [get_model(m) for m in models]
    toks = [load(t).with_special(special, add_special) for t in tokenizer_names(tokenizers, entries)]
    skipped: list[tuple[str, str]] = []
    rows = count_rows(toks, inputs, walk, dist, special=special, add_special=add_special, errors=errors,
                      strict_unk=strict_unk, skipped=skipped)  # fmt: skip
    o.skipped(skipped)
    fits = [fit(sum(r.tokens[e.counting_tokenizer] for r in rows), e, reserve=reserve) for e in entries]
    bare = len(rows) == 1 and len(toks) == 1 and not is_tty() and not fits and fmt is TableFormat.text
    counts(rows, [t.name for t in toks], fmt=fmt.value, bare=bare, fits=fits, cost=cost, skipped=skipped)
    for unknown in unknown_totals(rows):
        o.warn(unknown.describe())
