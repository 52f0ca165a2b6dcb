"""diff: token counts of the changes since a git ref, checked against counts made with the tokenizer itself,
in temporary repositories holding a modification, an addition, a rename and a deletion (Japanese text);
thresholds and exit codes, the JSON schema, markdown, GitHub annotations, hostile repositories, and that
no hook, fsmonitor or filter of a repository ever runs.

The repositories are made with the git binary (isolated from the user's and the system's configuration);
tokcli reads them with dulwich.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dulwich", reason="tokcli diff needs the git extra (dulwich)")

from tokcli import load  # noqa: E402
from tokcli.budget.gitrepo import blob_size, open_repository  # noqa: E402

SYSTEM_1 = "あなたは親切なアシスタントです。丁寧な日本語で答えてください。\nAnswer briefly.\n"
SYSTEM_2 = SYSTEM_1 + "ユーザーの質問が曖昧なときは、まず確認の質問をしてください。\n"
SYSTEM_3 = SYSTEM_2 + "出典があれば必ず示してください。Cite sources.\n"  # uncommitted
GUIDE = "".join(f"第{i}章: 吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。\n" for i in range(1, 30))
HANDBOOK = GUIDE + "付録: 用語集。\n"  # renamed from docs/guide.md, a line added
OLD = "この文書は削除されます。This file is deleted.\n"
KEEP = "変わらないファイル。Unchanged text, counted in the total.\n"
NEW = "新しいプロンプト: 要約してください。Summarise the text.\n"
UNTRACKED = "まだ git add されていないファイル。\n"


def git(*args: str, cwd: Path) -> str:
    """git with no system or user configuration (HOME is the test's own directory), hooks untouched."""
    home = cwd if cwd.name == "home" else cwd.parent
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "LC_ALL": "C"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """main: one commit; feature (checked out): a modification, a rename, a deletion and an addition,
    then an uncommitted change and an untracked file."""
    root = tmp_path / "repo"
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    write(root, {"prompts/system.md": SYSTEM_1, "docs/guide.md": GUIDE, "old.md": OLD, "keep.md": KEEP,
                 "image.bin": b"\x89PNG\x00\x00\x01binary"})  # fmt: skip
    git("add", "-A", cwd=root)
    git("commit", "-qm", "one", cwd=root)
    git("checkout", "-qb", "feature", cwd=root)
    write(root, {"prompts/system.md": SYSTEM_2, "prompts/new.md": NEW})
    git("mv", "docs/guide.md", "docs/handbook.md", cwd=root)
    write(root, {"docs/handbook.md": HANDBOOK})
    git("rm", "-q", "old.md", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "two", cwd=root)
    write(root, {"prompts/system.md": SYSTEM_3, "untracked.md": UNTRACKED})
    monkeypatch.chdir(root)
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "no-config.toml"))
    return root


def advance_main(repo: Path) -> None:
    """A commit on main after feature branched off (the working tree's changes are set aside meanwhile)."""
    git("stash", "-qu", cwd=repo)
    git("checkout", "-q", "main", cwd=repo)
    write(repo, {"main-only.md": "main だけのファイル\n"})
    git("add", "main-only.md", cwd=repo)
    git("commit", "-qm", "main moves", cwd=repo)
    git("checkout", "-q", "feature", cwd=repo)
    git("stash", "pop", "-q", cwd=repo)


def n(text: str, tokenizer: str = "cl100k_base") -> int:
    return len(load(tokenizer).encode(text))


def doc(r) -> dict:
    assert r.err == "" or r.err.startswith("warning:"), r.err
    return json.loads(r.out)


