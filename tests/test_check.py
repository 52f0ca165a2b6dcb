"""check: exit codes, the JSON schema, GitHub and JUnit output, .gitignore, pyproject budgets, pre-commit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tokcli.budget.check import matcher
from tokcli.files.walk import WalkOptions, walk_dir

ROOT = Path(__file__).resolve().parent.parent
SHORT = "hello world\n"  # 3 tokens in cl100k_base
LONG = "hello world " * 50 + "\n"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "no-config.toml"))
    (tmp_path / "short.md").write_text(SHORT)
    (tmp_path / "long.md").write_text(LONG)
    return tmp_path


def git(*args: str, cwd: Path) -> None:
    env = os.environ | {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": os.devnull}  # fmt: skip
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def test_exit_codes(cli, repo):
    assert cli("check", "-n", "1000", "short.md", "long.md").code == 0
    over = cli("check", "-n", "10", "short.md", "long.md")
    assert over.code == 1 and "OVER" in over.out and over.err == "error: 1 of 2 files over the limit of 10 tokens\n"
    assert cli("check", "-n", "10", "missing.md").code == 2
    assert cli("check", "-n", "0", "short.md").code == 2
    assert cli("check", "short.md").code == 2  # no budget anywhere
    assert cli("check", "-m", "no-such-model", "short.md").code == 2
    (repo / "bad.md").write_bytes(b"caf\xe9\n")
    bad = cli("check", "-n", "10", "bad.md")  # covered but not countable: the check fails (exit 1), never passes
    assert bad.code == 1 and "bad.md: not counted (not valid UTF-8 at byte 3" in bad.out
    strict = cli("check", "-n", "10", "--strict", "bad.md")  # --strict: an input error
    assert strict.code == 2 and strict.err.startswith("error: bad.md: not valid UTF-8 at byte 3")


def test_total_and_model_budgets(cli, repo):
    assert cli("check", "-n", "102", "--total", "long.md").code == 0  # 101 tokens
    assert cli("check", "-n", "102", "--total", "long.md", "short.md").code == 1  # 104
    assert cli("check", "-m", "gpt-4", "long.md").code == 0
    assert cli("check", "-m", "gpt-4", "--reserve", "8150", "long.md").code == 1  # 42 tokens left for input


def test_json_schema(cli, repo):
    r = cli("check", "-n", "10", "-f", "json", "short.md", "long.md")
    doc = json.loads(r.out)
    assert r.code == 1 and doc["schema"] == "tokcli-check/1" and doc["ok"] is False
    (b,) = doc["budgets"]
    assert b["tokenizer"] == "cl100k_base" and b["exact"] is True and b["ok"] is False
    assert b["budget"] == {"limit": 10, "scope": "file", "max_tokens": 10, "model": None, "reserve": 0,
                           "paths": ["short.md", "long.md"], "origin": "command line", "chat": False,
                           "margin_pct": 0.0}  # fmt: skip
    assert b["files"][0] == {"path": "short.md", "tokens": 3, "limit": 10, "status": "ok"}
    assert b["files"][1]["status"] == "over" and b["files"][1]["tokens"] > 10
    assert b["total"] == {"tokens": b["files"][0]["tokens"] + b["files"][1]["tokens"], "limit": None, "status": "over"}


def test_github_and_junit(cli, repo):
    gh = cli("check", "-n", "10", "-f", "github", "short.md", "long.md").out.splitlines()
    assert gh[0].startswith("::error file=long.md,title=token budget::") and "over the limit of 10" in gh[0]
    assert gh[-1].startswith("::notice title=token budget::1 of 2 files")
    xml = ET.fromstring(cli("check", "-n", "10", "-f", "junit", "short.md", "long.md").out)
    suite = xml.find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    assert [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None] == ["long.md"]


def test_directory_walk_honours_gitignore_in_a_git_repo(cli, repo):
    (repo / ".gitignore").write_text("build/\n*.log\n")
    (repo / "build").mkdir()
    (repo / "build" / "huge.md").write_text(LONG * 10)
    (repo / "debug.log").write_text(LONG)
    (repo / "img.bin").write_bytes(b"\x00\x01" * 10)
    git("init", "-q", cwd=repo)
    r = cli("check", "-n", "1000", "-f", "json", "--exclude", "img.bin", ".")
    doc = json.loads(r.out)
    files = [f["path"] for f in doc["budgets"][0]["files"]]
    assert r.code == 0 and files == ["long.md", "short.md"]  # hidden files (.gitignore) need --hidden
    # a binary file the walk finds is covered by the budget but cannot be counted: it fails the check
    r = cli("check", "-n", "1000", "-f", "json", ".")
    doc = json.loads(r.out)
    assert r.code == 1 and doc["ok"] is False
    assert doc["failed"] == [{"path": "img.bin", "reason": "binary file (a NUL byte in its first 8 KiB)"}]
    assert doc["budgets"][0]["files"][-1] == {"path": "img.bin", "tokens": None, "limit": 1000, "status": "error",
                                              "reason": "binary file (a NUL byte in its first 8 KiB)"}  # fmt: skip
    with_hidden = cli("check", "-n", "1000", "-f", "json", "--hidden", "--exclude", "img.bin", ".")
    assert [f["path"] for f in json.loads(with_hidden.out)["budgets"][0]["files"]] == [
        ".gitignore",
        "long.md",
        "short.md",
    ]


def test_directory_walk_honours_gitignore_without_running_git(cli, repo):
    """.gitignore files are read with pathspec, in and out of a repository; git is never run."""
    (repo / ".gitignore").write_text("build/\n*.log\n!keep.log\n/top.txt\n")
    (repo / "build").mkdir()
    (repo / "build" / "huge.md").write_text(LONG)
    (repo / "sub").mkdir()
    (repo / "sub" / "top.txt").write_text(SHORT)  # /top.txt is anchored: only the top-level one is ignored
    (repo / "sub" / ".gitignore").write_text("!*.log\n")  # a deeper file overrides a shallower one
    (repo / "sub" / "deep.log").write_text(SHORT)
    (repo / "top.txt").write_text(SHORT)
    (repo / "a.log").write_text(SHORT)
    (repo / "keep.log").write_text(SHORT)
    rel = [f.removeprefix(f"{repo}/") for f in walk_dir(str(repo))]
    assert rel == ["keep.log", "long.md", "short.md", "sub/deep.log", "sub/top.txt"]
    everything = [f.removeprefix(f"{repo}/") for f in walk_dir(str(repo), WalkOptions(no_ignore=True, hidden=True))]
    assert everything == [".gitignore", "a.log", "build/huge.md", "keep.log", "long.md", "short.md",
                          "sub/.gitignore", "sub/deep.log", "sub/top.txt", "top.txt"]  # fmt: skip
    excluded = [f.removeprefix(f"{repo}/") for f in walk_dir(str(repo), WalkOptions(exclude=("sub/", "*.md")))]
    assert excluded == ["keep.log"]


def test_check_never_runs_git_in_a_repository(cli, repo):
    """A repository's core.fsmonitor runs a command whenever git looks at the work tree; tokcli must not."""
    git("init", "-q", cwd=repo)
    git("config", "core.fsmonitor", "touch pwned; echo", cwd=repo)
    (repo / ".gitignore").write_text("long.md\n")
    r = cli("check", "-n", "1000", "-f", "json", ".")
    assert r.code == 0 and [f["path"] for f in json.loads(r.out)["budgets"][0]["files"]] == ["short.md"]
    assert not (repo / "pwned").exists()


