"""Context windows of models, and whether a count of tokens fits one (`fit`).

The table is `BUILTIN`: one line per model, so updating an entry is a one-line change (tests/test_contexts.py
checks every line). Each entry records its source and the date it was read; tables like this go stale,
so check the source before relying on a number near a limit.

    exact      the model's tokenizer is public and tokcli counts with it (OpenAI models: tiktoken)
    estimate   the tokenizer is private (Claude, Gemini) or is a file the user has not given yet (Llama,
               Mistral, Qwen, Gemma): tokcli counts with the stated proxy and marks the count an estimate

Open models become exact once their `tokenizer.json` is named in a config file. Users add or override
entries in a TOML file ($TOKCLI_CONFIG, else ~/.config/tokcli/config.toml) and in `pyproject.toml`
(found from the current directory upward):

    [models."llama-3.1-8b-instruct"]          # pyproject.toml: [tool.tokcli.models."llama-3.1-8b-instruct"]
    tokenizer = "~/models/llama-3.1/tokenizer.json"

    [models.my-model]
    context = 32000
    max-output = 4096
    tokenizer = "cl100k_base"
    source = "our deployment"
    as-of = "2026-01-15"

Later sources override earlier ones field by field: built-in table, user config, pyproject.toml.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokcli.errors import InputError, UsageError

PROXY = "o200k_base"  # what private or not-yet-given tokenizers are counted with, as an estimate


@dataclass(frozen=True)
class ModelEntry:
    """One model's limits, its tokenizer, and where the numbers come from."""

    name: str
    context: int  # the context window: input and output tokens together
    input_limit: int | None  # the most input tokens, where lower than the context window; None: the window
    max_output: int | None  # the most output tokens; None: not stated (bounded by the window)
    tokenizer: str | None  # a tokenizer spec tokcli can load; None: private, or a file the user must give
    proxy: str | None  # counted with this instead when `tokenizer` is None (an estimate)
    source: str  # where the numbers come from (a document's title, no URL)
    as_of: str  # the date the source was read, YYYY-MM-DD
    note: str = ""
    origin: str = "built-in"  # built-in, or the config file that added or changed the entry

    @property
    def exact(self) -> bool:
        return self.tokenizer is not None

    @property
    def counting_tokenizer(self) -> str:
        """The tokenizer counts are made with: the model's own, else the proxy."""
        return self.tokenizer or self.proxy or PROXY

    @property
    def max_input(self) -> int:
        return self.input_limit or self.context


M = ModelEntry
O200K, CL100K = "o200k_base", "cl100k_base"
OA = "OpenAI API docs, model page"
ANT = "Anthropic docs, models overview"
GEM = "Google Gemini API docs, models page"
PRIV = "private tokenizer"
TJ = "give its tokenizer.json for exact counts"

