"""Outputs never destroy what they should not (issue 11): what `-o PATH` may replace, temporary files on
SIGINT/SIGTERM, `lm train -o DIR` and `chunk --out-dir DIR` leaving other people's files alone, a full
disk on stdout, and a closed pipe."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import tokcli
from tokcli.errors import InputError, UsageError
from tokcli.files.atomic import atomic_write

JA = "東京は日本の首都です。大阪は食べ物がおいしい。\n京都には古いお寺がたくさんあります。\n\n"
ROOT = Path(__file__).resolve().parent.parent


def _listing(d: Path) -> dict[str, bytes | str]:
    """Every entry under d (hidden ones too) with its content, or its kind when not a regular file."""
    out: dict[str, bytes | str] = {}
    for p in sorted(d.rglob("*")):
        st = os.lstat(p)
        key = str(p.relative_to(d))
        out[key] = p.read_bytes() if stat.S_ISREG(st.st_mode) else stat.filemode(st.st_mode)[0]
    return out


def _tokcli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tokcli", *args], capture_output=True, text=True, timeout=60, **kw)


# -- 1. what atomic_write may replace -------------------------------------------------------------------
def test_an_output_that_is_a_directory_is_refused_by_every_command(cli, tmp_path):
    text = tmp_path / "ja.txt"
    text.write_text(JA * 20, encoding="utf-8")
    d = tmp_path / "out"
    d.mkdir()
    (d / "keep.txt").write_text("大事なファイル", encoding="utf-8")
    before = _listing(tmp_path)
    for args in (
        ["train", "char", str(text), "-o", str(d)],
        ["models", "-o", str(d)],
        ["check", "--max-tokens", "10000", "-t", "char", str(text), "-o", str(d)],
        ["compare", "-t", "char", "-t", "word", str(text), "-o", str(d)],
        ["attention", "the cat", "-m", "char", "--html", str(d)],
    ):
        r = cli(*args)
        assert r.code == 2, args
        assert r.out == "", args
        assert r.err.endswith(f"error: {d}: is a directory; give a path to a regular file\n"), (args, r.err)
        assert "Traceback" not in r.err
        assert _listing(tmp_path) == before, args  # nothing replaced, no temporary file left


def test_an_output_that_is_a_fifo_stays_a_fifo(cli, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = cli("train", "char", "-", "-o", str(fifo), input=JA)
    assert r.code == 2
    assert r.out == ""
    assert r.err == f"error: {fifo}: is a FIFO (named pipe); give a path to a regular file\n"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["fifo"]


def test_an_output_that_is_a_socket_is_refused(cli, tmp_path):
    path = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(path))
        r = cli("models", "-o", str(path))
        assert r.code == 2
        assert r.out == ""
        assert r.err == f"error: {path}: is a socket; give a path to a regular file\n"
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        s.close()


@pytest.mark.parametrize(
    "kind, name", [(stat.S_IFCHR, "a character device"), (stat.S_IFBLK, "a block device")], ids=["chr", "blk"]
)
def test_a_device_is_never_replaced(tmp_path, monkeypatch, kind, name):
    # no device node is made (not even as root): the path only *looks* like one to os.stat
    fake = tmp_path / "null"
    real_stat = os.stat

    def looks_like_a_device(p, *a, **kw):
        if Path(p) == fake:
            return os.stat_result((kind | 0o666, 0, 0, 1, 0, 0, 0, 0, 0, 0))
        return real_stat(p, *a, **kw)

    monkeypatch.setattr(os, "stat", looks_like_a_device)
    with pytest.raises(UsageError) as e:
        atomic_write(fake, "データ")
    assert str(e.value) == f"{fake}: is {name}; give a path to a regular file"
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []  # no temporary file either


def test_a_symlink_is_followed_and_its_target_replaced(cli, tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to("real.json")
    r = cli("train", "char", "-", "-o", str(link), input=JA)
    assert r.code == 0, r.err
    assert r.out == ""
    assert os.readlink(link) == "real.json"  # the link stays a link
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640  # the file keeps its mode
    tok = tokcli.load(str(target))
    assert tok.decode(tok.encode("東京")) == "東京"
    assert r.err == f"trained char tokenizer: {tok.vocab_size} tokens -> {link}\n"
    assert sorted(os.listdir(tmp_path)) == ["link.json", "real.json"]


def test_a_dangling_symlink_is_written_through_when_its_directory_exists(tmp_path):
    (tmp_path / "here").symlink_to("there.txt")
    atomic_write(tmp_path / "here", "こんにちは")
    assert (tmp_path / "there.txt").read_text(encoding="utf-8") == "こんにちは"
    assert os.readlink(tmp_path / "here") == "there.txt"

    (tmp_path / "nowhere").symlink_to("missing/x.txt")
    with pytest.raises(InputError) as e:
        atomic_write(tmp_path / "nowhere", "x")
    assert str(e.value).startswith(f"{tmp_path / 'nowhere'} (a link to {tmp_path / 'missing' / 'x.txt'}): directory ")
    assert str(e.value).endswith("does not exist; create it first")
    assert not (tmp_path / "missing").exists()


def test_modes_a_new_file_gets_the_umask_an_existing_file_keeps_its_own(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new.txt", "新しい")
        existing = tmp_path / "secret.txt"
        existing.write_text("古い", encoding="utf-8")
        os.chmod(existing, 0o600)
        atomic_write(existing, "新しい")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.txt").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(existing).st_mode) == 0o600
    assert existing.read_text(encoding="utf-8") == "新しい"


# -- 2. SIGINT and SIGTERM while an output is being written ---------------------------------------------
SLOW_FSYNC = """
import os, time
_fsync = os.fsync
def _slow_fsync(fd):
    open({marker!r}, "w").close()  # the temporary file exists and is being written: now is the moment
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.01)
    _fsync(fd)
