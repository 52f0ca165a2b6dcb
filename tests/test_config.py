"""[tool.tokcli] and the user config are checked against one schema: each bad value is one `error:` line
naming the file and the key path, exit 2; budgets that match nothing fail unless they allow it."""

from __future__ import annotations

import json

import pytest

SHORT = "hello world\n"  # 3 tokens in cl100k_base
JA = "吾輩は猫である。名前はまだ無い。\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "no-config.toml"))
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "a.md").write_text(SHORT)
    (tmp_path / "prompts" / "ja.md").write_text(JA)
    return tmp_path


def write_pyproject(project, body: str) -> None:
    (project / "pyproject.toml").write_text(body, encoding="utf-8")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[tool]\ntokcli = 5\n", "tool.tokcli must be a table, not an integer (5)"),
        ('tool = "x"\n', "tool must be a table ([tool.NAME] sections), not a string ('x')"),
        (
            "[[tool.tokcli.budget]]\npaths = 5\nmax-tokens = 10\n",
            "tool.tokcli.budget[1].paths must be a glob or a non-empty list of globs",
        ),
        (
            '[[tool.tokcli.budget]]\npaths = ["prompts/"]\nmodel = 5\n',
            "tool.tokcli.budget[1].model must be a string, not an integer (5)",
        ),
        ('[tool.tokcli]\ntokenizer = ["a"]\n', "tool.tokcli.tokenizer must be a string, not an array (['a'])"),
        (
            "[tool.tokcli.models.mine]\ncontext = 1000\nproxy = 5\n",
            "tool.tokcli.models.mine.proxy must be a string, not an integer (5)",
        ),
        (
            '[[tool.tokcli.budget]]\npaths = ["[z-a]"]\nmax-tokens = 10\n',
            "tool.tokcli.budget[1].paths: '[z-a]' is not a valid glob",
        ),
        (
            '[[tool.tokcli.budget]]\npaths = ["prompts/"]\nmax-tokens = 10\ntotal = "no"\n',
            "tool.tokcli.budget[1].total must be true or false, not a string ('no')",
        ),
        (
            '[[tool.tokcli.budget]]\npaths = ["prompts/"]\nmax-tokens = -3\n',
            "tool.tokcli.budget[1].max-tokens must be a positive integer, not -3",
        ),
        (
            '[[tool.tokcli.budget]]\npaths = ["prompts/"]\nmax-tokens = 10\nlimit = 3\n',
            "tool.tokcli.budget[1]: unknown key 'limit'",
        ),
        ("[tool.tokcli]\nbudget = 3\n", "tool.tokcli.budget must be an array of tables ([[...]]), not an integer (3)"),
    ],
)
def test_bad_configuration_is_one_error_line_naming_the_key(cli, project, body, message):
    write_pyproject(project, body)
    for args in (["check"], ["models"]):
        r = cli(*args)
        assert r.code == 2 and r.out == ""
        assert r.err.startswith(f"error: {project / 'pyproject.toml'}: ") and message in r.err
        assert r.err.count("\n") == 1


def test_user_config_is_checked_too(cli, project, monkeypatch):
    cfg = project / "user.toml"
    cfg.write_text('[models.mine]\ncontext = "big"\n')
    monkeypatch.setenv("TOKCLI_CONFIG", str(cfg))
    r = cli("models", "-f", "json")
    assert r.code == 2 and r.out == ""
    assert r.err == f"error: {cfg}: models.mine.context must be a positive integer, not 'big'\n"


def test_a_budget_matching_no_file_fails_unless_it_allows_it(cli, project):
    write_pyproject(project, '[[tool.tokcli.budget]]\npaths = ["docs/"]\nmax-tokens = 200000\n')
    r = cli("check")
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("error: ") and "no files match docs/" in r.err and "allow-empty = true" in r.err
    write_pyproject(project, '[[tool.tokcli.budget]]\npaths = ["docs/"]\nmax-tokens = 200000\nallow-empty = true\n')
    ok = cli("check")
    assert ok.code == 0 and "no files match docs/ (allow-empty)" in ok.err


def test_a_directory_in_paths_matches_everything_under_it(cli, project):
    write_pyproject(project, '[[tool.tokcli.budget]]\npaths = ["prompts/"]\nmax-tokens = 100\n')
    r = cli("check", "-f", "json")
    assert r.code == 0, r.err
    files = [f["path"] for f in json.loads(r.out)["budgets"][0]["files"]]
    assert files == ["prompts/a.md", "prompts/ja.md"]


def test_checking_a_directory_no_budget_covers_is_an_error(cli, project):
    write_pyproject(project, '[[tool.tokcli.budget]]\npaths = ["prompts/*.md"]\nmax-tokens = 100\n')
    (project / "docs").mkdir()
    (project / "docs" / "x.md").write_text(SHORT)
    r = cli("check", "docs/")
    assert r.code == 2 and r.out == "" and "no file there is covered by a [[tool.tokcli.budget]]" in r.err
    # a changed file named by pre-commit that no budget covers: nothing to check, and that is fine
    named = cli("check", "docs/x.md")
    assert named.code == 0 and "no budget covers docs/x.md: nothing to check" in named.err
    covered = cli("check", "prompts/ja.md", "-f", "json")
    assert covered.code == 0 and [f["path"] for f in json.loads(covered.out)["budgets"][0]["files"]] == [
        "prompts/ja.md"
    ]
