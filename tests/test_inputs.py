"""One way to walk inputs for every command: files, directories, globs, '-', streams; .gitignore through
pathspec; hidden files; --exclude; unreadable files inside a walk skipped with a warning; options that
take one value given once; the same --format choices for every table."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading

import pytest

import tokcli

JA = "吾輩は猫である。名前はまだ無い。\n"
EN = "hello world\n"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """docs/a.md, docs/ja.md, docs/.hidden.md, docs/build/x.md (gitignored), docs/latin1.txt (not UTF-8)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    d = tmp_path / "docs"
    (d / "build").mkdir(parents=True)
    (d / "a.md").write_text(EN)
    (d / "ja.md").write_text(JA)
    (d / ".hidden.md").write_text(EN)
    (d / "build" / "x.md").write_text(EN * 3)
    (d / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / ".git").mkdir()  # the top of a repository, for .gitignore (git itself is never run)
    return tmp_path


def counted(r) -> list[str]:
    return [row["input"] for row in json.loads(r.out)["inputs"]]


def test_count_and_check_walk_a_tree_alike(cli, tree):
    r = cli("count", "-t", "bpe", "-f", "json", "docs")
    assert r.code == 0
    assert counted(r) == ["docs/a.md", "docs/ja.md"]
    assert (
        r.err
        == "warning: skipped docs/latin1.txt: not valid UTF-8 at byte 3; convert it to UTF-8, or pass --errors replace to go on\n"
    )
    assert json.loads(r.out)["skipped"] == [
        {
            "path": "docs/latin1.txt",
            "reason": "not valid UTF-8 at byte 3; convert it to UTF-8, or pass --errors replace to go on",
        }
    ]
    c = cli("check", "-n", "100", "-f", "json", "docs")
    doc = json.loads(c.out)
    # walked as count walks it; the file the budget covers but cannot count fails the check (exit 1)
    assert c.code == 1
    assert [f["path"] for f in doc["budgets"][0]["files"] if f["status"] != "error"] == ["docs/a.md", "docs/ja.md"]
    assert doc["failed"] == json.loads(r.out)["skipped"]


def test_hidden_ignored_and_excluded_files(cli, tree):
    every = cli("count", "-t", "bpe", "-f", "json", "--hidden", "--no-ignore", "--errors", "replace", "docs")
    assert every.code == 0 and every.err == ""
    assert counted(every) == ["docs/.hidden.md", "docs/a.md", "docs/build/x.md", "docs/ja.md", "docs/latin1.txt"]
    some = cli(
        "count", "-t", "bpe", "-f", "json", "--exclude", "*.md", "--exclude", "latin1.txt", "--no-ignore", "docs"
    )
    assert some.code == 2 and some.out == "" and some.err.startswith("error: docs: has no text files to read")
    md_only = cli("count", "-t", "bpe", "-f", "json", "--exclude", "build/", "--exclude", "latin1.txt", "docs")
    assert md_only.code == 0 and counted(md_only) == ["docs/a.md", "docs/ja.md"] and md_only.err == ""
    named = cli("count", "-t", "bpe", "docs/.hidden.md", "docs/build/x.md")  # named files are always read
    n = tokcli.load("bpe").count(EN) + tokcli.load("bpe").count(EN * 3)
    assert named.code == 0 and named.out.splitlines()[-1].split() == ["total", str(len(EN) * 4), str(n)]


def test_a_file_named_explicitly_that_is_not_utf8_stays_an_error(cli, tree):
    r = cli("count", "-t", "bpe", "docs/latin1.txt")
    assert r.code == 2 and r.out == ""
    assert (
        r.err
        == "error: docs/latin1.txt: not valid UTF-8 at byte 3; convert it to UTF-8, or pass --errors replace to go on\n"
    )


def test_globs_are_expanded_by_tokcli(cli, tree):
    r = cli("count", "-t", "bpe", "-f", "json", "docs/*.md")
    assert r.code == 0 and counted(r) == ["docs/a.md", "docs/ja.md"]
    deep = cli("count", "-t", "bpe", "-f", "json", "--no-ignore", "docs/**/*.md")
    assert counted(deep) == ["docs/a.md", "docs/build/x.md", "docs/ja.md"]
    none = cli("count", "-t", "bpe", "docs/*.rst")
    assert none.code == 2 and none.out == "" and none.err.startswith("error: docs/*.rst: no files match")


