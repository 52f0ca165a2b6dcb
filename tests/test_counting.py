"""The one counting path (tokcli.tokenizer.counting): `count`, `check` and `diff` give the totals that
`count_inputs` gives, and those are each file's own count under the tokenizer, on a tree of Japanese,
Chinese, Arabic, Hindi, Russian, Greek and English files (small ones counted in batches, a large one
streamed, an empty one)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import shared_corpus

import tokcli
from tokcli.files.text import expand_inputs
from tokcli.files.walk import Source
from tokcli.tokenizer import counting
from tokcli.tokenizer.counting import count_inputs, count_texts

TOKS = ("o200k_base", "cl100k_base")
LANGS = ("arb", "cmn_hans", "cmn_hant", "ell_monotonic", "eng", "heb")


def git(*args: str, cwd: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd.parent), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "LC_ALL": "C"}  # fmt: skip
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def make_tree(root: Path) -> dict[str, str]:
    """path (relative to root) -> text: Japanese novels cut into small files, one large Japanese file (past
    SMALL_FILE_BYTES: streamed), UDHR translations in other scripts, and an empty file."""
    botchan = shared_corpus("ja_aozora_botchan.txt").read_text(encoding="utf-8")
    files = {f"ja/botchan_{i:02d}.md": botchan[i * 3000 : (i + 1) * 3000] for i in range(12)}
    files["ja/kokoro.txt"] = shared_corpus("ja_aozora_kokoro.txt").read_text(encoding="utf-8")
    for lang in LANGS:
        files[f"udhr/{lang}.txt"] = shared_corpus(f"udhr/{lang}.txt").read_text(encoding="utf-8")
    files["empty.txt"] = ""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    assert len(files["ja/kokoro.txt"].encode()) > counting.SMALL_FILE_BYTES  # one file takes the streamed path
    return files


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "tree"
    root.mkdir()
    return root, make_tree(root)


def own_counts(files: dict[str, str], name: str) -> dict[str, int]:
    """Each file's count by the tokenizer's own encode (not through tokcli.tokenizer.counting)."""
    tok = tokcli.load(name)
    return {path: len(tok.encode(text)) for path, text in files.items()}


def test_count_inputs_is_each_files_own_count(tree):
    root, files = tree
    toks = [tokcli.load(n) for n in TOKS]
    rows = count_inputs(toks, expand_inputs([str(root)]))
    got = {os.path.relpath(r.input, root): r for r in rows}
    assert set(got) == set(files)
    for name in TOKS:
        assert {p: r.tokens[name] for p, r in got.items()} == own_counts(files, name)
    for p, r in got.items():
        assert (r.chars, r.bytes) == (len(files[p]), len(files[p].encode()))
    # bytes in memory (a file as a git commit holds it) count as the file does
    held = [Source(p, data=files[p].encode()) for p in sorted(files)]
    assert [r.tokens for r in count_inputs(toks, held)] == [got[p].tokens for p in sorted(files)]
    # texts counted as records and messages are
    texts = [files[p] for p in sorted(files)]
    assert count_texts(toks[0], texts, "texts") == [own_counts(files, TOKS[0])[p] for p in sorted(files)]


def test_count_check_and_diff_agree_with_it(tree, cli, monkeypatch, tmp_path):
    pytest.importorskip("dulwich", reason="tokcli diff needs the git extra (dulwich)")
    root, files = tree
    monkeypatch.chdir(root)
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "no-config.toml"))
    name = TOKS[0]
    expected = own_counts(files, name)
    total = sum(expected.values())
    counted = json.loads(cli("count", "-t", name, ".", "-f", "json").out)
    assert counted["total"]["tokens"][name] == total
    assert {r["input"]: r["tokens"][name] for r in counted["inputs"]} == expected
    checked = json.loads(cli("check", "-t", name, "-n", "1000000000", "--total", ".", "-f", "json").out)
    (budget,) = checked["budgets"]
    assert budget["total"]["tokens"] == total
    assert {f["path"]: f["tokens"] for f in budget["files"]} == expected
    per_file = json.loads(cli("check", "-t", name, "-n", "1000000000", ".", "-f", "json").out)
    assert {f["path"]: f["tokens"] for f in per_file["budgets"][0]["files"]} == expected
    # diff: a commit of the tree, then changes; before = the commit's counts, after = the working tree's
    git("init", "-q", "-b", "main", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "tree", cwd=root)
    changed = dict(files)
    changed["ja/botchan_00.md"] += "親譲りの無鉄砲で小供の時から損ばかりしている。\n"
    changed["udhr/arb.txt"] = changed["udhr/arb.txt"][: len(changed["udhr/arb.txt"]) // 2]
    changed["new/한국어.txt"] = "모든 인간은 태어날 때부터 자유로우며 그 존엄과 권리에 있어 동등하다.\n"
    del changed["udhr/heb.txt"]
    for path in ("ja/botchan_00.md", "udhr/arb.txt", "new/한국어.txt"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(changed[path], encoding="utf-8")
    (root / "udhr/heb.txt").unlink()
    diffed = json.loads(cli("diff", "main", "-t", name, "-f", "json").out)
    after = own_counts(changed, name)
    assert diffed["total"]["tokens"][name]["before"] == total
    assert diffed["total"]["tokens"][name]["after"] == sum(after.values())
    assert {f["path"]: (f["tokens"][name]["before"], f["tokens"][name]["after"]) for f in diffed["files"]} == {
        "ja/botchan_00.md": (expected["ja/botchan_00.md"], after["ja/botchan_00.md"]),
        "udhr/arb.txt": (expected["udhr/arb.txt"], after["udhr/arb.txt"]),
        "new/한국어.txt": (None, after["new/한국어.txt"]),
        "udhr/heb.txt": (expected["udhr/heb.txt"], None),
    }


def test_check_counts_small_files_in_batches(tree, monkeypatch):
    """`check` takes count's batched path: with the batch class broken, it fails."""
    from tokcli.budget.budgets import make_budget
    from tokcli.budget.check import check

    root, files = tree
    calls = []
    real = tokcli.load(TOKS[0]).count_texts

    def spy(self, texts):
        calls.append(len(texts))
        return real(texts)

    monkeypatch.setattr(type(tokcli.load(TOKS[0])), "count_texts", spy)
    report = check([make_budget([str(root)], max_tokens=10**9, tokenizer=TOKS[0], total=True)])
    assert report.results[0].tokens == sum(own_counts(files, TOKS[0]).values())
    assert sum(calls) == len(files) - 1 and len(calls) < len(files) - 1  # all but the large one, batched
