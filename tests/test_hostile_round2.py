"""Issue 22, "Hostile input, round 2": each case was reproduced on main before the fix (the exit status or
failure is in its comment). Bad input is one `error:` line on stderr and exit 2: never exit 3, a Rust
abort, a hang or more than 1 GB of memory. Cases about aborts, memory or hangs run in a subprocess under
a 1.5 GB address-space limit and a timeout; the rest in-process.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tokcli.model.limits import MAX_SAMPLES, MAX_TOKENS, MAX_TOTAL_TOKENS
from tokcli.tokenizer.filecheck import DEFAULT_MAX_ENTRIES, _nested_repetition

ROOT = Path(__file__).resolve().parent.parent
MEMORY = 1536 << 20


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _tokcli(*args: object, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60, input: bytes = b""):
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tokcli", *map(str, args)], cwd=cwd, env=environ, input=input,
        capture_output=True, timeout=timeout, preexec_fn=_limit_memory,
    )  # fmt: skip


def _one_error(err: str | bytes, start: str) -> None:
    if isinstance(err, bytes):
        err = err.decode("utf-8", "replace")
    assert err.startswith(start), err
    assert err.count("\n") == 1 and err.endswith("\n"), err


def _word_level(vocab: dict[str, int], *, unk: str = "[UNK]", normalizer=None, pre=None) -> dict:
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": normalizer,
        "pre_tokenizer": pre or {"type": "Whitespace"}, "post_processor": None, "decoder": None,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": unk},
    }  # fmt: skip


def _write(tmp_path: Path, spec: dict, name: str = "tok.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


# -- A. tokenizer files ---------------------------------------------------------------------------------
def test_a_huge_token_id_is_refused_before_tokenizers_allocates(tmp_path):
    """Was `memory allocation of 8589934592 bytes failed` and a Rust abort (exit 134)."""
    tok = _write(tmp_path, _word_level({"[UNK]": 0, "a": 4_000_000_000}))
    (tmp_path / "in.txt").write_text("a b\n")
    r = _tokcli("count", "-t", tok, "in.txt", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (2, b"")
    _one_error(r.stderr, f"error: {tok}: token 'a' has id 4000000000, outside 0..")


def test_a_replace_normalizer_that_multiplies_the_text_is_refused(tmp_path):
    """Was an abort after 2.5 GB on a few hundred KB of text."""
    norm = {"type": "Replace", "pattern": {"Regex": "."}, "content": "x" * 10_000}
    tok = _write(tmp_path, _word_level({"[UNK]": 0, "a": 1}, normalizer=norm))
    (tmp_path / "in.txt").write_text("a " * 200_000)
    r = _tokcli("count", "-t", tok, "in.txt", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (2, b"")
    _one_error(r.stderr, f"error: {tok}: its normalizer's Replace steps make a text up to 10,000 times longer")
    assert b"TOKCLI_MAX_EXPANSION" in r.stderr


def test_replace_steps_multiply_in_a_sequence(cli, tmp_path):
    step = {"type": "Replace", "pattern": {"String": "a"}, "content": "aaaaa"}  # 5x each: 25x in all
    norm = {"type": "Sequence", "normalizers": [step, step]}
    tok = _write(tmp_path, _word_level({"[UNK]": 0, "a": 1}, normalizer=norm))
    r = cli("count", "-t", tok, "-", input="a a")
    assert (r.code, r.out) == (2, "")
    _one_error(r.err, f"error: {tok}: its normalizer's Replace steps make a text up to 25 times longer")
    one = _write(tmp_path, _word_level({"[UNK]": 0, "a": 1}, normalizer=step), "one.json")  # 5x: fine
    r = cli("count", "-t", one, "-", input="a a")
    assert (r.code, r.out) == (0, "2\n")  # "aaaaa" is one unknown word each


def test_a_catastrophic_split_regex_is_refused(tmp_path):
    """`(a+)+$` was a Rust panic and its traceback (exit 1)."""
    pre = {"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated", "invert": False}
    tok = _write(tmp_path, _word_level({"[UNK]": 0, "a": 1}, pre=pre))
    (tmp_path / "in.txt").write_text("a" * 60 + "b\n")
    r = _tokcli("count", "-t", tok, "in.txt", cwd=tmp_path, timeout=30)
    assert (r.returncode, r.stdout) == (2, b"")
    _one_error(r.stderr, f"error: {tok}: the regex '(a+)+$' repeats a group that itself repeats without bound")


def test_a_rust_panic_past_the_checks_is_exit_2_not_a_traceback(tmp_path):
    """`(a|aa)+$` passes the pattern check; Oniguruma's retry limit panics (a BaseException in Python)."""
    pre = {"type": "Split", "pattern": {"Regex": "(a|aa)+$"}, "behavior": "Isolated", "invert": False}
    tok = _write(tmp_path, _word_level({"[UNK]": 0, "a": 1}, pre=pre))
    (tmp_path / "in.txt").write_text("a" * 60 + "b\n")
    r = _tokcli("count", "-t", tok, "in.txt", cwd=tmp_path, env={"RUST_BACKTRACE": "0"}, timeout=60)
    assert (r.returncode, r.stdout) == (2, b"")
    err = r.stderr.decode()
    assert "Traceback" not in err and "PanicException" not in err
    # Rust's own panic hook writes its lines first (nothing in Python can stop it); ours is the last
    assert err.splitlines()[-1].startswith("error: the tokenizer failed on this input (Onig"), err


