"""Every `--format json` document is an object naming its schema, "tokcli-<command>/1", and chunk's JSON lines
carry it on each line. Every command that offers --format json is run here (the list is checked against the
app, so a new one cannot be missed)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import write_jsonl

TEXT = "hello world, hello tokens\n"
JA = "こんにちは、世界。\n"


def git(*args: str, cwd: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd.parent), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A directory with a text, a dataset, a chat file and a directory of parallel texts; the cwd."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # count --api-auto below: no key, no network, the estimate
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    write_jsonl(tmp_path / "d.jsonl", [{"text": "hi there"}, {"text": "more text"}])
    write_jsonl(tmp_path / "c.jsonl", [{"messages": [{"role": "user", "content": "hi"}]}])
    (tmp_path / "par").mkdir()
    (tmp_path / "par" / "en.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "par" / "ja.txt").write_text(JA, encoding="utf-8")
    return tmp_path


# (schema, the command line after `tokcli`): every document --format json gives, variants included
RUNS = [
    ("tokcli-count/1", ["count", "-t", "char", "-t", "cl100k_base", "a.txt"]),
    ("tokcli-count/1", ["count", "-m", "gpt-4o", "a.txt"]),
    ("tokcli-count-tree/1", ["count", "--tree", "-t", "char", "-t", "cl100k_base", "par"]),
    ("tokcli-records/1", ["count", "-t", "char", "--field", "text", "d.jsonl"]),
    ("tokcli-chat/1", ["count", "--chat", "c.jsonl"]),
    ("tokcli-count-api/1", ["count", "--api-auto", "-m", "gpt-4o", "a.txt"]),
    ("tokcli-encode/1", ["encode", "-t", "char", "--tokens", "a.txt"]),
    ("tokcli-show/1", ["show", "-t", "char", "a.txt"]),
    ("tokcli-show/1", ["show", "-t", "char", "-t", "cl100k_base", "a.txt"]),
    ("tokcli-why/1", ["why", "-t", "char", "-t", "cl100k_base", "a.txt"]),
    ("tokcli-compare/1", ["compare", "-t", "char", "-t", "cl100k_base", "a.txt"]),
    ("tokcli-parity/1", ["compare", "-t", "char", "--parity", "par"]),
    ("tokcli-check/1", ["check", "-t", "char", "-n", "1000", "a.txt"]),
    ("tokcli-diff/1", ["diff", "-t", "char"]),
    ("tokcli-models/1", ["models"]),
    ("tokcli-generate/1", ["generate", "-m", "char", "-n", "3", "--seed", "1", "hi"]),
    ("tokcli-next/1", ["next", "-m", "char", "--top", "3", "hi"]),
    ("tokcli-score/1", ["score", "-m", "char", "-c", " there", "hi"]),
    ("tokcli-attention/1", ["attention", "-m", "char", "hi there"]),
    ("tokcli-attention-words/1", ["attention", "-m", "char", "--words", "hi there"]),
    ("tokcli-lm-eval/1", ["lm", "eval", "-m", "char", "a.txt"]),
]


@pytest.mark.parametrize(("schema", "args"), RUNS, ids=[f"{s}:{' '.join(a)}" for s, a in RUNS])
def test_every_json_document_names_its_schema(cli, here, schema, args):
    if args[0] == "diff":
        pytest.importorskip("dulwich", reason="tokcli diff needs the git extra (dulwich)")
        git("init", "-q", "-b", "main", cwd=here)
        git("add", "a.txt", cwd=here)
        git("commit", "-qm", "one", cwd=here)
        (here / "a.txt").write_text(TEXT + "one more line\n", encoding="utf-8")
    r = cli(*args, "--format", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert isinstance(doc, dict)
    assert doc["schema"] == schema
    assert schema == f"tokcli-{args[0]}/1" or schema in VARIANTS[args[0]]


# documents that a variant of a command gives, named after what they hold
VARIANTS = {
    "count": {"tokcli-records/1", "tokcli-chat/1", "tokcli-count-api/1", "tokcli-count-tree/1"},
    "compare": {"tokcli-parity/1"},
    "attention": {"tokcli-attention-words/1"},
    "lm": {"tokcli-lm-eval/1"},
}


def test_models_lists_the_models_under_a_key(cli, here):
    doc = json.loads(cli("models", "--format", "json").out)
    assert set(doc) == {"schema", "models"}
    assert "gpt-4o" in {m["name"] for m in doc["models"]}
    assert {"context", "input_limit", "counting", "exact"} <= set(doc["models"][0])


def test_chunk_json_lines_carry_the_schema_on_each_line(cli, here):
    (here / "long.txt").write_text("hello world " * 40, encoding="utf-8")
    lines = [json.loads(line) for line in cli("chunk", "-t", "char", "-n", "100", "long.txt").out.splitlines()]
    assert len(lines) == 5  # 480 characters, 100 a piece: one line per piece, no header line
    assert {line["schema"] for line in lines} == {"tokcli-chunk/1"}
    assert "".join(line["text"] for line in lines) == "hello world " * 40
    records = cli("chunk", "-t", "char", "-n", "5", "--field", "text", "d.jsonl").out.splitlines()
    pieces = [json.loads(line) for line in records]
    assert [(p["schema"], p["id"], p["text"]) for p in pieces] == [
        ("tokcli-chunk/1", "1", "hi th"), ("tokcli-chunk/1", "1", "ere"),
        ("tokcli-chunk/1", "2", "more "), ("tokcli-chunk/1", "2", "text"),
    ]  # fmt: skip


def test_every_command_with_json_output_is_covered():
    """The commands whose --format offers json are exactly those RUNS runs."""
    import typer.main

    from tokcli.cli import app

    def walk(group, prefix):
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):
                yield from walk(cmd, [*prefix, name])
            else:
                yield [*prefix, name], cmd

    with_json = set()
    for path, cmd in walk(typer.main.get_command(app), []):
        for p in cmd.params:
            if "--format" in p.opts and "json" in {m.value for m in p.type_descriptor.annotation}:
                with_json.add(" ".join(path))
    run = {" ".join(a[:2]) if a[0] == "lm" else a[0] for _, a in RUNS}
    assert "count" in with_json
    assert with_json == run
