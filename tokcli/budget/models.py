"""The model table: context windows, prices and tokenizers of the models tokcli knows, and whether a
count of tokens fits one (`fit`).

The figures come from a dated snapshot of LiteLLM's `model_prices_and_context_window` data (MIT, from
BerriAI/litellm), vendored as tokcli/data/models.json with the litellm version, the wheel's sha256 and
the date; `scripts/refresh_models.py` refreshes it (it reads the JSON out of a downloaded wheel, never
installing litellm). The snapshot is read lazily: only `-m`, `tokcli models` and `check --model` need it.

Each entry's tokenizer is one of
    exact      an OpenAI encoding by tiktoken's model table, or a vendor tokenizer tokcli can load
               (llama3, qwen, tekken, ... once its extra is installed), or a file the user configured
    estimate   the tokenizer is private (Claude, Gemini) or its extra is not installed: tokcli counts
               with the stated proxy and marks the count an estimate (`~` in text, "exact": false in JSON)

LiteLLM states no context window apart from `max_input_tokens`: the snapshot's context window is that
figure. Users add or override entries in a TOML file ($TOKCLI_CONFIG, else ~/.config/tokcli/config.toml)
and in `pyproject.toml` (found from the current directory upward):

    [models."llama-3.1-8b-instruct"]          # pyproject.toml: [tool.tokcli.models."llama-3.1-8b-instruct"]
    tokenizer = "~/models/llama-3.1/tokenizer.json"

    [models.my-model]
    context = 32000
    max-output = 4096
    tokenizer = "cl100k_base"
    input-price = 0.5                         # USD per million input tokens
    source = "our deployment"
    as-of = "2026-01-15"

Later sources override earlier ones field by field: the snapshot, user config, pyproject.toml.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tokcli.errors import InputError, TokcliError, UsageError

PROXY = "o200k_base"  # what private or not-yet-installed tokenizers are counted with, as an estimate
PRIVATE = {"anthropic", "gemini", "vertex_ai-language-models"}  # providers whose tokenizers are not public
SNAPSHOT = Path(__file__).resolve().parent.parent / "data" / "models.json"
EXTRAS = {"llama3": "llama", "llama4": "llama", "tekken": "mistral", "mistral-v1": "mistral",
          "mistral-v3": "mistral", "mistral-v7": "mistral", "qwen": "qwen"}  # fmt: skip


@dataclass(frozen=True)
class ModelEntry:
    """One model's limits, prices, its tokenizer, and where the numbers come from."""

    name: str
    context: int  # the context window: input and output tokens together
    input_limit: int | None  # the most input tokens; None: the window
    max_output: int | None  # the most output tokens; None: not stated (bounded by the window)
    tokenizer: str | None  # an exact tokenizer spec tokcli can load; None: see `vendor`, else the proxy
    proxy: str | None  # counted with this when no exact tokenizer is available (an estimate)
    source: str  # where the numbers come from
    as_of: str  # the date the source was read, YYYY-MM-DD
    note: str = ""
    origin: str = "built-in"  # built-in (the snapshot), or the config file that added or changed the entry
    input_price: float | None = None  # USD per million input tokens
    output_price: float | None = None  # USD per million output tokens
    vendor: str | None = None  # the vendor tokenizer (a tokcli name) that is exact once its extra is installed
    provider: str | None = None  # LiteLLM's provider of the figures (openai, anthropic, deepinfra, ...)
    tokenizer_source: str = ""  # why `tokenizer` is exact: "tiktoken", or the config file that named it
    source_key: str = ""  # the entry's key in the source (LiteLLM's name, which may name a host)

    @property
    def exact_tokenizer(self) -> str | None:
        """The tokenizer that counts this model exactly, where tokcli has one now."""
        if self.tokenizer is not None:
            return self.tokenizer
        if self.vendor is not None and vendor_available(self.vendor):
            return self.vendor
        return None

    @property
    def exact(self) -> bool:
        return self.exact_tokenizer is not None

    @property
    def counting_tokenizer(self) -> str:
        """The tokenizer counts are made with: the model's own, else the proxy."""
        return self.exact_tokenizer or self.proxy or PROXY

    @property
    def max_input(self) -> int:
        return self.input_limit or self.context

    @property
    def count_via(self) -> str:
        """How counts are made, in short: 'exact (tiktoken)', 'estimate (proxy)', 'estimate; exact with ...'."""
        if self.exact_tokenizer is not None:
            return f"exact ({self.tokenizer_source or 'vendor tokenizer'})" if self.tokenizer else "exact (vendor)"
        if self.vendor is not None:
            return f'estimate; exact with pip install "tokcli[{EXTRAS.get(self.vendor, "models")}]"'
        return "estimate (proxy)"


