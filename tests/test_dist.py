"""tokcli.workers: counting and encoding across Dask workers gives exactly what one process gives.

The clusters here are small (2 worker processes x 1 thread) and the inputs a few shared corpora, cut into
many tasks with a small --task-bytes so that the cutting and merging are exercised."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
import regex
from conftest import shared_corpus

from tokcli import load
from tokcli.cli import run
from tokcli.files.text import expand_inputs
from tokcli.files.walk import Source
from tokcli.tokenizer.counting import count_inputs
from tokcli.tokenizer.patterns import SAFE_CUT
from tokcli.workers import count, encode_to
from tokcli.workers.files import expand
from tokcli.workers.plan import plan
from tokcli.workers.runner import Where
from tokcli.workers.runner import run as run_tasks
from tokcli.workers.work import TokSpec, count_task

distributed = pytest.importorskip("distributed", reason="needs the [dask] extra: pip install 'tokcli[dask]'")

pytestmark = [pytest.mark.shared]
TIMEOUT = 120


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of two worker processes, one thread each, shared by the tests of this module."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def corpora(tmp_path: Path) -> list[str]:
    """English, Japanese and a non-UTF-8-free mix of UDHR texts (29 scripts), as files in tmp_path."""
    d = tmp_path / "in"
    d.mkdir()
    for name in ("en_shakespeare.txt", "ja_aozora_botchan.txt"):
        (d / name).write_bytes(shared_corpus(name).read_bytes())
    udhr = shared_corpus("udhr")
    for f in sorted(udhr.iterdir())[:12]:
        (d / f.name).write_bytes(f.read_bytes())
    return [str(d)]


def rows_of(rows) -> list[tuple]:
    return [(r.input, r.chars, r.bytes, dict(r.tokens), {k: (u.chars, u.pieces) for k, u in r.unknown.items()})
            for r in rows]  # fmt: skip


def test_plan_cuts_long_files_only_at_safe_points():
    path = shared_corpus("ja_aozora_botchan.txt")
    files, _ = expand([str(path)])
    tasks = plan(files, [load("o200k_base")], 8192)
    pieces = [p for t in tasks for p in t.pieces]
    assert len(pieces) > 10
    assert pieces[0].start == 0 and pieces[0].first and pieces[-1].last and pieces[-1].stop == files[0].size
    data = path.read_bytes()
    cut = regex.compile(SAFE_CUT)
    text = data.decode("utf-8")
    for a, b in zip(pieces, pieces[1:], strict=False):
        assert a.stop == b.start  # contiguous
        at = len(data[: b.start].decode("utf-8"))  # a character boundary (decoding would fail otherwise)
        assert cut.match(text, at), f"cut at byte {b.start} is not a safe cut point"


def test_unigram_and_uncuttable_tokenizers_read_files_whole(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("word " * 5000, encoding="utf-8")
    files = [Source(str(big), size=big.stat().st_size)]
    assert len(plan(files, [load("o200k_base")], 4096)) > 1
    assert len(plan(files, [load("o200k_base").with_special("allow")], 4096)) > 1  # no special holds whitespace

    class NoCut:
        cut_pattern = None

    tasks = plan(files, [load("o200k_base"), NoCut()], 4096)  # type: ignore[list-item]
    assert [(p.start, p.stop) for t in tasks for p in t.pieces] == [(0, big.stat().st_size)]


def test_count_in_process_pieces_equal_one_process(tmp_path):
    """The task code itself (no cluster): tiny tasks, three tokenizers, one with an unknown token."""
    inputs = corpora(tmp_path)
    names = ["o200k_base", "word", "ja-char"]
    expected = count_inputs([load(n) for n in names], expand_inputs(inputs))
    got = count(inputs, names, task_bytes=4096)
    assert rows_of(got) == rows_of(expected)
    assert any(r.unknown["word"].pieces for r in got)  # the unknown text is merged too, not just counted


def test_count_on_two_worker_processes_equals_one_process(tmp_path, client):
    inputs = corpora(tmp_path)
    big = tmp_path / "in" / "en_large.txt"
    big.write_bytes(shared_corpus("en_large.txt").read_bytes())
    names = ["o200k_base", "word"]
    expected = count_inputs([load(n) for n in names], expand_inputs(inputs))
    seen = []
    got = count(inputs, names, client=client, task_bytes=256 << 10, progress=lambda p: seen.append(p.bytes_done))
    assert rows_of(got) == rows_of(expected)
    total = sum(f.size for f in expand(inputs)[0])
    assert seen[-1] == total and seen == sorted(seen)
    again = count(inputs, names, client=client, task_bytes=256 << 10)  # the same client again (its data released)
    assert rows_of(again) == rows_of(expected)


def test_count_cli_workers_matches_without(tmp_path, capsys):
    inputs = corpora(tmp_path)
    args = ["count", "-t", "o200k_base", "-t", "word", *inputs, "--format", "json"]
    assert run(args) == 0
    one = capsys.readouterr()
    assert run([*args, "--workers", "2", "--task-bytes", "65536"]) == 0
    two = capsys.readouterr()
    assert json.loads(two.out) == json.loads(one.out)
    assert json.loads(two.out)["total"]["tokens"]["o200k_base"] > 100_000
    assert two.err == one.err  # the same warning about word's unknown text


def test_a_tokenizer_file_is_shipped_to_the_workers(tmp_path, client):
    """A tokenizer trained here exists only on the client: the workers get its bytes in the task."""
    tok_path = tmp_path / "private" / "tok.json"
    tok_path.parent.mkdir()
    assert run(["train", "bpe", str(shared_corpus("ja_aozora_botchan.txt")), "-o", str(tok_path),
                "--vocab-size", "400", "-q"]) == 0  # fmt: skip
    spec = TokSpec.of(str(tok_path))
    assert spec.data == tok_path.read_bytes()
    inputs = [str(shared_corpus("ja_aozora_kokoro.txt"))]
    expected = count_inputs([load(str(tok_path))], expand_inputs(inputs))
    assert rows_of(count(inputs, str(tok_path), client=client, task_bytes=16384)) == rows_of(expected)
    tok_path.rename(tmp_path / "moved.json")  # the path is gone: the workers can only use the bytes
    files, _ = expand(inputs)
    tasks = plan(files, [load("o200k_base")], 16384)
    results = run_tasks(count_task, tasks, Where(client=client), specs=[spec])
    assert sum(p.tokens[str(tok_path)] for r in results for p in r.pieces) == expected[0].tokens[str(tok_path)]


def test_walked_file_that_is_not_utf8_is_skipped_alike(tmp_path):
    inputs = corpora(tmp_path)
    (tmp_path / "in" / "latin1.txt").write_bytes("caf\xe9 au lait ".encode("latin-1") * 2000)
    skipped_one: list = []
    skipped_dist: list = []
    expected = count_inputs([load("o200k_base")], expand_inputs(inputs), skipped=skipped_one)
    got = count(inputs, "o200k_base", task_bytes=4096, skipped=skipped_dist)
    assert rows_of(got) == rows_of(expected)
    assert [p for p, _ in skipped_dist] == [p for p, _ in skipped_one] == [str(tmp_path / "in" / "latin1.txt")]
    assert "not valid UTF-8 at byte 3" in skipped_dist[0][1]


def test_a_named_file_that_is_not_utf8_is_an_error_with_its_offset(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"hello world\n" * 1000 + b"\xff tail\n")
    assert run(["count", str(bad), "--workers", "1", "--task-bytes", "4096"]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"error: {bad}: not valid UTF-8 at byte 12000; convert it to UTF-8, or pass --errors replace to go on\n"
    )


def test_workers_refuse_stdin_and_bad_numbers(capsys, monkeypatch):
    assert run(["count", "-", "--workers", "2"]) == 2
    assert "stdin cannot be shared with workers" in capsys.readouterr().err
    assert run(["count", "README.md", "--workers", "0"]) == 2
    assert capsys.readouterr().err == "error: --workers 0: give 1 or more worker processes\n"
    assert run(["count", "README.md", "--chat", "--workers", "2"]) == 2
    assert capsys.readouterr().err == "error: --workers does not go with --field or --chat\n"


def test_missing_extra_names_the_pip_command(monkeypatch, capsys, tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("こんにちは world\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    assert run(["count", str(f), "--workers", "2"]) == 2
    assert capsys.readouterr().err == 'error: --workers needs dask: pip install "tokcli[dask]"\n'


def _killing(marker: str, victim: int):
    """count_task, but the first attempt at task `victim` kills its own worker process."""

    def fn(task, **kw):
        if task.index == victim and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        return count_task(task, **kw)

    return fn


def test_a_killed_worker_task_is_retried_and_the_total_stays_exact(tmp_path, client):
    inputs = [str(shared_corpus("en_shakespeare.txt")), str(shared_corpus("ja_aozora_botchan.txt"))]
    files, _ = expand(inputs)
    toks = [load("o200k_base")]
    tasks = plan(files, toks, 65536)
    assert len(tasks) > 4
    marker = tmp_path / "killed-once"
    results = run_tasks(_killing(str(marker), 2), tasks, Where(client=client), specs=[TokSpec.of("o200k_base")])
    assert marker.exists()  # the worker did die
    per_file = [0] * len(files)
    for t, r in zip(tasks, results, strict=True):
        for p, c in zip(t.pieces, r.pieces, strict=True):
            per_file[p.file] += c.tokens["o200k_base"]
    assert per_file == [r.tokens["o200k_base"] for r in count_inputs(toks, expand_inputs(inputs))]


def test_count_field_of_jsonl_on_two_workers_equals_one_process(tmp_path, client):
    """JSONL records (English and Japanese, some without the field) cut into byte ranges at line starts."""
    from dataclasses import asdict

    from tokcli.analysis.records import Exceeding
    from tokcli.analysis.records import count_records as count_one
    from tokcli.workers.records import count_records as count_parts

    texts = shared_corpus("en_shakespeare.txt").read_text(encoding="utf-8").split("\n\n")[:1500]
    texts += shared_corpus("ja_aozora_botchan.txt").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "set.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"text": t, "id": f"r{i}"} if i % 41 else {"body": t}, ensure_ascii=False) + "\n")
    toks = [load("o200k_base"), load("ja-char")]
    windows = [Exceeding("small", "o200k_base", True, 40)]
    expected = count_one(toks, [str(path)], "text", windows=windows, id_field="id")
    windows2 = [Exceeding("small", "o200k_base", True, 40)]
    got = count_parts([str(path)], ["o200k_base", "ja-char"], "text", client=client, windows=windows2,
                      id_field="id", task_bytes=16384)  # fmt: skip
    assert asdict(got) == asdict(expected)
    assert got.missing.records > 10 and got.exceeding[0].records > 10


def test_count_field_cli_workers_matches_without(tmp_path, capsys):
    path = tmp_path / "ja.jsonl"
    lines = shared_corpus("ja_aozora_kokoro.txt").read_text(encoding="utf-8").splitlines()
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in lines), encoding="utf-8")
    args = ["count", "--field", "text", str(path), "-t", "o200k_base", "--format", "json"]
    assert run(args) == 0
    one = capsys.readouterr()
    assert run([*args, "--workers", "2", "--task-bytes", "32768"]) == 0
    assert capsys.readouterr() == one
    # a field no record has: exit 2 and the same message, whichever part of the file each record is in
    misspelt = ["count", "--field", "txt", str(path), "-t", "o200k_base"]
    assert run(misspelt) == 2
    err = capsys.readouterr().err
    assert err == f"error: {path}: no record has the field 'txt'; its first records have text\n"
    assert run([*misspelt, "--workers", "2", "--task-bytes", "32768"]) == 2
    assert capsys.readouterr().err == err


# -- encode --to: shards ------------------------------------------------------------------------------


def shard_ids(d: Path):
    import numpy as np

    index = json.loads((d / "index.json").read_text(encoding="utf-8"))
    parts = [np.memmap(d / s["file"], dtype=index["dtype"], mode="r") for s in index["shards"]]
    return index, [int(i) for p in parts for i in p]


def test_encode_to_shards_hold_each_file_ids_then_eot_with_and_without_workers(tmp_path, capsys):
    inputs = corpora(tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"
    args = ["encode", "-t", "o200k_base", *inputs, "--eot", "<|endoftext|>", "--task-bytes", "65536", "-q"]
    assert run([*args, "--to", str(one)]) == 0
    assert run([*args, "--to", str(two), "--workers", "2"]) == 0
    assert capsys.readouterr().err == ""
    names = sorted(p.name for p in one.iterdir())
    assert names == sorted(p.name for p in two.iterdir()) and len(names) > 5
    for n in names:
        assert (one / n).read_bytes() == (two / n).read_bytes(), n
    index, ids = shard_ids(one)
    tok = load("o200k_base")
    eot = tok.special_tokens()["<|endoftext|>"]
    expected = []
    for src in expand_inputs(inputs):
        expected += tok.encode(Path(src.path).read_text(encoding="utf-8")) + [eot]
    assert ids == expected
    assert index["dtype"] == "uint32" and index["eot"] == eot and index["complete"]
    assert index["total_tokens"] == len(expected) == sum(s["tokens"] for s in index["shards"])
    cut = [s for s in index["shards"] if any(x["start"] > 0 for x in s["sources"])]
    assert cut  # a long file was cut into byte ranges across shards


def test_a_small_vocabulary_gives_uint16_shards(tmp_path):
    text = shared_corpus("ja_aozora_kokoro.txt")
    done = encode_to([str(text)], "ja-char", str(tmp_path / "s"), task_bytes=8192)
    index, ids = shard_ids(tmp_path / "s")
    assert index["dtype"] == "uint16" and (tmp_path / "s" / "shard-00000.bin").stat().st_size % 2 == 0
    assert ids == load("ja-char").encode(text.read_text(encoding="utf-8"))
    assert done.tokens == len(ids) and done.written == len(index["shards"]) and done.kept == 0


def test_an_interrupted_run_resumes_keeping_good_shards(tmp_path):
    inputs = [str(shared_corpus("en_shakespeare.txt")), str(shared_corpus("ja_aozora_botchan.txt"))]
    out = tmp_path / "s"
    first = encode_to(inputs, "o200k_base", str(out), task_bytes=65536)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    n = len(first.index["shards"])
    (out / "shard-00001.bin").unlink()  # a shard lost
    (out / "shard-00002.bin").write_bytes(b"\0\0\0\0")  # a shard cut short
    again = encode_to(inputs, "o200k_base", str(out), task_bytes=65536)
    assert (again.written, again.kept) == (2, n - 2)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_encode_to_refuses_a_foreign_directory_and_other_settings(tmp_path, capsys):
    text = str(shared_corpus("ja_aozora_botchan.txt"))
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    assert run(["encode", text, "--to", str(foreign)]) == 2
    assert "is not empty and has no index.json" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep me"
    out = tmp_path / "s"
    assert run(["encode", text, "--to", str(out), "-t", "ja-char", "-q"]) == 0
    assert run(["encode", text, "--to", str(out), "-t", "o200k_base", "-q"]) == 2
    assert "holds shards made with other settings (tokenizer" in capsys.readouterr().err
    assert run(["encode", text, "--to", str(tmp_path / "t"), "--eot", "<nope>"]) == 2
    assert "--eot '<nope>' is not a special token of cl100k_base" in capsys.readouterr().err
    assert run(["encode", text, "--eot", "5"]) == 2
    assert capsys.readouterr().err == "error: --eot, --field, --workers and --scheduler write shards: give --to DIR\n"
    assert run(["encode", text, "--to", str(tmp_path / "u"), "--tokens"]) == 2
    assert capsys.readouterr().err == "error: --tokens does not go with --to (shards hold ids only)\n"


def test_lm_train_reads_shards_of_its_own_tokenizer_only(tmp_path):
    """The data path of `lm train DIR` (torch itself is not needed to check what it trains on)."""
    from tokcli.errors import UsageError
    from tokcli.files.shards import open_shards
    from tokcli.lm.trainer import shard_split

    text = shared_corpus("ja_aozora_kokoro.txt")
    encode_to([str(text)], "ja-char", str(tmp_path / "s"), task_bytes=8192)
    shards = open_shards(str(tmp_path / "s"))
    train, val, chars_per_token = shard_split(shards, load("ja-char"), 0.1)
    ids = load("ja-char").encode(text.read_text(encoding="utf-8"))
    assert [int(i) for i in train] + [int(i) for i in val] == ids
    n = int(len(ids) * 0.1)
    assert len(val) == n and chars_per_token == len(load("ja-char").decode(ids[-n:])) / n
    with pytest.raises(UsageError, match="made with tokenizer 'ja-char', not 'o200k_base'"):
        shard_split(shards, load("o200k_base"), 0.1)


# -- a cluster given by address, object storage ---------------------------------------------------------


@pytest.fixture(scope="module")
def threads_cluster():
    """A cluster whose workers are threads of this process: they see its fsspec memory:// filesystem."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
    yield cluster
    cluster.close()