def test_counts_match_the_tokenizer(cli, repo):
    r = cli("diff", "-t", "cl100k_base", "-t", "bpe", "-f", "json")
    assert r.code == 0, r.err
    d = doc(r)
    assert d["schema"] == "tokcli-diff/1" and d["ok"] is True and d["tokenizers"] == ["cl100k_base", "bpe"]
    first = git("rev-parse", "main", cwd=repo).strip()
    assert d["base"] == {"ref": None, "commit": first, "description": "the merge base of HEAD and main"}
    rows = {f["path"]: f for f in d["files"]}
    assert {p: (f["status"], f["old_path"]) for p, f in rows.items()} == {
        "docs/handbook.md": ("renamed", "docs/guide.md"),
        "old.md": ("deleted", None),
        "prompts/new.md": ("added", None),
        "prompts/system.md": ("modified", None),
        "untracked.md": ("added", None),
    }
    expected = {"docs/handbook.md": (GUIDE, HANDBOOK), "old.md": (OLD, None), "prompts/new.md": (None, NEW),
                "prompts/system.md": (SYSTEM_1, SYSTEM_3), "untracked.md": (None, UNTRACKED)}  # fmt: skip
    for tok in ("cl100k_base", "bpe"):
        for path, (before, after) in expected.items():
            c = rows[path]["tokens"][tok]
            b = None if before is None else n(before, tok)
            a = None if after is None else n(after, tok)
            assert (c["before"], c["after"], c["change"]) == (b, a, (a or 0) - (b or 0)), (tok, path)
            assert c["percent"] == (round(100 * ((a or 0) - b) / b, 2) if b else None)
        keep = n(KEEP, tok)
        assert (
            d["unchanged"] == {"files": 1, "tokens": d["unchanged"]["tokens"]} and d["unchanged"]["tokens"][tok] == keep
        )
        total = d["total"]["tokens"][tok]
        assert total["before"] == keep + n(SYSTEM_1, tok) + n(GUIDE, tok) + n(OLD, tok)
        assert total["after"] == keep + n(SYSTEM_3, tok) + n(HANDBOOK, tok) + n(NEW, tok) + n(UNTRACKED, tok)
    assert d["total"]["files"] == 6
    assert d["skipped"] == [{"path": "image.bin", "reason": "binary file (a NUL byte in its first 8 KiB)"}]
    assert r.err == "warning: skipped image.bin: binary file (a NUL byte in its first 8 KiB)\n"


def test_refs(cli, repo):
    first = git("rev-parse", "main", cwd=repo).strip()
    second = git("rev-parse", "HEAD", cwd=repo).strip()
    advance_main(repo)  # main moves on: the merge base stays the first commit
    assert doc(cli("diff", "-f", "json"))["base"]["commit"] == first  # default: the merge base with main
    merge_base = doc(cli("diff", "main...", "-f", "json"))
    assert (
        merge_base["base"]["commit"] == first and merge_base["base"]["description"] == "the merge base of HEAD and main"
    )
    # REF itself: main's tree, so its new file shows as deleted in the working tree
    against_main = doc(cli("diff", "main", "-f", "json"))
    assert {f["path"]: f["status"] for f in against_main["files"]}["main-only.md"] == "deleted"
    head = doc(cli("diff", "HEAD", "-f", "json"))  # only what is not committed
    assert head["base"]["commit"] == second
    assert {f["path"]: f["status"] for f in head["files"]} == {"prompts/system.md": "modified", "untracked.md": "added"}
    assert doc(cli("diff", "HEAD~1", "-f", "json"))["base"]["commit"] == first
    assert doc(cli("diff", second[:10], "-f", "json"))["base"]["commit"] == second


def test_default_without_a_default_branch_is_head(cli, repo):
    git("branch", "-qm", "main", "trunk", cwd=repo)
    d = doc(cli("diff", "-f", "json"))
    assert d["base"]["commit"] == git("rev-parse", "HEAD", cwd=repo).strip()
    assert d["base"]["description"].startswith("HEAD (no default branch")


def test_paths_globs_and_walk_options(cli, repo):
    only = doc(cli("diff", "main", "prompts", "-f", "json"))
    assert [f["path"] for f in only["files"]] == ["prompts/new.md", "prompts/system.md"]
    assert only["unchanged"]["files"] == 0
    renamed = doc(cli("diff", "main", "docs/*.md", "-f", "json"))  # the glob holds both names of the rename
    assert [(f["status"], f["old_path"], f["path"]) for f in renamed["files"]] == [
        ("renamed", "docs/guide.md", "docs/handbook.md")
    ]
    deleted = doc(cli("diff", "main", "old.md", "-f", "json"))  # a file only REF has
    assert [(f["status"], f["tokens"]["cl100k_base"]["before"]) for f in deleted["files"]] == [("deleted", n(OLD))]
    excluded = doc(cli("diff", "main", "--exclude", "prompts/", "--exclude", "untracked.md", "-f", "json"))
    assert [f["path"] for f in excluded["files"]] == ["docs/handbook.md", "old.md"]
    (repo / ".gitignore").write_text("untracked.md\nold.md\n")  # REF's files follow the same rules
    ignored = doc(cli("diff", "main", "-f", "json"))
    assert "untracked.md" not in [f["path"] for f in ignored["files"]] and "old.md" not in [
        f["path"] for f in ignored["files"]
    ]
    everything = doc(cli("diff", "main", "--no-ignore", "--hidden", "-f", "json"))
    assert {"untracked.md", "old.md", ".gitignore"} <= {f["path"] for f in everything["files"]}
    (repo / "sub").mkdir()
    os.chdir(repo / "sub")  # PATHS are relative to the current directory, rows to the top of the repository
    assert [f["path"] for f in doc(cli("diff", "main", "../prompts/new.md", "-f", "json"))["files"]] == [
        "prompts/new.md"
    ]
    missing = cli("diff", "main", "../nowhere.md")
    assert missing.code == 2 and missing.err == "error: ../nowhere.md: no such file or directory, here or in main\n"


