"""The models table: well-formed one-line entries, overrides from config files, and `fit`."""

from __future__ import annotations

import inspect
import json
import re

import pytest

from tokcli.budget import models as contexts
from tokcli.budget.models import BUILTIN, fit, get_model, load_models
from tokcli.errors import InputError, UsageError


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_entry_is_well_formed(name):
    e = BUILTIN[name]
    assert e.name == name and e.context > 0 and e.source
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", e.as_of)
    assert e.input_limit is None or e.input_limit < e.context
    assert e.max_output is None or e.max_output <= e.context
    assert e.exact == (e.tokenizer is not None)
    assert e.counting_tokenizer in ("o200k_base", "cl100k_base")
    if not e.exact:
        assert e.proxy and e.note  # an estimate says why


def test_each_entry_is_one_line():
    """Updating an entry is a one-line change: every M(...) call of the table sits on one line."""
    src = inspect.getsource(contexts)
    table = src[src.index("BUILTIN: dict") : src.index("# fmt: on")]
    lines = [line for line in table.splitlines() if line.strip().startswith("M(")]
    assert len(lines) == len(BUILTIN)
    assert all(line.rstrip().endswith("),") for line in lines)


def test_known_values():
    gpt5 = BUILTIN["gpt-5"]
    assert (gpt5.context, gpt5.input_limit, gpt5.max_output, gpt5.tokenizer) == (
        400_000,
        272_000,
        128_000,
        "o200k_base",
    )
    assert BUILTIN["gpt-4"].tokenizer == "cl100k_base"
    assert not BUILTIN["claude-sonnet-4"].exact


def test_fit():
    f = fit(300_000, "gpt-5")
    assert (f.limit, f.fits, f.chunks, f.exact) == (272_000, False, 2, True)
    assert f.share == pytest.approx(300_000 / 272_000)
    f = fit(100_000, "gpt-5", reserve=200_000)  # the window less the reserve is smaller than the input limit
    assert (f.limit, f.fits, f.chunks) == (200_000, True, 1)
    f = fit(0, "gpt-4")
    assert (f.share, f.fits, f.chunks) == (0, True, 0)
    est = fit(10, "claude-sonnet-4")
    assert not est.exact and est.tokenizer == "o200k_base"
    with pytest.raises(UsageError):
        fit(1, "gpt-4", reserve=9000)
    with pytest.raises(UsageError, match="unknown model"):
        get_model("gpt-99")
    assert get_model("GPT-4o").name == "gpt-4o"


def test_user_config_and_pyproject_override(tmp_path, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[models.gpt-4o]\ncontext = 1000\n\n[models.mine]\ncontext = 500\ntokenizer = "char"\n')
    monkeypatch.setenv("TOKCLI_CONFIG", str(cfg))
    sub = tmp_path / "proj" / "src"
    sub.mkdir(parents=True)
    (tmp_path / "proj" / "pyproject.toml").write_text(
        '[tool.tokcli.models."llama-3.1-8b-instruct"]\ntokenizer = "tok/tokenizer.json"\n[tool.tokcli.models.mine]\nmax-output = 50\n'
    )
    monkeypatch.chdir(sub)
    models = load_models()
    assert models["gpt-4o"].context == 1000 and models["gpt-4o"].max_output == 16_384
    assert models["mine"].context == 500 and models["mine"].max_output == 50 and models["mine"].exact
    llama = models["llama-3.1-8b-instruct"]
    assert llama.exact and llama.tokenizer == str(tmp_path / "proj" / "tok" / "tokenizer.json")


def test_bad_config(tmp_path, monkeypatch):
    cfg = tmp_path / "config.toml"
    monkeypatch.setenv("TOKCLI_CONFIG", str(cfg))
    for text in ("[models.x]\nsize = 3\n", "[models.new]\nmax-output = 3\n", "[models.gpt-4]\ncontext = -1\n", "[[["):
        cfg.write_text(text)
        with pytest.raises(InputError):
            load_models()


def test_models_command(cli):
    r = cli("models", "-f", "json")
    assert r.code == 0, r.err
    rows = {m["name"]: m for m in json.loads(r.out)}
    assert rows["gpt-5"]["input_limit"] == 272_000 and rows["gpt-5"]["exact"]
    assert rows["claude-sonnet-4"]["count"] == "estimate (o200k_base)"
    text = cli("models").out
    assert "gpt-5" in text and "400,000" in text and "as of" in text