def test_memory_filesystem_urls_count_and_shards(tmp_path, threads_cluster):
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    names = ["en_shakespeare.txt", "ja_aozora_botchan.txt"]
    for name in names:
        fs.pipe(f"/corpus-{os.getpid()}/{name}", shared_corpus(name).read_bytes())
    url = f"memory://corpus-{os.getpid()}/"
    local = [str(shared_corpus(n)) for n in names]
    with distributed.Client(threads_cluster) as c:
        got = count([url], ["o200k_base", "ja-char"], client=c, task_bytes=65536)
        expected = count_inputs([load("o200k_base"), load("ja-char")], expand_inputs(local))
        assert [r.input for r in got] == [f"memory:///corpus-{os.getpid()}/{n}" for n in names]
        assert [(r.chars, r.bytes, r.tokens) for r in got] == [(r.chars, r.bytes, r.tokens) for r in expected]
        out = f"memory://shards-{os.getpid()}"
        done = encode_to([url], "o200k_base", out, client=c, task_bytes=65536, eot=199999)
    tok = load("o200k_base")
    want = [i for p in local for i in [*tok.encode(Path(p).read_text(encoding="utf-8")), 199999]]
    import numpy as np

    index = json.loads(fs.cat_file(f"/shards-{os.getpid()}/index.json"))
    ids = [
        int(i) for s in index["shards"] for i in np.frombuffer(fs.cat_file(f"/shards-{os.getpid()}/{s['file']}"), "<u4")
    ]
    assert ids == want and done.tokens == len(want)


