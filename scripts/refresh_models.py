"""Refresh tokcli/data/models.json (the curated entries) and tokcli/data/litellm_models.json (every chat model of
the vendors tokcli counts): dated snapshots of LiteLLM's `model_prices_and_context_window` data (MIT, from
BerriAI/litellm).

The litellm wheel carries the data as `litellm/model_prices_and_context_window_backup.json`. This script
reads it straight out of the wheel (a zip file): litellm is never installed or imported (it is heavy, and
its releases 1.82.7 and 1.82.8 carried a credential stealer that ran at Python start-up).

    python scripts/refresh_models.py --version 1.110.2          # pip download the wheel, no deps
    python scripts/refresh_models.py --wheel litellm-....whl     # or read a wheel already here

The curated entries are the ones in COVERED below (tokcli's name, LiteLLM's key, the vendor tokenizer that
counts it exactly once its extra is installed); `--no-curated` leaves models.json as it is. The generated table
(`table`) takes every chat model LiteLLM lists under the vendors' own APIs (BULK_PROVIDERS) and the open-weights
models of the vendors tokcli counts on one host (OPEN_HOST, OPEN_ORGS), named without the provider prefix, and
gives each the vendor tokenizer that counts it exactly where tokcli has one (`vendor_for`). Run it, read the
diffs, commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tokcli's naming rules (no network, no litellm)

DATA_MEMBER = "litellm/model_prices_and_context_window_backup.json"
BAD_VERSIONS = {"1.82.7", "1.82.8"}  # carried a credential stealer (March 2026): never download them
OUT = Path(__file__).resolve().parent.parent / "tokcli" / "data" / "models.json"
BULK_OUT = OUT.with_name("litellm_models.json")
MAX_JSON_BYTES = 64 << 20  # the data is ~1.5 MB; refuse anything absurd before reading it

# tokcli name, LiteLLM key, vendor tokenizer (a tokcli tokenizer name exact once its extra is installed;
# None: OpenAI models take theirs from tiktoken's model table, private tokenizers have none)
# fmt: off
COVERED: list[tuple[str, str, str | None]] = [
    # OpenAI: exact through tiktoken's model table
    ("gpt-5.5", "gpt-5.5", None),
    ("gpt-5.4", "gpt-5.4", None),
    ("gpt-5.2", "gpt-5.2", None),
    ("gpt-5.1", "gpt-5.1", None),
    ("gpt-5", "gpt-5", None),
    ("gpt-5-mini", "gpt-5-mini", None),
    ("gpt-5-nano", "gpt-5-nano", None),
    ("gpt-4.1", "gpt-4.1", None),
    ("gpt-4.1-mini", "gpt-4.1-mini", None),
    ("gpt-4.1-nano", "gpt-4.1-nano", None),
    ("gpt-4o", "gpt-4o", None),
    ("gpt-4o-mini", "gpt-4o-mini", None),
    ("o4-mini", "o4-mini", None),
    ("o3", "o3", None),
    ("o3-mini", "o3-mini", None),
    ("o1", "o1", None),
    ("gpt-4-turbo", "gpt-4-turbo", None),
    ("gpt-4", "gpt-4", None),
    ("gpt-3.5-turbo", "gpt-3.5-turbo", None),
    # Anthropic: private tokenizer, an estimate
    ("claude-opus-4-7", "claude-opus-4-7", None),
    ("claude-opus-4-6", "claude-opus-4-6", None),
    ("claude-opus-4-5", "claude-opus-4-5", None),
    ("claude-sonnet-4-6", "claude-sonnet-4-6", None),
    ("claude-sonnet-4-5", "claude-sonnet-4-5", None),
    ("claude-haiku-4-5", "claude-haiku-4-5", None),
    # Google Gemini: private tokenizer, an estimate
    ("gemini-3.1-pro-preview", "gemini/gemini-3.1-pro-preview", None),
    ("gemini-3-flash-preview", "gemini/gemini-3-flash-preview", None),
    ("gemini-2.5-pro", "gemini/gemini-2.5-pro", None),
    ("gemini-2.5-flash", "gemini/gemini-2.5-flash", None),
    ("gemini-2.5-flash-lite", "gemini/gemini-2.5-flash-lite", None),
    # Meta Llama (figures of one host; other hosts may limit the window differently)
    ("llama-3.1-8b-instruct", "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct", "llama3"),
    ("llama-3.1-70b-instruct", "deepinfra/meta-llama/Meta-Llama-3.1-70B-Instruct", "llama3"),
    ("llama-3.3-70b-instruct", "deepinfra/meta-llama/Llama-3.3-70B-Instruct", "llama3"),
    ("llama-4-scout", "deepinfra/meta-llama/Llama-4-Scout-17B-16E-Instruct", "llama4"),
    ("llama-4-maverick", "deepinfra/meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", "llama4"),
    # Mistral AI
    ("mistral-large-latest", "mistral/mistral-large-latest", None),
    ("mistral-medium-latest", "mistral/mistral-medium-latest", None),
    ("mistral-small-latest", "mistral/mistral-small-latest", None),
    ("mistral-nemo", "mistral/open-mistral-nemo", "tekken"),
    ("codestral-latest", "mistral/codestral-latest", None),
    ("magistral-medium-latest", "mistral/magistral-medium-latest", None),
    # Qwen (open weights, one host)
    ("qwen3-235b-a22b-instruct-2507", "deepinfra/Qwen/Qwen3-235B-A22B-Instruct-2507", "qwen"),
    ("qwen3-32b", "deepinfra/Qwen/Qwen3-32B", "qwen"),
    ("qwen3-coder-480b-a35b-instruct", "deepinfra/Qwen/Qwen3-Coder-480B-A35B-Instruct", "qwen"),
    ("qwen2.5-72b-instruct", "deepinfra/Qwen/Qwen2.5-72B-Instruct", "qwen"),
    ("qwen2.5-7b-instruct", "deepinfra/Qwen/Qwen2.5-7B-Instruct", "qwen"),
    # Google Gemma (open weights, one host)
    ("gemma-3-27b-it", "deepinfra/google/gemma-3-27b-it", None),
    ("gemma-3-12b-it", "deepinfra/google/gemma-3-12b-it", None),
    ("gemma-3-4b-it", "deepinfra/google/gemma-3-4b-it", None),
    # DeepSeek: at these figures (128K window, $0.28/$0.42 per million) the API's two names are DeepSeek-V3.2,
    # whose tokenizer.json splintr's deepseek_v3 reproduces (tests/test_open_models.py)
    ("deepseek-chat", "deepseek/deepseek-chat", "deepseek-v3"),
    ("deepseek-reasoner", "deepseek/deepseek-reasoner", "deepseek-v3"),
]
# fmt: on


def read_data(wheel: Path) -> dict[str, Any]:
    """The LiteLLM JSON inside `wheel`, read from the zip without extracting or importing anything."""
    try:
        with zipfile.ZipFile(wheel) as z:
            try:
                info = z.getinfo(DATA_MEMBER)
            except KeyError:
                raise SystemExit(f"error: {wheel}: no {DATA_MEMBER} in it; is it a litellm wheel?") from None
            if info.file_size > MAX_JSON_BYTES:
                raise SystemExit(f"error: {wheel}: {DATA_MEMBER} is {info.file_size:,} bytes; refusing")
            data = json.loads(z.read(info))
    except zipfile.BadZipFile:
        raise SystemExit(f"error: {wheel}: not a zip file (a wheel is one)") from None
    except json.JSONDecodeError as e:
        raise SystemExit(f"error: {wheel}: {DATA_MEMBER} is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise SystemExit(f"error: {wheel}: {DATA_MEMBER} is not a JSON object")
    return data


def per_million(cost_per_token: Any) -> float | None:
    if not isinstance(cost_per_token, (int, float)) or isinstance(cost_per_token, bool):
        return None
    return round(cost_per_token * 1_000_000, 6)


def positive_int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None


def snapshot(
    data: dict[str, Any], *, version: str, sha256: str, wheel_name: str, date: str,
    covered: list[tuple[str, str, str | None]] = COVERED,
) -> dict[str, Any]:  # fmt: skip
    """The snapshot document: metadata, then one entry per covered model (missing keys are errors)."""
    models: dict[str, Any] = {}
    missing = []
    for name, key, vendor in covered:
        raw = data.get(key)
        if not isinstance(raw, dict):
            missing.append(key)
            continue
        max_input = positive_int(raw.get("max_input_tokens"))
        max_output = positive_int(raw.get("max_output_tokens")) or positive_int(raw.get("max_tokens"))
        if max_input is None:
            missing.append(f"{key} (no max_input_tokens)")
            continue
        models[name] = {
            "litellm_key": key,
            "provider": raw.get("litellm_provider"),
            "context_window": max_input,  # LiteLLM states no separate window: its max_input_tokens
            "max_input": max_input,
            "max_output": max_output,
            "input_price_per_mtok": per_million(raw.get("input_cost_per_token")),
            "output_price_per_mtok": per_million(raw.get("output_cost_per_token")),
            "vendor_tokenizer": vendor,
            "pricing_source": raw.get("source") if isinstance(raw.get("source"), str) else None,
        }
    if missing:
        raise SystemExit("error: not in this litellm's data: " + ", ".join(missing) + "; update COVERED")
    return {
        **provenance(version=version, sha256=sha256, wheel_name=wheel_name, date=date),
        "models": models,
    }


# LiteLLM provider -> who makes its models; the vendors' own APIs, in the order a name taken twice is kept
BULK_PROVIDERS = {
    "openai": "openai", "anthropic": "anthropic", "gemini": "google", "vertex_ai-language-models": "google",
    "mistral": "mistral", "deepseek": "deepseek", "xai": "xai", "cohere_chat": "cohere", "dashscope": "qwen",
    "meta_llama": "meta",
}  # fmt: skip
OPEN_HOST = "deepinfra"  # the open-weights models, with one host's figures (as the curated entries)
OPEN_ORGS = {"meta-llama": "meta", "Qwen": "qwen", "mistralai": "mistral", "deepseek-ai": "deepseek",
             "google": "google", "openai": "openai"}  # fmt: skip
COLUMNS = ["name", "litellm_key", "provider", "maker", "context_window", "max_input", "max_output",
           "input_price_per_mtok", "cached_input_price_per_mtok", "output_price_per_mtok", "vendor_tokenizer",
           "pricing_source"]  # fmt: skip


def bulk_name(key: str, provider: str) -> str | None:
    """tokcli's name for LiteLLM's `key`: without the provider prefix, a host's model id lowercased without its
    organisation (deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct -> llama-3.1-8b-instruct); None for what is
    not a model a user names (fine-tuning price tiers ft:..., a host's copy of a private model)."""
    from tokcli.tokenizer.models import base_name

    if key.startswith("ft:") or ":" in key:
        return None
    if provider == OPEN_HOST:
        parts = key.split("/")
        if len(parts) != 3 or parts[1] not in OPEN_ORGS or parts[2].lower().startswith("gemini"):
            return None
        name = parts[2].lower()
        return name[len("meta-") :] if name.startswith("meta-llama") else name
    name = key.split("/", 1)[1] if key.startswith(provider + "/") or key.startswith("vertex_ai/") else key
    if "/" in name:
        return None
    name = name.lower()
    if provider == "dashscope" and not name.startswith(("qwen", "qwq")):
        return None  # DashScope hosts other vendors' models too
    if provider == "mistral" and name.startswith(("glm", "zai-", "deepseek")):
        return None  # so does Mistral's API
    return name if base_name(name) else None


def vendor_for(name: str, maker: str) -> str | None:
    """The tokcli vendor tokenizer that counts `name` exactly (once its extra is installed), or None. From the
    vendors' own code, as tokcli.tokenizer.vendors.MODELS: every Llama 3.x model uses llama3's tokenizer.model,
    Llama 4 llama4's; DashScope gives qwen.tiktoken to every "qwen" model (Qwen2, 2.5, 3 and the API's
    turbo/plus/max/flash/coder keep that vocabulary); Qwen3.5 and 3.6 share qwen3.5's (3.7 and later: not known,
    estimates); DeepSeek V3, R1, V3.1, V3.2 (deepseek-chat and -reasoner) deepseek-v3's, V4 Pro and Flash
    deepseek-v4's (the R1 distills are Llama's and Qwen's: estimates); Mistral's open-mistral-nemo is
    Tekken, open-mixtral-8x7b v1. OpenAI's come from tiktoken at run time (gpt-oss too, o200k_harmony)."""
    from tokcli.tokenizer.vendortable import MODELS

    if name in MODELS:
        return MODELS[name]
    if maker == "meta":
        if re.match(r"llama-4-", name):
            return "llama4"
        if re.match(r"(llama-3|llama-guard-3)", name):
            return "llama3"
    if maker == "qwen" and re.match(r"qwen3\.[56]-", name):
        return "qwen3.5"  # Qwen3.5 and Qwen3.6 share one tokenizer (tokcli.tokenizer.vendors)
    if maker == "qwen" and re.match(r"(qwen2|qwen3|qwq|qwen-(turbo|plus|max|flash|coder))([-.]|$)", name):
        return None if re.match(r"qwen3\.\d", name) else "qwen"
    if maker == "deepseek" and "distill" not in name and "vision" not in name:
        if re.match(r"deepseek-(v3|r1|chat$|reasoner$)", name):
            return "deepseek-v3"  # V3, R1, V3.1, V3.2 (and the API's chat and reasoner, V3.2)
        if re.match(r"deepseek-v4-(pro|flash)", name):
            return "deepseek-v4"
    if maker == "mistral":
        if "nemo" in name:
            return "tekken"
        if name.startswith("mixtral-8x7b"):
            return "mistral-v1"
    return None


def table(data: dict[str, Any], also: dict[str, str] | None = None) -> list[list[Any]]:
    """The generated rows (COLUMNS), sorted by maker and name: one per name, the first provider's figures;
    `also` gets the keys of the rows a name taken before left out -> that name (a curated entry of such a
    key takes its maker from that row)."""
    rows: dict[str, list[Any]] = {}
    providers = [*BULK_PROVIDERS, OPEN_HOST]
    entries = sorted(((providers.index(v["litellm_provider"]), k, v) for k, v in data.items()
                      if isinstance(v, dict) and v.get("mode") == "chat" and v.get("litellm_provider") in providers),
                     key=lambda t: t[:2])  # fmt: skip
    for _, key, raw in entries:
        provider = raw["litellm_provider"]
        name = bulk_name(key, provider)
        max_input = positive_int(raw.get("max_input_tokens"))
        max_output = positive_int(raw.get("max_output_tokens")) or positive_int(raw.get("max_tokens"))
        if name is None or max_input is None or (max_output or 0) > max_input:
            continue  # no window; or more output than input (a speech model's audio), which no text window holds
        if name in rows:
            if also is not None:
                also[key] = name
            continue
        maker = BULK_PROVIDERS.get(provider) or OPEN_ORGS[key.split("/")[1]]
        rows[name] = [
            name, key, provider, maker, max_input, max_input, max_output,
            per_million(raw.get("input_cost_per_token")), per_million(raw.get("cache_read_input_token_cost")),
            per_million(raw.get("output_cost_per_token")), vendor_for(name, maker),
            raw.get("source") if isinstance(raw.get("source"), str) else None,
        ]  # fmt: skip
    return sorted(rows.values(), key=lambda r: (r[3], r[0]))


def provenance(*, version: str, sha256: str, wheel_name: str, date: str) -> dict[str, str]:
    """Where a table's figures come from: the same keys in models.json and litellm_models.json."""
    return {
        "source": f"LiteLLM model_prices_and_context_window ({DATA_MEMBER})",
        "license": "MIT, from BerriAI/litellm (https://github.com/BerriAI/litellm); figures as LiteLLM states them",
        "litellm_version": version,
        "wheel": wheel_name,
        "wheel_sha256": sha256,
        "date": date,
    }


def bulk_snapshot(data: dict[str, Any], *, version: str, sha256: str, wheel_name: str, date: str) -> dict[str, Any]:
    """The generated table's document: metadata, the columns, one row (an array) per model, and under "also"
    the LiteLLM keys of the same names left out -> the name (see `table`)."""
    also: dict[str, str] = {}
    rows = table(data, also)
    return {
        **provenance(version=version, sha256=sha256, wheel_name=wheel_name, date=date),
        "selection": "every chat model of the providers " + ", ".join(BULK_PROVIDERS) + f"; the {OPEN_HOST} "
        "models of " + ", ".join(OPEN_ORGS) + " (one host's figures)",
        "also": also,
        "columns": COLUMNS,
        "rows": rows,
    }


def write(path: Path, text: str) -> None:
    tmp_out = path.with_name(path.name + ".tmp")
    tmp_out.write_text(text, encoding="utf-8")
    tmp_out.replace(path)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def version_of(wheel: Path) -> str:
    parts = wheel.name.split("-")
    if len(parts) < 2 or parts[0] != "litellm":
        raise SystemExit(f"error: {wheel.name}: not a litellm wheel name (litellm-VERSION-...whl)")
    return parts[1]


def download(version: str, dest: Path) -> Path:
    if version in BAD_VERSIONS:
        raise SystemExit(f"error: litellm {version} carried a credential stealer; pick another version")
    cmd = [sys.executable, "-m", "pip", "download", f"litellm=={version}", "--no-deps", "--only-binary=:all:",
           "-d", str(dest)]  # fmt: skip
    subprocess.run(cmd, check=True)
    wheels = sorted(dest.glob(f"litellm-{version}-*.whl"))
    if not wheels:
        raise SystemExit(f"error: pip downloaded no litellm {version} wheel into {dest}")
    return wheels[0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--version", help="a litellm release to pip download (wheel only, no dependencies)")
    g.add_argument("--wheel", type=Path, help="a litellm wheel already downloaded")
    p.add_argument("-o", "--output", type=Path, default=OUT, help=f"where to write (default {OUT})")
    p.add_argument("--date", default=dt.date.today().isoformat(), help="the snapshot's date (default today)")
    p.add_argument("--no-curated", action="store_true", help="write only the generated table, not models.json")
    p.add_argument("--table", type=Path, default=BULK_OUT, help=f"the generated table (default {BULK_OUT})")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel if args.wheel else download(args.version, Path(tmp))
        version = version_of(wheel)
        if version in BAD_VERSIONS:
            raise SystemExit(f"error: litellm {version} carried a credential stealer; pick another version")
        data = read_data(wheel)
        meta = dict(version=version, sha256=sha256_of(wheel), wheel_name=wheel.name, date=args.date)
    big = bulk_snapshot(data, **meta)
    rows = ",\n".join(" " + json.dumps(r, ensure_ascii=False) for r in big.pop("rows"))
    write(args.table, json.dumps(big, indent=1, ensure_ascii=False)[:-2] + ',\n "rows": [\n' + rows + "\n ]\n}\n")
    print(f"{args.table}: {rows.count(chr(10)) + 1} models from litellm {version} (sha256 {meta['sha256']})")
    if not args.no_curated:
        doc = snapshot(data, **meta)
        write(args.output, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        print(f"{args.output}: {len(doc['models'])} models from litellm {version} (sha256 {doc['wheel_sha256']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
