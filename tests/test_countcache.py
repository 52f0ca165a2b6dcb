"""The count cache (--cache DIR, tokcli.files.countcache): never a wrong count, whatever happens to it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tokcli import load
from tokcli.files.countcache import DB, MARKER, CountCache, blob_id
from tokcli.files.text import expand_inputs
from tokcli.tokenizer.counting import count_inputs
from tokcli.tokenizer.fingerprint import cache_fingerprint

REPO = Path(__file__).resolve().parents[1]


def make_tree(root: Path, n: int = 12) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"f{i:03d}.txt").write_text(f"file {i}: " + "the quick brown fox jumps over the lazy dog. " * (i + 1))
    (root / "big.txt").write_text("a long line of words, " * 20_000)  # over SMALL_FILE_BYTES: streamed
    return root


def counts(sources_root: Path, tok_name: str = "cl100k_base", cache: CountCache | None = None):
    tok = load(tok_name)
    rows = count_inputs([tok], expand_inputs([str(sources_root)]), cache=cache)
    return [(r.input, r.chars, r.bytes, r.tokens[tok.name]) for r in rows]


def rows_of(directory: Path) -> list[tuple]:
    with sqlite3.connect(directory / DB) as db:
        return db.execute("SELECT fp, blob, tokens, chars, bytes, checksum FROM counts").fetchall()


def test_blob_id_is_gits():
    assert blob_id(b"").hex() == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # `git hash-object /dev/null`
    assert blob_id(b"hello\n").hex() == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_second_run_tokenizes_nothing_and_agrees(tmp_path, monkeypatch):
    tree = make_tree(tmp_path / "tree")
    expected = counts(tree)
    with CountCache.open(tmp_path / "c") as first:
        assert counts(tree, cache=first) == expected
    assert (first.hits, first.misses) == (0, 13)
    assert len(rows_of(tmp_path / "c")) == 13
    tok_type = type(load("cl100k_base"))

    def refuse(*args, **kwargs):
        raise AssertionError("tokenized although cached")

    monkeypatch.setattr(tok_type, "count_texts", refuse)
    monkeypatch.setattr(tok_type, "count_stream", refuse)
    with CountCache.open(tmp_path / "c") as second:
        assert counts(tree, cache=second) == expected
    assert (second.hits, second.misses) == (13, 0)


def test_cli_count_and_check_options(cli, tmp_path, monkeypatch):
    tree = make_tree(tmp_path / "tree")
    plain = cli("count", "-t", "cl100k_base", tree, "--format", "json")
    cached = [cli("count", "-t", "cl100k_base", tree, "--format", "json", "--cache", tmp_path / "c") for _ in "12"]
    assert plain.code == 0 and all(r.code == 0 and r.out == plain.out and r.err == "" for r in cached)
    assert len(rows_of(tmp_path / "c")) == 13
    check = cli("check", "-t", "cl100k_base", "-n", "1000000", "--total", tree, "-f", "json", "--cache", tmp_path / "c")
    assert check.code == 0
    assert (
        json.loads(check.out)["budgets"][0]["total"]["tokens"]
        == json.loads(plain.out)["total"]["tokens"]["cl100k_base"]
    )
    # TOKCLI_CACHE_DIR, and --no-cache over it
    monkeypatch.setenv("TOKCLI_CACHE_DIR", str(tmp_path / "env"))
    assert cli("count", "-t", "cl100k_base", tree, "--format", "json").out == plain.out
    assert len(rows_of(tmp_path / "env")) == 13
    assert cli("count", "-t", "cl100k_base", tree / "f000.txt", "--no-cache").code == 0
    assert len(rows_of(tmp_path / "env")) == 13
    bad = cli("count", "-t", "cl100k_base", tree, "--cache-max", "lots")
    assert bad.code == 2 and bad.err.startswith("error: --cache-max 'lots'")
    monkeypatch.setenv("TOKCLI_CACHE_MAX_BYTES", "-1")
    assert cli("count", "-t", "cl100k_base", tree).code == 2


def test_pyproject_names_the_cache(cli, tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    tree = make_tree(proj / "docs", 3)
    (proj / "pyproject.toml").write_text('[tool.tokcli]\ncache = ".tokcli-cache"\n')
    monkeypatch.chdir(proj / "docs")
    monkeypatch.delenv("TOKCLI_CACHE_DIR", raising=False)
    assert cli("count", "-t", "cl100k_base", tree).code == 0
    assert len(rows_of(proj / ".tokcli-cache")) == 4  # relative to pyproject.toml, not to the current directory


def test_damaged_entry_is_ignored_and_written_anew(tmp_path):
    tree = make_tree(tmp_path / "tree", 4)
    expected = counts(tree)
    with CountCache.open(tmp_path / "c") as cache:
        counts(tree, cache=cache)
    good = sorted(rows_of(tmp_path / "c"))
    with sqlite3.connect(tmp_path / "c" / DB) as db:  # flip bits: a count, a checksum
        db.execute("UPDATE counts SET tokens = tokens + 1 WHERE rowid = 1")
        db.execute("UPDATE counts SET checksum = ? WHERE rowid = 2", (b"\x00" * 8,))
        db.execute("UPDATE counts SET chars = chars + 1, bytes = bytes + 1 WHERE rowid = 3")
    assert sorted(rows_of(tmp_path / "c")) != good
    with CountCache.open(tmp_path / "c") as cache:
        assert counts(tree, cache=cache) == expected
    assert (cache.hits, cache.misses) == (2, 3)
    assert sorted(rows_of(tmp_path / "c")) == good  # rewritten


def test_damaged_database_is_made_anew(cli, tmp_path):
    tree = make_tree(tmp_path / "tree", 3)
    plain = cli("count", "-t", "cl100k_base", tree, "--format", "json").out
    assert cli("count", "-t", "cl100k_base", tree, "--cache", tmp_path / "c").code == 0
    db = tmp_path / "c" / DB
    data = bytearray(db.read_bytes())
    data[:100] = os.urandom(100)  # the header: no longer a database
    db.write_bytes(bytes(data))
    r = cli("count", "-t", "cl100k_base", tree, "--format", "json", "--cache", tmp_path / "c")
    assert r.code == 0 and r.out == plain and "was damaged and was made anew" in r.err
    assert len(rows_of(tmp_path / "c")) == 4


def test_changed_file_is_counted_again(tmp_path):
    tree = make_tree(tmp_path / "tree", 3)
    with CountCache.open(tmp_path / "c") as cache:
        counts(tree, cache=cache)
    (tree / "f001.txt").write_text("something else entirely, and longer than it was before")
    expected = counts(tree)
    with CountCache.open(tmp_path / "c") as cache:
        assert counts(tree, cache=cache) == expected
    assert (cache.hits, cache.misses) == (3, 1)
    assert len(rows_of(tmp_path / "c")) == 5  # the old content's entry stays (another branch may have it)


def test_another_tokenizer_has_its_own_entries(tmp_path):
    tree = make_tree(tmp_path / "tree", 3)
    fps = {cache_fingerprint(load(n)) for n in ("cl100k_base", "o200k_base", "bpe")}
    fps.add(cache_fingerprint(load("cl100k_base").with_special("allow")))
    fps.add(cache_fingerprint(load("cl100k_base"), "replace"))
    assert len(fps) == 5 and None not in fps
    with CountCache.open(tmp_path / "c") as cache:
        counts(tree, "cl100k_base", cache=cache)
    for name in ("o200k_base", "bpe"):
        expected = counts(tree, name)
        with CountCache.open(tmp_path / "c") as cache:
            assert counts(tree, name, cache=cache) == expected
        assert cache.hits == 0
    assert len({row[0] for row in rows_of(tmp_path / "c")}) == 3


def test_bounded_size_drops_the_least_recently_used(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    for d, n in ((old, 300), (new, 600)):
        d.mkdir()
        for i in range(n):
            (d / f"{i:04d}.txt").write_text(f"{d.name} {i}")
    bound = 96 << 10
    with CountCache.open(tmp_path / "c", max_bytes=bound) as cache:
        counts(old, "bpe", cache=cache)
    assert len(rows_of(tmp_path / "c")) == 300
    with CountCache.open(tmp_path / "c", max_bytes=bound) as cache:
        counts(new, "bpe", cache=cache)
    kept = {row[1] for row in rows_of(tmp_path / "c")}
    assert 0 < len(kept) < 900
    assert not any(blob_id(p.read_bytes()) in kept for p in old.iterdir())  # the oldest went first
    assert blob_id((new / "0599.txt").read_bytes()) in kept
    assert (tmp_path / "c" / DB).stat().st_size <= bound


def test_read_only_cache_still_counts_right(cli, tmp_path, monkeypatch):
    tree = make_tree(tmp_path / "tree", 3)
    plain = cli("count", "-t", "cl100k_base", tree, "--format", "json").out
    assert cli("count", "-t", "cl100k_base", tree / "f000.txt", "--cache", tmp_path / "c").code == 0
    import tokcli.files.countcache as cc

    real = sqlite3.connect

    def read_only(target, *args, **kwargs):  # as on a read-only file system (we run as root: chmod is no test)
        if "mode=ro" not in str(target):
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return real(target, *args, **kwargs)

    monkeypatch.setattr(cc.sqlite3, "connect", read_only)
    r = cli("count", "-t", "cl100k_base", tree, "--format", "json", "--cache", tmp_path / "c")
    assert r.code == 0 and r.out == plain
    assert r.err.count("warning:") == 1 and "cannot write to it" in r.err
    r = cli("count", "-t", "cl100k_base", tree, "--format", "json", "--cache", tmp_path / "none")
    assert r.code == 0 and r.out == plain and r.err.count("warning:") == 1
    monkeypatch.setattr(cc.sqlite3, "connect", real)
    assert len(rows_of(tmp_path / "c")) == 1  # nothing was written


def test_two_runs_at_once_share_one_cache(tmp_path):
    tree = make_tree(tmp_path / "tree", 40)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "tokcli", "count", "-t", "cl100k_base", str(tree), "--format", "json"]
    plain = subprocess.run(cmd, capture_output=True, env=env, check=True).stdout
    runs = [subprocess.Popen([*cmd, "--cache", str(tmp_path / "c")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            for _ in range(3)]  # fmt: skip
    outs = [p.communicate() for p in runs]
    assert [p.returncode for p in runs] == [0, 0, 0]
    assert all(out == plain and err == b"" for out, err in outs)
    with sqlite3.connect(tmp_path / "c" / DB) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert len(rows_of(tmp_path / "c")) == 41
    again = subprocess.run([*cmd, "--cache", str(tmp_path / "c")], capture_output=True, env=env, check=True)
    assert again.stdout == plain


def test_clear_removes_only_its_own(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("TOKCLI_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    tree = make_tree(tmp_path / "tree", 2)
    assert cli("count", "-t", "cl100k_base", tree, "--cache", tmp_path / "c").code == 0
    (tmp_path / "c" / "notes.txt").write_text("mine")
    r = cli("cache", "clear", tmp_path / "c")
    assert r.code == 0 and "cleared" in r.err
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["notes.txt"]
    # a directory tokcli did not make: nothing deleted, exit 2
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / DB).write_text("not ours")
    (theirs / MARKER).write_text("Signature: 8a477f597d28d172789f06886806bc55\n# some other tool\n")
    r = cli("cache", "clear", theirs)
    assert r.code == 2 and "not a tokcli count cache" in r.err
    assert sorted(p.name for p in theirs.iterdir()) == sorted([DB, MARKER])
    # an empty cache directory goes; a missing one is nothing to clear
    assert cli("count", "-t", "cl100k_base", tree, "--cache", tmp_path / "d").code == 0
    assert cli("cache", "clear", tmp_path / "d").code == 0 and not (tmp_path / "d").exists()
    assert cli("cache", "clear", tmp_path / "d").code == 0
    assert cli("cache", "clear").code == 2  # no directory named anywhere


def test_marker_is_a_cachedir_tag(tmp_path):
    CountCache.open(tmp_path / "c").close()
    head = (tmp_path / "c" / MARKER).read_bytes()[:43]
    assert head == b"Signature: 8a477f597d28d172789f06886806bc55"  # https://bford.info/cachedir/


def test_a_cache_inside_the_tree_is_not_counted(cli, tmp_path):
    tree = make_tree(tmp_path / "tree", 2)
    plain = cli("count", "-t", "cl100k_base", tree, "--format", "json")
    for _ in "12":
        r = cli("count", "-t", "cl100k_base", tree, "--format", "json", "--cache", tree / "counts")
        assert r.code == 0 and r.out == plain.out and r.err == ""
    assert (tree / "counts" / MARKER).is_file()


def test_diff_keeps_both_versions(cli, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    (repo / "a.md").write_text("hello world\n")
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run(["git", "add", "a.md"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    (repo / "a.md").write_text("hello world, and more words here\n")
    plain = cli("diff", "HEAD", "-t", "cl100k_base", "-f", "json")
    for _ in "12":
        r = cli("diff", "HEAD", "-t", "cl100k_base", "-f", "json", "--cache", tmp_path / "c")
        assert r.code == 0 and r.out == plain.out
    blobs = {row[1] for row in rows_of(tmp_path / "c")}
    assert blobs == {blob_id(b"hello world\n"), blob_id(b"hello world, and more words here\n")}


def test_a_new_cache_that_another_run_holds_is_waited_for_not_given_up(tmp_path, monkeypatch):
    """Runs that start at once on a new cache race to make it; SQLite answers "database is locked" at once
    to the loser (no busy wait where waiting could deadlock). It tries again, without a warning; another
    error still leaves the cache unused, with one."""
    import sqlite3

    from tokcli.files import countcache

    real = countcache.CountCache._setup
    failures = ["database is locked", "database is locked"]

    def setup(self, db):
        if failures:
            db.close()
            raise sqlite3.OperationalError(failures.pop())
        return real(self, db)

    monkeypatch.setattr(countcache.CountCache, "_setup", setup)
    cache = countcache.CountCache.open(tmp_path / "c")
    assert (failures, cache.warnings, cache._writable) == ([], [], True)
    cache.close()

    failures[:] = ["disk I/O error"]
    cache = countcache.CountCache.open(tmp_path / "d")
    assert len(cache.warnings) == 1 and "counting without it" in cache.warnings[0]
    cache.close()