def test_cli_scheduler_address_and_environment(tmp_path, threads_cluster, capsys, monkeypatch):
    inputs = [str(shared_corpus("ja_aozora_kokoro.txt"))]
    args = ["count", "-t", "o200k_base", *inputs, "--format", "json"]
    assert run(args) == 0
    one = capsys.readouterr().out
    assert run([*args, "--scheduler", threads_cluster.scheduler_address, "--task-bytes", "32768"]) == 0
    assert capsys.readouterr().out == one
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", threads_cluster.scheduler_address)
    assert run([*args, "--task-bytes", "32768"]) == 0
    assert capsys.readouterr().out == one
    assert run([*args, "--workers", "2", "--scheduler", threads_cluster.scheduler_address]) == 2
    assert "give one of them" in capsys.readouterr().err


def test_cli_scheduler_that_is_not_there(capsys, monkeypatch):
    assert run(["count", "README.md", "--scheduler", "tcp://127.0.0.1:1", "--timeout", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --scheduler tcp://127.0.0.1:1: cannot connect") and err.count("\n") == 1


def test_batch_encoder_for_ray_map_batches():
    """The function the README's Ray Data example calls: a batch (dict of columns, numpy or lists) in, ids out."""
    import numpy as np

    from tokcli.workers import batch_encoder

    texts = ["hello world", "こんにちは、世界。吾輩は猫である。", "Всеобщая декларация прав человека", ""]
    tok = load("o200k_base")
    eot = tok.special_tokens()["<|endoftext|>"]
    enc = batch_encoder("o200k_base", eot="<|endoftext|>")
    out = enc({"text": np.array(texts), "id": np.arange(4)})
    assert out["ids"] == [[*tok.encode(t), eot] for t in texts]
    assert out["tokens"] == [len(tok.encode(t)) + 1 for t in texts]
    assert list(out["id"]) == [0, 1, 2, 3]  # the other columns pass through
    plain = batch_encoder("ja-char", column="body")({"body": texts[1:2]})
    assert plain["ids"] == [load("ja-char").encode(texts[1])]


def test_encode_to_field_makes_each_record_a_document(tmp_path, capsys):
    """JSONL cut at line starts (with workers and without: the same bytes) and Parquet cut into row groups."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    texts = shared_corpus("ja_aozora_botchan.txt").read_text(encoding="utf-8").splitlines()[:1500]
    texts += shared_corpus("en_shakespeare.txt").read_text(encoding="utf-8").split("\n\n")[:500]
    src = tmp_path / "set.jsonl"
    src.write_text("".join(json.dumps({"text": t} if i % 50 else {"title": t}, ensure_ascii=False) + "\n"
                           for i, t in enumerate(texts)), encoding="utf-8")  # fmt: skip
    args = ["encode", "--field", "text", str(src), "-t", "o200k_base", "--eot", "<|endoftext|>", "-q",
            "--task-bytes", "16384"]  # fmt: skip
    assert run([*args, "--to", str(tmp_path / "a")]) == 0
    assert run([*args, "--to", str(tmp_path / "b"), "--workers", "2"]) == 0
    err = capsys.readouterr().err
    n_missing = len(range(0, len(texts), 50))
    assert err == f"warning: {n_missing} records have no text in 'text'; they were left out\n" * 2
    for f in (tmp_path / "a").iterdir():
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes()
    tok = load("o200k_base")
    eot = tok.special_tokens()["<|endoftext|>"]
    kept = [t for i, t in enumerate(texts) if i % 50]
    want = [i for t in kept for i in [*tok.encode(t), eot]]
    index, ids = shard_ids(tmp_path / "a")
    assert ids == want and len(index["shards"]) > 3 and index["field"] == "text"
    table = pa.table({"text": kept})
    pq.write_table(table, tmp_path / "set.parquet", row_group_size=100)
    done = encode_to([str(tmp_path / "set.parquet")], "o200k_base", str(tmp_path / "p"), eot=eot, field="text",
                     task_bytes=16384)  # fmt: skip
    assert shard_ids(tmp_path / "p")[1] == want and len(done.index["shards"]) > 3


def test_dask_scheduler_address_leaves_stdin_and_plain_encode_alone(monkeypatch, capsys):
    """With DASK_SCHEDULER_ADDRESS set (to a scheduler that is not there), what cannot go to a cluster stays
    in this process: counting stdin, and encode without --to."""
    import io

    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:1")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("こんにちは world\n".encode())))
    assert run(["count", "-t", "o200k_base"]) == 0
    assert capsys.readouterr().out.strip() == str(load("o200k_base").count("こんにちは world\n"))
    assert run(["encode", "--text", "吾輩は猫", "-t", "o200k_base"]) == 0
    assert capsys.readouterr().out.split() == [str(i) for i in load("o200k_base").encode("吾輩は猫")]


def test_progress_bar_shows_files_bytes_and_throughput(monkeypatch):
    """On a terminal (here a rich console into a buffer), the bar counts files and bytes and shows a rate."""
    import io

    from rich.console import Console

    import tokcli.output.dist as od
    from tokcli.workers import Progress

    buf = io.StringIO()
    monkeypatch.setenv("TERM", "xterm-256color")  # conftest pins a dumb terminal, where rich draws no live bar
    monkeypatch.setattr(od, "is_tty", lambda stream=None: True)
    monkeypatch.setattr(
        od, "console", lambda stderr=False: Console(file=buf, force_terminal=True, force_interactive=True, width=120)
    )
    state = Progress(files=5, nbytes=50_000_000, tasks=10)
    with od.TaskProgress("counting") as bar:
        for k in range(1, 4):
            state.files_done, state.bytes_done = k, k * 10_000_000
            bar.update(state)
            time.sleep(0.15)
    shown = buf.getvalue()
    assert "3/5 files" in shown and "30.0/50.0 MB" in shown and "MB/s" in shown
    buf.truncate(0)
    with od.TaskProgress("counting", quiet=True) as bar:
        bar.update(state)
    assert buf.getvalue() == ""


def test_hostile_options_and_shard_directories(tmp_path, capsys):
    text = str(shared_corpus("ja_aozora_kokoro.txt"))
    assert run(["count", text, "--workers", "2", "--task-bytes", "0"]) == 2
    assert capsys.readouterr().err == "error: --task-bytes 0: give at least 4096\n"
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text('{"text": "吾輩は猫である"}\n', encoding="utf-8")
    assert run(["count", "--field", "text", str(jsonl), "--workers", "1", "--task-bytes", "0"]) == 2
    assert capsys.readouterr().err == "error: --task-bytes 0: give at least 4096\n"
    assert run(["count", text, "--workers", "100000"]) == 2
    assert "give at most" in capsys.readouterr().err
    out = tmp_path / "s"
    out.mkdir()
    os.mkfifo(out / "index.json")  # reading it would block
    assert run(["encode", text, "--to", str(out)]) == 2
    assert capsys.readouterr().err.endswith("index.json: is not a regular file; give a new or empty directory\n")
    file_out = tmp_path / "f"
    file_out.write_text("mine", encoding="utf-8")
    assert run(["encode", text, "--to", str(file_out)]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err
    good = tmp_path / "g"
    encode_to([text], "ja-char", str(good), task_bytes=65536)
    index = json.loads((good / "index.json").read_text(encoding="utf-8"))
    index["shards"][0]["file"] = "../../etc/passwd"
    (good / "index.json").write_text(json.dumps(index), encoding="utf-8")
    from tokcli.errors import InputError
    from tokcli.files.shards import open_shards

    with pytest.raises(InputError, match="not an index `tokcli encode --to` writes"):
        open_shards(str(good))


def test_compare_with_workers_gives_the_same_figures_but_timings(tmp_path, capsys):
    def untimed(doc):
        if isinstance(doc, dict):
            return {k: untimed(v) for k, v in doc.items() if k not in ("mb_per_s", "seconds", "load_s")}
        return [untimed(x) for x in doc] if isinstance(doc, list) else doc

    inputs = [str(shared_corpus("ja_aozora_botchan.txt")), str(shared_corpus("en_shakespeare.txt")),
              str(shared_corpus("udhr"))]  # fmt: skip
    args = ["compare", "-t", "o200k_base", "-t", "word", "-t", "ja-char", *inputs, "--format", "json"]
    assert run(args) == 0
    one = json.loads(capsys.readouterr().out)
    assert run([*args, "--workers", "2"]) == 0
    two = json.loads(capsys.readouterr().out)
    assert untimed(two) == untimed(one) and len(one["rows"]) == 9
    assert run([*args, "--workers", "2", "--train", "bpe:300"]) == 2
    assert "--train trains on all the inputs in one process" in capsys.readouterr().err


def test_many_tiny_files_make_few_tasks_and_the_same_totals(tmp_path, client):
    """3,000 tiny files: grouped many to a task (not one task each), counted in batches within a task, with
    one bad file among them left out alike; the totals are those of one process."""
    d = tmp_path / "tiny"
    d.mkdir()
    for i in range(3000):
        (d / f"{i:05d}.txt").write_text(f"file {i}: the quick brown fox {i * 7} jumps\n")
    (d / "02500.txt").write_bytes(b"caf\xe9\n")  # not UTF-8: skipped, by both
    names = ["o200k_base", "word"]
    files, _ = expand([str(d)])
    tasks = plan(files, [load("o200k_base")])
    assert len(files) == 3000 and 1 < len(tasks) <= 3000 // 1000  # at most TASK_FILES (2,048) a task
    assert [p.path for t in tasks for p in t.pieces] == [f.path for f in files]
    skipped_one: list = []
    skipped_dist: list = []
    expected = count_inputs([load(n) for n in names], expand_inputs([str(d)]), skipped=skipped_one)
    got = count([str(d)], names, client=client, skipped=skipped_dist)
    assert rows_of(got) == rows_of(expected) and len(got) == 2999
    assert skipped_dist == skipped_one and [p for p, _ in skipped_one] == [str(d / "02500.txt")]