# fmt: off
# name, context, input limit, max output, tokenizer, proxy, source, as of
BUILTIN: dict[str, ModelEntry] = {e.name: e for e in [
    M("gpt-5", 400_000, 272_000, 128_000, O200K, None, f"{OA} GPT-5", "2025-08-07"),
    M("gpt-5-mini", 400_000, 272_000, 128_000, O200K, None, f"{OA} GPT-5 mini", "2025-08-07"),
    M("gpt-5-nano", 400_000, 272_000, 128_000, O200K, None, f"{OA} GPT-5 nano", "2025-08-07"),
    M("gpt-4.1", 1_047_576, None, 32_768, O200K, None, f"{OA} GPT-4.1", "2025-04-14"),
    M("gpt-4.1-mini", 1_047_576, None, 32_768, O200K, None, f"{OA} GPT-4.1 mini", "2025-04-14"),
    M("gpt-4.1-nano", 1_047_576, None, 32_768, O200K, None, f"{OA} GPT-4.1 nano", "2025-04-14"),
    M("gpt-4o", 128_000, None, 16_384, O200K, None, f"{OA} GPT-4o", "2025-08-07"),
    M("gpt-4o-mini", 128_000, None, 16_384, O200K, None, f"{OA} GPT-4o mini", "2025-08-07"),
    M("o3", 200_000, None, 100_000, O200K, None, f"{OA} o3", "2025-08-07"),
    M("o4-mini", 200_000, None, 100_000, O200K, None, f"{OA} o4-mini", "2025-08-07"),
    M("o1", 200_000, None, 100_000, O200K, None, f"{OA} o1", "2025-08-07"),
    M("gpt-4-turbo", 128_000, None, 4_096, CL100K, None, f"{OA} GPT-4 Turbo", "2025-08-07"),
    M("gpt-4", 8_192, None, 8_192, CL100K, None, f"{OA} GPT-4", "2025-08-07"),
    M("gpt-3.5-turbo", 16_385, None, 4_096, CL100K, None, f"{OA} GPT-3.5 Turbo", "2025-08-07"),
    M("claude-sonnet-4.5", 200_000, None, 64_000, None, O200K, ANT, "2025-10-01", PRIV),
    M("claude-opus-4.1", 200_000, None, 32_000, None, O200K, ANT, "2025-08-07", PRIV),
    M("claude-sonnet-4", 200_000, None, 64_000, None, O200K, ANT, "2025-08-07", PRIV + "; 1M in beta"),
    M("claude-3.5-haiku", 200_000, None, 8_192, None, O200K, ANT, "2025-08-07", PRIV),
    M("gemini-2.5-pro", 1_048_576, None, 65_536, None, O200K, GEM, "2025-08-07", PRIV),
    M("gemini-2.5-flash", 1_048_576, None, 65_536, None, O200K, GEM, "2025-08-07", PRIV),
    M("llama-3.1-8b-instruct", 131_072, None, None, None, O200K, "Meta Llama 3.1 card", "2024-07-23", TJ),
    M("llama-3.3-70b-instruct", 131_072, None, None, None, O200K, "Meta Llama 3.3 card", "2024-12-06", TJ),
    M("mistral-small-3.1", 128_000, None, None, None, O200K, "Mistral AI models docs", "2025-03-17", TJ),
    M("qwen3-8b", 32_768, None, None, None, O200K, "Qwen3-8B card", "2025-04-29", "131,072 with YaRN; " + TJ),
    M("gemma-3-27b-it", 131_072, None, 8_192, None, O200K, "Gemma 3 card", "2025-03-12", TJ),
]}
# fmt: on

FIELDS = {  # config key -> ModelEntry field
    "context": "context", "input-limit": "input_limit", "max-output": "max_output", "tokenizer": "tokenizer",
    "proxy": "proxy", "source": "source", "as-of": "as_of", "note": "note",
}  # fmt: skip


# -- user configuration (checked by tokcli.budget.config) ----------------------------------------------


def apply_overrides(
    models: Mapping[str, ModelEntry], table: Mapping[str, Any], origin: str, base: Path | None = None
) -> dict[str, ModelEntry]:
    """`models` with the entries of a `[models]` table added or changed field by field."""
    out = dict(models)
    for name, values in table.items():  # checked against config.MODEL: known keys, right types
        changes = {FIELDS[k]: v for k, v in values.items()}
        tok = changes.get("tokenizer")
        if isinstance(tok, str) and base is not None and ("/" in tok or tok.endswith((".json", ".model"))):
            changes["tokenizer"] = str((base / Path(tok).expanduser()).resolve())
        if name in out:
            out[name] = dataclasses.replace(out[name], origin=origin, **changes)
        else:
            if "context" not in changes:
                raise InputError(f"{origin}: models.{name} is a new model: give at least `context`")
            fields = dict(input_limit=None, max_output=None, tokenizer=None, proxy=PROXY, source=origin, as_of="")
            out[name] = ModelEntry(name=name, **(fields | changes), origin=origin)  # type: ignore[arg-type]
    return out


def load_models(start: str | Path | None = None) -> dict[str, ModelEntry]:
    """The built-in table with the user config file and pyproject.toml's [tool.tokcli.models] applied."""
    from .config import pyproject_tool, user_config

    models = dict(BUILTIN)
    cfg, user = user_config()
    if user.get("models"):
        models = apply_overrides(models, user["models"], str(cfg), cfg.parent)
    path, tool = pyproject_tool(start)
    if path is not None and tool.get("models"):
        models = apply_overrides(models, tool["models"], str(path), path.parent)
    return models


def get_model(name: str, models: Mapping[str, ModelEntry] | None = None) -> ModelEntry:
    models = load_models() if models is None else models
    if name in models:
        return models[name]
    lower = {k.lower(): v for k, v in models.items()}
    if name.lower() in lower:
        return lower[name.lower()]
    raise UsageError(
        f"unknown model {name!r}: one of {', '.join(models)} (`tokcli models`), or add it to a config file"
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
    return Fit(entry.name, entry.counting_tokenizer, entry.exact, tokens, entry.context, reserve, limit,
               tokens / limit, tokens <= limit, math.ceil(tokens / limit))  # fmt: skip