def test_thresholds_and_exit_codes(cli, repo):
    growth = n(SYSTEM_3) - n(SYSTEM_1)
    pct = 100 * growth / n(SYSTEM_1)
    new = n(UNTRACKED)
    assert cli("diff", "prompts/system.md", "--max-growth", str(growth)).code == 0  # equal is within
    over = cli("diff", "prompts/system.md", "--max-growth", str(growth - 1))
    assert over.code == 1 and "OVER" in over.out
    assert over.err.startswith("error: 1 file changed") and "1 over the growth limit (prompts/system.md)" in over.err
    assert cli("diff", "prompts/system.md", "--max-growth-percent", f"{pct + 0.1:.2f}").code == 0
    assert cli("diff", "prompts/system.md", "--max-growth-percent", f"{pct - 0.1:.2f}").code == 1
    # an added file grows by all its tokens; a percentage needs a base, so only --max-growth applies to it
    assert cli("diff", "untracked.md", "--max-growth-percent", "0").code == 0
    assert cli("diff", "untracked.md", "--max-growth", str(new - 1)).code == 1
    # deleted files shrink: never over
    assert cli("diff", "./old.md", "--max-growth", "0", "--max-growth-percent", "0").code == 0
    # --total: the limit is on all files together (unchanged ones in the base)
    d = doc(cli("diff", "-f", "json"))["total"]["tokens"]["cl100k_base"]
    assert cli("diff", "--total", "--max-growth", str(d["change"])).code == 0
    total_over = cli("diff", "--total", "--max-growth", str(d["change"] - 1), "-f", "json")
    assert total_over.code == 1 and doc(total_over)["total"]["over"]["cl100k_base"] == [
        f"{d['change']:+,} tokens > --max-growth {d['change'] - 1:,}"
    ]
    assert all(f["over"] == {} for f in doc(total_over)["files"])  # per-file limits are off with --total
    assert cli("diff", "--total", "--max-growth-percent", f"{d['percent'] + 0.01}").code == 0
    assert cli("diff", "--total", "--max-growth-percent", f"{d['percent'] - 0.01}").code == 1
    no_limit = cli("diff", "--total")
    assert no_limit.code == 2 and no_limit.err.startswith("error: --total needs a limit")
    assert cli("diff", "--max-growth", "-1").code == 2


def test_text_is_aligned_when_piped(cli, repo):
    r = cli("diff", "main")
    lines = r.out.splitlines()
    first = git("rev-parse", "main", cwd=repo).strip()
    assert lines[0] == f"the working tree against {first[:12]} (main), tokens of cl100k_base"
    assert lines[1].split() == ["status", "file", "before", "after", "change", "%"]
    renamed = next(line for line in lines if line.startswith("renamed"))
    assert "docs/guide.md -> docs/handbook.md" in renamed and renamed.split()[-4:] == [
        str(n(GUIDE)),
        str(n(HANDBOOK)),
        f"+{n(HANDBOOK) - n(GUIDE)}",
        f"{100 * (n(HANDBOOK) - n(GUIDE)) / n(GUIDE):+.1f}%",
    ]
    added = next(line for line in lines if "prompts/new.md" in line)
    assert added.split() == ["added", "prompts/new.md", "-", str(n(NEW)), f"+{n(NEW)}", "new"]
    assert lines[-1].startswith("total     5 changed, 1 unchanged")
    widths = {len(line) for line in lines[1:]}  # right-aligned numbers: every row ends in the same column
    assert len(widths) == 1


