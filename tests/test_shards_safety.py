"""Issue 26, shard directories: `encode --to` writes only inside its directory, keeps a shard only when its
input bytes are the ones encoded, leaves an index a rerun resumes from on any stop, and refuses a second
writer; `lm train DIR` checks the index and the ids before training; `lm train` refuses options that train
nothing and an output place it cannot write, before reading any input."""

from __future__ import annotations

import errno
import fcntl
import json
import os

import numpy as np
import pytest

from tokcli import load
from tokcli.workers import encode_to


def shard_ids(directory) -> list[int]:
    index = json.loads((directory / "index.json").read_text(encoding="utf-8"))
    dtype = np.dtype(index["dtype"]).newbyteorder("<")
    return [int(i) for s in index["shards"] for i in np.fromfile(directory / s["file"], dtype=dtype)]


def encoded(text: str) -> list[int]:
    return list(load("char").encode(text))


def one_error_line(err: str, *needles: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_a_shard_that_is_a_symbolic_link_is_refused_and_its_target_untouched(cli, tmp_path):
    text = tmp_path / "a.txt"
    text.write_text("hello world\n", encoding="utf-8")
    out = tmp_path / "D"
    assert cli("encode", "-t", "char", "--to", out, text).code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n", encoding="utf-8")
    (out / "shard-00000.bin").unlink()
    (out / "shard-00000.bin").symlink_to("../victim.txt")
    r = cli("encode", "-t", "char", "--to", out, text)
    assert r.code == 2
    one_error_line(r.err, "shard-00000.bin: is a symbolic link", "remove it")
    assert victim.read_text(encoding="utf-8") == "mine\n"
    (out / "index.json").rename(tmp_path / "saved.json")
    (out / "index.json").symlink_to("../victim.txt")  # the index too: never written through
    r = cli("encode", "-t", "char", "--to", out, text)
    assert r.code == 2 and victim.read_text(encoding="utf-8") == "mine\n"


def test_a_changed_input_of_the_same_size_and_time_is_encoded_again(cli, tmp_path):
    text = tmp_path / "a.txt"
    text.write_text("hello world\n", encoding="utf-8")
    out = tmp_path / "D"
    assert cli("encode", "-t", "char", "--to", out, text).code == 0
    assert shard_ids(out) == encoded("hello world\n")
    st = os.stat(text)
    text.write_text("hello there\n", encoding="utf-8")  # same size
    os.utime(text, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same time
    r = cli("encode", "-t", "char", "--to", out, text)
    assert r.code == 0 and "kept" not in r.err
    assert shard_ids(out) == encoded("hello there\n")
    # truncated, then the same bytes back: the content decides, so the shard is kept
    text.write_bytes(b"")
    text.write_text("hello there\n", encoding="utf-8")
    r = cli("encode", "-t", "char", "--to", out, text)
    assert r.code == 0 and "1 kept from an earlier run" in r.err
    assert shard_ids(out) == encoded("hello there\n")


def test_a_run_stopped_by_a_bad_input_resumes_after_the_fix(cli, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("".join(f"line {i} of the big file\n" for i in range(2000)), encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9 au lait\n")  # Latin-1
    out = tmp_path / "D"
    args = ("encode", "-t", "char", "--to", out, "--task-bytes", "4096", big, bad)
    r = cli(*args)
    assert r.code == 2
    one_error_line(r.err, "bad.txt: not valid UTF-8")
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert index["complete"] is False and len(index["shards"]) >= 1  # what finished is entered
    bad.write_text("cafe au lait\n", encoding="utf-8")
    r = cli(*args)
    assert r.code == 0 and "kept from an earlier run" in r.err
    fresh = tmp_path / "E"
    assert cli("encode", "-t", "char", "--to", fresh, "--task-bytes", "4096", big, bad).code == 0
    assert shard_ids(out) == shard_ids(fresh)


def test_an_interrupted_run_leaves_an_index_to_resume_from(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("".join(f"line {i}\n" for i in range(3000)), encoding="utf-8")
    out = tmp_path / "D"
    calls = []

    def progress(state):
        calls.append(state)
        if len(calls) == 3:  # two shards done: Ctrl-C
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        encode_to([str(big)], "char", str(out), task_bytes=4096, progress=progress)
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert index["complete"] is False and len(index["shards"]) == 2
    done = encode_to([str(big)], "char", str(out), task_bytes=4096)
    assert done.kept == 2 and done.index["complete"] is True
    assert shard_ids(out) == encoded(big.read_text(encoding="utf-8"))


def test_a_second_writer_is_refused_with_the_pid_of_the_first(cli, tmp_path):
    text = tmp_path / "a.txt"
    text.write_text("hello world\n", encoding="utf-8")
    out = tmp_path / "D"
    out.mkdir()
    fd = os.open(out / ".tokcli.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"4242\n")
        r = cli("encode", "-t", "char", "--to", out, text)
        assert r.code == 2
        one_error_line(r.err, "is being written by another tokcli (pid 4242)")
        assert not (out / "index.json").exists()
    finally:
        os.close(fd)
    assert cli("encode", "-t", "char", "--to", out, text).code == 0  # the lock released: it runs
    assert shard_ids(out) == encoded("hello world\n")


def test_a_resumed_index_with_entries_of_the_wrong_types_is_encoded_again(cli, tmp_path):
    text = tmp_path / "a.txt"
    text.write_text("hello world\n", encoding="utf-8")
    out = tmp_path / "D"
    assert cli("encode", "-t", "char", "--to", out, text).code == 0
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    index["shards"] = [{**index["shards"][0], "file": ["x"]}, {**index["shards"][0], "tokens": -1}, "junk"]
    (out / "index.json").write_text(json.dumps(index), encoding="utf-8")
    r = cli("encode", "-t", "char", "--to", out, text)
    assert r.code == 0 and "kept" not in r.err
    assert shard_ids(out) == encoded("hello world\n")


def test_a_directory_that_is_not_ours_gets_no_lock_file(cli, tmp_path):
    text = tmp_path / "a.txt"
    text.write_text("hello\n", encoding="utf-8")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep\n", encoding="utf-8")
    r = cli("encode", "-t", "char", "--to", mine, text)
    assert r.code == 2
    one_error_line(r.err, "is not empty and has no index.json")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


# -- shard directories as the input of lm train ---------------------------------------------------------


@pytest.fixture
def shards(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog\n" * 40, encoding="utf-8")
    out = tmp_path / "S"
    encode_to([str(text)], "char", str(out))
    return out


def _edit_index(directory, change) -> None:
    index = json.loads((directory / "index.json").read_text(encoding="utf-8"))
    change(index)
    (directory / "index.json").write_text(json.dumps(index), encoding="utf-8")


TRAIN = ("lm", "train", "-t", "char", "--steps", "1", "--layers", "1", "--width", "8", "--heads", "2",
         "--context", "8", "--batch-size", "2", "-q")  # fmt: skip


def test_shard_ids_beyond_the_vocabulary_are_refused_before_training(cli, shards, tmp_path):
    pytest.importorskip("torch")
    ids = np.fromfile(shards / "shard-00000.bin", dtype="<u2")
    ids[7] = 60000
    ids.tofile(shards / "shard-00000.bin")
    r = cli(*TRAIN, "-o", tmp_path / "M", shards)
    assert r.code == 2
    one_error_line(r.err, "holds id 60000, outside the vocabulary (0..")
    assert not (tmp_path / "M").exists() and not (tmp_path / "M.ckpt").exists()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda ix: ix.update(shards=ix["shards"] * 50_000), "lists shard-00000.bin more than once"),
        (lambda ix: ix["shards"][0].update(file=["x"]), "not an index `tokcli encode --to` writes"),
        (lambda ix: ix["shards"][0].update(tokens="12"), "not an index `tokcli encode --to` writes"),
        (lambda ix: ix["tokenizer"].update(vocab_size=1 << 20), "a vocabulary of 1048576 ids in uint16"),
        (lambda ix: ix.update(complete="yes"), "did not finish"),
    ],
)
def test_a_hostile_index_is_one_error_line(cli, shards, tmp_path, change, says):
    pytest.importorskip("torch")
    _edit_index(shards, change)
    r = cli(*TRAIN, "-o", tmp_path / "M", shards)
    assert r.code == 2
    one_error_line(r.err, says)


def test_an_index_larger_than_the_limit_is_not_read(cli, shards, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    with open(shards / "index.json", "r+b") as f:
        f.truncate(3 << 30)  # 3 GB, sparse: read whole it would exhaust memory
    r = cli(*TRAIN, "-o", tmp_path / "M", shards)
    assert r.code == 2
    one_error_line(r.err, "is more than the 268435456 bytes tokcli reads as a shard index", "TOKCLI_MAX_INDEX_BYTES")


# -- lm train options and output place ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "says"),
    [
        # out of the ranges `lm train --help` shows: refused by Typer while parsing
        (("--lr", "inf"), "Invalid value for '--lr': Input should be less than or equal to 1"),
        (("--lr", "nan"), "Invalid value for '--lr'"),
        (("--context", "0"), "Invalid value for '--context': Input should be greater than or equal to 1"),
        (("--layers", "0"), "Invalid value for '--layers': Input should be greater than or equal to 1"),
        (("--steps", "0"), "Invalid value for '--steps': Input should be greater than or equal to 1"),
        (("--dropout", "1"), "Invalid value for '--dropout': Input should be less than or equal to 0.999"),
        # in range for Typer, refused by check_options
        (("--lr", "0"), "--lr 0.0: give a learning rate above 0"),
    ],
)
def test_options_that_train_nothing_are_refused(cli, shards, tmp_path, option, says):
    pytest.importorskip("torch")
    args = [a for a in TRAIN if a not in option[:1]]
    if option[0] in args:  # drop the default this test replaces
        i = args.index(option[0])
        del args[i : i + 2]
    r = cli(*args, *option, "-o", tmp_path / "M", shards)
    assert r.code == 2
    one_error_line(r.err, says)
    assert not (tmp_path / "M").exists()


def test_a_diverging_run_says_so_and_writes_no_model(cli, shards, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from tokcli.lm import trainer

    # --lr is at most 1 now; a schedule that returns 1e30 makes the run diverge as --lr 1e30 did
    monkeypatch.setattr(trainer, "lr_at", lambda step, o: 1e30)
    args = list(TRAIN)
    args[args.index("--steps") + 1] = "3"  # the first loss is computed before any update
    r = cli(*args, "-o", tmp_path / "M", shards)
    assert r.code == 2
    one_error_line(r.err, "training diverged: the loss is nan at step 2", "lower --lr")
    assert "model written" not in r.err and not (tmp_path / "M").exists()


def test_resume_at_or_past_the_steps_is_refused(cli, shards, tmp_path):
    pytest.importorskip("torch")
    args = list(TRAIN)
    i = args.index("--steps")
    args[i + 1] = "2"
    assert cli(*args, "-o", tmp_path / "M", shards).code == 0
    for steps in ("2", "1"):
        args[i + 1] = steps
        r = cli(*args, "--resume", "-o", tmp_path / "M", shards)
        assert r.code == 2
        one_error_line(r.err, "--resume: the checkpoint at", "is at step 2", "give --steps above 2")


def test_an_output_place_that_cannot_be_written_is_refused_before_training(cli, shards, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    import tokcli.lm.outdir as outdir
    import tokcli.lm.trainer as trainer

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    trained = []
    monkeypatch.setattr(outdir.tempfile, "mkdtemp", read_only)
    monkeypatch.setattr(trainer, "shard_split", lambda *a: trained.append(a))
    r = cli(*TRAIN, "-o", tmp_path / "ro" / "m", shards)
    assert r.code == 2
    one_error_line(r.err, "directory", "does not exist")
    (tmp_path / "ro").mkdir()
    r = cli(*TRAIN, "-o", tmp_path / "ro" / "m", shards)
    assert r.code == 2
    one_error_line(r.err, "cannot write the model there (Read-only file system)", "writable")
    assert trained == []  # refused before the data was read


def test_sigterm_at_any_time_leaves_a_directory_the_rerun_completes(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    big = tmp_path / "big.txt"
    big.write_text(
        "".join(f"line {i} of a file long enough to take a while\n" for i in range(60_000)), encoding="utf-8"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = tmp_path / "D"
    args = [sys.executable, "-m", "tokcli", "encode", "-t", "char", "--to", str(out), "--task-bytes", "4096", str(big)]
    for wait_for, then in ((".tokcli.lock", 0.0), ("index.json", 0.3)):  # as D is made; while shards are written
        p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not (out / wait_for).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(then)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
        assert p.returncode == 143, err  # stopped (60,000 lines in 4 KiB shards take seconds to write)
        if wait_for == "index.json":
            assert json.loads((out / "index.json").read_text(encoding="utf-8"))["complete"] is False
        r = subprocess.run(args, env=env, capture_output=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert shard_ids(out) == encoded(big.read_text(encoding="utf-8"))
        for f in out.iterdir():
            f.unlink()
