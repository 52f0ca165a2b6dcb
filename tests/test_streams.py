"""Issue 26, stream states: stdin left non-blocking by a parent, closed standard streams, read errors, and
stdin that does not end (decode, a piped prompt): the right exit status and one `error:` line, never a
crash, a wrong answer or unbounded memory."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tokcli import load

REPO = Path(__file__).resolve().parents[1]


def tokcli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "tokcli", *args], env=env, capture_output=True, timeout=120,
                          **kwargs)  # fmt: skip


def nonblocking_pipe(data: bytes, delay: float = 1.0) -> int:
    """The read end of a pipe in O_NONBLOCK mode; `data` is written into it after `delay` seconds, then it ends."""
    r, w = os.pipe()
    fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)

    def later() -> None:
        time.sleep(delay)
        os.write(w, data)
        os.close(w)

    threading.Thread(target=later, daemon=True).start()
    return r


def test_a_non_blocking_stdin_is_waited_for(tmp_path):
    r = nonblocking_pipe(b"hello world\n")
    p = tokcli("count", "-t", "char", "--format", "json", stdin=r)
    os.close(r)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["inputs"][0]["tokens"]["char"] == len(load("char").encode("hello world\n"))


def test_a_non_blocking_stdin_of_records_is_waited_for(tmp_path):
    r = nonblocking_pipe(b'{"text": "hello world"}\n{"text": "again"}\n')
    p = tokcli("count", "-t", "char", "--field", "text", stdin=r)
    os.close(r)
    assert p.returncode == 0, p.stderr
    assert "(2 records)" in p.stdout.decode()


def _close_fd(fd: int):
    return lambda: os.close(fd)


def test_with_stderr_closed_a_bad_input_is_still_exit_2(tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9\n")
    p = tokcli("count", "-t", "char", str(bad), preexec_fn=_close_fd(2))
    assert p.returncode == 2
    out = tmp_path / "tok.json"
    p = tokcli("train", "char", str(bad), "-o", str(out), preexec_fn=_close_fd(2))
    assert p.returncode == 2 and not out.exists()


def test_with_stdout_closed_data_is_not_reported_as_written(tmp_path):
    text = tmp_path / "a.txt"
    text.write_text("hello\n", encoding="utf-8")
    p = tokcli("encode", "-t", "char", str(text), preexec_fn=_close_fd(1))
    assert p.returncode == 2
    assert p.stderr.decode().splitlines() == [
        "error: cannot write to stdout: it is closed; give the command somewhere to write (e.g. > file)"
    ]


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_a_read_error_is_a_read_error(cli):
    r = cli("count", "-t", "char", "/proc/self/mem")  # reading offset 0 of it fails with EIO
    assert r.code == 2
    assert r.err == "error: /proc/self/mem: cannot read it (Input/output error); give a readable text file\n"


def test_decode_refuses_a_stream_that_is_no_ids_after_one_block():
    with open("/dev/zero", "rb") as zero:
        p = tokcli("decode", "-t", "char", stdin=zero)
    assert p.returncode == 2
    shown = repr("\x00" * 40 + "...")  # the first 40 characters of the word, not the megabyte read
    assert p.stderr.decode() == f"error: {shown} is not a token id: give integers, e.g. `tokcli decode 15339 1917`\n"


def test_decode_reads_ids_across_blocks_and_stops_at_its_limit(tmp_path):
    tok = load("char")
    ids = tok.encode("hello world, " * 40_000)  # more than one 1 MiB block of ids
    data = (" ".join(map(str, ids)) + "\n").encode()
    p = tokcli("decode", "-t", "char", input=data)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode() == tok.decode(ids)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TOKCLI_MAX_DECODE_BYTES": "100000"}
    p2 = subprocess.run([sys.executable, "-m", "tokcli", "decode", "-t", "char"], input=data, env=env,
                        capture_output=True, timeout=120)  # fmt: skip
    assert p2.returncode == 2 and p2.stdout == b""
    assert p2.stderr.decode().splitlines() == [
        "error: <stdin>: more than 100,000 bytes of ids, the most `decode` reads; decode them in parts "
        "(e.g. with split), or set TOKCLI_MAX_DECODE_BYTES to a larger number of bytes"
    ]


def test_a_piped_prompt_past_the_limit_is_refused(cli, monkeypatch):
    monkeypatch.setenv("TOKCLI_MAX_PROMPT_BYTES", "1000")
    r = cli("next", "-m", "char", "-", input="hello " * 1000)
    assert r.code == 2
    assert r.err.startswith("error: <stdin>: more than 1,000 bytes, the most tokcli reads as a prompt")
    assert len(r.err.splitlines()) == 1
    r = cli("next", "-m", "char", "-", input="hello " * 100)
    assert r.code == 0