def test_markdown(cli, repo):
    r = cli("diff", "main", "-f", "markdown", "--max-growth", "5")
    assert r.code == 1
    md = r.out.splitlines()
    assert md[0] == "### Token diff against `main`"
    assert "| status | file | before | after | change | % |" in md and "|---|---|---:|---:|---:|---:|" in md
    system = next(line for line in md if "`prompts/system.md`" in line)
    growth = n(SYSTEM_3) - n(SYSTEM_1)
    assert system.startswith("| ❌ modified |") and f"| +{growth:,} |" in system
    assert any(line.startswith("| **total** | **5 changed, 1 unchanged** |") for line in md)
    assert f"- `prompts/system.md`: cl100k_base: +{growth:,} tokens > --max-growth 5" in md
    assert "Not compared: `image.bin` (binary file (a NUL byte in its first 8 KiB))." in md


def test_github_annotations(cli, repo):
    growth = n(SYSTEM_3) - n(SYSTEM_1)
    r = cli("diff", "main", "-f", "github", "--max-growth", str(growth - 1))
    assert r.code == 1
    lines = r.out.splitlines()
    errors = [line for line in lines if line.startswith("::error")]
    assert errors == [
        f"::error file=prompts/system.md,title=token growth::cl100k_base: {n(SYSTEM_1)} -> {n(SYSTEM_3)} tokens "
        f"(+{growth}, {100 * growth / n(SYSTEM_1):+.1f}%25): over the limit: cl100k_base: +{growth} tokens > "
        f"--max-growth {growth - 1}"
    ]
    assert (
        f"::notice file=prompts/new.md,title=token diff::added: cl100k_base: - -> {n(NEW)} tokens (+{n(NEW)})" in lines
    )
    assert any(
        line.startswith("::notice title=token diff::deleted: cl100k_base:") for line in lines
    )  # no file= on a deleted file
    assert lines[-1].startswith("::notice title=token diff::5 files changed")


def test_budgets_apply_to_the_new_versions(cli, repo):
    (repo / "pyproject.toml").write_text('[[tool.tokcli.budget]]\npaths = ["prompts/**/*.md"]\nmax-tokens = 30\n')
    over = n(SYSTEM_3) > 30 and n(NEW) <= 30
    assert over  # the fixture's premise: system.md is over the budget, new.md within
    r = cli("diff", "main", "-f", "json")
    assert r.code == 1
    b = doc(r)["budgets"]
    assert [(f["path"], f["tokens"], f["status"]) for f in b[0]["files"]] == [
        ("prompts/new.md", n(NEW), "ok"),
        ("prompts/system.md", n(SYSTEM_3), "over"),
    ]
    assert cli("diff", "main", "--no-budgets").code == 0
    assert cli("diff", "main", "docs").code == 0  # no changed file there is under a budget
    gh = cli("diff", "main", "-f", "github").out
    assert f"::error file=prompts/system.md,title=token budget::{n(SYSTEM_3)} tokens, over the limit of 30" in gh


def test_never_runs_hooks_fsmonitor_or_filters(cli, repo, tmp_path):
    """A repository can name commands in its config (core.fsmonitor, filters, textconv) and hooks; git runs
    them when it looks at the working tree or reads a blob. tokcli diff must run none of them."""
    markers = tmp_path / "markers"
    markers.mkdir()
    git("config", "core.fsmonitor", f"touch {markers}/fsmonitor; echo", cwd=repo)
    for kind in ("clean", "smudge", "process"):
        git("config", f"filter.evil.{kind}", f"touch {markers}/{kind}; cat", cwd=repo)
    git("config", "diff.evil.textconv", f"touch {markers}/textconv; cat", cwd=repo)
    git("config", "core.pager", f"touch {markers}/pager; cat", cwd=repo)
    (repo / ".gitattributes").write_text("*.md filter=evil diff=evil\n")
    hooks = repo / ".git" / "hooks"
    for hook in ("pre-commit", "post-checkout", "post-index-change", "reference-transaction", "fsmonitor-watchman",
                 "pre-auto-gc", "post-rewrite"):  # fmt: skip
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {markers}/{hook}\n")
        (hooks / hook).chmod(0o755)
    r = cli("diff", "main", "prompts/system.md", "-f", "json")
    assert r.code == 0 and doc(r)["files"][0]["tokens"]["cl100k_base"]["after"] == n(SYSTEM_3)
    assert sorted(p.name for p in markers.iterdir()) == []


