"""The models table: well-formed entries, overrides from config files, and `fit`.
(tests/test_model_table.py checks the table against its LiteLLM snapshot.)"""

from __future__ import annotations

import json
import re

import pytest

from tokcli.budget.models import ModelEntry, builtin, fit, get_model, load_models
from tokcli.errors import InputError, UsageError

BUILTIN = builtin()


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_entry_is_well_formed(name):
    e = BUILTIN[name]
    assert e.name == name and e.context > 0 and e.source
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", e.as_of)
    assert e.input_limit is None or e.input_limit <= e.context
    assert e.max_output is None or e.max_output <= e.context
    assert e.exact == (e.exact_tokenizer is not None)
    assert e.input_price is None or e.input_price >= 0
    if e.exact:
        assert e.counting_tokenizer == e.exact_tokenizer
    else:  # the proxy; by the model's own name where a published calibration changes the proxy's counts
        cal = e.calibration
        assert e.proxy == "o200k_base"
        assert e.counting_tokenizer == ("o200k_base" if cal is None or cal.identity else name)
        assert e.note or e.vendor  # an estimate says why


def _entry(**kw):
    base = dict(name="t", context=10_000, input_limit=None, max_output=None, tokenizer="cl100k_base", proxy=None,
                source="test", as_of="2026-01-01")  # fmt: skip
    return ModelEntry(**(base | kw))


def test_fit():
    e = _entry(context=400_000, input_limit=272_000)
    f = fit(300_000, e)
    assert (f.limit, f.fits, f.chunks, f.exact) == (272_000, False, 2, True)
    assert f.share == pytest.approx(300_000 / 272_000)
    f = fit(100_000, e, reserve=200_000)  # the window less the reserve is smaller than the input limit
    assert (f.limit, f.fits, f.chunks) == (200_000, True, 1)
    f = fit(0, _entry(context=8_192))
    assert (f.share, f.fits, f.chunks) == (0, True, 0)
    est = fit(10, _entry(tokenizer=None, proxy="o200k_base", input_price=3.0))
    assert not est.exact and est.tokenizer == "o200k_base" and est.cost == pytest.approx(10 * 3.0 / 1e6)
    assert fit(10, _entry()).cost is None  # no price: no cost
    with pytest.raises(UsageError):
        fit(1, _entry(context=8_192), reserve=9000)
    with pytest.raises(UsageError, match="unknown model"):
        get_model("gpt-99-ultra-max")
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
    assert models["gpt-4o"].context == 1000 and models["gpt-4o"].max_output == BUILTIN["gpt-4o"].max_output
    assert models["gpt-4o"].max_input == 1000  # a smaller window given alone bounds the input too
    assert models["mine"].context == 500 and models["mine"].max_output == 50 and models["mine"].exact
    llama = models["llama-3.1-8b-instruct"]
    assert llama.exact and llama.tokenizer == str(tmp_path / "proj" / "tok" / "tokenizer.json")
    assert llama.counting_tokenizer == llama.tokenizer and llama.tokenizer_source == str(
        tmp_path / "proj" / "pyproject.toml"
    )


def test_bad_config(tmp_path, monkeypatch):
    cfg = tmp_path / "config.toml"
    monkeypatch.setenv("TOKCLI_CONFIG", str(cfg))
    bad = ("[models.x]\nsize = 3\n", "[models.new]\nmax-output = 3\n", "[models.gpt-4]\ncontext = -1\n", "[[[",
           "[models.gpt-4]\ninput-price = -1\n", "[models.gpt-4]\noutput-price = true\n", "[models.gpt-4]\ninput-price = nan\n")  # fmt: skip
    for text in bad:
        cfg.write_text(text)
        with pytest.raises(InputError):
            load_models()


def test_models_command(cli):
    r = cli("models", "-f", "json")
    assert r.code == 0, r.err
    rows = {m["name"]: m for m in json.loads(r.out)["models"]}
    assert set(rows) == set(BUILTIN)
    gpt = BUILTIN["gpt-5"]
    assert rows["gpt-5"]["input_limit"] == gpt.input_limit and rows["gpt-5"]["exact"] is True
    assert rows["gpt-5"]["input_price_per_mtok"] == gpt.input_price and rows["gpt-5"]["count"] == "exact (tiktoken)"
    assert rows["claude-sonnet-4-5"]["exact"] is False and rows["claude-sonnet-4-5"]["count"] == "estimate (proxy)"
    text = cli("models").out
    assert "gpt-5" in text and f"{gpt.context:,}" in text and "as of" in text