@cache
def vendor_available(name: str) -> bool:
    """Whether tokcli can load the vendor tokenizer `name` (its extra is installed)."""
    from tokcli.tokenizer.registry import load

    try:
        load(name)
    except (TokcliError, ImportError, OSError):
        return False
    return True


@cache
def snapshot() -> dict[str, Any]:
    """The vendored LiteLLM snapshot (tokcli/data/models.json), read once."""
    try:
        doc: dict[str, Any] = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{SNAPSHOT}: cannot read the model table ({e}); reinstall tokcli") from None
    return doc


def _entry(name: str, raw: Mapping[str, Any], meta: Mapping[str, Any]) -> ModelEntry:
    from tokcli.tokenizer.pretrained import model_encoding

    enc = model_encoding(name) if raw.get("provider") in ("openai", "azure") else None
    vendor = raw.get("vendor_tokenizer")
    provider = raw.get("provider")
    if provider in PRIVATE:
        note = "private tokenizer"
    elif enc is None and vendor is None:
        note = "no vendor tokenizer in tokcli yet; give its tokenizer.json for exact counts"
    else:
        note = ""
    return ModelEntry(
        name=name, context=raw["context_window"], input_limit=raw.get("max_input"), max_output=raw.get("max_output"),
        tokenizer=enc, proxy=None if enc else PROXY,
        source=f"LiteLLM {meta.get('litellm_version', '?')}", source_key=str(raw.get("litellm_key", name)),
        as_of=str(meta.get("date", "")), note=note, input_price=raw.get("input_price_per_mtok"),
        output_price=raw.get("output_price_per_mtok"), vendor=vendor, provider=provider,
        tokenizer_source="tiktoken" if enc else "",
    )  # fmt: skip


@cache
def builtin() -> dict[str, ModelEntry]:
    """The table from the snapshot, before any configuration."""
    doc = snapshot()
    return {name: _entry(name, raw, doc) for name, raw in doc.get("models", {}).items()}


FIELDS = {  # config key -> ModelEntry field
    "context": "context", "input-limit": "input_limit", "max-output": "max_output", "tokenizer": "tokenizer",
    "proxy": "proxy", "source": "source", "as-of": "as_of", "note": "note", "input-price": "input_price",
    "output-price": "output_price",
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
        if isinstance(tok, str):
            changes["tokenizer_source"] = origin
            changes.setdefault("note", "")  # the built-in note says why there was no exact tokenizer
        if name in out:
            old = out[name]
            if "context" in changes and "input_limit" not in changes and (old.input_limit or 0) >= changes["context"]:
                changes["input_limit"] = None  # a smaller window given alone bounds the input too
            out[name] = dataclasses.replace(old, origin=origin, **changes)
        else:
            if "context" not in changes:
                raise InputError(f"{origin}: models.{name} is a new model: give at least `context`")
            fields = dict(input_limit=None, max_output=None, tokenizer=None, proxy=PROXY, source=origin, as_of="")
            out[name] = ModelEntry(name=name, **(fields | changes), origin=origin)
    return out


def load_models(start: str | Path | None = None) -> dict[str, ModelEntry]:
    """The built-in table with the user config file and pyproject.toml's [tool.tokcli.models] applied."""
    from .config import pyproject_tool, user_config

    models = dict(builtin())
    cfg, user = user_config()
    if user.get("models"):
        models = apply_overrides(models, user["models"], str(cfg), cfg.parent)
    path, tool = pyproject_tool(start)
    if path is not None and tool.get("models"):
        models = apply_overrides(models, tool["models"], str(path), path.parent)
    return models


def _key(name: str) -> str:
    """A name for matching: case and the spelling of versions ignored (claude-sonnet-4.5 = claude-sonnet-4-5)."""
    return name.lower().replace(".", "-").replace("_", "-")


def get_model(name: str, models: Mapping[str, ModelEntry] | None = None) -> ModelEntry:
    """The entry named `name` (case, and `.` for `-` in versions, ignored); UsageError with suggestions else."""
    models = load_models() if models is None else models
    if name in models:
        return models[name]
    by_key = {_key(k): v for k, v in models.items()}
    if _key(name) in by_key:
        return by_key[_key(name)]
    close = difflib.get_close_matches(_key(name), list(by_key), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(by_key[k].name for k in close)}? " if close else ""
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