def test_not_a_repository_and_bad_refs(cli, repo, tmp_path, monkeypatch):
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    r = cli("diff")
    assert (
        r.code == 2
        and r.err == f"error: {outside}: not inside a git repository; run tokcli diff in a clone (or `git init` one)\n"
    )
    monkeypatch.chdir(repo)
    bad = cli("diff", "no-such-branch")
    assert bad.code == 2 and bad.err.count("\n") == 1
    assert bad.err.startswith("error: no-such-branch: no such ref or commit") and "try `git branch -a`" in bad.err
    for spec in ("--", "../../etc/passwd", "a:b"):
        r = cli("diff", "--", spec) if spec == "--" else cli("diff", spec)
        assert r.code == 2 and r.err.startswith("error: ") and r.err.count("\n") == 1, (spec, r.err)
    (repo / "main").write_text("a file named like the branch\n")
    both = cli("diff", "main")
    assert both.code == 2 and "both a ref and a path" in both.err and "./main" in both.err
    assert [f["path"] for f in doc(cli("diff", "refs/heads/main", "./main", "-f", "json"))["files"]] == ["main"]
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/unborn\n")
    unborn = cli("diff")
    assert unborn.code == 2 and "HEAD has no commit yet" in unborn.err


def test_empty_repository_and_corrupt_git_dir(cli, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    git("init", "-q", cwd=empty)
    monkeypatch.chdir(empty)
    r = cli("diff")
    assert r.code == 2 and "HEAD has no commit yet" in r.err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / ".git").write_text("gitdir: /nowhere/at/all\n")
    monkeypatch.chdir(broken)
    r = cli("diff")
    assert r.code == 2 and r.err.startswith(f"error: {broken}: not a git repository dulwich can read")


def test_shallow_clone_without_the_merge_base(cli, repo, tmp_path, monkeypatch):
    advance_main(repo)
    clone = tmp_path / "clone"
    git("clone", "-q", "--depth", "1", "--no-single-branch", f"file://{repo}", str(clone), cwd=tmp_path)
    monkeypatch.chdir(clone)
    assert git("rev-parse", "--is-shallow-repository", cwd=clone).strip() == "true"
    r = cli("diff", "origin/main...")
    assert r.code == 2 and r.err.count("\n") == 1
    assert "no common commit in this shallow clone" in r.err and "fetch-depth: 0" in r.err
    # a REF the clone has is fine: its tree is there
    d = doc(cli("diff", "origin/main", "-f", "json"))
    assert {f["path"]: f["status"] for f in d["files"]}["main-only.md"] == "deleted"
    missing = cli("diff", "origin/no-such")
    assert missing.code == 2 and "shallow clone" in missing.err


def test_huge_blobs_are_refused_before_reading(cli, repo, monkeypatch):
    monkeypatch.setenv("TOKCLI_MAX_BLOB_BYTES", "100")
    r = cli("diff", "main", "docs")
    size = len(GUIDE.encode())
    assert r.code == 2 and r.err == (
        f"error: docs/guide.md: {size:,} bytes in main, more than the 100 tokcli diff reads whole "
        f"(TOKCLI_MAX_BLOB_BYTES); leave it out with --exclude docs/guide.md, or raise the limit: "
        f"TOKCLI_MAX_BLOB_BYTES={size}\n"
    )
    assert cli("diff", "main", "prompts/new.md").code == 0  # small files pass under the same limit
    monkeypatch.setenv("TOKCLI_MAX_BLOB_BYTES", "lots")
    assert cli("diff", "main").code == 2


