"""The everyday commands from the outside: exit status, stdout and stderr asserted separately."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import tokcli
from tokcli.files.bundled import corpora_dir

EN = str(corpora_dir() / "en_prose.txt")
JA = str(corpora_dir() / "ja_prose.txt")


def test_count_bare_number_when_piped(cli):
    r = cli("count", "-t", "cl100k_base", EN)
    assert r.code == 0 and r.err == ""
    text = open(EN, encoding="utf-8").read()
    assert r.out == f"{tokcli.load('cl100k_base').count(text)}\n"


def test_count_several_tokenizers_and_inputs_side_by_side(cli):
    r = cli("count", "-t", "char", "-t", "bpe", EN, JA)
    assert r.code == 0
    lines = [line.split("\t") for line in r.out.splitlines()]
    assert lines[0] == ["input", "chars", "char", "bpe"]
    ja = open(JA, encoding="utf-8").read()
    assert lines[2] == [JA, str(len(ja)), str(tokcli.load("char").count(ja)), str(tokcli.load("bpe").count(ja))]
    assert lines[3][0] == "total" and int(lines[3][2]) == int(lines[1][2]) + int(lines[2][2])


def test_count_json(cli):
    r = cli("count", "--format", "json", "-t", "char", "-t", "word", "-", input="héllo wörld")
    doc = json.loads(r.out)
    assert doc["tokenizers"] == ["char", "word"]
    assert doc["inputs"][0] == {"input": "<stdin>", "chars": 11, "bytes": 13, "tokens": doc["total"]["tokens"]}
    assert doc["total"]["tokens"]["char"] == 11


def test_stdin_is_the_default_input_when_piped(cli):
    r = cli("count", "-t", "char", input="abc")
    assert (r.code, r.out) == (0, "3\n")


def test_no_input_on_a_terminal_is_a_usage_error(cli):
    r = cli("count")
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("error: no input") and r.err.count("\n") == 1


def test_empty_input_is_zero_tokens(cli, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert cli("count", str(empty)).out == "0\n"
    assert cli("encode", str(empty)).out == "\n"


def test_encode_decode_round_trip(cli):
    r = cli("encode", "-t", "bpe", input="To be, or not to be 🙂")
    ids = r.out.split()
    assert ids == [str(i) for i in tokcli.load("bpe").encode("To be, or not to be 🙂")]
    back = cli("decode", "-t", "bpe", *ids)
    assert back.out == "To be, or not to be 🙂"
    assert cli("decode", "-t", "bpe", input=" ".join(ids)).out == "To be, or not to be 🙂"
    assert cli("decode", "-t", "bpe", input=json.dumps([int(i) for i in ids])).out == "To be, or not to be 🙂"


def test_encode_tokens_and_json(cli):
    r = cli("encode", "-t", "cl100k_base", "--tokens", input="hello world\n")
    assert r.out.splitlines() == ["hello", " world", "\\n"]
    doc = json.loads(cli("encode", "-t", "cl100k_base", "--format", "json", "--tokens", input="hi").out)
    assert doc == {
        "schema": "tokcli-encode/1",
        "tokenizer": "cl100k_base",
        "inputs": [{"input": "<stdin>", "ids": [6151], "tokens": ["hi"]}],
    }


def test_show_plain_bracketed_form(cli):
    r = cli("show", "-t", "cl100k_base", "--text", "hello world")
    assert r.out == "[hello][ world]\n"
    r = cli("show", "-t", "cl100k_base", "--ids", "--text", "語")  # one character, two byte tokens
    assert r.out == "[語|45918,252]\n"


def test_decode_rejects_ids_outside_the_vocabulary(cli):
    r = cli("decode", "-t", "char", "5", "99999")
    assert r.code == 2 and r.out == ""
    assert r.err == "error: token id 99999 is outside the vocabulary of char (0..65)\n"


@pytest.mark.parametrize(
    "args,message",
    [
        (["count", "no/such/file.txt"], "error: no/such/file.txt: no such file or directory"),
        (["count", "-t", "nope", "-"], "error: unknown tokenizer 'nope'"),
        (["train", "bpe", "-", "-o", "x.json", "--vocab-size", "100"], "error: --vocab-size 100 cannot work"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(cli, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = cli(*args, input="some text")
    assert r.code == 2 and r.out == ""
    assert r.err.startswith(message) and r.err.count("\n") == 1


def test_binary_and_non_utf8_files(cli, tmp_path):
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"abc\x00def")
    r = cli("count", str(binary))
    assert r.code == 2 and "binary" in r.err and str(binary) in r.err
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"caf\xe9 ok")
    r = cli("count", "-t", "char", str(latin1))
    assert (
        r.code == 2
        and r.err
        == f"error: {latin1}: not valid UTF-8 at byte 3; convert it to UTF-8, or pass --errors replace to go on\n"
    )
    r = cli("count", "-t", "char", "--errors", "replace", str(latin1))
    assert (r.code, r.out) == (0, "7\n")

    # a character cut off by the end of the file, also after characters split across the reader's 1 MiB
    # blocks: the offset of its first byte in the whole file
    for data, at in ((b"caf\xc3", 3), (("a" + "é" * 600_000).encode() + b"\xe6\x97", 1_200_001)):
        cut = tmp_path / "cut.txt"
        cut.write_bytes(data)
        r = cli("count", "-t", "char", str(cut))
        assert (r.code, r.err) == (
            2, f"error: {cut}: not valid UTF-8 at byte {at}; convert it to UTF-8, or pass --errors replace to go on\n"
        )  # fmt: skip


def test_directory_inputs_and_a_directory_without_text(cli, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("one")
    (tmp_path / "a" / "sub").mkdir()
    (tmp_path / "a" / "sub" / "two.md").write_text("two")
    (tmp_path / "a" / "img.bin").write_bytes(b"\x00\x01")
    r = cli("count", "-t", "char", "--format", "json", str(tmp_path / "a"))
    assert [i["input"] for i in json.loads(r.out)["inputs"]] == [
        str(tmp_path / "a" / "one.txt"),
        str(tmp_path / "a" / "sub" / "two.md"),
    ]
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "img.bin").write_bytes(b"\x00\x01")
    r = cli("count", str(tmp_path / "b"))
    assert r.code == 2 and "has no text files" in r.err


def test_corrupt_tokenizer_file(cli, tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"model": 1}')
    r = cli("count", "-t", str(bad), input="x")
    assert r.code == 2 and r.err.startswith(f"error: {bad}: not a valid tokenizer.json")
    badspm = tmp_path / "x.model"
    badspm.write_bytes(b"\x01\x02garbage")
    r = cli("count", "-t", str(badspm), input="x")
    assert r.code == 2 and "not a valid sentencepiece model" in r.err


def test_train_writes_atomically_and_keeps_the_old_file_on_error(cli, tmp_path):
    out = tmp_path / "tok.json"
    r = cli("train", "char", "-", "-o", str(out), input="abcabc")
    assert r.code == 0 and r.out == "" and "3 characters" not in r.out
    before = out.read_bytes()
    r = cli("train", "bpe", "-", "-o", str(out), "--vocab-size", "10", input="abc")
    assert r.code == 2
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tok.json"]  # no temporary files left behind


def test_train_all_kinds_from_the_cli(cli, tmp_path):
    for kind, extra, name in [("word", [], "w.json"), ("bpe", ["--vocab-size", "400"], "b.json"),
                              ("unigram", ["--vocab-size", "1200"], "u.model"),
                              ("bpe", ["--vocab-size", "1200", "--backend", "sentencepiece"], "s.model")]:  # fmt: skip
        r = cli("train", kind, str(corpora_dir()), "-o", str(tmp_path / name), "-q", *extra)
        assert r.code == 0, r.err
        text = open(EN, encoding="utf-8").read()
        assert tokcli.load(str(tmp_path / name)).encode(text)


def _run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "tokcli", *args], capture_output=True, text=True, **kw)


def test_help_imports_no_heavy_library():
    code = (
        "import sys; from tokcli.cli import run; rc = run(['--help']);"
        "heavy = [m for m in ('tokenizers', 'tiktoken', 'splintr', 'sentencepiece', 'numpy', 'torch') if m in sys.modules];"
        "print(heavy); sys.exit(rc)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0
    assert r.stdout.strip().endswith("[]"), r.stdout


def test_closed_pipe_ends_quietly(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text(open(EN, encoding="utf-8").read() * 200)
    p = subprocess.run(f"{sys.executable} -m tokcli encode -t char --tokens {big} | head -1", shell=True,
                       capture_output=True, text=True)  # fmt: skip
    assert p.stdout == "T\n"
    assert p.stderr == ""


def test_debug_shows_the_traceback():
    r = _run("count", "no-such-file", env={**os.environ, "TOKCLI_DEBUG": "1"})
    assert r.returncode != 0 and "Traceback" in r.stderr
    r = _run("count", "no-such-file")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_python_api():
    tok = tokcli.load("cl100k_base")
    assert tokcli.count("hello world") == 2 == tok.count("hello world")
    trained = tokcli.train("bpe", tokcli.read([str(corpora_dir())]), vocab_size=300)
    assert trained.decode(trained.encode("Grüße 👋")) == "Grüße 👋"


def test_ctrl_c_ends_quietly_with_130_and_no_partial_output(tmp_path):
    """Ctrl-C while `train` is reading its input. The start marker is the input itself: training reads
    stdin, and a write of far more than a pipe holds returns only once the child has read most of it, so
    the child is then inside `train`; stdin stays open, so it cannot have finished. No sleep, no race."""
    import signal
    import threading

    block = "".join(p.read_text(encoding="utf-8") for p in corpora_dir().glob("*.txt")).encode()
    data = block * (-(-(4 << 20) // len(block)))  # 4 MiB: a pipe holds 64 KiB (1 MiB at most), a read 1 MiB
    out = tmp_path / "tok.json"
    p = subprocess.Popen([sys.executable, "-m", "tokcli", "train", "word", "-", "-o", str(out)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    watchdog = threading.Timer(120, p.kill)  # a child that never reads would block the write forever
    watchdog.start()
    try:
        p.stdin.write(data)
        p.stdin.flush()
        assert p.poll() is None  # still reading: the marker held, and it did not stop early
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        watchdog.cancel()
        p.kill()
        p.wait()
    assert p.returncode == 130
    assert stdout == b""
    assert stderr == b""  # quietly: no traceback, no message
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file


def test_count_with_models_shows_the_share_of_the_context(cli):
    text = open(EN, encoding="utf-8").read() * 20
    n = tokcli.load("cl100k_base").count(text)
    doc = json.loads(cli("count", "--format", "json", "-m", "gpt-4", "--reserve", "192", input=text).out)
    assert doc["tokenizers"] == ["cl100k_base"]
    (m,) = doc["models"]
    assert (m["model"], m["tokens"], m["context"], m["limit"], m["exact"]) == ("gpt-4", n, 8192, 8000, True)
    assert m["fits"] is (n <= 8000) and m["chunks"] == -(-n // 8000)
    r = cli("count", "-m", "gpt-4", input="short")
    assert r.code == 0 and "gpt-4" in r.out and r.out.count("\n") > 2  # a table, not a bare number


def test_show_on_a_directory_warns_about_the_files_it_leaves_out(cli, tmp_path):
    """show reads a directory as count and why do: a binary file is left out, with a warning on stderr."""
    (tmp_path / "日本語.txt").write_text("吾輩は猫である。\n", encoding="utf-8")
    (tmp_path / "img.bin").write_bytes(b"\x89PNG\x00\x00data")
    r = cli("show", "-t", "char", str(tmp_path), "--format", "json")
    assert r.code == 0
    assert r.err == f"warning: skipped {tmp_path / 'img.bin'}: binary file (a NUL byte in its first 8 KiB)\n"
    assert "吾" in r.out and "PNG" not in r.out
