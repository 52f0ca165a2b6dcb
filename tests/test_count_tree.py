"""count --tree: per-directory token totals (tokcli.analysis.tree, tokcli.output.tree). Every total is checked
against counts made here, independently, with tokcli.load(...).count on each file's text."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import tokcli
from tokcli.analysis.tree import token_tree
from tokcli.tokenizer.countresults import InputCount

TOKS = ("cl100k_base", "bpe")  # two tokenizers whose counts of these texts differ

FILES = {
    "README.md": "A project about cats and dogs.\n" * 3,
    "src/main.py": "def main():\n    return print('hello, world')\n" * 20,
    "src/util.py": "x = 1\n",
    "src/日本語/猫.txt": "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。\n" * 8,
    "src/日本語/深い/x.md": "# 見出し\n\n本文です。\n",
    "docs/Ελληνικά/κείμενο.txt": "Όλοι οι άνθρωποι γεννιούνται ελεύθεροι και ίσοι στην αξιοπρέπεια.\n" * 4,
    "docs/русский.txt": "Все люди рождаются свободными и равными в своем достоинстве и правах.\n" * 2,
    "docs/empty.txt": "",
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A directory of Latin, Japanese, Greek and Cyrillic file and directory names, with a binary file."""
    root = tmp_path / "proj"
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    (root / "docs" / "logo.bin").write_bytes(b"\x89PNG\x00\x00binary")
    monkeypatch.chdir(tmp_path)
    return root


def expected(tok: str, prefix: str = "") -> int:
    """The tokens of the files of FILES under `prefix`, each counted alone here."""
    t = tokcli.load(tok)
    return sum(t.count(text) for rel, text in FILES.items() if rel.startswith(prefix))


def walk_json(node: dict) -> list[dict]:
    return [node] + [n for c in node["children"] for n in walk_json(c)]