def test_blob_sizes_from_loose_objects_and_packs(repo):
    """blob_size reads only object headers; it must agree with git for loose, packed and deltified blobs."""
    for i in range(5):  # similar versions of one file: the pack stores them as deltas
        write(repo, {"docs/handbook.md": HANDBOOK + "追記。\n" * i})
        git("commit", "-qam", f"edit {i}", cwd=repo)
    listing = git(
        "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype) %(objectsize)", cwd=repo
    )
    blobs = [(sha, int(size)) for sha, kind, size in (line.split() for line in listing.splitlines()) if kind == "blob"]
    repo_ = open_repository(repo)
    try:
        assert [blob_size(repo_.object_store, sha) for sha, _ in blobs] == [s for _, s in blobs]  # loose
    finally:
        repo_.close()
    git("repack", "-adq", "--depth=10", "--window=10", cwd=repo)
    git("prune-packed", cwd=repo)
    packed = git("verify-pack", "-v", *[str(p) for p in (repo / ".git/objects/pack").glob("*.idx")], cwd=repo)
    assert any(len(line.split()) >= 7 for line in packed.splitlines())  # some objects are deltas
    repo_ = open_repository(repo)
    try:
        assert [blob_size(repo_.object_store, sha) for sha, _ in blobs] == [s for _, s in blobs]  # packed
    finally:
        repo_.close()


def test_binary_symlinks_and_submodules(cli, repo):
    (repo / "link.md").symlink_to("keep.md")
    nested = repo / "vendor" / "lib"
    nested.mkdir(parents=True)
    git("init", "-q", cwd=nested)
    write(nested, {"inner.md": "入れ子のリポジトリ\n"})
    git("add", "inner.md", cwd=nested)
    git("commit", "-qm", "inner", cwd=nested)
    r = cli("diff", "main", "-f", "json")
    d = doc(r)
    assert r.code == 0
    assert {"link.md", "vendor/lib/inner.md"}.isdisjoint(f["path"] for f in d["files"])
    assert {
        "path": "vendor/lib/",
        "reason": "a submodule or nested repository: not compared (run tokcli diff inside it)",
    } in d["skipped"]
    for named in ("link.md", "vendor/lib", "vendor/lib/inner.md"):
        e = cli("diff", "main", named)
        assert e.code == 2 and e.err.startswith("error: ") and e.err.count("\n") == 1, (named, e.err)
    # committed: a symbolic link and a gitlink in the tree are reported, not read
    git("add", "link.md", "vendor/lib", cwd=repo)
    git("commit", "-qm", "link and submodule", cwd=repo)
    d = doc(cli("diff", "HEAD", "-f", "json"))
    assert {"path": "link.md", "reason": "a symbolic link in HEAD: not compared"} in d["skipped"]
    assert [s["path"] for s in d["skipped"]].count("vendor/lib/") == 1
    # a file that became binary is skipped on both sides, and said so
    write(repo, {"keep.md": b"\x00\x01binary now"})
    d = doc(cli("diff", "HEAD", "-f", "json"))
    assert "keep.md" not in [f["path"] for f in d["files"]]
    assert {"path": "keep.md", "reason": "binary file (a NUL byte in its first 8 KiB)"} in d["skipped"]


def test_not_utf8_is_skipped_or_replaced(cli, repo):
    write(repo, {"prompts/new.md": b"caf\xe9\n"})
    r = cli("diff", "main", "prompts", "-f", "json")
    d = doc(r)
    assert "prompts/new.md" not in [f["path"] for f in d["files"]]
    assert {
        "path": "prompts/new.md",
        "reason": "not valid UTF-8 at byte 3; convert it to UTF-8, or pass --errors replace to go on",
    } in d["skipped"]
    replaced = doc(cli("diff", "main", "prompts", "--errors", "replace", "-f", "json"))
    assert [f["tokens"]["cl100k_base"]["after"] for f in replaced["files"] if f["path"] == "prompts/new.md"] == [
        n("caf\ufffd\n")
    ]


def test_without_dulwich_names_the_extra(cli, repo, monkeypatch):
    monkeypatch.setitem(sys.modules, "dulwich", None)
    r = cli("diff")
    assert (
        r.code == 2
        and r.err == 'error: tokcli diff needs dulwich to read git repositories: pip install "tokcli[git]"\n'
    )


def test_model_option_counts_with_its_tokenizer(cli, repo):
    d = doc(cli("diff", "main", "prompts/new.md", "-m", "gpt-4o", "-f", "json"))
    assert d["tokenizers"] == ["gpt-4o"]  # tiktoken's name for it: counted with o200k_base
    assert d["files"][0]["tokens"]["gpt-4o"]["after"] == n(NEW, "o200k_base")


def test_output_file_is_written_atomically(cli, repo, tmp_path):
    out = tmp_path / "diff.md"
    r = cli("diff", "main", "-f", "markdown", "-o", str(out))
    assert r.code == 0 and r.out == "" and out.read_text().startswith("### Token diff against `main`")


