"""Hostile input, round 2 (issue 22 items 2-4, issue 26): outputs that cannot be written, inputs that cannot be
read, trees and globs that are deep or loop, FIFOs without a writer, odd file names, records and chats built
to crash the JSON reader or take all memory. Each case: one `error:` line and exit 2 (or the right answer),
never exit 3, a hang or more than 1 GB."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
from conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TOKCLI_OFFLINE": "1", "NO_COLOR": "1"}
TEXT = "the quick brown fox jumps over the lazy dog\n" * 40


def _tokcli(args, *, cwd, env=None, unprivileged=False, timeout=120) -> subprocess.CompletedProcess:
    """`tokcli ARGS` as a real process; `unprivileged`: as root, without the capabilities that let root
    write into any directory (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so permissions apply as to a user."""
    prefix: list[str] = []
    if unprivileged and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:  # pragma: no cover - util-linux is on every machine these tests run on
            pytest.skip("needs setpriv (util-linux) to drop root's file capabilities")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all", "--"]
    return subprocess.run([*prefix, sys.executable, "-m", "tokcli", *args], cwd=cwd, env={**ENV, **(env or {})},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)  # fmt: skip


def _one_error(r, *needles: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


# -- places that cannot be written, directories that cannot be read --------------------------------------


@pytest.fixture
def locked(tmp_path):
    """in.txt; ro/ (no write permission) and shut/ (no permission at all)."""
    (tmp_path / "in.txt").write_text(TEXT)
    (tmp_path / "ro").mkdir()
    (tmp_path / "shut").mkdir()
    (tmp_path / "shut" / "a.txt").write_text("hi\n")
    os.chmod(tmp_path / "ro", 0o555)
    os.chmod(tmp_path / "shut", 0)
    yield tmp_path
    for d in ("ro", "shut"):
        if (tmp_path / d).exists():
            os.chmod(tmp_path / d, 0o755)


WRITES = {
    "train -o": ["train", "char", "in.txt", "-o", "{d}/tok.json"],
    "models -o": ["models", "-o", "{d}/models.txt"],
    "compare -o": ["compare", "-t", "char", "-t", "word", "in.txt", "-o", "{d}/cmp.json"],
    "check -o": ["check", "-t", "char", "-n", "1000", "in.txt", "-o", "{d}/check.txt"],
    "show --html": ["show", "-t", "char", "in.txt", "--html", "{d}/show.html"],
    "attention --html": ["attention", "-m", "char", "hi", "--html", "{d}/att.html"],
    "chunk --out-dir": ["chunk", "-t", "char", "-n", "50", "in.txt", "--out-dir", "{d}/pieces"],
    "encode --to": ["encode", "-t", "char", "in.txt", "--to", "{d}/shards"],
    "lm train -o": ["lm", "train", "-t", "char", "--steps", "1", "in.txt", "-o", "{d}/model"],
}


@pytest.mark.parametrize("where", ["ro", "shut"])
@pytest.mark.parametrize("name", list(WRITES))
def test_an_output_where_nothing_can_be_written_is_one_error(locked, name, where):
    args = [a.replace("{d}", where) for a in WRITES[name]]
    r = _tokcli(args, cwd=locked, unprivileged=True)
    _one_error(r, where)
    assert os.listdir(locked / "ro") == []  # nothing left behind, not even a temporary file


def test_a_directory_that_cannot_be_listed_is_one_error(locked):
    for arg in ("shut", "shut/**/*.txt", "shut/a.txt"):
        r = _tokcli(["count", "-t", "char", arg], cwd=locked, unprivileged=True)
        _one_error(r, "shut", "Permission denied")


def test_a_subdirectory_that_cannot_be_listed_is_skipped_with_a_warning(locked):
    (locked / "tree").mkdir()
    (locked / "tree" / "a.txt").write_text("hello\n")
    os.rename(locked / "shut", locked / "tree" / "shut")
    try:
        for arg in ("tree", "tree/**/*.txt"):
            r = _tokcli(["count", "-t", "char", arg], cwd=locked, unprivileged=True)
            assert r.returncode == 0, r.stderr
            assert r.stdout == "6\n"
            assert r.stderr == "warning: skipped tree/shut: cannot list the directory (Permission denied)\n"
    finally:
        os.chmod(locked / "tree" / "shut", 0o755)


def test_a_subdirectory_a_budget_covers_that_cannot_be_listed_fails_the_check(locked):
    """Issue 26: what a budget covers but tokcli could not read fails `check` (1; 2 with --strict), never passes."""
    (locked / "tree").mkdir()
    (locked / "tree" / "a.txt").write_text("hello\n")
    os.rename(locked / "shut", locked / "tree" / "shut")
    try:
        r = _tokcli(["check", "-t", "char", "-n", "1000", "tree"], cwd=locked, unprivileged=True)
        assert r.returncode == 1, r.stderr
        assert "tree/shut" in r.stdout and "cannot list the directory" in r.stdout
        strict = _tokcli(["check", "--strict", "-t", "char", "-n", "1000", "tree"], cwd=locked, unprivileged=True)
        _one_error(strict, "tree/shut")
    finally:
        os.chmod(locked / "tree" / "shut", 0o755)


def test_os_errors_on_named_paths_are_input_errors_and_others_stay_bugs(cli, monkeypatch, tmp_path):
    import tokcli.files.text as text

    (tmp_path / "a.txt").write_text("hi\n")

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), "/some/where.txt")

    monkeypatch.setattr(text, "expand_inputs", denied)
    r = cli("count", "-t", "char", tmp_path / "a.txt")
    assert r.code == 2
    assert r.err == (
        "error: /some/where.txt: cannot use it (Permission denied); check its permissions and those of the "
        "directories above it, or use another path\n"
    )

    def bug(*a, **k):
        raise OSError(errno.EINVAL, "Invalid argument")  # no file named: not the user's to fix

    monkeypatch.setattr(text, "expand_inputs", bug)
    r = cli("count", "-t", "char", tmp_path / "a.txt")
    assert r.code == 3 and "internal error" in r.err


def test_from_os_names_the_path_escaped_and_says_what_to_do():
    from tokcli.errors import InputError

    for code, fix in [(errno.EROFS, "read-only"), (errno.ENOSPC, "free some space"), (errno.ELOOP, "the link"),
                      (errno.ENAMETOOLONG, "shorter path"), (errno.EISDIR, "not a directory"),
                      (errno.ENOTDIR, "not a directory")]:  # fmt: skip
        e = OSError(code, os.strerror(code), os.fsdecode(b"odd\nname\xff"))
        msg = str(InputError.from_os(e, action="write it"))
        assert msg.startswith(f"odd\\nname\\xff: cannot write it ({os.strerror(code)}); ")
        assert fix in msg and "\n" not in msg


# -- trees and globs ------------------------------------------------------------------------------------


def _deep(root, levels: int) -> None:
    """root/d/d/.../d/x.txt, `levels` deep, made one level at a time (the whole path may be longer than
    the system takes in one call)."""
    root.mkdir()
    fds = [os.open(root, os.O_RDONLY)]
    try:
        for _ in range(levels):
            os.mkdir("d", dir_fd=fds[-1])
            fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
        fd = os.open("x.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fds[-1])
        os.write(fd, b"hi there\n")
        os.close(fd)
    finally:
        for fd in fds:
            os.close(fd)


def _remove_deep(root, levels: int) -> None:
    """Remove what `_deep` made, deepest first (shutil.rmtree recurses once per level)."""
    fds = [os.open(root, os.O_RDONLY)]
    for _ in range(levels):
        fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
    os.unlink("x.txt", dir_fd=fds[-1])
    for parent, child in zip(fds[-2::-1], fds[:0:-1], strict=True):
        os.close(child)
        os.rmdir("d", dir_fd=parent)
    os.close(fds[0])
    root.rmdir()


def test_a_tree_a_thousand_levels_deep_is_walked(cli, tmp_path, monkeypatch):
    _deep(tmp_path / "deep", 1000)
    monkeypatch.chdir(tmp_path)
    try:
        for arg in ("deep", "deep/**/*.txt", "deep/**"):
            r = cli("count", "-t", "char", arg)
            assert (r.code, r.out, r.err) == (0, "9\n", ""), arg
    finally:
        _remove_deep(tmp_path / "deep", 1000)


def test_a_glob_follows_a_link_to_a_directory_once(cli, tmp_path, monkeypatch):
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "a.txt").write_text("hi there\n")
    (tmp_path / "g" / "loop").symlink_to(".")
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "sub").mkdir()
    (tmp_path / "links" / "sub" / "b.txt").write_text("abc\n")
    (tmp_path / "links" / "sub" / "dirloop").symlink_to("..")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "c.txt").write_text("c\n")
    (tmp_path / "links" / "to_other").symlink_to(tmp_path / "other")
    monkeypatch.chdir(tmp_path)
    r = cli("count", "-t", "char", "-f", "json", "g/**/*.txt")
    assert r.code == 0 and r.err == ""
    doc = json.loads(r.out)
    assert [i["input"] for i in doc["inputs"]] == ["g/a.txt"]  # issue 26: was 41 times
    assert doc["total"]["tokens"]["char"] == 9
    start = time.monotonic()
    r = cli("count", "-t", "char", "-f", "json", "links/**/*.txt")
    assert time.monotonic() - start < 10
    assert r.code == 0 and r.err == ""
    assert [i["input"] for i in json.loads(r.out)["inputs"]] == ["links/sub/b.txt", "links/to_other/c.txt"]
    # a walk of a directory still does not follow links
    r = cli("count", "-t", "char", "-f", "json", "links")
    assert [i["input"] for i in json.loads(r.out)["inputs"]] == ["links/sub/b.txt"]


def test_a_file_reached_twice_is_read_once(cli, tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("hi there\n")
    os.link(tmp_path / "a.txt", tmp_path / "hard.txt")
    (tmp_path / "soft.txt").symlink_to("a.txt")
    monkeypatch.chdir(tmp_path)
    r = cli("count", "-t", "char", "-f", "json", "a.txt", "soft.txt", "hard.txt", "a.txt", ".")
    assert r.code == 0
    doc = json.loads(r.out)
    assert [i["input"] for i in doc["inputs"]] == ["a.txt"]
    assert doc["total"]["tokens"]["char"] == 9
    assert r.err == (
        "warning: skipped soft.txt: the same file as a.txt; read once\n"
        "warning: skipped hard.txt: the same file as a.txt; read once\n"
    )


def test_a_fifo_without_a_writer_is_an_error_not_a_hang(tmp_path):
    os.mkfifo(tmp_path / "ff")
    start = time.monotonic()
    r = _tokcli(["count", "-t", "char", "ff"], cwd=tmp_path, env={"TOKCLI_FIFO_WAIT": "1"}, timeout=30)
    assert time.monotonic() - start < 15
    _one_error(r, "ff: a FIFO with no writer (waited 1 s)", "TOKCLI_FIFO_WAIT")


def test_a_fifo_with_a_writer_is_read_as_a_stream(tmp_path):
    os.mkfifo(tmp_path / "ff")

    def write() -> None:
        time.sleep(0.3)
        with open(tmp_path / "ff", "w") as f:
            f.write("hello world\n")

    t = threading.Thread(target=write)
    t.start()
    r = _tokcli(["count", "-t", "char", "ff"], cwd=tmp_path, timeout=60)
    t.join()
    assert (r.returncode, r.stdout, r.stderr) == (0, "12\n", "")


def test_odd_file_names_are_read_and_printed_escaped(cli, tmp_path, monkeypatch):
    newline = "a\nb.txt"
    raw = os.fsdecode(b"c\xff.txt")  # what Python makes of a name that is not UTF-8 in argv
    (tmp_path / newline).write_text("hi\n")
    with open(os.path.join(os.fsencode(tmp_path), b"c\xff.txt"), "w") as f:
        f.write("hey\n")
    monkeypatch.chdir(tmp_path)
    r = cli("count", "-t", "char", newline, raw)
    assert r.code == 0, r.err
    assert r.out == "input\tchars\tchar\na\\nb.txt\t3\t3\nc\\xff.txt\t4\t4\ntotal\t7\t7\n"
    r = cli("count", "-t", "char", "-f", "json", raw)
    assert json.loads(r.out)["inputs"][0]["input"] == "c\\xff.txt"
    r = cli("count", "-t", "char", os.fsdecode(b"missing\n\xfe"))
    assert (r.code, r.err) == (2, "error: missing\\n\\xfe: no such file or directory\n")


# -- records and chats ------------------------------------------------------------------------------------


_MEASURED = (
    "import atexit, os, sys\n"
    "def hwm():\n"
    "    with open('/proc/self/status') as f:\n"
    "        kb = next(int(l.split()[1]) for l in f if l.startswith('VmHWM:'))\n"
    "    with open(os.environ['PEAK_FILE'], 'w') as f:\n"
    "        f.write(str(kb // 1024))\n"
    "atexit.register(hwm)\n"
    "from tokcli.cli.app import main\n"
    "main(sys.argv[1:])\n"
)


def _measured(args, *, cwd, tmp_path) -> tuple[subprocess.CompletedProcess, int]:
    """`tokcli ARGS` as a real process, and its peak resident memory in MB (VmHWM: its own, not the
    high-water mark a forked test process would pass on through rusage)."""
    peak = tmp_path / "peak.txt"
    r = subprocess.run([sys.executable, "-c", _MEASURED, *args], cwd=cwd, env={**ENV, "PEAK_FILE": str(peak)},
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)  # fmt: skip
    return r, int(peak.read_text())


@pytest.mark.parametrize("mode", ["--field", "--chat"])
def test_a_huge_integer_is_one_error(tmp_path, mode):
    line = {
        "--field": '{"text": "hi", "n": %s}',
        "--chat": '{"messages": [{"role": "user", "content": "hi", "n": %s}]}',
    }
    (tmp_path / "d.jsonl").write_text(line[mode] % ("1" * 5000) + "\n")
    args = ["count", "-t", "char", *(["--field", "text"] if mode == "--field" else ["--chat"]), "d.jsonl"]
    _one_error(_tokcli(args, cwd=tmp_path), "d.jsonl:1: a number of 5,000 digits, more than the 4,300")


@pytest.mark.parametrize("mode", ["--field", "--chat"])
def test_a_lone_surrogate_is_refused_or_replaced(tmp_path, mode):
    line = {
        "--field": '{"text": "hi \\ud800 there"}',
        "--chat": '{"messages": [{"role": "user", "content": "hi \\ud800 there"}]}',
    }
    (tmp_path / "d.jsonl").write_text(line[mode] + "\n")
    how = ["--field", "text"] if mode == "--field" else ["--chat"]
    _one_error(_tokcli(["count", "-t", "char", *how, "d.jsonl"], cwd=tmp_path),
               "d.jsonl:1: a lone surrogate escape (\\ud800)", "--errors replace")  # fmt: skip
    (tmp_path / "same.jsonl").write_text(line[mode].replace("\\ud800", "\ufffd") + "\n")
    r = _tokcli(["count", "-t", "char", "-f", "json", "--errors", "replace", *how, "d.jsonl"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    same = _tokcli(["count", "-t", "char", "-f", "json", *how, "same.jsonl"], cwd=tmp_path)
    assert same.returncode == 0 and r.stdout.replace("d.jsonl", "same.jsonl") == same.stdout
    if mode == "--field":
        assert json.loads(r.stdout)["statistics"][0]["total"] == len("hi \ufffd there")


def test_json_nested_too_deeply_or_too_wide_is_refused_before_parsing(tmp_path):
    (tmp_path / "deep.jsonl").write_text('{"text": "hi", "x": ' + "[" * 200_000 + "]" * 200_000 + "}\n")
    _one_error(_tokcli(["count", "-t", "char", "--field", "text", "deep.jsonl"], cwd=tmp_path),
               "deep.jsonl:1: JSON nested more than 100 levels deep", "TOKCLI_MAX_JSON_DEPTH")  # fmt: skip
    (tmp_path / "deep.json").write_text('{"messages": ' + "[" * 200_000 + "]" * 200_000 + "}")
    _one_error(_tokcli(["count", "-t", "char", "--chat", "deep.json"], cwd=tmp_path), "deep.json: JSON nested")
    wide = '{"text": "a, b, c", "x": [' + ",".join(["[]"] * 3_000_000) + "]}\n"
    (tmp_path / "wide.jsonl").write_text(wide)
    r, peak = _measured(["count", "-t", "char", "--field", "text", "wide.jsonl"], cwd=tmp_path, tmp_path=tmp_path)
    _one_error(r, "wide.jsonl:1: more than 1,000,000 JSON values", "TOKCLI_MAX_JSON_VALUES")
    assert peak < 1024
    # commas and brackets inside strings are text, not values
    (tmp_path / "text.jsonl").write_text(json.dumps({"text": "[{," * 400_000}) + "\n")
    r = _tokcli(["count", "-t", "char", "-f", "json", "--field", "text", "text.jsonl"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["statistics"][0]["total"] == 1_200_000


def test_a_chat_of_millions_of_messages_is_bounded(tmp_path):
    many = json.dumps({"messages": [{"role": "user", "content": "a"}] * 1_000_000})
    (tmp_path / "many.jsonl").write_text(many + "\n")
    (tmp_path / "many.json").write_text(many)
    for name in ("many.jsonl", "many.json"):
        r, peak = _measured(["count", "-t", "char", "--chat", name], cwd=tmp_path, tmp_path=tmp_path)
        _one_error(r, name, "JSON values")
        assert peak < 1024
    (tmp_path / "few.jsonl").write_text(json.dumps({"messages": [{"role": "user", "content": "a"}] * 30}) + "\n")
    r = _tokcli(["count", "-t", "char", "--chat", "few.jsonl"], cwd=tmp_path, env={"TOKCLI_MAX_MESSAGES": "20"})
    _one_error(r, "few.jsonl:1: 30 messages, more than the 20", "TOKCLI_MAX_MESSAGES")


def test_parquet_rows_and_chunks_too_large_are_refused_from_the_metadata(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"text": [f"{i} " + "word " * 20_000 for i in range(40)]}), tmp_path / "big.parquet",
                   row_group_size=40, use_dictionary=False)  # fmt: skip
    r = _tokcli(["count", "-t", "char", "--field", "text", "big.parquet"], cwd=tmp_path,
                env={"TOKCLI_MAX_LINE_BYTES": "50000"})  # fmt: skip
    _one_error(r, "big.parquet: row group 0 holds rows of", "more than 50,000", "TOKCLI_MAX_LINE_BYTES")
    r = _tokcli(["count", "-t", "char", "--field", "text", "big.parquet"], cwd=tmp_path,
                env={"TOKCLI_MAX_PARQUET_CHUNK_BYTES": "1000000"})  # fmt: skip
    _one_error(r, "big.parquet: row group 0 holds", "more than 1,000,000", "TOKCLI_MAX_PARQUET_CHUNK_BYTES")
    r = _tokcli(["count", "-t", "char", "-f", "json", "--field", "text", "big.parquet"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["statistics"][0]["total"] == sum(len(f"{i} ") + 100_000 for i in range(40))


def test_a_dictionary_encoded_parquet_column_stays_small(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    value = "hello world " * 20_000  # 240 kB, 2,000 times: 480 MB of text in a file of a few kB
    # written from a dictionary array (not 480 MB of strings in the test process), its Arrow schema left out:
    # a reader sees a plain string column whose pages are dictionary-encoded, as any writer makes them
    column = pa.DictionaryArray.from_arrays(pa.array([0] * 2000, pa.int32()), pa.array([value]))
    pq.write_table(pa.table({"text": column}), tmp_path / "dict.parquet", row_group_size=2000, store_schema=False)
    assert pq.read_schema(tmp_path / "dict.parquet").field("text").type == pa.string()
    assert "RLE_DICTIONARY" in pq.ParquetFile(tmp_path / "dict.parquet").metadata.row_group(0).column(0).encodings
    assert (tmp_path / "dict.parquet").stat().st_size < 100_000
    r, peak = _measured(["count", "-t", "char", "-f", "json", "--field", "text", "dict.parquet"], cwd=tmp_path,
                        tmp_path=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["statistics"][0]["total"] == len(value) * 2000
    assert peak < 400  # MB; a batch of 1,024 rows expanded is 250 MB of Arrow data and as much in Python


def test_a_glob_reads_hidden_names_it_spells_and_no_others(cli, tmp_path, monkeypatch):
    (tmp_path / ".h").mkdir()
    (tmp_path / ".h" / "x.txt").write_text("hey\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".y.txt").write_text("yo\n")
    (tmp_path / "sub" / "z.txt").write_text("z\n")
    monkeypatch.chdir(tmp_path)

    def names(*args):
        r = cli("count", "-t", "char", "-f", "json", *args)
        assert r.code == 0, r.err
        return [i["input"] for i in json.loads(r.out)["inputs"]]

    assert names(".h/*.txt", "sub/.*.txt") == [".h/x.txt", "sub/.y.txt"]
    assert names("**/*.txt") == ["sub/z.txt"]
    assert names("--hidden", "**/*.txt") == [".h/x.txt", "sub/.y.txt", "sub/z.txt"]