def test_dev_null_is_an_empty_input(cli, tree):
    r = cli("count", "-t", "bpe", "/dev/null")
    assert (r.code, r.out, r.err) == (0, "0\n", "")


def test_a_fifo_is_read_as_a_stream(tree):
    fifo = tree / "pipe"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "w", encoding="utf-8") as f:
            f.write(JA)

    t = threading.Thread(target=feed)
    t.start()
    r = subprocess.run([sys.executable, "-m", "tokcli", "count", "-t", "bpe", str(fifo)], capture_output=True,
                       text=True, timeout=60)  # fmt: skip
    t.join(timeout=10)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"{tokcli.load('bpe').count(JA)}\n", "")


def test_process_substitution_and_dev_stdin(tree):
    r = subprocess.run(["bash", "-c", f"{sys.executable} -m tokcli count -t bpe <(printf '{EN.strip()}')"],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert (r.returncode, r.stdout, r.stderr) == (0, f"{tokcli.load('bpe').count(EN.strip())}\n", "")
    s = subprocess.run([sys.executable, "-m", "tokcli", "count", "-t", "bpe", "/dev/stdin"], input=JA,
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert (s.returncode, s.stdout, s.stderr) == (0, f"{tokcli.load('bpe').count(JA)}\n", "")


def test_a_symlink_loop_is_named_as_such(cli, tree):
    (tree / "loop1").symlink_to(tree / "loop2")
    (tree / "loop2").symlink_to(tree / "loop1")
    for args in (["count"], ["chunk"], ["truncate"]):
        r = cli(*args, "loop1")
        assert r.code == 2 and r.out == ""
        assert r.err == "error: loop1: a loop of symbolic links; point the link at a real file\n"


def test_chunk_and_truncate_refuse_a_directory(cli, tree):
    for cmd in ("chunk", "truncate"):
        r = cli(cmd, "docs")
        assert (r.code, r.out, r.err) == (2, "", "error: docs: is a directory; give one file (or - for stdin)\n")


@pytest.mark.parametrize(
    "args",
    [
        ["encode", "-t", "bpe", "-t", "cl100k_base", "--text", "x"],
        ["encode", "--text", "a", "--text=b"],
        ["show", "--html", "a.html", "--html=b.html", "--text", "x"],  # show -t repeats since show -t A -t B
        ["lm", "eval", "-m", "char", "-m", "word", "x.txt"],
        ["check", "-n", "10", "-n", "20", "x.md"],
    ],
)
def test_a_single_valued_option_given_twice_is_an_error(cli, tree, args):
    r = cli(*args)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("error: ") and "is given twice; it takes one value" in r.err


def test_repeatable_options_may_repeat(cli, tree):
    r = cli("count", "-t", "char", "-t", "bpe", "docs/a.md")
    assert r.code == 0 and r.out.splitlines()[0].split() == ["input", "chars", "char", "bpe"]


def test_markdown_tables_escape_the_pipe(cli, tree):
    md = cli("compare", "-t", "bpe", "docs/a.md", "-f", "markdown").out
    header = md.splitlines()[
        md.splitlines().index(next(line for line in md.splitlines() if line.startswith("| input")))
    ]
    cells = header.strip("|").split(" | ")
    assert r"\|V\|" in header and all("|" not in c.replace(r"\|", "") for c in cells)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "markdown", "json", "text"])
def test_every_table_takes_the_same_formats(cli, tree, fmt):
    for args in (["count", "-t", "bpe", "docs/a.md"], ["compare", "-t", "bpe", "docs/a.md"], ["models"],
                 ["check", "-n", "100", "docs/a.md"]):  # fmt: skip
        r = cli(*args, "-f", fmt)
        assert r.code == 0, (args, r.err)
        if fmt == "csv":
            assert len(list(csv.reader(io.StringIO(r.out)))) >= 2
        elif fmt == "json":
            json.loads(r.out)
        elif fmt == "markdown":
            assert r.out.lstrip().startswith(("|", "**"))