UNCOUNTABLE = {
    "xff": ("hello world " * 5000).encode() + b"\xff\n",
    "utf16": ("hello world " * 5000).encode("utf-16"),
    "uncut": b"a" * 2_200_000,  # no place to cut: more than TOKCLI_MAX_UNCUT_CHARS characters in a row
}


@pytest.mark.parametrize("kind", sorted(UNCOUNTABLE))
def test_a_changed_file_that_cannot_be_counted_fails_a_growth_limit(cli, repo, kind):
    write(repo, {"prompts/system.md": UNCOUNTABLE[kind]})
    plain = cli("diff", "main", "-f", "json")  # no limit: nothing to fail, the file is only skipped
    assert plain.code == 0 and "prompts/system.md" in [s["path"] for s in json.loads(plain.out)["skipped"]]
    r = cli("diff", "main", "--max-growth", "10000", "-f", "json")
    d = json.loads(r.out)
    assert r.code == 1 and d["ok"] is False
    assert [f["path"] for f in d["failed"]] == ["prompts/system.md"]
    assert "prompts/system.md" not in [s["path"] for s in d["skipped"]]
    assert "1 changed file could not be counted (prompts/system.md)" in r.err
    gh = cli("diff", "main", "--max-growth", "10000", "-f", "github")
    assert gh.code == 1 and any(line.startswith("::error file=prompts/system.md,title=token growth::not counted")
                                for line in gh.out.splitlines())  # fmt: skip
    text = cli("diff", "main", "--max-growth", "10000")
    assert text.code == 1 and "not counted, so over the limit: prompts/system.md: " in text.out
    strict = cli("diff", "main", "--max-growth", "10000", "--strict")
    assert strict.code == 2 and strict.err.splitlines()[-1].startswith("error: prompts/system.md: ")


def test_a_file_that_became_binary_or_was_added_binary_fails_a_limit(cli, repo):
    write(repo, {"keep.md": b"\x00\x01binary now", "added.md": b"\x00binary"})
    d = json.loads(cli("diff", "main", "--max-growth-percent", "50", "-f", "json").out)
    assert sorted(f["path"] for f in d["failed"]) == ["added.md", "keep.md"]
    assert "image.bin" not in [f["path"] for f in d["failed"]]  # binary, but unchanged: nothing to check


def test_a_budget_on_a_changed_file_that_cannot_be_counted_fails(cli, repo):
    write(repo, {"pyproject.toml": '[[tool.tokcli.budget]]\npaths = ["prompts/*.md"]\nmax-tokens = 5000\n',
                 "prompts/system.md": UNCOUNTABLE["utf16"]})  # fmt: skip
    r = cli("diff", "main", "-f", "json")
    d = json.loads(r.out)
    assert r.code == 1 and d["ok"] is False
    rows = [f for b in d["budgets"] for f in b["files"] if f["path"] == "prompts/system.md"]
    assert [f["status"] for f in rows] == ["error"]
    assert cli("diff", "main", "--strict").code == 2


def test_changed_files_are_streamed_not_held(repo, tmp_path):
    """Eight changed 8 MB files (64 MB on each side) counted under a 300 MB address-space limit: they are
    read and counted one at a time (measured: holding them all, as diff did, ends in a MemoryError there;
    streamed, the process peaks near 90 MB resident)."""
    line = "The quick brown fox jumps over the lazy dog.\n"
    block = line * (8_000_000 // len(line))
    for i in range(8):
        write(repo, {f"big/{i}.md": block})
    git("add", "big", cwd=repo)
    git("commit", "-qm", "big files", cwd=repo)
    for i in range(8):
        write(repo, {f"big/{i}.md": block + f"one more line {i}\n"})
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (300 << 20, 300 << 20))\n"
        "from tokcli.cli import run\n"
        "sys.exit(run(['diff', 'HEAD', 'big', '-t', 'char', '-f', 'json']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TOKCLI_CACHE_DIR"}
    env |= {"PYTHONPATH": str(Path(__file__).resolve().parent.parent), "TOKCLI_CONFIG": str(tmp_path / "none.toml")}
    r = subprocess.run([sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(r.stdout)
    assert len(d["files"]) == 8
    for i, f in enumerate(d["files"]):
        assert f["path"] == f"big/{i}.md"
        assert f["tokens"]["char"]["change"] == len(f"one more line {i}\n")
