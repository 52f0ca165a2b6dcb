"""Fitting counts into the windows of the models tokcli knows (`fit`), and finding a model by name for `-m`
(`get_model`).

The table itself (the vendored LiteLLM snapshot, user config and pyproject.toml overrides, aliases, and which
tokenizer counts each model, exactly or as an estimate) is tokcli.tokenizer.models, below this layer, so that
the tokenizer registry resolves model names too: `tokcli.load("claude-sonnet-4-5")`, `-t` and `-m` read the
same table. Its names are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from tokcli.errors import UsageError
from tokcli.tokenizer.models import (  # re-exported: the table's API as tokcli.budget.models had it
    EXTRAS,
    FIELDS,
    PRIVATE,
    PROXY,
    SNAPSHOT,
    ModelEntry,
    apply_overrides,
    builtin,
    find,
    load_models,
    snapshot,
    vendor_available,
)
from tokcli.tokenizer.models import key as _key  # noqa: F401

__all__ = ["EXTRAS", "FIELDS", "PRIVATE", "PROXY", "SNAPSHOT", "Fit", "ModelEntry", "apply_overrides", "builtin",
           "find", "fit", "get_model", "input_budget", "load_models", "snapshot", "vendor_available"]  # fmt: skip


def get_model(name: str, models: Mapping[str, ModelEntry] | None = None) -> ModelEntry:
    """The entry named `name` (or one of its aliases; case, and `.` for `-` in versions, ignored). A name that
    is a tokenizer but no model, or no name at all, is a UsageError saying what to give instead (at most five
    close names, and `tokcli models`)."""
    models = load_models() if models is None else models
    if (found := find(name, models)) is not None:
        return found[1]
    from tokcli.tokenizer.registry import is_tokenizer_name, suggestions

    if is_tokenizer_name(name):
        raise UsageError(
            f"{name!r} has no context window in `tokcli models`: count with -t {name}, or give it one in a "
            f'config file ([models."{name}"] with context = N)'
        )
    close = suggestions(name, list(models) + [a for e in models.values() for a in e.aliases])
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise UsageError(
        f"unknown model {name!r}: {hint}`tokcli models` lists the {len(models)} known ones; "
        "add others to a config file ([models.NAME] with context = N)"
    )


# -- fitting a count into a window ---------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """How `tokens` fit a model: share of the input budget used, whether it fits, chunks needed."""

    model: str
    tokenizer: str  # what the tokens were counted with
    exact: bool  # False: counted with a proxy tokenizer, an estimate
    tokens: int
    context: int
    reserve: int  # tokens kept free for the answer
    limit: int  # the input budget: min(input limit, context - reserve)
    share: float  # tokens / limit
    fits: bool
    chunks: int  # pieces of at most `limit` tokens it takes (0 for no tokens)
    input_price: float | None = None  # USD per million input tokens; None: not known
    cost: float | None = None  # the input cost of `tokens` in USD (an estimate where `exact` is False)


def input_budget(entry: ModelEntry, reserve: int = 0) -> int:
    if reserve < 0:
        raise UsageError(f"--reserve {reserve} must not be negative")
    limit = min(entry.max_input, entry.context - reserve)
    if limit < 1:
        raise UsageError(f"--reserve {reserve} leaves no room for input in {entry.name}'s window of {entry.context:,}")
    return limit


def fit(tokens: int, model: str | ModelEntry, *, reserve: int = 0) -> Fit:
    """How a count of `tokens` (made with the model's `counting_tokenizer`) fits `model`'s window."""
    entry = model if isinstance(model, ModelEntry) else get_model(model)
    limit = input_budget(entry, reserve)
    price = entry.input_price
    return Fit(entry.name, entry.counting_tokenizer, entry.exact, tokens, entry.context, reserve, limit,
               tokens / limit, tokens <= limit, math.ceil(tokens / limit), price,
               None if price is None else tokens * price / 1_000_000)  # fmt: skip
