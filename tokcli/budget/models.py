"""Fitting counts into the windows of the models tokcli knows (`fit`), and finding a model by name for `-m`
(`get_model`).

The table itself (the vendored LiteLLM snapshot, user config and pyproject.toml overrides, aliases, and which
tokenizer counts each model, exactly or as an estimate) is tokcli.tokenizer.models, below this layer, so that
the tokenizer registry resolves model names too: `tokcli.load("claude-sonnet-4-5")`, `-t` and `-m` read the
same table. Its names are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
           "cached_tokens", "find", "fit", "get_model", "input_budget", "load_models", "matching", "parse_cached", "price_source",
           "snapshot",
           "vendor_available"]  # fmt: skip


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


def matching(
    models: Mapping[str, ModelEntry], words: Sequence[str] = (), providers: Sequence[str] = ()
) -> list[ModelEntry]:
    """The entries of `models` sorted by maker and name, those whose name, aliases, LiteLLM key, maker or
    provider hold every one of `words` (case and the spelling of versions ignored), and whose maker or
    provider is one of `providers` (any, for none)."""
    wanted = {p.lower() for p in providers}
    out = []
    for e in models.values():
        if wanted and not wanted & {(e.maker or "").lower(), (e.provider or "").lower()}:
            continue
        hay = " ".join([e.name, *e.aliases, e.source_key, e.maker or "", e.provider or ""])
        if all(_key(w) in _key(hay) for w in words):
            out.append(e)
    return sorted(out, key=lambda e: (e.maker is None, e.maker or "", e.name))


# -- fitting a count into a window ---------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """How `tokens` fit a model: share of the input budget used, whether it fits, chunks needed; and what
    sending them costs at the model's prices (USD per million tokens), with the answer's tokens and the
    share of the input read from the prompt cache where given."""

    model: str
    tokenizer: str  # what the tokens were counted with
    exact: bool  # False: counted with a proxy tokenizer, an estimate
    tokens: int
    context: int
    reserve: int  # tokens kept free for the answer (the larger of --reserve and the output tokens)
    limit: int  # the input budget: min(input limit, context - reserve)
    share: float  # tokens / limit
    fits: bool
    chunks: int  # pieces of at most `limit` tokens it takes (0 for no tokens)
    input_price: float | None = None  # USD per million input tokens; None: not known
    cost: float | None = None  # input cost + output cost in USD (an estimate where `exact` is False)
    cached_tokens: int = 0  # of `tokens`, those billed at the cached-input price
    output_tokens: int = 0  # the expected answer's tokens, billed at the output price
    cached_input_price: float | None = None  # USD per million cached input tokens; None: not known
    output_price: float | None = None  # USD per million output tokens; None: not known
    input_cost: float | None = None  # `tokens` at the input price, `cached_tokens` of them at the cached price
    output_cost: float | None = None  # `output_tokens` at the output price
    price_source: str = ""  # where the prices come from: LiteLLM's version and date (and its source), or a config


def input_budget(entry: ModelEntry, reserve: int = 0, option: str = "--reserve") -> int:
    """The input budget of `entry` with `reserve` tokens kept free (`option`: what set it, for the error)."""
    if reserve < 0:
        raise UsageError(f"{option} {reserve} must not be negative")
    limit = min(entry.max_input, entry.context - reserve)
    if limit < 1:
        raise UsageError(f"{option} {reserve} leaves no room for input in {entry.name}'s window of {entry.context:,}")
    return limit


def parse_cached(spec: str | None) -> tuple[int | None, float | None]:
    """`--cached-tokens SPEC`: (N tokens, None) or (None, P percent); (0, None) for no SPEC."""
    if spec is None:
        return 0, None
    text = spec.strip()
    try:
        if text.endswith("%"):
            pct = float(text[:-1])
            if not 0 <= pct <= 100:
                raise ValueError
            return None, pct
        n = int(text)
        if n < 0:
            raise ValueError
    except ValueError:
        raise UsageError(
            f"--cached-tokens {spec}: give a number of input tokens (such as 20000) or a share of them (such as 80%)"
        ) from None
    return n, None


def cached_tokens(spec: str | None, tokens: int, model: str) -> int:
    """The input tokens billed at the cached-input price for `--cached-tokens SPEC`: N tokens (at most the
    `tokens` counted for `model`), or P% of them (rounded down); 0 for no SPEC."""
    n, pct = parse_cached(spec)
    if pct is not None:
        return math.floor(tokens * pct / 100)
    assert n is not None
    if n > tokens:
        raise UsageError(
            f"--cached-tokens {n:,} is more than the {tokens:,} input tokens counted for {model}: give at most "
            "that, or a share such as 80%"
        )
    return n


def price_source(entry: ModelEntry) -> str:
    """Where `entry`'s prices come from: the snapshot's LiteLLM version and date, with the page LiteLLM cites,
    or the config file that set them."""
    where = f"{entry.source}, {entry.as_of}" if entry.as_of else entry.source
    return f"{where} ({entry.price_source})" if entry.price_source and entry.origin == "built-in" else where


def fit(tokens: int, model: str | ModelEntry, *, reserve: int = 0, output_tokens: int = 0, cached: int = 0) -> Fit:
    """How a count of `tokens` (made with the model's `counting_tokenizer`) fits `model`'s window, and its
    cost: `cached` of the tokens at the cached-input price (the input price where none is known),
    `output_tokens` of answer at the output price (kept free in the window: the reserve is at least that)."""
    entry = model if isinstance(model, ModelEntry) else get_model(model)
    if output_tokens < 0 or not 0 <= cached <= tokens:
        raise UsageError(f"output tokens ({output_tokens}) and cached tokens ({cached}) must be within 0 and the count")
    option = "--output-tokens" if output_tokens > reserve else "--reserve"
    reserve = max(reserve, output_tokens)
    limit = input_budget(entry, reserve, option)
    price, out_price = entry.input_price, entry.output_price
    cached_price = entry.cached_input_price if entry.cached_input_price is not None else price
    input_cost = (
        None if price is None or cached_price is None else ((tokens - cached) * price + cached * cached_price) / 1e6
    )
    output_cost = None if out_price is None else output_tokens * out_price / 1e6
    cost = None if input_cost is None or (output_tokens and output_cost is None) else input_cost + (output_cost or 0.0)
    return Fit(entry.name, entry.counting_tokenizer, entry.exact, tokens, entry.context, reserve, limit,
               tokens / limit, tokens <= limit, math.ceil(tokens / limit), price, cost, cached, output_tokens,
               entry.cached_input_price, out_price, input_cost, output_cost, price_source(entry))  # fmt: skip