def tree_json(cli, *args: str) -> dict:
    r = cli("count", "--tree", *args, "-f", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["schema"] == "tokcli-count-tree/1"
    return doc


def test_every_directory_total_is_the_sum_of_its_files(cli, project):
    doc = tree_json(cli, "proj", "-t", TOKS[0], "-t", TOKS[1])
    assert doc["tokenizers"] == list(TOKS)
    nodes = {n["path"]: n for n in walk_json(doc["tree"])}
    dirs = ["proj", "proj/src", "proj/src/日本語", "proj/src/日本語/深い", "proj/docs", "proj/docs/Ελληνικά"]
    assert sorted(p for p, n in nodes.items() if n["type"] == "dir") == sorted(dirs)
    for d in dirs:
        prefix = d.removeprefix("proj").lstrip("/")
        prefix = prefix + "/" if prefix else ""
        for tok in TOKS:
            assert nodes[d]["tokens"][tok] == expected(tok, prefix), (d, tok)
        assert nodes[d]["files"] == sum(rel.startswith(prefix) for rel in FILES)
    for rel, text in FILES.items():  # every file, under its own name
        node = nodes[f"proj/{rel}"]
        assert node["type"] == "file" and node["name"] == Path(rel).name and node["children"] == []
        assert node["tokens"] == {tok: tokcli.load(tok).count(text) for tok in TOKS}
    total = expected(TOKS[0])
    assert nodes["proj"]["share"] == 1.0
    assert nodes["proj/src"]["share"] == pytest.approx(expected(TOKS[0], "src/") / total, abs=1e-6)
    # the binary file is noted, as count notes it, and counted nowhere
    assert doc["skipped"] == [{"path": "proj/docs/logo.bin", "reason": "binary file (a NUL byte in its first 8 KiB)"}]
    assert "proj/docs/logo.bin" not in nodes


def test_children_are_sorted_largest_first_under_the_first_tokenizer(cli, project):
    for toks in (TOKS, TOKS[::-1]):
        doc = tree_json(cli, "proj", "-t", toks[0], "-t", toks[1])
        assert doc["by"] == toks[0]
        for node in walk_json(doc["tree"]):
            key = [(-c["tokens"][toks[0]], c["name"]) for c in node["children"]]
            assert key == sorted(key)
    top = [c["name"] for c in tree_json(cli, "proj", "-t", "cl100k_base")["tree"]["children"]]
    sizes = {"src": expected("cl100k_base", "src/"), "docs": expected("cl100k_base", "docs/"),
             "README.md": expected("cl100k_base", "README.md")}  # fmt: skip
    assert top == sorted(sizes, key=lambda k: -sizes[k]) and len(set(sizes.values())) == 3


def test_depth_folds_deeper_directories_into_their_ancestor(cli, project):
    full = {n["path"]: n for n in walk_json(tree_json(cli, "proj")["tree"])}
    doc = tree_json(cli, "proj", "--depth", "1")
    assert doc["depth"] == 1
    nodes = {n["path"]: n for n in walk_json(doc["tree"])}
    assert set(nodes) == {"proj", "proj/src", "proj/docs", "proj/README.md"}
    for p in ("proj/src", "proj/docs"):
        assert nodes[p]["folded"] is True and nodes[p]["children"] == []
        assert nodes[p]["tokens"] == full[p]["tokens"]  # the folded contents stay in the total
    assert nodes["proj"]["tokens"] == full["proj"]["tokens"]
    two = {n["path"] for n in walk_json(tree_json(cli, "proj", "--depth", "2")["tree"])}
    assert "proj/src/日本語" in two and "proj/src/日本語/猫.txt" not in two and "proj/src/main.py" in two
    zero = tree_json(cli, "proj", "--depth", "0")["tree"]
    assert zero["folded"] is True and zero["children"] == [] and zero["tokens"] == full["proj"]["tokens"]


def test_several_inputs_are_several_roots_under_a_total(cli, project):
    doc = tree_json(cli, "proj/src", "proj/docs", "proj/README.md", "-t", "cl100k_base")
    top = doc["tree"]
    assert top["type"] == "total" and top["path"] is None
    assert [c["path"] for c in top["children"]] == ["proj/src", "proj/docs", "proj/README.md"]  # input order
    assert top["tokens"]["cl100k_base"] == expected("cl100k_base")
    assert [c["type"] for c in top["children"]] == ["dir", "dir", "file"]
    # a glob hangs from the directory it starts from; a file found twice is counted once
    glob = tree_json(cli, "proj/src/**/*.py", "proj/src/main.py", "-t", "cl100k_base")["tree"]
    assert glob["path"] == "proj/src" and [c["name"] for c in glob["children"]] == ["main.py", "util.py"]
    assert glob["tokens"]["cl100k_base"] == expected("cl100k_base", "src/main.py") + expected(
        "cl100k_base", "src/util.py"
    )


def test_plain_rows_when_piped(cli, project):
    r = cli("count", "--tree", "proj", "-t", "cl100k_base", "-t", "bpe")
    assert r.code == 0, r.err
    assert "warning: skipped proj/docs/logo.bin: binary file" in r.err
    lines = r.out.splitlines()
    assert lines[0] == "path\tdepth\tcl100k_base\tbpe\tshare"
    rows = [line.split("\t") for line in lines[1:]]
    assert rows[0] == ["proj/", "0", str(expected("cl100k_base")), str(expected("bpe")), "100.0%"]
    by_path = {row[0].strip(): row for row in rows}
    ja = by_path["proj/src/日本語/"]
    assert ja[0] == "    proj/src/日本語/" and ja[1] == "2"  # indented two spaces a level
    assert ja[2:4] == [str(expected("cl100k_base", "src/日本語/")), str(expected("bpe", "src/日本語/"))]
    assert ja[4] == f"{100 * expected('cl100k_base', 'src/日本語/') / expected('cl100k_base'):.1f}%"
    assert len(rows) == 6 + len(FILES)  # every directory and every file, once


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_csv_and_tsv_are_flat_rows_with_path_and_depth(cli, project, fmt):
    r = cli("count", "--tree", "proj", "-t", "cl100k_base", "-t", "bpe", "-f", fmt)
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out), delimiter="," if fmt == "csv" else "\t"))
    assert list(rows[0]) == ["path", "depth", "files", "cl100k_base", "bpe", "share"]
    by_path = {row["path"]: row for row in rows}
    assert by_path["proj/docs/Ελληνικά/"]["depth"] == "2"
    assert int(by_path["proj/docs/"]["bpe"]) == expected("bpe", "docs/")
    assert int(by_path["proj/docs/русский.txt"]["cl100k_base"]) == expected("cl100k_base", "docs/русский.txt")
    assert float(by_path["proj/"]["share"]) == 1.0 and by_path["proj/"]["files"] == str(len(FILES))


def test_markdown_is_a_nested_list(cli, project):
    r = cli("count", "--tree", "proj", "-t", "cl100k_base", "-f", "markdown")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "Tokens (cl100k_base) and share of the total under cl100k_base:" and lines[1] == ""
    assert lines[2] == f"- `proj/` {expected('cl100k_base'):,} (100.0%)"
    cat = next(line for line in lines if "猫.txt" in line)
    n = expected("cl100k_base", "src/日本語/猫.txt")
    assert cat == f"      - `猫.txt` {n:,} ({100 * n / expected('cl100k_base'):.1f}%)"  # three levels down


