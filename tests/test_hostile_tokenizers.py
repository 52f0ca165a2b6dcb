"""Issue 11, the tokenizer side: inputs and options that crashed, aborted or lost text silently.

Each case was reproduced on main before the fix: exit status, stdout and stderr are asserted separately.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tokcli
from tokcli.analysis.spans import parse_ids
from tokcli.errors import InputError, UsageError
from tokcli.files.bundled import corpora_dir
from tokcli.files.walk import Source
from tokcli.tokenizer import base
from tokcli.tokenizer.counting import count_inputs
from tokcli.tokenizer.countresults import MAX_DISTINCT, UnknownText
from tokcli.tokenizer.training import MAX_CHAR_VOCAB, MAX_VOCAB

JA = "吾輩は猫である。名前はまだ無い。"
BAD_UTF8 = b"\xff\xfe not UTF-8 \x80"


def _one_error_line(err: str, start: str) -> None:
    assert err.startswith(start), err
    assert err.count("\n") == 1 and err.endswith("\n"), err


def _text_file(tmp_path: Path, text: str = "hello world\n" + JA + "\n", name: str = "x.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- 1. vocabulary sizes: an upper bound per kind, checked before anything is read -------------------
@pytest.mark.parametrize(
    ("kind", "extra", "out", "limit"),
    [
        ("bpe", [], "t.json", MAX_VOCAB),  # was a 156-line Rust backtrace and exit 134
        ("unigram", [], "t.model", MAX_VOCAB),  # was exit 3 (sentencepiece cannot parse the int)
        ("bpe", ["--backend", "sentencepiece"], "t.model", MAX_VOCAB),
        ("word", [], "t.json", MAX_VOCAB),  # was accepted
        ("char", [], "t.json", MAX_CHAR_VOCAB),  # was accepted
    ],
)
def test_a_huge_vocab_size_is_refused_with_the_maximum(cli, tmp_path, kind, extra, out, limit):
    r = cli("train", kind, _text_file(tmp_path), "-o", tmp_path / out, "--vocab-size", "1000000000000", *extra)
    assert (r.code, r.out) == (2, "")
    _one_error_line(r.err, "error: --vocab-size 1000000000000 is too large: ")
    assert str(limit) in r.err
    assert not (tmp_path / out).exists()


@pytest.mark.parametrize(("kind", "limit"), [("char", MAX_CHAR_VOCAB), ("word", MAX_VOCAB), ("bpe", MAX_VOCAB)])
def test_the_vocab_size_is_checked_before_the_input_is_read(cli, tmp_path, kind, limit):
    """Input that is not UTF-8 on stdin: had the text been read first, that would be the error."""
    r = cli("train", kind, "-", "-o", tmp_path / "t.json", "--vocab-size", str(limit + 1), input=BAD_UTF8)
    assert (r.code, r.out) == (2, "")
    _one_error_line(r.err, f"error: --vocab-size {limit + 1} is too large: ")


def test_the_largest_char_vocab_size_is_accepted(cli, tmp_path):
    r = cli("train", "char", _text_file(tmp_path), "-o", tmp_path / "t.json", "--vocab-size", str(MAX_CHAR_VOCAB), "-q")
    seen = len(set("hello world\n" + JA + "\n")) + 1  # and <unk>
    assert (r.code, r.out) == (0, "")
    assert r.err == (f"warning: --vocab-size {MAX_CHAR_VOCAB} is more than the text supports: trained char with "
                     f"{seen} tokens, not {MAX_CHAR_VOCAB:,}\n")  # fmt: skip
    tok = tokcli.load(str(tmp_path / "t.json"))
    assert tok.vocab_size == seen
    assert tok.decode(tok.encode(JA)) == JA


def test_the_library_refuses_a_huge_vocab_size_without_touching_the_texts():
    def texts():
        raise AssertionError("read before the vocabulary size was checked")
        yield ""

    for kind in ("char", "word", "bpe", "unigram"):
        with pytest.raises(UsageError, match=r"--vocab-size 4194305 is too large"):
            tokcli.train(kind, texts(), vocab_size=MAX_VOCAB + 1)


# -- 2. a vocabulary too large for the text gives the largest it supports; output suffix and format agree --
def test_unigram_too_large_for_the_text_trains_the_size_that_works(cli, tmp_path):
    """README's own command on the repository's sample corpora: sentencepiece's raw INTERNAL error at first,
    then exit 2; now the largest vocabulary the text supports, with a warning naming both sizes."""
    r = cli("train", "unigram", corpora_dir(), "-o", tmp_path / "uni.model", "--vocab-size", "8000", "-q")
    assert (r.code, r.out) == (0, "")
    m = re.fullmatch(r"warning: --vocab-size 8000 is more than the text supports: trained unigram with ([\d,]+) "
                     r"tokens, not 8,000\n", r.err)  # fmt: skip
    assert m, r.err
    most = int(m[1].replace(",", ""))
    assert 264 <= most < 8000
    assert tokcli.load(str(tmp_path / "uni.model")).vocab_size == most
    r = cli("train", "unigram", corpora_dir(), "-o", tmp_path / "again.model", "--vocab-size", str(most), "-q")
    assert (r.code, r.out, r.err) == (0, "", "")  # that size itself: no warning, the same model
    assert (tmp_path / "again.model").read_bytes() == (tmp_path / "uni.model").read_bytes()


@pytest.mark.parametrize(
    ("kind", "extra", "out", "better"),
    [
        ("unigram", [], "u.json", "u.model"),
        ("bpe", ["--backend", "sentencepiece"], "u.JSON", "u.model"),
        ("char", [], "c.model", "c.json"),
        ("word", [], "w.model", "w.json"),
        ("bpe", [], "b.model", "b.json"),
    ],
)
def test_an_output_suffix_of_the_other_format_is_refused_before_reading(cli, tmp_path, kind, extra, out, better):
    r = cli("train", kind, "-", "-o", tmp_path / out, *extra, input=BAD_UTF8)  # not read: no UTF-8 error
    assert (r.code, r.out) == (2, "")
    _one_error_line(r.err, f"error: -o {tmp_path / out}: ")
    assert f"name it {tmp_path / better}" in r.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kind", "extra", "out"), [("char", [], "tok"), ("unigram", ["--vocab-size", "1200"], "u.bin")]
)
def test_any_other_suffix_is_the_users_choice(cli, tmp_path, kind, extra, out):
    r = cli("train", kind, corpora_dir(), "-o", tmp_path / out, "-q", *extra)
    assert (r.code, r.out, r.err) == (0, "", "")
    tok = tokcli.load(str(tmp_path / out))  # the format is told by the content
    line = (corpora_dir() / "ja_prose.txt").read_text(encoding="utf-8").splitlines()[0]
    assert tok.decode(tok.encode(line)) == line


# -- 3. ids a tiktoken encoding leaves unassigned ------------------------------------------------------
def test_decoding_an_unassigned_cl100k_id_is_a_usage_error(cli):
    r = cli("decode", "15339", "100261")  # was KeyError, exit 3
    assert (r.code, r.out) == (2, "")
    _one_error_line(r.err, "error: token id 100261 is not assigned in cl100k_base")


def test_decoding_an_unassigned_o200k_id_is_a_usage_error(cli, o200k_cache):
    r = cli("decode", "-t", "o200k_base", "199998")
    assert (r.code, r.out) == (2, "")
    _one_error_line(r.err, "error: token id 199998 is not assigned in o200k_base")


def test_assigned_ids_around_the_gap_still_decode(cli):
    tok = tokcli.load("cl100k_base")
    ids = tok.encode(JA)
    r = cli("decode", *map(str, ids), "100260", "100276")  # the last special before the gap, the first after
    assert (r.code, r.err) == (0, "")
    assert r.out == JA + "<|fim_suffix|><|endofprompt|>"


def test_parse_ids_asks_every_tokenizer_whether_an_id_is_assigned():
    class Holey(base.Tokenizer):
        name = "holey"
        vocab_size = 10

        def token_bytes(self, token_id: int) -> bytes:
            if token_id == 7:
                raise IndexError(token_id)
            return b"x"

    assert parse_ids(["1, 2", "[3]"], Holey()) == [1, 2, 3]
    with pytest.raises(UsageError, match="token id 7 is not assigned in holey"):
        parse_ids(["1 7"], Holey())


# -- 4. command-line text that is not UTF-8 ------------------------------------------------------------
def _run(*args: str | bytes, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """tokcli in a child process, with argv given as bytes where needed (not UTF-8: the os.fsencode trick)."""
    env = dict(os.environ, PYTHONUTF8="1")  # argv decoded as UTF-8 with surrogateescape, whatever the locale
    return subprocess.run([sys.executable, "-m", "tokcli", *args], capture_output=True, timeout=timeout, env=env)


@pytest.mark.parametrize("command", ["encode", "show"])
def test_text_option_not_utf8_is_a_usage_error(command):
    p = _run(command, "-t", "word", "--text", "日本".encode() + b"\xe8\xaa")  # 語 cut short: was TypeError, exit 3
    assert (p.returncode, p.stdout) == (2, b"")
    assert p.stderr.decode() == (
        "error: --text is not valid UTF-8 (byte 0xE8 at character 2); convert it to UTF-8, or pass "
        "--errors replace to replace the bad bytes with U+FFFD\n"
    )


def test_text_option_not_utf8_with_errors_replace_is_encoded_with_replacement_characters():
    p = _run("encode", "-t", "cl100k_base", "--text", "日本".encode() + b"\xe8\xaa!", "--errors", "replace")
    assert (p.returncode, p.stderr) == (0, b"")
    tok = tokcli.load("cl100k_base")
    assert p.stdout.decode() == " ".join(map(str, tok.encode("日本\ufffd!"))) + "\n"


@pytest.mark.parametrize(
    "args", [["next", "-m", "word"], ["generate", "-m", "char", "-n", "2"], ["attention", "-m", "word"]]
)
def test_a_prompt_not_utf8_is_a_usage_error(args):
    p = _run(*args, b"The cat \xff")  # was TypeError, exit 3
    assert (p.returncode, p.stdout) == (2, b"")
    assert p.stderr.decode().startswith("error: the prompt is not valid UTF-8 (byte 0xFF at character 8); ")
    assert p.stderr.count(b"\n") == 1


# -- 5. text a tokenizer loses: counted and reported, or an error with --strict-unk --------------------
@pytest.fixture
def small_char(tmp_path) -> str:
    """A char tokenizer that knows only the characters of "abc def" and the newline."""
    path = tmp_path / "small-char.json"
    tokcli.train("char", ["abc def\n"]).save(str(path))
    return str(path)


@pytest.fixture
def small_word(tmp_path) -> str:
    path = tmp_path / "small-word.json"
    tokcli.train("word", ["the cat sat"]).save(str(path))
    return str(path)


def test_encode_warns_once_with_the_count_of_unknown_characters(cli, small_char):
    r = cli("encode", "-t", small_char, "--text", "abc 日本語 déf 日")  # was silent, exit 0
    assert r.code == 0
    tok = tokcli.load(small_char)
    assert r.out == " ".join(map(str, tok.encode("abc 日本語 déf 日"))) + "\n"
    assert r.err == (
        f"warning: 5 characters (4 distinct: '日', '本', '語', 'é') are not in {small_char}'s vocabulary "
        "and became <unk>\n"
    )


def test_word_pieces_are_counted_in_characters_and_pieces(cli, small_word):
    r = cli("encode", "-t", small_word, "--tokens", "--text", "the dog sat 猫")
    assert r.code == 0
    assert r.out.splitlines() == ["the", "<unk>", " sat", "<unk>", "<unk>"]
    assert r.err == (
        f"warning: 6 characters in 3 pieces (3 distinct: ' dog', ' ', '猫') are not in {small_word}'s "
        "vocabulary and became <unk>\n"
    )


def test_encode_with_strict_unk_fails_before_writing_the_ids(cli, small_char):
    r = cli("encode", "-t", small_char, "--text", "abc 日本語", "--strict-unk")
    assert (r.code, r.out) == (2, "")
    _one_error_line(r.err, f"error: <text>: 3 characters (3 distinct: '日', '本', '語') are not in {small_char}'s ")
    assert "--strict-unk" in r.err


def test_count_warns_with_the_total_over_every_input(cli, small_char, tmp_path):
    a = _text_file(tmp_path, "abc 日本\n", "a.txt")
    b = _text_file(tmp_path, "fed 語\n", "b.txt")
    r = cli("count", "-t", small_char, a, b)
    assert r.code == 0
    assert r.out.splitlines() == ["input\tchars\t" + small_char, f"{a}\t7\t7", f"{b}\t6\t6", "total\t13\t13"]
    assert r.err == (
        f"warning: 3 characters (3 distinct: '日', '本', '語') are not in {small_char}'s vocabulary and became <unk>\n"
    )


def test_count_with_strict_unk_is_an_error(cli, small_char):
    r = cli("count", "-t", small_char, "--strict-unk", input="abc 日本\n")
    assert (r.code, r.out) == (2, "")
    _one_error_line(r.err, f"error: <stdin>: 2 characters (2 distinct: '日', '本') are not in {small_char}'s ")


def test_text_the_tokenizer_knows_gives_no_warning_and_passes_strict_unk(cli, small_char):
    r = cli("count", "-t", small_char, "-t", "bpe", "--strict-unk", input="abc def\n")
    assert (r.code, r.err) == (0, "")
    r = cli("encode", "-t", "cl100k_base", "--strict-unk", "--text", JA)  # no unknown token at all
    assert (r.code, r.err) == (0, "")


def test_unknowns_are_counted_over_every_segment_of_a_streamed_input(cli, small_char, monkeypatch):
    monkeypatch.setattr(base, "SEGMENT_CHARS", 100)
    r = cli("count", "-t", small_char, input="abc 日 fed\n" * 500)
    assert (r.code, r.out) == (0, f"{len('abc 日 fed') * 500 + 500}\n")
    assert r.err == f"warning: 500 characters ('日') are not in {small_char}'s vocabulary and became <unk>\n"


def test_bundled_char_and_word_warn_about_japanese(cli):
    for name in ("char", "word"):
        r = cli("count", "-t", name, input="鬱蒼とした森で麒麟が嚔をした。")
        assert r.code == 0 and r.out.strip().isdigit()
        assert r.err.startswith("warning: ") and f"not in {name}'s vocabulary and became <unk>" in r.err


def test_count_inputs_reports_unknown_text_per_tokenizer(small_char, tmp_path):
    path = _text_file(tmp_path, "abc 日本\n")
    rows = count_inputs([tokcli.load(small_char), tokcli.load("bpe")], [Source(str(path))])
    assert rows[0].unknown[small_char].chars == 2  # 日 and 本
    assert "bpe" not in rows[0].unknown
    with pytest.raises(InputError, match="--strict-unk"):
        count_inputs([tokcli.load(small_char)], [Source(str(path))], strict_unk=True)


def test_distinct_pieces_are_remembered_up_to_a_limit_and_the_totals_stay_exact():
    u = UnknownText("t", "<unk>")
    u.add(chr(0x4E00 + i) for i in range(MAX_DISTINCT + 5))
    u.add(["一"])
    assert (u.chars, u.pieces, len(u.distinct), u.more_distinct) == (
        MAX_DISTINCT + 6,
        MAX_DISTINCT + 6,
        MAX_DISTINCT,
        True,
    )
    assert u.describe().startswith(f"{MAX_DISTINCT + 6} characters (over {MAX_DISTINCT} distinct: '一', ")


# -- 8. Ctrl-C during training ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def made_up_text(tmp_path_factory) -> Path:
    """About 10 MB of made-up words (random Latin letters and kana), nearly all distinct: reading it takes
    the trainers a second or so, training on it (BPE merges, unigram's EM) half a minute and more."""
    import numpy as np

    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyzかきくけこさしすせそたちつてとなにぬねの"))
    lengths = rng.integers(2, 9, size=1_000_000)
    flat = "".join(letters[rng.integers(0, len(letters), size=int(lengths.sum()))].tolist())
    ends = np.cumsum(lengths).tolist()
    words = [flat[e - n : e] for e, n in zip(ends, lengths.tolist(), strict=True)]
    text = "\n".join(" ".join(words[i : i + 12]) for i in range(0, len(words), 12)) + "\n"
    path = tmp_path_factory.mktemp("big") / "made-up.txt"
    path.write_text(text, encoding="utf-8")
    assert path.stat().st_size > 10_000_000
    return path


def _open_files(pid: int) -> set[str]:
    try:
        return {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    except OSError:  # the process is gone, or an fd closed while listing
        return set()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="the start marker reads /proc (Linux)")
@pytest.mark.parametrize(
    ("kind", "out", "extra"), [("unigram", "u.model", ["--vocab-size", "2000"]), ("bpe", "b.json", [])]
)
def test_ctrl_c_while_the_trainer_runs_ends_within_two_seconds_leaving_no_file(
    tmp_path, made_up_text, kind, out, extra
):
    """The start marker: the input file was opened and is closed again, so reading is over and the
    trainer (native code for many seconds here) is running. Before, Ctrl-C took effect only when it
    returned (17 s for unigram on 22 MB of real text; here it would go on for half a minute)."""
    p = subprocess.Popen([sys.executable, "-m", "tokcli", "train", kind, str(made_up_text), "-o", str(tmp_path / out),
                          "-q", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while str(made_up_text) not in _open_files(p.pid):  # not yet reading
            assert p.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        while str(made_up_text) in _open_files(p.pid):  # reading
            assert p.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.2)
        assert p.poll() is None  # training
        p.send_signal(signal.SIGINT)
        sent = time.monotonic()
        stdout, stderr = p.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        p.kill()
        p.wait()
    assert (p.returncode, stdout, stderr) == (130, b"", b"")
    assert took < 2.0
    assert list(tmp_path.iterdir()) == []  # no output file, no temporary one


def test_an_interrupt_reaches_the_caller_while_the_trainer_is_busy_and_stops_its_input():
    """The library call: the waiting (main) thread gets KeyboardInterrupt although the trainer is still
    inside a call that does not return, and the trainer's input then stops flowing."""
    import _thread
    import threading

    from tokcli.tokenizer import training

    release = threading.Event()
    pulled: list[str] = []
    outcome: list[BaseException] = []

    def busy_trainer(kind, texts, **options):
        pulled.append(next(iter(texts)))
        release.wait(30)  # a native call that holds on (the GIL released, as the real trainers do)
        try:
            pulled.extend(texts)
        except BaseException as e:
            outcome.append(e)
        return "done"

    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        training._interruptible(busy_trainer, "bpe", iter(["first", "second"]))
    assert time.monotonic() - start < 1.5
    release.set()
    for _ in range(100):
        if outcome:
            break
        time.sleep(0.01)
    assert pulled == ["first"]
    assert type(outcome[0]).__name__ == "_Stopped"
