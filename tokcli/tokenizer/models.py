"""The model table, as far as the tokenizer layer needs it: which models tokcli knows, under which names, and
which tokenizer counts each one (exactly, or as an estimate with a stated proxy).

The figures come from a dated snapshot of LiteLLM's `model_prices_and_context_window` data (MIT, from
BerriAI/litellm), vendored as tokcli/data/models.json with the litellm version, the wheel's sha256 and
the date; `scripts/refresh_models.py` refreshes it (it reads the JSON out of a downloaded wheel, never
installing litellm). The snapshot is read lazily, once: only a name that is no tokenizer of its own (a model
name), `-m` and `tokcli models` need it. tokcli.budget.models adds fitting counts into the windows.

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

A model may have aliases (ALIASES): the short names tokcli.tokenizer.vendors knows its tokenizer by
(llama-3.1-8b for llama-3.1-8b-instruct). `find` looks a name up: exactly, then as an alias, then with case
and the spelling of versions ignored (claude-sonnet-4.5 = claude-sonnet-4-5).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokcli.errors import InputError, TokcliError

if TYPE_CHECKING:
    from .calibration import Calibration

PROXY = "o200k_base"  # what private or not-yet-installed tokenizers are counted with, as an estimate
PRIVATE = {"anthropic", "gemini", "vertex_ai-language-models"}  # providers whose tokenizers are not public
SNAPSHOT = Path(__file__).resolve().parent.parent / "data" / "models.json"
EXTRAS = {"llama3": "llama", "llama4": "llama", "tekken": "mistral", "mistral-v1": "mistral",
          "mistral-v3": "mistral", "mistral-v7": "mistral", "qwen": "qwen", "qwen3.5": "qwen",
          "deepseek-v4": "deepseek"}  # fmt: skip

# A short name -> the model of the snapshot it names: the model names of tokcli.tokenizer.vendors.MODELS that
# are the same model (same tokenizer, same window) as an entry of the table under LiteLLM's longer name.
# tests/test_names.py checks that each alias's vendor tokenizer is its model's.
ALIASES = {
    "llama-3.1-8b": "llama-3.1-8b-instruct",
    "llama-3.1-70b": "llama-3.1-70b-instruct",
    "llama-3.3-70b": "llama-3.3-70b-instruct",
    "qwen2.5-7b": "qwen2.5-7b-instruct",
    "open-mistral-nemo-2407": "mistral-nemo",
}


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
    aliases: tuple[str, ...] = ()  # other names of this model (ALIASES)

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
        """The tokenizer counts are made with: the model's own, else the proxy; a proxy with a calibration
        that changes its counts is loaded by the model's name (tokcli.tokenizer.calibration)."""
        if self.exact_tokenizer is not None:
            return self.exact_tokenizer
        cal = self.calibration
        return self.name if cal is not None and not cal.identity else self.proxy or PROXY

    @property
    def calibration(self) -> Calibration | None:
        """The published calibration of an estimate made with the default proxy (None: exact, another proxy,
        or a model of no calibrated generation)."""
        from .calibration import for_model

        return None if self.exact or (self.proxy or PROXY) != PROXY else for_model(self.name)

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


def vendor_available(name: str) -> bool:
    """Whether the vendor tokenizer `name` can be loaded: its distribution is installed and ships its file.
    Cheap (the distribution's metadata, nothing imported or read); a bad file is an error when it is loaded."""
    from .vendors import VENDORS, vendor_file

    if name not in VENDORS:
        return False
    try:
        vendor_file(name, VENDORS[name])
    except TokcliError:
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


def _entry(name: str, raw: Mapping[str, Any], meta: Mapping[str, Any], aliases: tuple[str, ...]) -> ModelEntry:
    from .pretrained import model_encoding

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
        tokenizer_source="tiktoken" if enc else "", aliases=aliases,
    )  # fmt: skip


@cache
def builtin() -> dict[str, ModelEntry]:
    """The table from the snapshot, before any configuration."""
    doc = snapshot()
    aliases: dict[str, list[str]] = {}
    for alias, name in ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    return {name: _entry(name, raw, doc, tuple(aliases.get(name, ()))) for name, raw in doc.get("models", {}).items()}


FIELDS = {  # config key -> ModelEntry field
    "context": "context", "input-limit": "input_limit", "max-output": "max_output", "tokenizer": "tokenizer",
    "proxy": "proxy", "source": "source", "as-of": "as_of", "note": "note", "input-price": "input_price",
    "output-price": "output_price",
}  # fmt: skip


# -- user configuration (checked by tokcli.files.config) -----------------------------------------------


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
    from tokcli.files.config import pyproject_tool, user_config

    models = dict(builtin())
    cfg, user = user_config()
    if user.get("models"):
        models = apply_overrides(models, user["models"], str(cfg), cfg.parent)
    path, tool = pyproject_tool(start)
    if path is not None and tool.get("models"):
        models = apply_overrides(models, tool["models"], str(path), path.parent)
    return models


def key(name: str) -> str:
    """A name for matching: case and the spelling of versions ignored (claude-sonnet-4.5 = claude-sonnet-4-5)."""
    return name.lower().replace(".", "-").replace("_", "-")


def names(models: Mapping[str, ModelEntry]) -> dict[str, str]:
    """Every name of a model of `models` -> the model: its own name, and its aliases (an entry of the same
    name as an alias, e.g. one a config file adds, wins)."""
    out = {alias: e.name for e in models.values() for alias in e.aliases}
    return out | {name: name for name in models}


def find(name: str, models: Mapping[str, ModelEntry]) -> tuple[str, ModelEntry] | None:
    """(the name matched, spelt as the table spells it; the model) for a model name or alias, matched
    exactly, else with case and the spelling of versions ignored; None for a name that is no model."""
    table = names(models)
    if name in table:
        return name, models[table[name]]
    by_key = {key(n): n for n in table}
    if (found := by_key.get(key(name))) is not None:
        return found, models[table[found]]
    return None