def test_text_tree_on_a_terminal(cli, project, monkeypatch):
    import tokcli.output.tree as rendering

    monkeypatch.setattr(rendering, "is_tty", lambda *a: True)
    r = cli("count", "--tree", "proj", "-t", "cl100k_base", "--depth", "2")
    assert r.code == 0, r.err
    lines = [line.rstrip() for line in r.out.splitlines() if line.strip()]
    assert lines[0].split() == ["path", "cl100k_base", "share"]
    src = next(line for line in lines if "src/" in line)
    assert src.lstrip().startswith("├── src/")  # the largest of the root's children, drawn first
    ja = next(line for line in lines if "日本語/" in line)
    assert "│   ├── 日本語/ (2 files)" in ja  # folded at --depth 2
    assert ja.split()[-2:] == [f"{expected('cl100k_base', 'src/日本語/'):,}",
                               f"{100 * expected('cl100k_base', 'src/日本語/') / expected('cl100k_base'):.1f}%"]  # fmt: skip
    last_top = [line for line in lines if line.lstrip().startswith("└── ")]
    assert last_top and "README.md" in last_top[-1]  # the smallest of the root's children, drawn last


def test_estimates_are_marked(cli, project, o200k_cache):
    doc = tree_json(cli, "proj", "-m", "claude-sonnet-4-6")
    assert doc["tokenizers"] == ["o200k_base"] and doc["models"][0]["exact"] is False
    assert doc["tree"]["tokens"]["o200k_base"] == expected("o200k_base")
    r = cli("count", "--tree", "proj/src", "-t", "cl100k_base", "-m", "claude-sonnet-4-6")
    assert r.code == 0, r.err
    assert r.out.splitlines()[0] == "path\tdepth\tcl100k_base\tclaude-sonnet-4-6\tshare"
    root = r.out.splitlines()[1].split("\t")
    assert root[2:4] == [str(expected("cl100k_base", "src/")), f"~{expected('o200k_base', 'src/')}"]
    assert "estimate" in r.out  # count's model table follows the tree
    rows = list(csv.reader(io.StringIO(cli("count", "--tree", "proj/src", "-m", "gpt-4o", "-m", "claude-sonnet-4-6",
                                           "-f", "csv").out)))  # fmt: skip
    assert rows[0] == ["path", "depth", "files", "gpt-4o", "~claude-sonnet-4-6", "share"]


def test_stdin_and_files_are_leaves(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("one two three\n")
    doc = json.loads(cli("count", "--tree", "a.txt", "-", "-t", "bpe", "-f", "json", input="four five\n").out)
    leaves = doc["tree"]["children"]
    assert [(c["name"], c["type"]) for c in leaves] == [("a.txt", "file"), ("<stdin>", "file")]
    assert [c["tokens"]["bpe"] for c in leaves] == [
        tokcli.load("bpe").count(t) for t in ("one two three\n", "four five\n")
    ]


def test_refused_combinations(cli, project):
    for args, says in [(("--depth", "1"), "--depth folds the directories of --tree"),
                       (("--tree", "--depth", "-1"), "--depth -1"),
                       (("--tree", "--chat"), "--tree sums the files")]:  # fmt: skip
        r = cli("count", "proj", *args)
        assert r.code == 2 and r.out == "" and r.err.startswith("error: ") and says in r.err, (args, r.err)


def test_library_tree_from_rows():
    rows = [
        InputCount("d/a/x", tokens={"t": 5}),
        InputCount("d/a/y", tokens={"t": 1}),
        InputCount("d/b", tokens={"t": 4}),
    ]
    tree = token_tree(rows, ["d/a/x", "d/a/y", "d/b"], ["t"])
    assert [r.path for r in tree.roots] == ["d/a/x", "d/a/y", "d/b"]  # files named: leaves, no directory
    assert tree.total == {"t": 10} and tree.files == 3
    twice = token_tree(
        [InputCount("<stdin>", tokens={"t": 4}), InputCount("<stdin>", tokens={"t": 0})], ["-", "-"], ["t"]
    )
    assert [r.tokens["t"] for r in twice.roots] == [4, 0] and twice.total == {"t": 4}  # stdin named twice: both kept


def test_check_total_budget_sums_a_directory_subtree(cli, project, monkeypatch):
    """check's `total = true` budget over a directory is the subtree's total that count --tree shows."""
    monkeypatch.setenv("TOKCLI_CONFIG", str(project / "no-config.toml"))
    monkeypatch.chdir(project)
    src = tree_json(cli, "src", "-t", "cl100k_base")["tree"]["tokens"]["cl100k_base"]
    assert src == expected("cl100k_base", "src/")
    for paths in ('"src"', '"src/**"'):
        for limit, code in ((src, 0), (src - 1, 1)):
            (project / "pyproject.toml").write_text(
                f'[tool.tokcli]\ntokenizer = "cl100k_base"\n\n[[tool.tokcli.budget]]\npaths = [{paths}]\n'
                f"max-tokens = {limit}\ntotal = true\n"
            )
            r = cli("check", "-f", "json")
            assert r.code == code, (paths, limit, r.err)
            (b,) = json.loads(r.out)["budgets"]
            assert b["total"]["tokens"] == src and b["budget"]["scope"] == "total"
            assert sorted(f["path"] for f in b["files"]) == sorted(rel for rel in FILES if rel.startswith("src/"))
