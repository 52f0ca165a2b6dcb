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
SCRIPT = ROOT / "scripts" / "refresh_models.py"
JA = "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。"


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)


def snapshot() -> dict:
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


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


def test_entries_follow_the_snapshot():
    from tiktoken.model import encoding_name_for_model

    from tokcli.budget.models import load_models

    doc = snapshot()
    models = load_models()
    assert set(models) == set(doc["models"])
    for name, raw in doc["models"].items():
        e = models[name]
        assert (e.context, e.max_input, e.max_output) == (raw["context_window"], raw["max_input"], raw["max_output"])
        assert (e.input_price, e.output_price) == (raw["input_price_per_mtok"], raw["output_price_per_mtok"])
        assert e.source == f"LiteLLM {doc['litellm_version']}" and e.as_of == doc["date"]
        if raw["provider"] == "openai":  # exact through tiktoken's own model table
            assert e.exact and e.counting_tokenizer == encoding_name_for_model(name)
        elif raw["provider"] in ("anthropic", "gemini"):
            assert not e.exact and e.proxy == "o200k_base" and "private" in e.note
            # counted by the model's own name where a published factor changes the proxy's count
            cal = e.calibration
            assert cal is not None and cal.proxy == "o200k_base"
            assert e.counting_tokenizer == ("o200k_base" if cal.identity else name)
        if not e.exact:
            assert e.count_via.startswith("estimate")


# -- every listed name works with -m and -t -------------------------------------------------------


def test_every_listed_model_works_with_m_and_t(cli, o200k_cache):
    r = cli("models", "-f", "json")
    assert r.code == 0 and r.err == ""
    rows = json.loads(r.out)["models"]
    assert {row["name"] for row in rows} == set(snapshot()["models"])
    for row in rows:
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
    out = tmp_path / "models.json"
    assert mod.main(["--wheel", str(wheel), "-o", str(out), "--date", "2026-01-02"]) == 0
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
        mod.main(["--wheel", str(stealer), "-o", str(tmp_path / "out.json")])
    assert not (tmp_path / "out.json").exists()
