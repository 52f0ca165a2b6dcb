"""check: a file a budget covers that tokcli cannot count fails the check (exit 1, 2 with --strict), listed
with its reason in every output, never passed over with exit 0."""

from __future__ import annotations

import json

import pytest

TEXT = "hello world " * 5000  # 10,000 tokens in cl100k_base
BUDGET = '[[tool.tokcli.budget]]\npaths = ["prompts/**/*.md"]\nmax-tokens = 50\n'
UNCUT = 2_200_000  # characters in a row with no cut point: more than TOKCLI_MAX_UNCUT_CHARS by default


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "no-config.toml"))
    (tmp_path / "pyproject.toml").write_text(BUDGET)
    (tmp_path / "prompts" / "sub").mkdir(parents=True)
    (tmp_path / "prompts" / "ok.md").write_text("hi\n")
    return tmp_path


BAD = {
    "xff.md": (TEXT.encode() + b"\xff" + TEXT.encode(), "not valid UTF-8 at byte 60000"),
    "utf16.md": (TEXT.encode("utf-16"), "binary file"),
    "uncut.md": (b"a" * UNCUT, "more than 2,097,152 characters in a row with no place to cut"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_covered_file_that_cannot_be_counted_fails_the_check(cli, project, name):
    data, why = BAD[name]
    (project / "prompts" / "sub" / name).write_bytes(data)
    path = f"prompts/sub/{name}"
    r = cli("check", "-f", "json")
    doc = json.loads(r.out)
    assert r.code == 1 and doc["ok"] is False
    ((failed_path, reason),) = [(f["path"], f["reason"]) for f in doc["failed"]]
    assert failed_path == path and why in reason
    (b,) = doc["budgets"]
    row = next(f for f in b["files"] if f["path"] == path)
    assert row["status"] == "error" and row["tokens"] is None and why in row["reason"]
    assert b["ok"] is False and b["total"]["status"] == "error"
    assert "could not be counted" in r.err
    text = cli("check")
    assert text.code == 1 and "FAIL" in text.out and f"{path}: not counted (" in text.out and why in text.out
    gh = cli("check", "-f", "github")
    assert gh.code == 1
    assert any(line.startswith(f"::error file={path},title=token budget::not counted") and why in line
               for line in gh.out.splitlines())  # fmt: skip
    strict = cli("check", "--strict")
    assert strict.code == 2 and strict.err.startswith(f"error: {path}: ") and why in strict.err


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_covered_file_named_as_pre_commit_names_it_fails(cli, project, name):
    data, why = BAD[name]
    (project / "prompts" / "sub" / name).write_bytes(data)
    for named in (f"prompts/sub/{name}", f"./prompts/sub/{name}", str(project / "prompts" / "sub" / name)):
        r = cli("check", "-f", "json", named, "prompts/ok.md")
        doc = json.loads(r.out)
        assert r.code == 1, (named, r.err)
        assert [(f["path"], why in f["reason"]) for f in doc["failed"]] == [(f"prompts/sub/{name}", True)]
        assert [f["path"] for f in doc["budgets"][0]["files"] if f["status"] == "ok"] == ["prompts/ok.md"]
        assert cli("check", "--strict", named).code == 2


def test_named_files_are_matched_against_globs_from_the_project_root(cli, project, monkeypatch):
    (project / "prompts" / "sub" / "big.md").write_text(TEXT)
    (project / "other.md").write_text(TEXT)
    assert cli("check", "prompts/sub/big.md").code == 1  # over the 50-token budget
    assert cli("check", "./prompts/sub/big.md").code == 1
    assert cli("check", str(project / "prompts" / "sub" / "big.md")).code == 1
    r = cli("check", "other.md")  # no budget covers it: nothing to check
    assert r.code == 0 and "no budget covers other.md" in r.err
    monkeypatch.chdir(project / "prompts")  # globs stay relative to pyproject.toml, not to the current directory
    r = cli("check", "-f", "json", "sub/big.md")
    assert r.code == 1 and [f["path"] for f in json.loads(r.out)["budgets"][0]["files"]] == ["sub/big.md"]


def test_command_line_budget_and_chat_budget(cli, project):
    (project / "bad.md").write_bytes(b"caf\xe9\n")
    r = cli("check", "-n", "10", "-f", "junit", "bad.md", "prompts/ok.md")
    assert r.code == 1 and 'type="NotCounted"' in r.out and "bad.md" in r.out
    (project / "chat.jsonl").write_text("not json\n")
    r = cli("check", "-n", "50", "--chat", "-f", "json", "chat.jsonl")
    doc = json.loads(r.out)
    assert r.code == 1 and doc["failed"][0]["path"] == "chat.jsonl" and "not JSON" in doc["failed"][0]["reason"]
    assert cli("check", "-n", "50", "--chat", "--strict", "chat.jsonl").code == 2


def test_check_chat_passes_errors_through(cli, project):
    (project / "chat.jsonl").write_bytes(b'{"messages": [{"role": "user", "content": "caf\xe9"}]}\n')
    strict = cli("check", "-n", "50", "--chat", "-f", "json", "chat.jsonl")
    assert strict.code == 1 and "not valid UTF-8" in json.loads(strict.out)["failed"][0]["reason"]
    replaced = cli("check", "-n", "50", "--chat", "-f", "json", "--errors", "replace", "chat.jsonl")
    doc = json.loads(replaced.out)
    assert replaced.code == 0, replaced.err
    assert doc["failed"] == [] and [f["path"] for f in doc["budgets"][0]["files"]] == ["chat.jsonl:1"]
