"""The model table, as far as the tokenizer layer needs it: which models tokcli knows, under which names, and
which tokenizer counts each one (exactly, or as an estimate with a stated proxy).

The figures come from a dated snapshot of LiteLLM's `model_prices_and_context_window` data (MIT, from
BerriAI/litellm), vendored in two files, each with the litellm version, the wheel's sha256 and the date;
`scripts/refresh_models.py` refreshes both (it reads the JSON out of a downloaded wheel, never installing
litellm):
    tokcli/data/litellm_models.json   every chat model LiteLLM lists under the vendors' own APIs (OpenAI,
                                      Anthropic, Gemini, Mistral, DeepSeek, xAI, Cohere, Qwen's DashScope,
                                      Meta's Llama API) and the open-weights Llama, Qwen, Mistral, DeepSeek,
                                      Gemma and gpt-oss models of one host (DeepInfra); rows as arrays
    tokcli/data/models.json           the curated entries: where one names the same model (or LiteLLM key)
                                      as a generated row, the curated entry wins
The snapshot is read lazily, once: only a name that is no tokenizer of its own (a model name), `-m` and
`tokcli models` need it. tokcli.budget.models adds fitting counts into the windows and prices them.

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
    cached-input-price = 0.05                 # ... read from the prompt cache
    output-price = 1.5                        # ... of output
    source = "our deployment"
    as-of = "2026-01-15"

Later sources override earlier ones field by field: the snapshot, user config, pyproject.toml.

A model may have aliases (ALIASES): the short names tokcli.tokenizer.vendors knows its tokenizer by
(llama-3.1-8b for llama-3.1-8b-instruct), and LiteLLM's names of a curated entry. `find` looks a name up:
exactly, then as an alias, then with case and the spelling of versions ignored (claude-sonnet-4.5 =
claude-sonnet-4-5), then as LiteLLM and the hosts write it (`base_name`, `stem`): a provider or host prefix
(anthropic/, openai/, gemini/, vertex_ai/, bedrock/, openrouter/anthropic/, meta-llama/Meta-, ...; Bedrock's
region and vendor prefixes and -v1:0 versions), a date or version suffix (claude-sonnet-4-5-20250929,
gpt-4o-2024-08-06, @20240620, -0125, -2407, -08-2024) and -latest / -instruct ignored. A dated name the table
lists is its own entry (its own prices); one it does not list is its undated model's.
"""

from __future__ import annotations

import dataclasses
import json
import re
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
BULK = SNAPSHOT.with_name("litellm_models.json")  # the generated table, under the curated one
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
    cached_input_price: float | None = None  # USD per million input tokens read from the prompt cache
    vendor: str | None = None  # the vendor tokenizer (a tokcli name) that is exact once its extra is installed
    provider: str | None = None  # LiteLLM's provider of the figures (openai, anthropic, deepinfra, ...)
    tokenizer_source: str = ""  # why `tokenizer` is exact: "tiktoken", or the config file that named it
    source_key: str = ""  # the entry's key in the source (LiteLLM's name, which may name a host)
    aliases: tuple[str, ...] = ()  # other names of this model (ALIASES, LiteLLM's names of a curated entry)
    maker: str | None = None  # who makes the model: openai, anthropic, google, meta, mistral, qwen, ...
    price_source: str = ""  # where LiteLLM took the prices from (the vendor's pricing page), if it says

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


def _read(path: Path) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read the model table ({e}); reinstall tokcli") from None
    return doc


@cache
def snapshot() -> dict[str, Any]:
    """The curated LiteLLM snapshot (tokcli/data/models.json), read once."""
    return _read(SNAPSHOT)


@cache
def bulk() -> dict[str, Any]:
    """The generated table (tokcli/data/litellm_models.json), read once: its metadata, and "models" as
    name -> the fields of a curated entry (the file holds rows as arrays under "columns")."""
    doc = _read(BULK)
    cols = doc.get("columns", [])
    models = {row[0]: dict(zip(cols[1:], row[1:], strict=False)) for row in doc.get("rows", [])}
    return {k: v for k, v in doc.items() if k not in ("columns", "rows")} | {"models": models}


def _entry(name: str, raw: Mapping[str, Any], meta: Mapping[str, Any], aliases: tuple[str, ...]) -> ModelEntry:
    from .pretrained import model_encoding

    openai = raw.get("provider") in ("openai", "azure") or raw.get("maker") == "openai"  # gpt-oss on a host too
    enc = model_encoding(name) if openai else None
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
        output_price=raw.get("output_price_per_mtok"), cached_input_price=raw.get("cached_input_price_per_mtok"),
        vendor=vendor, provider=provider, tokenizer_source="tiktoken" if enc else "", aliases=aliases,
        maker=raw.get("maker"), price_source=str(raw.get("pricing_source") or ""),
    )  # fmt: skip


