"""The model table from the vendored LiteLLM snapshot: its metadata, every listed name with -m and -t,
did-you-mean, --cost arithmetic, estimates marked (~ in text, exact: false in JSON), and the refresh
script on a fake wheel (no network)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

SNAPSHOT = ROOT / "tokcli" / "data" / "models.json"
BULK = ROOT / "tokcli" / "data" / "litellm_models.json"
SCRIPT = ROOT / "scripts" / "refresh_models.py"
JA = "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。"


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)


def snapshot() -> dict:
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def bulk() -> dict:
    """The generated table: its metadata, and "models" as name -> {column: value}."""
    doc = json.loads(BULK.read_text(encoding="utf-8"))
    doc["models"] = {row[0]: dict(zip(doc["columns"], row, strict=True)) for row in doc.pop("rows")}
    return doc


def refresh_module():
    spec = importlib.util.spec_from_file_location("refresh_models", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["refresh_models"] = mod
    spec.loader.exec_module(mod)
    return mod


# -- the snapshot ---------------------------------------------------------------------------------


def test_snapshot_metadata():
    doc = snapshot()
    assert re.fullmatch(r"\d+\.\d+\.\d+", doc["litellm_version"])
    assert doc["litellm_version"] not in ("1.82.7", "1.82.8")  # the releases that carried a credential stealer
    assert re.fullmatch(r"[0-9a-f]{64}", doc["wheel_sha256"])
    assert doc["wheel"].startswith(f"litellm-{doc['litellm_version']}-") and doc["wheel"].endswith(".whl")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", doc["date"])
    assert "MIT" in doc["license"] and "BerriAI/litellm" in doc["license"]
    assert 30 <= len(doc["models"]) <= 60


def test_snapshot_ships_in_the_wheel():
    import tomllib

    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "data/**/*" in package_data["tokcli"]  # tokcli/data/models.json matches it


def test_snapshot_covers_every_family():
    names = set(snapshot()["models"])
    for family in ("gpt-5", "gpt-4.1", "gpt-4o", "o3", "claude-", "gemini-", "llama-", "mistral-", "qwen", "gemma-"):
        assert any(n.startswith(family) for n in names), family


def test_bulk_metadata_and_coverage():
    doc, cur = bulk(), snapshot()
    for k in ("litellm_version", "wheel", "wheel_sha256", "license", "source"):
        assert doc[k] == cur[k], k  # the same wheel as the curated entries
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", doc["date"])
    models = doc["models"]
    assert len(models) >= 300  # every chat model of the vendors tokcli counts
    makers = {m["maker"] for m in models.values()}
    assert makers == {"openai", "anthropic", "google", "mistral", "meta", "deepseek", "qwen", "xai", "cohere"}
    for name, m in models.items():
        assert name == name.lower() and "/" not in name and not name.startswith("ft:"), name
        assert m["context_window"] == m["max_input"] > 0, name
        for price in ("input_price_per_mtok", "cached_input_price_per_mtok", "output_price_per_mtok"):
            assert m[price] is None or m[price] >= 0, (name, price)
    # the vendors' own APIs first: a host's copy of the same name does not replace them
    assert models["llama-3.3-70b-instruct"]["provider"] == "meta_llama"
    assert models["gemini-2.5-pro"]["provider"] == "gemini"
    assert {"gpt-4o-2024-08-06", "claude-sonnet-4-5-20250929", "grok-4.3", "command-r-plus-08-2024",
            "deepseek-v4-pro", "qwen-max", "mistral-large-latest", "llama-3.1-8b-instruct"} <= set(models)  # fmt: skip
    assert not any(n.startswith(("glm", "kimi", "zai-")) for n in models)  # other makers' models on those APIs


def test_entries_follow_the_snapshots():
    """The generated rows, and the curated entries over them (a curated entry wins; a generated name of the
    same LiteLLM key is an alias of it; the curated entry takes the cached-input price from that row)."""
    from tiktoken.model import encoding_name_for_model

    from tokcli.budget.models import load_models

    cur, gen = snapshot(), bulk()
    curated_keys = {raw["litellm_key"]: name for name, raw in cur["models"].items()}
    aliased = {n: curated_keys[m["litellm_key"]] for n, m in gen["models"].items()
               if m["litellm_key"] in curated_keys and n != curated_keys[m["litellm_key"]]}  # fmt: skip
    models = load_models()
    assert set(models) == (set(gen["models"]) - set(aliased)) | set(cur["models"])
    for alias, name in aliased.items():
        assert alias in models[name].aliases
    for name, e in models.items():
        doc = cur if name in cur["models"] else gen
        raw = doc["models"][name]
        assert (e.context, e.max_input, e.max_output) == (raw["context_window"], raw["max_input"], raw["max_output"])
        assert (e.input_price, e.output_price) == (raw["input_price_per_mtok"], raw["output_price_per_mtok"])
        same_key = next((m for m in gen["models"].values() if m["litellm_key"] == raw["litellm_key"]), None)
        same = same_key or gen["models"].get(name, {})
        if raw["litellm_key"] in gen["also"]:  # the key's name was taken by another provider's row: its maker
            same = {"maker": gen["models"][gen["also"][raw["litellm_key"]]]["maker"]}
        if same.get("provider") == raw["provider"]:  # the same model at the same vendor
            cached = raw.get("cached_input_price_per_mtok", same.get("cached_input_price_per_mtok"))
            assert e.cached_input_price == cached, name
        else:
            assert e.cached_input_price == raw.get("cached_input_price_per_mtok"), name
        assert e.maker is not None and e.maker == raw.get("maker", same.get("maker")), name
        assert e.source == f"LiteLLM {doc['litellm_version']}" and e.as_of == doc["date"]
        if raw["provider"] == "openai":  # exact through tiktoken's own model table, where it knows the name
            exact = _tiktoken_knows(name)
            assert e.exact is exact and e.counting_tokenizer == (
                encoding_name_for_model(name) if exact else "o200k_base"
            )
        elif raw["provider"] in ("anthropic", "gemini"):
            assert not e.exact and e.proxy == "o200k_base" and "private" in e.note
            # counted by the model's own name where a published factor changes the proxy's count
            cal = e.calibration
            if name in cur["models"]:  # the curated Claude and Gemini entries are of calibrated generations
                assert cal is not None and cal.proxy == "o200k_base"
            assert e.counting_tokenizer == ("o200k_base" if cal is None or cal.identity else name)
        if not e.exact:
            assert e.count_via.startswith("estimate")
    assert (
        models["claude-sonnet-4-5"].cached_input_price
        == gen["models"]["claude-sonnet-4-5"]["cached_input_price_per_mtok"]
    )


def _tiktoken_knows(name: str) -> bool:
    from tiktoken.model import encoding_name_for_model

    try:
        encoding_name_for_model(name)
    except KeyError:
        return False
    return True


# -- every listed name works with -m and -t -------------------------------------------------------


def test_every_listed_model_works_with_m_and_t(cli, o200k_cache):
    r = cli("models", "-f", "json")
    assert r.code == 0 and r.err == ""
    rows = json.loads(r.out)["models"]
    from tests.test_names import walked
    from tokcli.budget.models import load_models

    assert {row["name"] for row in rows} == set(load_models())
    for row in walked(rows):  # the curated entries and a sample (test_names resolves every name)
        name = row["name"]
        m = cli("count", "-m", name, "-f", "json", input=JA)
        assert m.code == 0, (name, m.err)
        assert m.err == ""
        fit = json.loads(m.out)["models"][0]
        assert fit["model"] == name and fit["exact"] is row["exact"]
        assert fit["tokenizer"] == row["counting"]
        t = cli("count", "-t", name, input=JA)
        assert t.code == 0, (name, t.err)
        assert int(t.out) == fit["tokens"]  # -t counts with the same tokenizer as -m
        if row["exact"]:
            assert t.err == ""
        else:  # the proxy is named on stderr, as an estimate
            assert t.err.startswith(f"warning: {name}: counting with {row['proxy']}")
            assert ", an estimate (~)" in t.err


def test_vendor_tokenizer_missing_is_an_estimate_naming_the_extra(cli, o200k_cache, monkeypatch):
    from tokcli.budget import models
    from tokcli.tokenizer import models as table

    monkeypatch.setattr(table, "vendor_available", lambda name: False)  # as without the [llama] extra
    e = models.get_model("llama-3.3-70b-instruct")
    assert e.vendor == "llama3" and not e.exact and e.counting_tokenizer == "o200k_base"
    assert e.count_via == 'estimate; exact with pip install "tokcli[llama]"'
    r = cli("count", "-m", "llama-3.3-70b-instruct", "-f", "json", input=JA)
    assert r.code == 0 and r.err == ""
    fit = json.loads(r.out)["models"][0]
    assert fit["exact"] is False and fit["tokenizer"] == "o200k_base"


def test_unknown_model_suggests_close_names(cli):
    r = cli("count", "-m", "claude-sonet-4-5", input=JA)
    assert r.code == 2 and r.out == ""
    assert r.err.count("\n") == 1 and r.err.startswith("error: unknown model 'claude-sonet-4-5': did you mean")
    assert "claude-sonnet-4-5" in r.err
    far = cli("count", "-m", "zzzz", input=JA)
    assert far.code == 2 and far.out == "" and "did you mean" not in far.err


def test_versions_may_be_spelt_with_dots():
    from tokcli.budget.models import get_model

    assert get_model("Claude-Sonnet-4.5").name == "claude-sonnet-4-5"


def test_unknown_tokenizer_is_still_the_registrys_error(cli):
    r = cli("count", "-t", "no-such-model-or-tokenizer", input=JA)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("error: unknown tokenizer 'no-such-model-or-tokenizer'")


# -- --cost and the marking of estimates ----------------------------------------------------------


def _dollars(line: str) -> float:
    m = re.search(r"(~?)\$([0-9.,]+)", line)
    assert m, line
    return float(m.group(2).replace(",", ""))


def test_cost_is_tokens_times_the_snapshots_price(cli, o200k_cache, tmp_path):
    import tiktoken

    text = JA * 200
    (tmp_path / "ja.txt").write_text(text, encoding="utf-8")
    tokens = len(tiktoken.get_encoding("o200k_base").encode_ordinary(text))
    price = snapshot()["models"]["gpt-4o"]["input_price_per_mtok"]
    expected = tokens * price / 1_000_000

    j = cli("count", "ja.txt", "-m", "gpt-4o", "--cost", "-f", "json")
    assert j.code == 0 and j.err == ""
    fit = json.loads(j.out)["models"][0]
    assert fit["tokens"] == tokens and fit["input_price"] == price
    assert fit["cost"] == pytest.approx(expected)

    t = cli("count", "ja.txt", "-m", "gpt-4o", "--cost")
    assert t.code == 0 and t.err == ""
    line = next(ln for ln in t.out.splitlines() if ln.startswith("gpt-4o"))
    assert "input cost" in t.out and "~" not in line
    assert _dollars(line) == pytest.approx(expected, abs=1e-6)


def test_output_and_cached_tokens_are_priced(cli, o200k_cache, tmp_path):
    import tiktoken

    text = JA * 200
    (tmp_path / "ja.txt").write_text(text, encoding="utf-8")
    tokens = len(tiktoken.get_encoding("o200k_base").encode_ordinary(text))
    raw = bulk()["models"]["gpt-4o"]
    p_in, p_cached, p_out = (raw[k] for k in ("input_price_per_mtok", "cached_input_price_per_mtok",
                                              "output_price_per_mtok"))  # fmt: skip
    assert p_cached < p_in < p_out
    cached = tokens // 4
    j = cli("count", "ja.txt", "-m", "gpt-4o", "--output-tokens", "1000", "--cached-tokens", str(cached), "-f", "json")
    assert j.code == 0 and j.err == ""
    fit = json.loads(j.out)["models"][0]
    input_cost = ((tokens - cached) * p_in + cached * p_cached) / 1e6
    assert (fit["input_price"], fit["cached_input_price"], fit["output_price"]) == (p_in, p_cached, p_out)
    assert (fit["tokens"], fit["cached_tokens"], fit["output_tokens"]) == (tokens, cached, 1000)
    assert fit["input_cost"] == pytest.approx(input_cost)
    assert fit["output_cost"] == pytest.approx(1000 * p_out / 1e6)
    assert fit["cost"] == pytest.approx(input_cost + 1000 * p_out / 1e6)
    assert fit["reserve"] == 1000 and fit["limit"] == fit["context"] - 1000  # the answer is kept free
    assert fit["price_source"].startswith(f"LiteLLM {snapshot()['litellm_version']}, {snapshot()['date']}")
    assert raw["pricing_source"] in fit["price_source"]
    share = cli("count", "ja.txt", "-m", "gpt-4o", "--cached-tokens", "50%", "-f", "json")
    assert json.loads(share.out)["models"][0]["cached_tokens"] == tokens // 2
    bigger = cli("count", "ja.txt", "-m", "gpt-4o", "--reserve", "5000", "--output-tokens", "10", "-f", "json")
    assert json.loads(bigger.out)["models"][0]["reserve"] == 5000

    t = cli("count", "ja.txt", "-m", "gpt-4o", "-m", "claude-sonnet-4-5", "--output-tokens", "1000")
    assert t.code == 0 and t.err == ""
    head, gpt, claude = (ln for ln in t.out.splitlines()[-3:])
    assert "input cost" in head and "output cost" in head and "total cost" in head
    dollars = re.findall(r"~?\$[0-9.,]+", gpt)
    assert [float(d.lstrip("~$").replace(",", "")) for d in dollars] == pytest.approx(
        [tokens * p_in / 1e6, 1000 * p_out / 1e6, tokens * p_in / 1e6 + 1000 * p_out / 1e6], abs=1e-6)  # fmt: skip
    assert re.findall(r"~?\$", claude) == ["~$", "$", "~$"]  # the input is an estimate; the answer's length is given


def test_cached_and_output_tokens_refuse_what_they_cannot_price(cli, o200k_cache, tmp_path):
    (tmp_path / "ja.txt").write_text(JA, encoding="utf-8")
    for args, msg in [
        (["--output-tokens", "9"], "error: --output-tokens needs a model"),
        (["--cached-tokens", "9"], "error: --cached-tokens needs a model"),
        (["-m", "gpt-4o", "--cached-tokens", "many"], "error: --cached-tokens many: give a number of input tokens"),
        (["-m", "gpt-4o", "--cached-tokens", "120%"], "error: --cached-tokens 120%: give a number"),
        (["-m", "gpt-4o", "--cached-tokens", "99999"], "error: --cached-tokens 99,999 is more than the "),
        (["-m", "gpt-4o", "--output-tokens", "-1"], "error: Invalid value for '--output-tokens'"),
        (["-m", "gpt-4o", "--output-tokens", "200000"], "error: --output-tokens 200000 leaves no room for input in"),
        (
            ["-m", "gpt-4o", "--chat", "--output-tokens", "9"],
            "error: --output-tokens does not go with --field or --chat",
        ),
        (["-m", "gpt-4o", "--api", "--cached-tokens", "9"], "error: --cached-tokens"),
    ]:
        r = cli("count", "ja.txt", *args)
        assert r.code == 2 and r.out == "", args
        assert msg in r.err, (args, r.err)
    from tokcli.budget.models import get_model

    most = get_model("gpt-4o").max_output
    long = cli("count", "ja.txt", "-m", "gpt-4o", "--output-tokens", str(most + 1))
    assert (
        long.code == 0 and f"gpt-4o answers at most {most:,} tokens; --output-tokens {most + 1:,} is more" in long.err
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tokcli.models.mine]\ncontext = 1000\ntokenizer = "o200k_base"\ninput-price = 4.0\noutput-price = 8.0\n'
        '[tool.tokcli.models.cache]\ncontext = 1000\ntokenizer = "o200k_base"\ninput-price = 4.0\n'
        "cached-input-price = 1.0\n",
        encoding="utf-8",
    )
    j = cli("count", "ja.txt", "-m", "mine", "--cached-tokens", "10", "-f", "json")
    assert j.code == 0
    assert j.err == "warning: mine: no cached-input price known; its cached tokens are priced at the input price\n"
    fit = json.loads(j.out)["models"][0]
    assert fit["cost"] == pytest.approx(fit["tokens"] * 4.0 / 1e6) and fit["price_source"].endswith("pyproject.toml")
    c = cli("count", "ja.txt", "-m", "cache", "--cached-tokens", "10", "--output-tokens", "5", "-f", "json")
    assert c.code == 0 and c.err == ""
    fit = json.loads(c.out)["models"][0]
    assert fit["input_cost"] == pytest.approx(((fit["tokens"] - 10) * 4.0 + 10 * 1.0) / 1e6)
    assert fit["output_cost"] is None and fit["cost"] is None  # no output price: no total


def test_cost_needs_a_model(cli):
    r = cli("count", "--cost", input=JA)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("error: --cost needs a model") and r.err.count("\n") == 1


def test_estimates_are_marked_in_count(cli, o200k_cache, tmp_path):
    import tiktoken

    (tmp_path / "ja.txt").write_text(JA, encoding="utf-8")
    tokens = len(tiktoken.get_encoding("o200k_base").encode_ordinary(JA))
    price = snapshot()["models"]["claude-sonnet-4-5"]["input_price_per_mtok"]
    t = cli("count", "ja.txt", "-m", "claude-sonnet-4-5", "-m", "gpt-4o", "--cost")
    assert t.code == 0 and t.err == ""
    lines = {ln.split()[0]: ln for ln in t.out.splitlines() if ln.strip()}
    assert f"~{tokens}" in lines["claude-sonnet-4-5"].split() or f"~{tokens:,}" in lines["claude-sonnet-4-5"].split()
    assert "~$" in lines["claude-sonnet-4-5"]
    assert _dollars(lines["claude-sonnet-4-5"]) == pytest.approx(tokens * price / 1e6, abs=1e-6)
    assert "~" not in lines["gpt-4o"]
    j = cli("count", "ja.txt", "-m", "claude-sonnet-4-5", "-m", "gpt-4o", "-f", "json")
    fits = {f["model"]: f for f in json.loads(j.out)["models"]}
    assert fits["claude-sonnet-4-5"]["exact"] is False and fits["gpt-4o"]["exact"] is True


def test_estimates_are_marked_in_check(cli, o200k_cache, tmp_path):
    (tmp_path / "ja.txt").write_text(JA, encoding="utf-8")
    est = cli("check", "-m", "gemini-2.5-pro", "ja.txt")
    assert est.code == 0 and est.err == ""
    row = next(ln for ln in est.out.splitlines() if ln.rstrip().endswith("ja.txt"))
    assert re.search(r"~\d", row)
    exact = cli("check", "-m", "gpt-4o", "ja.txt")
    assert exact.code == 0 and "~" not in exact.out
    j = cli("check", "-m", "gemini-2.5-pro", "ja.txt", "-f", "json")
    assert j.code == 0 and json.loads(j.out)["budgets"][0]["exact"] is False


def test_models_text_shows_sources_dates_counts_and_prices(cli):
    r = cli("models")
    assert r.code == 0 and r.err == ""
    header = r.out.splitlines()[0].split()
    for col in ("context", "tokenizer", "count", "in", "$/M", "out", "source", "as", "of"):
        assert col in header
    doc = snapshot()
    gpt = next(ln for ln in r.out.splitlines() if ln.startswith("gpt-4o "))
    assert f"LiteLLM {doc['litellm_version']}" in gpt and doc["date"] in gpt and "exact" in gpt
    claude = next(ln for ln in r.out.splitlines() if ln.startswith("claude-sonnet-4-5 "))
    assert "estimate" in claude


def test_models_filters(cli):
    every = json.loads(cli("models", "-f", "json").out)
    assert every["schema"] == "tokcli-models/1" and len(every["models"]) >= 300
    assert [(m["maker"] is None, m["maker"] or "", m["name"]) for m in every["models"]] == sorted(
        (m["maker"] is None, m["maker"] or "", m["name"]) for m in every["models"])  # fmt: skip
    r = cli("models", "sonnet", "4.5", "-f", "json")
    assert r.code == 0 and r.err == ""
    names = [m["name"] for m in json.loads(r.out)["models"]]
    assert names == ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929"]
    google = json.loads(cli("models", "--provider", "google", "-f", "json").out)["models"]
    assert google and {m["maker"] for m in google} == {"google"}
    assert {m["name"] for m in google} >= {"gemini-2.5-pro", "gemini-2.5-flash"}
    by_provider = json.loads(cli("models", "-p", "gemini", "-p", "XAI", "-f", "json").out)["models"]
    assert {m["provider"] for m in by_provider} == {"gemini", "xai"}
    t = cli("models", "gpt-4o-mini")
    assert t.code == 0 and [ln.split()[0] for ln in t.out.splitlines()[1:]] == [
        m["name"] for m in every["models"] if "gpt-4o-mini" in m["name"]]  # fmt: skip
    header = t.out.splitlines()[0].split()
    assert {"maker", "cached"} <= set(header)
    none = cli("models", "no-such-model")
    assert (none.code, none.out) == (0, "") and none.err.startswith("warning: no model matches 'no-such-model'")
    empty = cli("models", "no-such-model", "-f", "json")
    assert json.loads(empty.out) == {"schema": "tokcli-models/1", "models": []}


def test_config_prices(cli, tmp_path, o200k_cache):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tokcli.models.mine]\ncontext = 1000\ntokenizer = "o200k_base"\ninput-price = 4.0\n', encoding="utf-8"
    )
    j = cli("count", "-m", "mine", "--cost", "-f", "json", input=JA)
    assert j.code == 0, j.err
    fit = json.loads(j.out)["models"][0]
    assert fit["cost"] == pytest.approx(fit["tokens"] * 4.0 / 1e6)
    (tmp_path / "pyproject.toml").write_text('[tool.tokcli.models.mine]\ncontext = 1000\ninput-price = "cheap"\n')
    bad = cli("count", "-m", "mine", input=JA)
    assert bad.code == 2 and bad.out == ""
    assert "tool.tokcli.models.mine.input-price must be a price" in bad.err and bad.err.count("\n") == 1


# -- the refresh script, on a fake wheel ----------------------------------------------------------


def _fake_wheel(path: Path, data: dict) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("litellm/__init__.py", "raise SystemExit('never imported')\n")
        z.writestr("litellm/model_prices_and_context_window_backup.json", json.dumps(data))
    return path


def test_refresh_reads_the_json_out_of_a_wheel(tmp_path):
    mod = refresh_module()
    data = {key: {"litellm_provider": "fakeai", "max_input_tokens": 1000 + i, "max_output_tokens": 100 + i,
                  "input_cost_per_token": (i + 1) * 1e-7, "output_cost_per_token": 3e-6, "mode": "chat"}
            for i, (_, key, _) in enumerate(mod.COVERED)}  # fmt: skip
    data["not-covered"] = {"max_input_tokens": 1}
    wheel = _fake_wheel(tmp_path / "litellm-9.8.7-py3-none-any.whl", data)
    out, table = tmp_path / "models.json", tmp_path / "litellm_models.json"
    assert mod.main(["--wheel", str(wheel), "-o", str(out), "--table", str(table), "--date", "2026-01-02"]) == 0
    gen = json.loads(table.read_text(encoding="utf-8"))
    assert (gen["litellm_version"], gen["date"], gen["rows"]) == ("9.8.7", "2026-01-02", [])  # no provider it takes
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["litellm_version"] == "9.8.7" and doc["date"] == "2026-01-02"
    assert doc["wheel_sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert "MIT, from BerriAI/litellm" in doc["license"]
    assert list(doc["models"]) == [name for name, _, _ in mod.COVERED]
    name, key, vendor = mod.COVERED[3]
    e = doc["models"][name]
    assert e["litellm_key"] == key and e["vendor_tokenizer"] == vendor and e["provider"] == "fakeai"
    assert (e["context_window"], e["max_input"], e["max_output"]) == (1003, 1003, 103)
    assert e["input_price_per_mtok"] == pytest.approx(0.4) and e["output_price_per_mtok"] == pytest.approx(3.0)
    assert "not-covered" not in json.dumps(doc)


def test_refresh_refuses_bad_input(tmp_path):
    mod = refresh_module()
    covered = [("テスト-model", "fake/key", None)]
    with pytest.raises(SystemExit, match="not in this litellm's data: fake/key"):
        mod.snapshot({}, version="1", sha256="0" * 64, wheel_name="w", date="d", covered=covered)
    ok = mod.snapshot({"fake/key": {"max_input_tokens": 5, "input_cost_per_token": 2e-6}}, version="1",
                      sha256="0" * 64, wheel_name="w", date="d", covered=covered)  # fmt: skip
    assert ok["models"]["テスト-model"]["input_price_per_mtok"] == pytest.approx(2.0)
    assert ok["models"]["テスト-model"]["output_price_per_mtok"] is None
    not_zip = tmp_path / "litellm-1.0.0-py3-none-any.whl"
    not_zip.write_bytes(b"not a zip")
    with pytest.raises(SystemExit, match="not a zip file"):
        mod.read_data(not_zip)
    empty = tmp_path / "litellm-1.0.1-py3-none-any.whl"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("litellm/__init__.py", "")
    with pytest.raises(SystemExit, match="no litellm/model_prices_and_context_window_backup.json"):
        mod.read_data(empty)
    stealer = _fake_wheel(tmp_path / "litellm-1.82.7-py3-none-any.whl", {})
    with pytest.raises(SystemExit, match="credential stealer"):
        mod.main(["--wheel", str(stealer), "-o", str(tmp_path / "out.json"), "--table", str(tmp_path / "t.json")])
    assert not (tmp_path / "out.json").exists() and not (tmp_path / "t.json").exists()


def test_refresh_generated_table(tmp_path):
    """The generated rows: the chat models of the vendors' own APIs, named without the provider prefix; the
    open-weights models of the one host by their lowercased model id; the first provider's figures for a
    name taken twice; each with the vendor tokenizer that counts it exactly."""
    mod = refresh_module()

    def chat(provider: str, n: int, **more) -> dict:
        return {"litellm_provider": provider, "mode": "chat", "max_input_tokens": n, "max_output_tokens": 10,
                "input_cost_per_token": 1e-6, "cache_read_input_token_cost": 1e-7, "output_cost_per_token": 4e-6,
                **more}  # fmt: skip

    data = {
        "gpt-4o": chat("openai", 100, source="https://example.com/pricing"),
        "ft:gpt-4o-2024-08-06": chat("openai", 100),  # a fine-tuning price tier: no model of its own
        "text-embedding-3-small": {**chat("openai", 100), "mode": "embedding"},
        "claude-sonnet-4-5-20250929": chat("anthropic", 200),
        "gemini/gemini-2.5-pro": chat("gemini", 300),
        "gemini-2.5-pro": chat("vertex_ai-language-models", 301),  # the same name, a later provider
        "dashscope/qwen-plus": chat("dashscope", 400),
        "dashscope/glm-5.1": chat("dashscope", 400),  # another maker's model on Qwen's API
        "dashscope/qwen3.5-plus": chat("dashscope", 400),
        "dashscope/qwen3.7-max": chat("dashscope", 400),
        "mistral/open-mistral-nemo": chat("mistral", 500),
        "meta_llama/Llama-4-Scout-17B-16E-Instruct-FP8": chat("meta_llama", 600),
        "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct": chat("deepinfra", 700),
        "deepinfra/Qwen/Qwen3-32B": chat("deepinfra", 700),
        "deepinfra/anthropic/claude-4-sonnet": chat("deepinfra", 700),  # a host's copy of a private model
        "xai/grok-4": {**chat("xai", 800), "max_input_tokens": None},  # no window: not taken
        "bedrock/anthropic.claude-x": chat("bedrock", 900),  # not a provider it takes
    }
    rows = {r[0]: dict(zip(mod.COLUMNS, r, strict=True)) for r in mod.table(data)}
    assert set(rows) == {"gpt-4o", "claude-sonnet-4-5-20250929", "gemini-2.5-pro", "qwen-plus", "qwen3.5-plus", "qwen3.7-max",
                         "open-mistral-nemo", "llama-4-scout-17b-16e-instruct-fp8", "llama-3.1-8b-instruct",
                         "qwen3-32b"}  # fmt: skip
    g = rows["gpt-4o"]
    assert (g["litellm_key"], g["provider"], g["maker"], g["context_window"], g["max_output"]) == (
        "gpt-4o", "openai", "openai", 100, 10)  # fmt: skip
    assert (g["input_price_per_mtok"], g["cached_input_price_per_mtok"], g["output_price_per_mtok"]) == (1.0, 0.1, 4.0)
    assert g["pricing_source"] == "https://example.com/pricing" and g["vendor_tokenizer"] is None
    assert rows["gemini-2.5-pro"]["max_input"] == 300 and rows["gemini-2.5-pro"]["maker"] == "google"
    vendors = {n: r["vendor_tokenizer"] for n, r in rows.items()}
    assert vendors["llama-3.1-8b-instruct"] == "llama3" and vendors["llama-4-scout-17b-16e-instruct-fp8"] == "llama4"
    assert vendors["qwen3-32b"] == vendors["qwen-plus"] == "qwen" and vendors["qwen3.5-plus"] == "qwen3.5"
    assert vendors["qwen3.7-max"] is None  # a Qwen generation whose tokenizer tokcli does not know: an estimate
    assert vendors["open-mistral-nemo"] == "tekken" and vendors["claude-sonnet-4-5-20250929"] is None
    assert [r[3] for r in mod.table(data)] == sorted(r[3] for r in mod.table(data))  # sorted by maker