def _on_a_terminal(args: list[str], tmp_path) -> tuple[bytes, bytes]:
    """Run tokcli with stdout on a pseudo-terminal; (what the terminal got, stderr)."""
    import pty

    main, sub = pty.openpty()
    env = os.environ | {"NO_COLOR": "1"}
    p = subprocess.Popen([sys.executable, "-m", "tokcli", *args], stdout=sub, stderr=subprocess.PIPE, env=env,
                         cwd=tmp_path)  # fmt: skip
    os.close(sub)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    err = p.stderr.read() if p.stderr else b""
    p.wait(timeout=60)
    os.close(main)
    return shown, err


def test_output_without_a_final_newline_gets_one_on_a_terminal(tmp_path):
    ids = [str(i) for i in tokcli.load("cl100k_base").encode("こんにちは")]
    shown, err = _on_a_terminal(["decode", *ids], tmp_path)
    assert shown == "こんにちは".encode() and err == b"\n"  # the newline goes to stderr, the data stays exact
    (tmp_path / "t.txt").write_text("吾輩は猫である。名前はまだ無い。", encoding="utf-8")
    shown, err = _on_a_terminal(["truncate", "-n", "3", "t.txt"], tmp_path)
    assert not shown.endswith(b"\n") and err.startswith(b"\ntruncated: kept the first ")
    piped = subprocess.run([sys.executable, "-m", "tokcli", "decode", *ids], capture_output=True, timeout=60)
    assert piped.stdout == "こんにちは".encode() and piped.stderr == b""  # piped: nothing added


def test_a_stretch_with_no_cut_point_is_refused_past_the_limit(cli, tree, monkeypatch):
    """10 MB of NULs (or of one letter) is one pre-tokenizer piece: exact BPE would hold it all, at 40-75
    bytes a character. Past TOKCLI_MAX_UNCUT_CHARS it is refused, named, in bounded memory."""
    monkeypatch.setenv("TOKCLI_MAX_UNCUT_CHARS", "300000")  # above SEGMENT_CHARS (262,144)
    (tree / "nuls.bin").write_bytes(b"\x00" * 400_000)
    r = cli("count", "-t", "cl100k_base", "--errors", "replace", "nuls.bin")
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("error: nuls.bin: more than 300,000 characters in a row with no place to cut")
    assert "TOKCLI_MAX_UNCUT_CHARS" in r.err and r.err.count("\n") == 1
    (tree / "docs" / "long.txt").write_text("あ" * 400_000, encoding="utf-8")
    walked = cli("count", "-t", "cl100k_base", "-f", "json", "docs")  # inside a walk: skipped, and said so
    assert walked.code == 0 and counted(walked) == ["docs/a.md", "docs/ja.md"]
    assert [s["path"] for s in json.loads(walked.out)["skipped"]] == ["docs/latin1.txt", "docs/long.txt"]
    c = cli("check", "-n", "10", "docs/long.txt")  # covered but not countable: the check fails
    assert c.code == 1 and "could not be counted (docs/long.txt)" in c.err
    c = cli("check", "--strict", "-n", "10", "docs/long.txt")
    assert c.code == 2 and c.err.startswith("error: docs/long.txt: more than 300,000 characters in a row")
    monkeypatch.setenv("TOKCLI_MAX_UNCUT_CHARS", "500000")  # raised: counted, exactly
    ok = cli("count", "-t", "cl100k_base", "docs/long.txt")
    assert ok.code == 0 and ok.out == f"{tokcli.load('cl100k_base').count('あ' * 400_000)}\n"
    monkeypatch.setenv("TOKCLI_MAX_UNCUT_CHARS", "lots")
    bad = cli("count", "-t", "cl100k_base", "docs/long.txt")
    assert (bad.code, bad.err) == (
        2, "error: TOKCLI_MAX_UNCUT_CHARS='lots': give a positive number of characters, e.g. TOKCLI_MAX_UNCUT_CHARS=4194304\n"
    )  # fmt: skip