@cache
def builtin() -> dict[str, ModelEntry]:
    """The table from the two snapshots, before any configuration: the generated rows, then the curated
    entries over them (a generated row of the same LiteLLM key as a curated entry is an alias of it; the
    curated entry takes the fields it lacks, such as the cached-input price and the maker, from that row, or
    from the generated row of its name and provider)."""
    curated, generated = snapshot(), bulk()
    cur = curated.get("models", {})
    by_key = {raw.get("litellm_key"): name for name, raw in cur.items()}
    aliases: dict[str, list[str]] = {}
    for alias, name in ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    rows: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    same_key: dict[str, dict[str, Any]] = {}  # curated name -> the generated row of its LiteLLM key
    for k, name in generated.get("also", {}).items():  # a key left out for a name taken before
        if (owner := by_key.get(k)) is not None and name in generated["models"]:
            same_key[owner] = {"maker": generated["models"][name].get("maker")}
    for name, raw in generated["models"].items():
        if (owner := by_key.get(raw.get("litellm_key"))) is not None:
            same_key[owner] = raw
            if name != owner and name not in cur and name not in ALIASES:
                aliases.setdefault(owner, []).append(name)
            continue
        rows[name] = (raw, generated)
    for name, raw in cur.items():
        base = same_key.get(name) or rows.get(name, ({}, {}))[0]
        if base.get("provider") != raw.get("provider"):  # another host's figures: only who makes the model
            base = {"maker": base["maker"]} if base.get("maker") else {}
        rows[name] = (base | raw, curated)
    return {name: _entry(name, raw, meta, tuple(aliases.get(name, ()))) for name, (raw, meta) in rows.items()}


FIELDS = {  # config key -> ModelEntry field
    "context": "context", "input-limit": "input_limit", "max-output": "max_output", "tokenizer": "tokenizer",
    "proxy": "proxy", "source": "source", "as-of": "as_of", "note": "note", "input-price": "input_price",
    "output-price": "output_price", "cached-input-price": "cached_input_price",
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
    exactly, else with case and the spelling of versions ignored, else as LiteLLM or a host writes it
    (`lookup`); None for a name that is no model."""
    table = names(models)
    if name in table:
        return name, models[table[name]]
    if (found := lookup(name, table)) is not None:
        return found, models[table[found]]
    return None


# -- names as LiteLLM and the hosts write them ---------------------------------------------------------

_BEDROCK = re.compile(r"^(?:(?:us|eu|apac|au|jp|ca|us-gov|global)\.)?"
                      r"(?:anthropic|meta|mistral|cohere|deepseek|qwen|openai|google|xai)\.")  # fmt: skip
_VERSION = re.compile(r"-v\d+(?::\d+)?$|:\d+$")  # Bedrock's -v1:0, -v2:0
_DATE = re.compile(r"(?:[-@](?:\d{8}|\d{4}-\d{2}-\d{2}|\d{2}-\d{4}|\d{4}))$")


def base_name(name: str) -> str:
    """`name` without what a provider or host adds: the path of a prefix (openrouter/anthropic/, vertex_ai/,
    bedrock/us-east-1/, models/, meta-llama/, ...), Bedrock's region and vendor prefixes and -v1:0 version,
    Meta's "Meta-" before "Llama" (and Bedrock's llama3-1 for llama-3-1), @ of Vertex's dates; lower case with the spelling of versions ignored
    (`key`). bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0 -> claude-sonnet-4-5-20250929."""
    s = name.strip().rsplit("/", 1)[-1].lower()
    s = _VERSION.sub("", _BEDROCK.sub("", s))
    if s.startswith("meta-llama"):
        s = s[len("meta-") :]
    return re.sub(r"^llama(\d)", r"llama-\1", key(s.replace("@", "-")))  # Bedrock's llama3-1-8b


def stem(name: str) -> str:
    """`base_name(name)` without date suffixes, -latest and -instruct: the model a dated or tagged name is a
    version of (gpt-4o-2024-08-06, gpt-4o-latest -> gpt-4o; mistral-nemo-instruct-2407 -> mistral-nemo)."""
    s, prev = base_name(name), ""
    while s != prev:
        prev = s
        s = _DATE.sub("", s)
        for tag in ("-latest", "-instruct"):
            s = s.removesuffix(tag)
    return s


def _pick(st: str, names_: list[str]) -> str:
    """Which of the names of one stem a name of that stem stands for: the stem itself, its -latest, its
    -instruct, else the newest (the greatest date)."""
    by_base = {base_name(n): n for n in sorted(names_, reverse=True)}
    for b in (st, f"{st}-latest", f"{st}-instruct"):
        if b in by_base:
            return by_base[b]
    return by_base[max(by_base)]


def lookup(name: str, table: Mapping[str, str]) -> str | None:
    """The name of `table` (names -> models) `name` stands for, with case, the spelling of versions, a
    provider or host prefix (`base_name`), and else a date suffix, -latest and -instruct (`stem`: then
    the model's own name) ignored; None where nothing matches."""
    index = _index(tuple(table))
    for k in (key(name), base_name(name)):
        if k in index[0]:
            return index[0][k]
    found = index[1].get(stem(name))
    return None if found is None else table[found]  # the model's own name, not an alias of the same stem


@cache
def _index(table: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """(key -> name, stem -> the name it stands for) of the names `table`, cached by the names."""
    by_key: dict[str, str] = {}
    for n in table:
        by_key.setdefault(key(n), n)
    stems: dict[str, list[str]] = {}
    for n in table:
        stems.setdefault(stem(n), []).append(n)
    return by_key, {st: _pick(st, ns) for st, ns in stems.items()}