def test_budget_globs_are_shell_like():
    spec = matcher(["prompts/**/*.md", "*.txt", "docs"])
    assert spec.match_file("prompts/a/b.md") and spec.match_file("prompts/b.md")
    assert spec.match_file("a.txt") and not spec.match_file("sub/a.txt")  # `*` stays in one directory
    assert spec.match_file("docs/x/y.rst")  # a directory matches everything under it
    assert not spec.match_file("other/prompts/b.md")


def test_pyproject_budgets(cli, repo):
    (repo / "prompts").mkdir()
    (repo / "prompts" / "p.md").write_text(LONG)
    (repo / "pyproject.toml").write_text(
        '[tool.tokcli]\ntokenizer = "char"\n\n[[tool.tokcli.budget]]\npaths = ["prompts/**/*.md"]\nmax-tokens = 700\n\n'
        '[[tool.tokcli.budget]]\npath = "*.md"\nmodel = "gpt-4"\ntotal = true\n'
    )
    r = cli("check", "-f", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    first, second = doc["budgets"]
    assert first["tokenizer"] == "char" and [f["path"] for f in first["files"]] == ["prompts/p.md"]
    assert first["files"][0]["tokens"] == len(LONG)
    assert second["tokenizer"] == "cl100k_base" and second["budget"]["scope"] == "total"
    assert [f["path"] for f in second["files"]] == ["long.md", "short.md"]
    (repo / "prompts" / "p.md").write_text(LONG * 2)
    assert cli("check").code == 1
    assert cli("check", "short.md").code == 0  # paths restrict the configured budgets


@pytest.mark.slow
def test_pre_commit_hook_runs_for_real(repo):
    """The hook of .pre-commit-hooks.yaml, run by pre-commit in a fresh repository. pre-commit would pip
    install tokcli into a hook environment (network); the test runs the same entry as a local hook."""
    if shutil.which("pre-commit") is None or shutil.which("tokcli") is None:
        pytest.skip("needs pre-commit and tokcli on PATH (pip install pre-commit)")
    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    local = {k: v for k, v in hook.items() if k not in ("language", "description")} | {"language": "system"}
    config = {"repos": [{"repo": "local", "hooks": [local | {"args": ["--max-tokens", "10"]}]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git("init", "-q", cwd=repo)
    git("add", "short.md", ".pre-commit-config.yaml", cwd=repo)
    env = os.environ | {"PRE_COMMIT_HOME": str(repo / ".cache"), "GIT_CONFIG_GLOBAL": os.devnull}
    run = subprocess.run(
        ["pre-commit", "run", "--files", "short.md"], cwd=repo, capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stdout + run.stderr
    git("add", "long.md", cwd=repo)
    run = subprocess.run(["pre-commit", "run", "--files", "long.md"], cwd=repo, capture_output=True, text=True, env=env)
    assert run.returncode == 1 and "over the limit of 10" in run.stdout


@pytest.fixture
def docs(repo):
    """docs/ with Markdown at three depths, a text file, and Markdown in a hidden directory."""
    (repo / "docs" / "a" / "b").mkdir(parents=True)
    (repo / "docs" / ".cache").mkdir()
    (repo / "docs" / "top.md").write_text(SHORT)
    (repo / "docs" / "notes.txt").write_text(SHORT)
    (repo / "docs" / "a" / "mid.md").write_text(LONG)
    (repo / "docs" / "a" / "b" / "deep.md").write_text(SHORT)
    (repo / "docs" / ".cache" / "hidden.md").write_text(LONG)
    return repo


def checked(r) -> list[tuple[str, str]]:
    """(path, status) of each file a `check -f json` run counted."""
    return [(f["path"], f["status"]) for f in json.loads(r.out)["budgets"][0]["files"]]


def test_quoted_glob_is_expanded_by_tokcli(cli, docs):
    r = cli("check", "-n", "10", "-f", "json", "docs/*.md")  # quoted: no shell expanded it
    assert r.code == 0
    assert r.err == ""
    assert checked(r) == [("docs/top.md", "ok")]  # one level only: not a/mid.md, not notes.txt
    r = cli("check", "-n", "10", "docs/?op.md", "docs/[mn]*.txt")
    assert r.code == 0
    assert r.err == ""
    assert [line.split()[-1] for line in r.out.splitlines()[1:]] == ["docs/top.md", "docs/notes.txt"]


def test_double_star_glob_crosses_directories(cli, docs):
    r = cli("check", "-n", "10", "-f", "json", "docs/**/*.md")
    assert r.code == 1  # a/mid.md is over
    assert r.err == "error: 1 of 3 files over the limit of 10 tokens\n"
    # ** matches no directory too (docs/top.md); a hidden directory is not entered
    assert checked(r) == [("docs/a/b/deep.md", "ok"), ("docs/a/mid.md", "over"), ("docs/top.md", "ok")]
    r = cli("check", "-n", "10", "-f", "json", "docs/a/**")
    assert r.code == 1
    assert checked(r) == [("docs/a/b/deep.md", "ok"), ("docs/a/mid.md", "over")]


def test_glob_text_output_and_overlap_with_a_named_file(cli, docs):
    r = cli("check", "-n", "10", "docs/**/*.md", "docs/top.md")
    assert r.code == 1
    assert r.err == "error: 1 of 3 files over the limit of 10 tokens\n"  # top.md counted once
    lines = r.out.splitlines()
    assert lines[0] == "budget: 10 tokens per file (cl100k_base)"
    assert [line.split()[0] for line in lines[1:]] == ["ok", "OVER", "ok"]
    assert [line.split()[-1] for line in lines[1:]] == ["docs/a/b/deep.md", "docs/a/mid.md", "docs/top.md"]


def test_glob_matching_nothing_is_an_input_error(cli, docs):
    r = cli("check", "-n", "10", "docs/*.rst")
    assert r.code == 2
    assert r.out == ""
    assert r.err.startswith("error: docs/*.rst: no files match")
    assert r.err.count("\n") == 1  # one line
    r = cli("check", "-n", "10", "docs/*.md", "nowhere/**/*.md")  # one empty glob fails the run
    assert r.code == 2
    assert r.out == ""
    assert r.err.startswith("error: nowhere/**/*.md: no files match")