@pytest.mark.parametrize(
    "pattern",
    [r"(a+)+$", r"(?:x*y)*", r"(a{2,})+", r"((a)+b)*", r"(\s+)+", r"(?:[ab]+){3,}"],
)
def test_nested_repetition_is_found(pattern):
    assert _nested_repetition(pattern)


@pytest.mark.parametrize(
    "pattern",
    [r"(a+)?", r"(a+){1,3}", r"(ab)+", r"a++", r"\(a+\)+", r"[(a+)]+", r"[\]a-z]+",
     r"(?i:'s|'t|'re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
     r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"],
)  # fmt: skip
def test_real_patterns_pass_the_regex_check(pattern):
    assert not _nested_repetition(pattern)


def test_a_word_level_file_without_its_unknown_token_is_refused(cli, tmp_path):
    """Was exit 3 (`WordLevel error: Missing [UNK] token from the vocabulary`) on the first unknown word."""
    tok = _write(tmp_path, _word_level({"a": 0, "b": 1}))
    r = cli("count", "-t", tok, "-", input="a c")
    assert (r.code, r.out) == (2, "")
    _one_error(r.err, f"error: {tok}: its WordLevel model's unknown token '[UNK]' is not in its vocabulary")


def test_a_ten_million_entry_vocabulary_is_refused_unparsed(tmp_path):
    """Was over 1 GB of memory (tokenizers holds ~300 bytes an entry); refused from the file's bytes."""
    path = tmp_path / "big.json"
    head = json.dumps(_word_level({"[UNK]": 0}))
    head = head[: head.rindex("}}")].replace('"[UNK]": 0}', '"[UNK]": 0')
    with path.open("w") as f:
        f.write(head)
        step = 1_000_000
        for start in range(1, 10_000_001, step):
            f.write("".join(f',"{i:x}":{i}' for i in range(start, start + step)))
        f.write("}}}")
    r = _tokcli("count", "-t", path, "-", cwd=tmp_path, env={"TOKCLI_MAX_TOKENIZER_BYTES": str(1 << 30)}, input=b"a")
    assert (r.returncode, r.stdout) == (2, b"")
    _one_error(r.stderr, f"error: {path}: about 10,000,0")
    assert f"more than the {DEFAULT_MAX_ENTRIES:,} tokcli loads (TOKCLI_MAX_VOCAB_ENTRIES".encode() in r.stderr


def test_the_entry_limit_is_the_users_to_change(cli, tmp_path, monkeypatch):
    tok = _write(tmp_path, _word_level({"[UNK]": 0, **{f"w{i}": i + 1 for i in range(50)}}))
    monkeypatch.setenv("TOKCLI_MAX_VOCAB_ENTRIES", "20")
    r = cli("count", "-t", tok, "-", input="w1 w2")
    assert (r.code, r.out) == (2, "")
    _one_error(r.err, f"error: {tok}: 51 vocabulary entries are more than the 20 tokcli loads")
    monkeypatch.setenv("TOKCLI_MAX_VOCAB_ENTRIES", "51")
    r = cli("count", "-t", tok, "-", input="w1 w2")
    assert (r.code, r.out, r.err) == (0, "2\n", "")


def test_a_sentencepiece_model_with_too_many_pieces_is_refused(cli, tmp_path, monkeypatch):
    import tokcli
    from tokcli.tokenizer.spm import SentencePiece

    text = "the quick brown fox jumps over the lazy dog\n" * 200
    model = tmp_path / "u.model"
    tok = tokcli.train("bpe", [text], vocab_size=300, backend="sentencepiece")
    assert isinstance(tok, SentencePiece)
    tok.save(str(model))
    monkeypatch.setenv("TOKCLI_MAX_VOCAB_ENTRIES", "100")
    r = cli("count", "-t", model, "-", input="the fox")
    assert (r.code, r.out) == (2, "")
    _one_error(r.err, f"error: {model}: more than 100 vocabulary entries are more than the 100 tokcli loads")
    monkeypatch.delenv("TOKCLI_MAX_VOCAB_ENTRIES")
    r = cli("count", "-t", model, "-", input="the fox")
    assert r.code == 0 and int(r.out) > 0


# -- B. model directories: the n-gram tables -------------------------------------------------------------
def _model_copy(tmp_path: Path) -> Path:
    import shutil

    from tokcli.files.bundled import models_dir

    dst = tmp_path / "m"
    shutil.copytree(Path(models_dir()) / "en", dst)
    return dst


def test_ngrams_that_are_not_a_zip_are_refused(cli, tmp_path):
    """Was exit 3 (BadZipFile)."""
    m = _model_copy(tmp_path)
    (m / "ngrams.npz").write_bytes(b"not a zip at all\n")
    r = cli("score", "To be", "-c", " or", "-m", m, "--ladder")
    assert (r.code, r.out) == (2, "")
    _one_error(r.err, f"error: {m / 'ngrams.npz'}: not a tokcli n-gram file (File is not a zip file)")


def test_an_npz_bomb_is_refused_from_its_zip_directory(tmp_path):
    """2 MB compressed, 2 GiB unpacked: was over 1 GB of memory before any format check."""
    m = _model_copy(tmp_path)
    with zipfile.ZipFile(m / "ngrams.npz", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("meta.npy", "w", force_zip64=True) as f:
            block = bytes(1 << 20)
            for _ in range(2048):
                f.write(block)
    r = _tokcli("score", "To be", "-c", " or", "-m", m, "--ladder", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (2, b"")
    _one_error(r.stderr, f"error: {m / 'ngrams.npz'}: its arrays unpack to 2,147,483,648 bytes, more than")


def test_an_npy_header_claiming_more_than_its_member_holds_is_refused(tmp_path):
    import numpy as np

    m = _model_copy(tmp_path)
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, dtype=np.uint8))
    header["shape"] = (10**11,)
    buf = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(m / "ngrams.npz", "w") as z:
        z.writestr("meta.npy", buf.getvalue() + b"x")
    r = _tokcli("score", "To be", "-c", " or", "-m", m, "--ladder", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (2, b"")
    _one_error(r.stderr, f"error: {m / 'ngrams.npz'}: meta.npy claims more data than it holds")


# -- C. the environment ----------------------------------------------------------------------------------
def test_an_ascii_stdout_gets_escapes_not_a_crash(tmp_path):
    """PYTHONIOENCODING=ascii (a real CI setting) was exit 3 (UnicodeEncodeError) on any non-ASCII name."""
    name = "caf\u00e9 \U0001f600.txt"
    (tmp_path / name).write_text("hello\n", encoding="utf-8")
    r = _tokcli("count", "-t", "char", name, "--format", "json", cwd=tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 0, r.stderr
    r.stdout.decode("ascii")  # only ASCII was written
    doc = json.loads(r.stdout)
    assert doc["inputs"][0]["input"] == name  # the JSON escapes lose nothing
    _one_error(r.stderr, "warning: stdout's encoding (ascii) cannot write some characters")


def test_an_ascii_stdout_without_special_characters_says_nothing(tmp_path):
    (tmp_path / "a.txt").write_text("hello\n")
    r = _tokcli("count", "-t", "char", "a.txt", cwd=tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert (r.returncode, r.stdout, r.stderr) == (0, b"6\n", b"")


@pytest.mark.parametrize("value", ["99999999999999999999999999", str((1 << 40) + 1)])
def test_a_limit_from_the_environment_past_its_range_is_refused(cli, tmp_path, monkeypatch, value):
    """TOKCLI_MAX_LINE_BYTES=99999999999999999999999999 was exit 3 (OverflowError)."""
    chat = tmp_path / "c.json"
    chat.write_text('{"messages": [{"role": "user", "content": "hi"}]}')
    monkeypatch.setenv("TOKCLI_MAX_LINE_BYTES", value)
    r = cli("count", "--chat", chat)
    assert (r.code, r.out) == (2, "")
    _one_error(r.err, f"error: TOKCLI_MAX_LINE_BYTES={value}: give at most {1 << 40} bytes")


def test_the_largest_limit_is_accepted_without_allocating_it(tmp_path):
    chat = tmp_path / "c.json"
    chat.write_text('{"messages": [{"role": "user", "content": "hi"}]}')
    r = _tokcli("count", "--chat", chat, cwd=tmp_path, env={"TOKCLI_MAX_LINE_BYTES": str(1 << 40)})
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) > 0


# -- D. generate's numbers -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["-n", "10", "--num-samples", "1e30"], "error: Invalid value for '--num-samples'"),  # was exit 3
        (["-n", "10", "--num-samples", "99999999999"], "error: Invalid value for '--num-samples'"),  # > 1 GB
        (["-n", "1e30"], "error: Invalid value for '--max-tokens' / '-n'"),  # ran until killed
        (["-n", "99999999999"], "error: Invalid value for '--max-tokens' / '-n'"),
        (["-n", str(MAX_TOKENS), "--num-samples", "11"], f"error: --max-tokens {MAX_TOKENS} x --num-samples 11"),
    ],
)
def test_generate_refuses_numbers_only_a_mistake_reaches(cli, args, start):
    r = cli("generate", "To be", "-m", "char", *args)
    assert (r.code, r.out) == (2, "")
    _one_error(r.err, start)


def test_generate_shows_its_ranges_in_help(cli):
    r = cli("generate", "--help")
    assert r.code == 0
    help_text = " ".join(r.out.split())
    assert f"0<=x<={MAX_TOKENS}" in help_text
    assert f"1<=x<={MAX_SAMPLES}" in help_text
    assert f"{MAX_TOTAL_TOKENS:,} tokens in all" in help_text


def test_generate_at_its_limits_is_accepted(cli):
    r = cli("generate", "To be", "-m", "char", "-n", "1", "--num-samples", str(MAX_SAMPLES // 100), "--seed", "1")
    assert r.code == 0, r.err


# -- E. Dask schedulers that do not answer ---------------------------------------------------------------
def _silent_server(listen: bool):
    """A socket on 127.0.0.1 that accepts and never says a word (listen=True), or one that never accepts:
    a backlog of 0, already filled, so the kernel drops further connection attempts."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()
    if listen:
        server.listen(8)
        server.settimeout(0.2)

        def accept() -> None:
            while not stop.is_set():
                try:
                    held.append(server.accept()[0])
                except OSError:
                    pass

        threading.Thread(target=accept, daemon=True).start()
    else:
        server.listen(0)
        for _ in range(3):  # fill the accept queue: nothing accepts them
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(server.getsockname())
            held.append(c)

    def close() -> None:
        stop.set()
        for s in [*held, server]:
            s.close()

    return f"tcp://127.0.0.1:{server.getsockname()[1]}", close


@pytest.mark.parametrize("listen", [True, False], ids=["accepts-silently", "never-accepts"])
def test_a_scheduler_that_does_not_answer_is_an_error_within_the_timeout(tmp_path, listen):
    """Was a hang forever (accepts and stays silent)."""
    pytest.importorskip("distributed")
    (tmp_path / "a.txt").write_text("hello\n")
    address, close = _silent_server(listen)
    try:
        r = _tokcli("count", "--scheduler", address, "--timeout", "1", "a.txt", cwd=tmp_path, timeout=30)
    finally:
        close()
    assert (r.returncode, r.stdout) == (2, b"")
    _one_error(r.stderr, f"error: --scheduler {address}: no answer within 1 s (is it a Dask scheduler?)")


def test_a_scheduler_without_workers_is_an_error_within_the_timeout(tmp_path):
    """Was exit 3 (TimeoutError). A real distributed.Scheduler, no workers, in a child process."""
    pytest.importorskip("distributed")
    script = (
        "import asyncio\nfrom distributed import Scheduler\n"
        "async def main():\n"
        "    async with Scheduler(host='127.0.0.1', port=0, dashboard_address=None) as s:\n"
        "        print(s.address, flush=True)\n"
        "        await asyncio.sleep(120)\n"
        "asyncio.run(main())\n"
    )
    (tmp_path / "a.txt").write_text("hello\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        address = child.stdout.readline().decode().strip()  # type: ignore[union-attr]
        assert address.startswith("tcp://127.0.0.1:"), address
        r = _tokcli("count", "--scheduler", address, "--timeout", "1", "a.txt", cwd=tmp_path, timeout=60)
    finally:
        child.kill()
        child.wait()
    assert (r.returncode, r.stdout) == (2, b"")
    _one_error(r.stderr, f"error: --scheduler {address}: no worker joined it within 1 s")


@pytest.mark.parametrize("address", ["ucx://127.0.0.1:8786", "tls://127.0.0.1:8786", "tcp://nohost", "host:x"])
def test_a_scheduler_address_tokcli_cannot_use_is_refused_at_parse_time(cli, address):
    """ucx:// and tls:// were exit 3 (TypeError)."""
    r = cli("count", "--scheduler", address, "-", input="hello")
    assert (r.code, r.out) == (2, "")
    _one_error(r.err, f"error: --scheduler {address}: ")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "3601"])
def test_the_timeout_has_a_range(cli, value):
    r = cli("count", "--scheduler", "tcp://127.0.0.1:8786", "--timeout", value, "-", input="hello")
    assert (r.code, r.out) == (2, "")
    _one_error(r.err, f"error: --timeout {float(value)}: give a number of seconds in (0, 3600]")
