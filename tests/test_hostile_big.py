"""Issue 22, "Hostile input, round 2", items 1 (lm train) and 9 (streams): bad input is one `error:` line
on stderr and exit 2, never exit 3, a hang or more than 1 GB. Each case was reproduced on main before the
fix (the failure is in its comment). Cases about memory run in a subprocess under an address-space limit
(torch itself reserves about 0.65 GB of it), with big inputs generated in tmp_path.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tokcli.lm import limits

ROOT = Path(__file__).resolve().parent.parent
MEMORY = 1536 << 20


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _tokcli(*args: object, cwd: Path, timeout: float = 60, input: bytes = b"") -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tokcli", *map(str, args)], cwd=cwd, env=environ, input=input,
        capture_output=True, timeout=timeout, preexec_fn=_limit_memory,
    )  # fmt: skip


def _one_error(err: str | bytes, *needles: str) -> None:
    if isinstance(err, bytes):
        err = err.decode("utf-8", "replace")
    assert err.startswith("error: "), err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    for needle in needles:
        assert needle in err, err


# -- 1. lm train's numeric options -----------------------------------------------------------------------
# Before: ZeroDivisionError, torch's and numpy's errors and a MemoryError of 745 GiB (exit 3), or a run
# that never ends; now Typer refuses each out of its range (shown in --help) before anything is read.
OUT_OF_RANGE = [
    ("--dropout", "-1"), ("--dropout", "nan"), ("--dropout", "inf"), ("--dropout", "1e308"),
    ("--lr", "nan"), ("--lr", "-inf"), ("--lr", "1e308"),
    ("--heads", "0"), ("--heads", "-1"), ("--width", "0"), ("--eval-every", "0"), ("--checkpoint-every", "0"),
    ("--threads", "-1"), ("--threads", "1e30"), ("--seed", "-1"), ("--seed", "1e30"), ("--seed", str(1 << 32)),
    ("--context", "-1"), ("--steps", "0"), ("--steps", "-1"), ("--steps", "1e30"),
    ("--steps", str(limits.MAX_STEPS + 1)), ("--batch-size", "0"), ("--batch-size", "-1"),
    ("--batch-size", "1e30"), ("--batch-size", "99999999999"), ("--layers", "99999999999"),
]  # fmt: skip


@pytest.mark.parametrize(("option", "value"), OUT_OF_RANGE)
def test_lm_train_option_out_of_range(cli, tmp_path, option, value):
    text = tmp_path / "t.txt"
    text.write_text("hello world\n" * 50, encoding="utf-8")
    r = cli("lm", "train", text, "-t", "char", "-o", tmp_path / "m", option, value)
    assert r.code == 2, r.err
    _one_error(r.err, f"Invalid value for '{option}'")
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.ckpt").exists()


def test_lm_train_help_shows_every_range(cli):
    r = cli("lm", "train", "--help")
    assert r.code == 0
    help_text = " ".join(r.out.split())
    for shown in ("1<=x<=128", "1<=x<=256", "1<=x<=8192", "0<=x<=0.999", f"1<=x<={limits.MAX_STEPS}",
                  f"1<=x<={limits.MAX_BATCH}", "0<=x<=1.0", f"0<=x<={limits.MAX_SEED}",
                  f"0<=x<={limits.MAX_THREADS}"):  # fmt: skip
        assert shown in help_text, shown


def test_lm_train_zero_lr_is_refused(cli, tmp_path):
    # --lr 0 is in Typer's range (it has no open bound) and refused by check_options: nothing would train
    r = cli("lm", "train", "README.md", "-t", "char", "-o", tmp_path / "m", "--lr", "0")
    assert r.code == 2
    _one_error(r.err, "--lr 0.0", "above 0")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        # before: a MemoryError of 745 GiB (exit 3) after the text was read and encoded
        (["--batch-size", "65536", "--context", "8192"], ["training would take about", "GiB", "--batch-size 65536"]),
        (["--batch-size", "4096", "--context", "2048", "--layers", "16"], ["training would take about", "GiB"]),
        # a model the numpy engine could not load afterwards (config.json's limit of 8 GiB)
        (["--layers", "128", "--width", "8192", "--heads", "8"], ["to run", "up to 8 GiB"]),
    ],
)
def test_lm_train_refuses_a_model_too_big_before_allocating(tmp_path, args, needles):
    text = tmp_path / "t.txt"
    text.write_text("hello world\n" * 50, encoding="utf-8")
    r = _tokcli("lm", "train", text, "-t", "char", "-o", tmp_path / "m", *args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    _one_error(r.stderr, *needles)
    assert not (tmp_path / "m").exists()


def test_lm_train_memory_estimate_counts_the_vocabulary(monkeypatch):
    # the check before the tokenizer is known uses a vocabulary of 1; train_lm checks again with the real
    # one, whose logits dominate for a large vocabulary
    from tokcli.errors import UsageError
    from tokcli.lm import trainoptions

    monkeypatch.setattr(trainoptions, "memory_available", lambda device: 4 << 30)
    o = trainoptions.TrainOptions(batch_size=64, block_size=512)
    trainoptions.check_options(o)  # about 1.2 GiB with a vocabulary of 1
    assert trainoptions.training_bytes(o, 1) < 4 << 30
    assert trainoptions.training_bytes(o, 200_000) > 4 << 30  # logits of 64 x 512 x 200k floats, three times
    with pytest.raises(UsageError, match=r"training would take about [\d,.]+ GiB .* this machine has 4.0 GiB"):
        trainoptions.check_options(o, vocab_size=200_000)


# -- 9. streams everywhere -------------------------------------------------------------------------------
STREAM_MEMORY = 512 << 20  # the commands below stay near 300 MB of address space; before, they needed GBs


def _limit_stream_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (STREAM_MEMORY, STREAM_MEMORY))


def _big_text(tmp_path: Path, megabytes: int) -> Path:
    """A text of `megabytes` MB: the shared English corpus repeated (many lines, words and segments)."""
    from conftest import shared_corpus

    base = shared_corpus("en_large.txt").read_text(encoding="utf-8")
    path = tmp_path / "big.txt"
    with open(path, "w", encoding="utf-8") as f:
        while f.tell() < megabytes << 20:
            f.write(base[: (megabytes << 20) - f.tell()])
    return path


def _streamed(*args: object, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "MALLOC_ARENA_MAX": "2"}  # threads' arenas: address space
    return subprocess.run(
        [sys.executable, "-m", "tokcli", *map(str, args)], cwd=cwd, env=environ, capture_output=True,
        timeout=timeout, preexec_fn=_limit_stream_memory,
    )  # fmt: skip


def test_why_streams_a_big_text(tmp_path):
    # before: 5.5 GB of numpy arrays for 30 MB (over 700 MB for this 4 MB); now a segment at a time
    path = _big_text(tmp_path, 4)
    r = _streamed("why", "--format", "json", path, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-500:]
    import json

    doc = json.loads(r.stdout)
    (t,) = doc["tokenizers"]
    import tokcli

    assert t["tokens"] == tokcli.load("cl100k_base").count_stream([path.read_text(encoding="utf-8")])
    assert doc["chars"] == sum(c["chars"] for c in t["classes"])


def test_count_mistral_streams_a_big_text(tmp_path):
    # before: sentencepiece encoded the whole text (1.5 GB for 30 MB; over 512 MB of address space for this 6 MB)
    pytest.importorskip("mistral_common")
    path = _big_text(tmp_path, 6)
    r = _streamed("count", "-t", "mistral-v1", "--format", "json", path, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-500:]
    import json

    import tokcli

    tok = tokcli.load("mistral-v1")
    assert tok.cut_pattern is not None and tok.drops_cut_space
    text = path.read_text(encoding="utf-8")
    part = text[: 1 << 20]  # the whole-text count, on a part that the whole encode can take here
    assert tok.count_stream([part]) == len(tok.encode(part))
    assert json.loads(r.stdout)["inputs"][0]["tokens"]["mistral-v1"] == tok.count_stream([text])


def test_chunk_with_a_piece_as_big_as_the_input_streams(tmp_path):
    # before: --max-tokens above the input's tokens encoded the whole input at once, twice
    path = _big_text(tmp_path, 6)
    r = _streamed("chunk", "-n", "100000000", path, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-500:]
    import tokcli

    n = tokcli.load("cl100k_base").count_stream([path.read_text(encoding="utf-8")])
    assert f"1 piece, {n:,} tokens" in r.stderr.decode()


@pytest.mark.parametrize("args", [["show"], ["show", "-t", "cl100k_base", "-t", "char"], ["why", "--show"]])
def test_show_refuses_a_text_past_its_limit(tmp_path, args):
    # before: show took over 1 GB on 2 MB (side by side, json) and 20 GB on 30 MB
    path = tmp_path / "t.txt"
    path.write_text("word " * 250_000, encoding="utf-8")  # 1,250,000 characters
    r = _streamed(*args, path, cwd=tmp_path)
    assert r.returncode == 2
    _one_error(r.stderr, "displays at most", "1,250,000", "TOKCLI_MAX_SHOW_CHARS")


def test_show_limit_can_be_raised(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("TOKCLI_MAX_SHOW_CHARS", "10")
    r = cli("show", "--text", "hello world, again")
    assert r.code == 2
    _one_error(r.err, "show displays at most 10 characters", "has 18")
    monkeypatch.setenv("TOKCLI_MAX_SHOW_CHARS", "100")
    r = cli("show", "--text", "hello world, again")
    assert r.code == 0 and "hello" in r.out


@pytest.mark.parametrize("command", ["why", "show", "count"])
def test_a_20_mb_word_is_refused_with_the_limit_named(tmp_path, command):
    # before: show and why took over 1 GB (exact BPE over one 20 MB pre-tokenizer piece)
    path = tmp_path / "word.txt"
    path.write_bytes(b"a" * (20 << 20))
    r = _streamed(command, path, cwd=tmp_path)
    assert r.returncode == 2
    limit = "TOKCLI_MAX_SHOW_CHARS" if command == "show" else "TOKCLI_MAX_UNCUT_CHARS"
    _one_error(r.stderr, str(path), limit) if command != "show" else _one_error(r.stderr, limit)


def test_why_tallies_a_run_cut_between_segments_once(monkeypatch):
    """A char tokenizer encodes any piece as the whole text does: cut every 7 characters (through words,
    indentation and runs of kanji), `why` gives exactly what it gives uncut."""
    import tokcli
    from tokcli.analysis import why as w

    tok = tokcli.load("ja-char")
    text = "  def f(x):\n      return x  # 吾輩は猫である。名前はまだ無い。\n\n" * 20
    whole = w.why([tok], [("t", text)]).to_dict(50)

    def cut(chunks):
        joined = "".join(chunks)
        for i in range(0, len(joined), 7):
            yield joined[i : i + 7], tok.encode(joined[i : i + 7])

    monkeypatch.setattr(tok, "encode_segments", cut)
    assert w.why([tok], [("t", text)]).to_dict(50) == whole
    assert len(list(cut([text]))) > 100
