"""Calibrated estimates for private tokenizers (tokcli.tokenizer.calibration): known answers computed here
from o200k_base's own counts and the published factors, `tokcli models` keys, and `check --margin`."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import shared_corpus

from tokcli import load
from tokcli.tokenizer.registry import resolve
from tokcli.tokenizer.scripts import runs


def o200k(text: str) -> int:
    """tiktoken's o200k_base count (tokcli's loader only finds the vendored file: no network)."""
    return len(load("o200k_base").encode(text))


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    en = shared_corpus("en_shakespeare.txt").read_text(encoding="utf-8")[:20000]
    ja = shared_corpus("ja_aozora_botchan.txt").read_text(encoding="utf-8")[1000:11000]
    code = shared_corpus("code_cpython.py.txt").read_text(encoding="utf-8")
    start = code.index("    def _format_actions_usage(self, actions, groups):")  # argparse's methods, no docstring
    return {"en": en, "ja": ja, "code": code[start : code.index("\n\n        else:\n", start)]}


def test_gemini_is_o200k_times_1_08_rounded_up(texts: dict[str, str]) -> None:
    tok = load("gemini-2.5-pro")
    for text in texts.values():
        assert tok.count(text) == math.ceil(o200k(text) * Fraction(108, 100))
        assert tok.count_stream([text[:777], text[777:]]) == math.ceil(o200k(text) * Fraction(108, 100))
    assert tok.count_texts(list(texts.values())) == [math.ceil(o200k(t) * Fraction(108, 100)) for t in texts.values()]
    assert tok.encode(texts["en"]) == load("o200k_base").encode(texts["en"])  # ids: the proxy's own
    assert tok.count("") == 0


def test_opus_4_7_factor_per_class(texts: dict[str, str]) -> None:
    tok = load("claude-opus-4-7")
    assert [c for c, _ in runs(texts["en"])] == ["latin"]
    assert [c for c, _ in runs(texts["ja"])] == ["cjk"]
    assert [c for c, _ in runs(texts["code"])] == ["code"]
    assert tok.count(texts["en"]) == math.ceil(o200k(texts["en"]) * Fraction("1.325"))
    assert tok.count(texts["ja"]) == o200k(texts["ja"])  # CJK: 1.00
    assert tok.count(texts["code"]) == math.ceil(o200k(texts["code"]) * Fraction("1.245"))
    # a mixed text: each class's proxy count times its factor, rounded up once
    mixed = texts["en"].rstrip() + "\n" + texts["ja"]
    expected = o200k(texts["en"].rstrip() + "\n") * Fraction("1.325") + o200k(texts["ja"])
    assert o200k(mixed) == o200k(texts["en"].rstrip() + "\n") + o200k(texts["ja"])
    assert tok.count(mixed) == math.ceil(expected)


def test_uncalibrated_and_exact_are_unchanged(texts: dict[str, str]) -> None:
    text = texts["en"]
    assert load("claude-sonnet-4-5").count(text) == o200k(text)  # no published factor: 1
    assert load("gpt-4o").count(text) == o200k(text)  # exact: untouched
    assert resolve("gpt-4o").calibration is None
    r = resolve("claude-opus-4-7")
    assert not r.exact and r.calibration == "claude-4.7" and "x1-1.325 by class" in r.note


def test_grok_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, texts: dict[str, str]) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tokcli.models.grok-3]\ncontext = 131072\n[tool.tokcli.models."grok-4"]\ncontext = 256000\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    for name, key in (("grok-3", "grok-3"), ("grok-4", "grok-4")):
        r = resolve(name)
        assert r.calibration == key and not r.exact
        assert load(name).count(texts["en"]) == o200k(texts["en"])  # factor 1 (constants are a request's)


def test_models_json_keys(cli) -> None:
    out = cli("models", "--format", "json")
    assert out.code == 0, out.err
    rows = {m["name"]: m for m in json.loads(out.out)["models"]}
    g = rows["gemini-2.5-pro"]
    assert g["exact"] is False and g["proxy"] == "o200k_base"
    assert g["calibration"]["factors"] == {"*": 1.08} and "ai-tokenizer" in g["calibration"]["source"]
    assert "1.63%" in g["error"]
    o = rows["claude-opus-4-7"]
    assert o["calibration"]["factors"]["latin"] == 1.325 and o["calibration"]["factors"]["cjk"] == 1.0
    assert "sol.ava.dev" in o["calibration"]["source"]
    assert rows["claude-sonnet-4-5"]["calibration"]["calibrated"] is False
    assert "unknown" in rows["claude-sonnet-4-5"]["error"]
    assert rows["gpt-4o"]["calibration"] is None and rows["gpt-4o"]["error"] is None
    assert rows["gpt-4o"]["proxy"] is None and rows["gpt-4o"]["exact"] is True
    text = cli("models").out
    head = text.splitlines()[0]
    assert "calibration" in head and "error" in head


def test_margin_pass_fail_edge(tmp_path: Path, cli) -> None:
    f = tmp_path / "a.txt"
    f.write_text("The quick brown fox jumps over the lazy dog, again and again and again.\n")
    n = math.ceil(o200k(f.read_text()) * Fraction(108, 100))  # gemini's estimate
    with_margin = math.ceil(n * Fraction(110, 100))

    def check(limit: int, *extra: str) -> int:
        return cli("check", str(f), "-n", str(limit), "-t", "gemini-2.5-pro", *extra).code

    assert check(with_margin, "--margin", "10%") == 0
    assert check(with_margin - 1, "--margin", "10%") == 1
    assert check(n) == 0  # no margin: the estimate alone
    doc = json.loads(cli("check", str(f), "-n", "999", "-t", "gemini-2.5-pro", "--margin", "10%", "-f", "json").out)
    row = doc["budgets"][0]["files"][0]
    assert (row["tokens"], row["counted"], doc["budgets"][0]["budget"]["margin_pct"]) == (with_margin, n, 10.0)
    exact = o200k(f.read_text())
    r = cli("check", str(f), "-n", str(exact), "-t", "gpt-4o", "--margin", "50%")  # exact: no margin added
    assert r.code == 0 and "counts exactly" in r.err
    for bad in ("101%", "-5%", "10", "ten"):
        r = cli("check", str(f), "-n", "10", "-t", "gemini-2.5-pro", "--margin", bad)
        assert r.code == 2 and "\nerror: --margin" in r.err and "0% to 100%" in r.err


def test_margin_in_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    (tmp_path / "a.txt").write_text("The quick brown fox jumps over the lazy dog, again and again.\n")
    n = math.ceil(o200k((tmp_path / "a.txt").read_text()) * Fraction(108, 100))
    limit = math.ceil(n * Fraction(120, 100))
    cfg = f'[tool.tokcli]\nmargin = "20%"\n[[tool.tokcli.budget]]\npaths = ["a.txt"]\nmax-tokens = {limit}\ntokenizer = "gemini-2.5-pro"\n'
    (tmp_path / "pyproject.toml").write_text(cfg)
    monkeypatch.chdir(tmp_path)
    assert cli("check").code == 0
    (tmp_path / "pyproject.toml").write_text(cfg.replace(f"max-tokens = {limit}", f"max-tokens = {limit - 1}"))
    assert cli("check").code == 1
    (tmp_path / "pyproject.toml").write_text(cfg.replace('"20%"', '"200%"'))
    r = cli("check")
    assert r.code == 2 and "tool.tokcli.margin" in r.err and "0% to 100%" in r.err
