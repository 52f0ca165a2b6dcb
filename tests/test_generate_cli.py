"""`tokcli generate`, `next` and `attention` on tiny random models: exit codes, stdout/stderr, JSON."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import tiny_model_dir

TEXT = "the cat sat on the mat. the dog ate the hat!\nTo be, or not to be: that is the question.\n"


def _model_dir(tmp_path_factory, kind: str) -> str:
    return tiny_model_dir(tmp_path_factory.mktemp(kind) / "model", kind, TEXT)


@pytest.fixture(scope="module")
def char_model(tmp_path_factory) -> str:
    return _model_dir(tmp_path_factory, "char")


@pytest.fixture(scope="module")
def word_model(tmp_path_factory) -> str:
    return _model_dir(tmp_path_factory, "word")


def test_generate_seeded_is_reproducible(cli, char_model):
    a = cli("generate", "the ", "-m", char_model, "--max-tokens", "30", "--seed", "7")
    b = cli("generate", "the ", "-m", char_model, "--max-tokens", "30", "--seed", "7")
    assert a.code == 0, a.err
    assert a.out == b.out
    assert len(a.out) == 31  # 30 characters and a newline
    c = cli("generate", "the ", "-m", char_model, "--max-tokens", "30", "--seed", "8")
    assert c.out != a.out


def test_generate_json(cli, char_model):
    r = cli("generate", "the", "-m", char_model, "-n", "12", "--seed", "1", "--num-samples", "3", "-f", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["seed"] == 1 and len(doc["samples"]) == 3
    assert doc["sampling"] == {"temperature": 0.8, "top_k": 0, "top_p": 1.0, "min_p": 0.0, "repetition_penalty": 1.0}
    for s in doc["samples"]:
        assert s["generated_tokens"] == len(s["ids"]) == 12
        assert s["prompt_tokens"] == 3
    text = cli("generate", "the", "-m", char_model, "-n", "12", "--seed", "1", "--num-samples", "3")
    assert text.out == "".join(s["text"] if s["text"].endswith("\n") else s["text"] + "\n" for s in doc["samples"])
    assert text.err.count("--- sample") == 3


def test_generate_greedy_and_verbose(cli, char_model):
    r = cli("generate", "the", "-m", char_model, "-n", "40", "--temperature", "0", "--verbose")
    assert r.code == 0, r.err
    assert r.out == cli("generate", "the", "-m", char_model, "-n", "40", "--temperature", "0", "--seed", "99").out
    assert "prompt 3 tokens, generated 40 tokens" in r.err
    m = re.search(r"context used (\d+) tokens = (\d+) characters", r.err)
    assert m and m[1] == m[2] and 12 <= int(m[1]) <= 16  # the window slid: it keeps 12 of 16, then fills
    assert "tokens/s" in r.err


def test_generate_stop_and_stdin(cli, char_model):
    full = cli("generate", "-", "-m", char_model, "-n", "60", "--seed", "3", input="the ").out
    assert full == cli("generate", "the ", "-m", char_model, "-n", "60", "--seed", "3").out
    stop = full[5:7]
    r = cli("generate", "the ", "-m", char_model, "-n", "60", "--seed", "3", "--stop", stop, "-f", "json")
    s = json.loads(r.out)["samples"][0]
    assert s["text"] == full[: full.index(stop)]
    assert s["stopped_by"] == "stop"


def test_generate_long_prompt_is_cropped_with_a_note(cli, char_model):
    r = cli("generate", TEXT, "-m", char_model, "-n", "5", "--seed", "0")
    assert r.code == 0
    assert "note: the prompt is" in r.err and "last 16" in r.err


def test_unknown_words_are_named(cli, word_model):
    r = cli("generate", "the zebra sat", "-m", word_model, "-n", "3", "--seed", "0")
    assert r.code == 0, r.err
    assert "warning:" in r.err and "' zebra'" in r.err


@pytest.mark.parametrize(
    "args",
    [
        ["--temperature", "-1"],
        ["--top-p", "0"],
        ["--top-p", "1.5"],
        ["--top-k", "-3"],
        ["--min-p", "2"],
        ["--repetition-penalty", "0"],
        ["--max-tokens", "-1"],
        ["--num-samples", "0"],
        ["--temperature", "hot"],
    ],
)
def test_generate_bad_values_exit_2(cli, char_model, args):
    r = cli("generate", "the", "-m", char_model, *args)
    assert r.code == 2
    assert r.out == ""
    assert r.err.startswith("error: ") and r.err.count("\n") == 1


def test_unknown_model_exits_2(cli):
    r = cli("generate", "the", "-m", "no-such-model")
    assert r.code == 2
    assert "unknown model 'no-such-model'" in r.err


def test_next_table_and_json(cli, char_model):
    r = cli("next", "the ca", "-m", char_model, "--top", "5", "--top-k", "2")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].split("\t") == ["rank", "token", "id", "prob", "cum", "kept", "p(sample)"]
    assert len(lines) == 6
    assert [ln.split("\t")[5] for ln in lines[1:]] == ["yes", "yes", "no", "no", "no"]
    assert "2 of" in r.err and "survive" in r.err
    doc = json.loads(cli("next", "the ca", "-m", char_model, "--top", "5", "--top-p", "0.5", "-f", "json").out)
    assert doc["order"] == ["repetition_penalty", "temperature", "top_k", "top_p", "min_p"]
    toks = doc["tokens"]
    assert [t["rank"] for t in toks] == [1, 2, 3, 4, 5]
    assert all(a["prob"] >= b["prob"] for a, b in zip(toks, toks[1:], strict=False))
    assert toks[-1]["cum_prob"] == pytest.approx(sum(t["prob"] for t in toks))
    assert sum(t["sample_prob"] for t in toks if t["kept"]) == pytest.approx(1.0)
    assert toks[0]["kept"]


def test_next_bad_values(cli, char_model):
    assert cli("next", "the", "-m", char_model, "--top-p", "0").code == 2
    assert cli("next", "the", "-m", char_model, "--top", "0").code == 2
    assert cli("next", "", "-m", char_model).code == 2


def test_attention_text_json_and_html(cli, word_model, tmp_path):
    sentence = "the cat sat on the mat"
    r = cli("attention", sentence, "-m", word_model, "--token", "sat")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].split("\t") == ["layer", "head", "the", "␣cat", "␣sat"]
    assert len(lines) == 1 + 2 * 2  # a row per layer and head
    assert "attends only to earlier tokens" in r.err

    page = tmp_path / "att.html"
    r = cli("attention", sentence, "-m", word_model, "--index", "-1", "-f", "json", "--html", page)
    doc = json.loads(r.out)
    assert doc["index"] == 5 and doc["token"] == " mat"
    assert "earlier tokens" in doc["note"]
    for layer in doc["layers"]:
        for head in layer["heads"]:
            assert len(head) == 6 and sum(head) == pytest.approx(1.0, abs=1e-4)
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    for external in ("<link", "src=", "href=", "@import", "url("):
        assert external not in html
    assert '"matrix"' in html


def test_attention_bad_choices(cli, word_model):
    assert cli("attention", "the cat", "-m", word_model, "--token", "zebra").code == 2
    assert cli("attention", "the cat", "-m", word_model, "--index", "5").code == 2
    assert cli("attention", "the cat", "-m", word_model, "--index", "0", "--token", "cat").code == 2


def test_help_does_not_import_numpy():
    code = (
        "import sys\nfrom tokcli.cli import run\n"
        "for cmd in ('generate', 'next', 'attention'):\n    run([cmd, '--help'])\n"
        "heavy = [m for m in ('numpy', 'tokenizers', 'safetensors', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "--temperature" in r.stdout and "--top-p" in r.stdout


def test_generate_without_prompt_starts_from_a_newline(cli, char_model):
    r = cli("generate", "-m", char_model, "-n", "10", "--seed", "2", "-f", "json")
    assert r.code == 0, r.err
    assert "empty prompt: starting from a newline" in r.err
    doc = json.loads(r.out)
    assert doc["prompt"] == "" and len(doc["prompt_ids"]) == 1
    assert doc["samples"][0]["generated_tokens"] == 10