os.fsync = _slow_fsync
"""


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["TERM", "INT"])
def test_a_signal_in_the_fsync_window_leaves_no_temporary_file(tmp_path, sig, code):
    hook = tmp_path / "hook"
    hook.mkdir()
    marker = tmp_path / "in-fsync"
    (hook / "sitecustomize.py").write_text(SLOW_FSYNC.format(marker=str(marker)), encoding="utf-8")
    text = tmp_path / "ja.txt"
    text.write_text(JA * 200, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "tok.json").write_text("前の版", encoding="utf-8")
    path = [str(hook), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    p = subprocess.Popen([sys.executable, "-m", "tokcli", "train", "char", str(text), "-o", str(out / "tok.json")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert marker.exists(), "the child never reached fsync"
        assert len(os.listdir(out)) == 2  # tok.json and the temporary file beside it
        p.send_signal(sig)
        stdout, stderr = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == code
    assert stdout == ""
    assert stderr == ""
    assert os.listdir(out) == ["tok.json"]
    assert (out / "tok.json").read_text(encoding="utf-8") == "前の版"


def test_sigterm_handler_is_restored_after_run(cli):
    before = signal.getsignal(signal.SIGTERM)
    r = cli("count", "-t", "char", input=JA)
    assert r.code == 0
    assert signal.getsignal(signal.SIGTERM) is before


# -- 3. lm train -o DIR replaces only tokcli's own model and checkpoint directories ---------------------
TINY = ["--layers", "1", "--heads", "2", "--width", "16", "--context", "16", "--dropout", "0", "--batch-size", "8",
        "--warmup", "5", "--steps", "10", "--eval-every", "10", "--checkpoint-every", "10", "--threads", "1", "-q"]  # fmt: skip
LM_TEXT = ("the cat sat on the mat. the dog ate the hat. 東京は日本の首都です。\n") * 20


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="training needs the train extra (pip install 'tokcli[train]')")


@pytest.fixture
def lm_text(tmp_path):
    p = tmp_path / "text.txt"
    p.write_text(LM_TEXT, encoding="utf-8")
    return p


def test_lm_train_refuses_a_directory_that_is_not_a_model(cli, torch, tmp_path, lm_text):
    d = tmp_path / "work"
    d.mkdir()
    (d / "thesis.txt").write_text("博士論文の最終稿", encoding="utf-8")
    before = _listing(tmp_path)
    r = cli("lm", "train", str(lm_text), "-t", "char", "-o", str(d), *TINY)
    assert r.code == 2
    assert r.out == ""
    assert r.err.startswith(f"error: {d}: not a tokcli model directory")
    assert r.err.count("\n") == 1
    assert _listing(tmp_path) == before  # thesis.txt there, unchanged; no checkpoint, no temporary directory


def test_lm_train_refuses_before_the_first_step(torch, tmp_path):
    from tokcli.lm.trainer import train_lm
    from tokcli.lm.trainoptions import TrainOptions

    d = tmp_path / "work"
    d.mkdir()
    (d / "thesis.txt").write_text("博士論文の最終稿", encoding="utf-8")
    steps: list[int] = []
    opts = TrainOptions(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=8, steps=10, threads=1)
    with pytest.raises(UsageError, match="not a tokcli model directory"):
        train_lm([LM_TEXT], tokcli.train("char", [LM_TEXT]), d, opts, on_progress=lambda r: steps.append(r.step))
    assert steps == []  # not one step trained
    assert sorted(os.listdir(tmp_path)) == ["work"]
    assert os.listdir(d) == ["thesis.txt"]


def test_lm_train_refuses_a_checkpoint_directory_it_did_not_write(cli, torch, tmp_path, lm_text):
    ckpt = tmp_path / "m.ckpt"
    ckpt.mkdir()
    (ckpt / "state.json").write_text('{"研究": "データ"}', encoding="utf-8")
    before = _listing(tmp_path)
    r = cli("lm", "train", str(lm_text), "-t", "char", "-o", str(tmp_path / "m"), *TINY)
    assert r.code == 2
    assert r.out == ""
    assert r.err.startswith(f"error: {ckpt}: not a tokcli checkpoint directory")
    assert _listing(tmp_path) == before


def test_lm_train_refuses_a_regular_file(cli, torch, tmp_path, lm_text):
    f = tmp_path / "m"
    f.write_text("ただのファイル", encoding="utf-8")
    r = cli("lm", "train", str(lm_text), "-t", "char", "-o", str(f), *TINY)
    assert r.code == 2
    assert r.out == ""
    assert r.err.startswith(f"error: {f}: exists and is not a directory")
    assert f.read_text(encoding="utf-8") == "ただのファイル"
    assert sorted(os.listdir(tmp_path)) == ["m", "text.txt"]


def test_lm_train_replaces_its_own_output_but_not_one_holding_other_files(cli, torch, tmp_path, lm_text):
    m = tmp_path / "m"
    m.mkdir()  # an empty directory is fine
    r = cli("lm", "train", str(lm_text), "-t", "char", "-o", str(m), *TINY)
    assert r.code == 0, r.err
    assert r.out == ""
    assert sorted(os.listdir(m)) == ["config.json", "model.safetensors", "tokenizer.json"]
    first = (m / "config.json").read_text(encoding="utf-8")
    r = cli("lm", "train", str(lm_text), "-t", "char", "-o", str(m), *TINY, "--seed", "2")
    assert r.code == 0, r.err
    assert (m / "config.json").read_text(encoding="utf-8") != first  # replaced: another seed's record
    assert sorted(os.listdir(tmp_path)) == ["m", "m.ckpt", "text.txt"]  # no .tmp or .old left beside it

    (m / "notes.md").write_text("メモ", encoding="utf-8")
    before = _listing(tmp_path)
    r = cli("lm", "train", str(lm_text), "-t", "char", "-o", str(m), *TINY)
    assert r.code == 2
    assert r.out == ""
    assert r.err.startswith(f"error: {m}: a tokcli model directory, but it also holds notes.md")
    assert _listing(tmp_path) == before


# -- 4. chunk --out-dir: all or nothing, no stale pieces, other files left alone ------------------------
def _piece(text: str) -> SimpleNamespace:
    return SimpleNamespace(text=text, tokens=len(text), start=0, end=len(text))


@pytest.mark.parametrize(
    "stop", [KeyboardInterrupt(), InputError("ja.txt: not valid UTF-8 at byte 1048600")], ids=["ctrl-c", "bad-input"]
)
def test_chunking_stopped_midway_leaves_the_directory_as_it_was(tmp_path, stop):
    from tokcli.output.chunks import pieces

    d = tmp_path / "chunks"
    d.mkdir()
    (d / "00001.txt").write_text("前回の一つ目", encoding="utf-8")
    (d / "notes.txt").write_text("メモ", encoding="utf-8")
    before = _listing(d)

    def stream():
        for i in range(5):
            yield _piece(f"断片{i}")
        raise stop

    with pytest.raises(type(stop)):
        pieces(stream(), out_dir=str(d))
    assert _listing(d) == before


def test_rechunking_replaces_the_old_pieces_and_keeps_other_files(cli, tmp_path):
    text = tmp_path / "ja.txt"
    text.write_text(JA * 30, encoding="utf-8")
    d = tmp_path / "chunks"
    d.mkdir()
    (d / "notes.txt").write_text("メモ", encoding="utf-8")
    r = cli("chunk", "-t", "char", "--max-tokens", "40", str(text), "--out-dir", str(d))
    assert r.code == 0, r.err
    assert r.out == ""
    many = sorted(n for n in os.listdir(d) if n != "notes.txt")
    assert len(many) > 20
    r = cli("chunk", "-t", "char", "--max-tokens", "400", str(text), "--out-dir", str(d))
    assert r.code == 0, r.err
    assert r.out == ""
    few = sorted(n for n in os.listdir(d) if n != "notes.txt")
    assert r.err == f"{len(few)} pieces, {len(JA * 30):,} tokens -> {d}/\n"
    assert few == [f"{i:05d}.txt" for i in range(1, len(few) + 1)]
    assert len(few) < len(many)
    assert "".join((d / n).read_text(encoding="utf-8") for n in few) == JA * 30  # exactly the new set
    assert (d / "notes.txt").read_text(encoding="utf-8") == "メモ"


def test_chunking_refuses_to_replace_a_numbered_entry_that_is_not_a_file(cli, tmp_path):
    d = tmp_path / "chunks"
    (d / "00002.txt").mkdir(parents=True)  # a directory that happens to have a piece's name
    (d / "00002.txt" / "data.txt").write_text("データ", encoding="utf-8")
    before = _listing(d)
    r = cli("chunk", "-t", "char", "--max-tokens", "10", "--out-dir", str(d), input=JA * 3)
    assert r.code == 2
    assert r.out == ""
    assert r.err == (
        f"error: --out-dir {d}: 00002.txt is not a regular file, so not a piece tokcli wrote; "
        "move it away or choose another directory\n"
    )
    assert _listing(d) == before


# -- 5. a full disk on stdout ---------------------------------------------------------------------------
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("args", [["encode", "-t", "char"], ["count", "-t", "char"]], ids=["encode", "count"])
def test_a_full_disk_on_stdout_is_one_error_line(tmp_path, args):
    text = tmp_path / "ja.txt"
    text.write_text(JA * 2000, encoding="utf-8")
    with open("/dev/full", "w") as full:  # writing to /dev/full changes nothing: it only says ENOSPC
        p = subprocess.run([sys.executable, "-m", "tokcli", *args, str(text)], stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=60)  # fmt: skip
    assert p.returncode == 2
    assert p.stderr == "error: cannot write to stdout: No space left on device; free some space, or write elsewhere\n"


# -- 6. a closed pipe: quiet, exit 0, on every command --------------------------------------------------
CLOSED_PIPE_COMMANDS = {
    "encode": ["encode", "-t", "char"],
    "chunk": ["chunk", "-t", "char", "--max-tokens", "5"],
    "truncate": ["truncate", "-t", "char", "--max-tokens", "50"],
    "count": ["count", "-t", "char"],
    "compare": ["compare", "-t", "char", "-t", "word"],
}


@pytest.fixture(scope="module")
def ja_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("pipe") / "ja.txt"
    p.write_text(JA * 500, encoding="utf-8")
    return p


def _into_closed_pipe(args: list[str]) -> subprocess.CompletedProcess:
    """Run tokcli with stdout a pipe whose reader has already gone: its first write fails with EPIPE."""
    r, w = os.pipe()
    os.close(r)
    try:
        return subprocess.run([sys.executable, "-m", "tokcli", *args], stdout=w, stderr=subprocess.PIPE, text=True,
                              timeout=60)  # fmt: skip
    finally:
        os.close(w)


@pytest.mark.parametrize("name", [*CLOSED_PIPE_COMMANDS, "generate"])
def test_a_closed_pipe_ends_quietly_with_0(name, ja_file):
    if name == "generate":
        args = ["generate", "ROMEO:", "-m", "char", "--max-tokens", "50", "--seed", "1"]
    else:
        args = [*CLOSED_PIPE_COMMANDS[name], str(ja_file)]
    p = _into_closed_pipe(args)
    assert p.returncode == 0
    assert p.stderr == ""


@pytest.mark.parametrize("args", [["encode", "-t", "char", "--tokens"], CLOSED_PIPE_COMMANDS["chunk"]],
                         ids=["encode", "chunk"])  # fmt: skip
def test_a_reader_that_stops_early_ends_tokcli_quietly(args, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text(JA * 3000, encoding="utf-8")  # far more output than a pipe holds
    reader = subprocess.Popen([sys.executable, "-c", "import sys; print(sys.stdin.readline(), end='')"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        p = subprocess.run([sys.executable, "-m", "tokcli", *args, str(big)],
                           stdout=reader.stdin, stderr=subprocess.PIPE, text=True, timeout=60)  # fmt: skip
        reader.stdin.close()
        first = reader.stdout.read()
    finally:
        reader.wait(timeout=30)
    assert p.returncode == 0
    assert p.stderr == ""
    assert first.endswith("\n") and first.count("\n") == 1
