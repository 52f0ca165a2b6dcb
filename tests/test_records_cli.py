"""count --field and chunk --field: per-record statistics checked against counts made in the test, the
records over a model's window, records without the field reported, the histogram on a terminal, the
formats for programs, gzip / zstd / Parquet inputs, and errors (malformed line, missing extra) as one
line with exit 2."""

from __future__ import annotations

import csv
import io
import json
import math
import sys

import pytest
from conftest import write_jsonl

from tokcli.analysis.records import Lengths, nice_width

JA = "吾輩は猫である。名前はまだ無い。"


def make_rows(n=60):
    rows = []
    for i in range(n):
        text = (JA if i % 3 == 0 else "The quick brown fox jumps over the lazy dog. ") * (i % 11 + 1)
        rows.append({"id": f"doc-{i}", "text": text, "meta": {"body": text.upper()}})
    rows[7] = {"id": "doc-7", "title": "no text here"}
    if n > 20:
        rows[20]["text"] = None
    return rows


def nearest_rank(values, p):
    s = sorted(values)
    return s[max(1, math.ceil(p / 100 * len(s))) - 1]


def expected_stats(texts, tok):
    counts = [len(tok.encode(t)) for t in texts]  # each record's text encoded alone
    return counts, {
        "tokenizer": tok.name, "records": len(counts), "total": sum(counts), "mean": round(sum(counts) / len(counts), 2),
        "p50": nearest_rank(counts, 50), "p90": nearest_rank(counts, 90), "p99": nearest_rank(counts, 99),
        "max": max(counts),
    }  # fmt: skip


def test_statistics_match_counts_made_here(cli, tmp_path):
    from tokcli import load

    rows = make_rows()
    p = write_jsonl(tmp_path / "d.jsonl", rows)
    r = cli("count", "--field", "text", "-t", "bpe", "-t", "char", "-f", "json", p)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    texts = [row["text"] for row in rows if isinstance(row.get("text"), str)]
    assert doc["schema"] == "tokcli-records/1" and doc["records"] == 60
    for stat, name in zip(doc["statistics"], ["bpe", "char"], strict=True):
        assert stat == expected_stats(texts, load(name))[1]
    assert doc["inputs"] == [{"input": p, "records": 60, "chars": sum(map(len, texts)),
                              "tokens": {"bpe": sum(len(load("bpe").encode(t)) for t in texts),
                                         "char": sum(len(load("char").encode(t)) for t in texts)}}]  # fmt: skip
    missing = doc["without_text"]
    assert missing["records"] == 2 and missing["more"] is False
    assert missing["examples"] == [{"input": p, "id": "8", "problem": "no field 'text'"},
                                   {"input": p, "id": "21", "problem": "'text' is null"}]  # fmt: skip
    assert r.err == (f"warning: 2 of 60 records have no text in 'text', left out of the statistics "
                     f"({p}:8: no field 'text'; {p}:21: 'text' is null)\n")  # fmt: skip


def test_histogram_counts_every_record(cli, tmp_path):
    from tokcli import load

    rows = make_rows()
    p = write_jsonl(tmp_path / "d.jsonl", rows)
    doc = json.loads(cli("count", "--field", "text", "-t", "bpe", "-f", "json", p).out)
    counts, _ = expected_stats([r["text"] for r in rows if isinstance(r.get("text"), str)], load("bpe"))
    bins = doc["histograms"]["bpe"]
    width = bins[0]["high"] - bins[0]["low"]
    assert width == nice_width(max(counts) / 16) and bins[0]["low"] == 0
    assert [b["records"] for b in bins] == [sum(1 for c in counts if b["low"] <= c < b["high"]) for b in bins]
    assert bins[-1]["low"] <= max(counts) < bins[-1]["high"]


def test_nearest_rank_percentiles_and_nice_widths():
    ln = Lengths("t")
    for n in [5, 1, 9, 9, 3, 7, 2, 8, 6, 4]:
        ln.add(n)
    assert [ln.percentile(p) for p in (10, 50, 90, 99, 100)] == [nearest_rank(list(ln.counts.elements()), p)
                                                                 for p in (10, 50, 90, 99, 100)]  # fmt: skip
    assert Lengths("empty").percentile(50) is None
    a, b = Lengths("t"), Lengths("t")
    for n in [5, 1, 9, 9, 3]:
        a.add(n)
    for n in [7, 2, 8, 6, 4]:
        b.add(n)
    a.merge(b)
    assert a.counts == ln.counts and a.total == ln.total == 54 and a.max == 9
    assert [nice_width(x) for x in (0, 0.5, 1, 1.1, 3, 7, 12, 4999)] == [1, 1, 1, 2, 5, 10, 20, 5000]


def test_records_over_a_models_window(cli, tmp_path, o200k_cache, monkeypatch):
    from tokcli import load

    monkeypatch.setenv("TOKCLI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)
    rows = make_rows()
    p = write_jsonl(tmp_path / "d.jsonl", rows)
    window = 128_000
    limit = 100
    r = cli(
        "count",
        "--field",
        "text",
        "-m",
        "gpt-4o",
        "--reserve",
        str(window - limit),
        "--id-field",
        "id",
        "-f",
        "json",
        p,
    )
    doc = json.loads(r.out)
    tok = load("o200k_base")
    over = [row["id"] for row in rows if isinstance(row.get("text"), str) and len(tok.encode(row["text"])) > limit]
    assert over  # the fixture has records on both sides of the limit
    (m,) = doc["models"]
    assert (m["model"], m["tokenizer"], m["limit"], m["records_over"], m["more"]) == ("gpt-4o", "o200k_base", limit,
                                                                                       len(over), False)  # fmt: skip
    assert m["ids"] == [f"{p}:{i}" for i in over]
    t = cli("count", "--field", "text", "-m", "gpt-4o", "--reserve", str(window - limit), p)
    assert f"gpt-4o: {len(over)} of 58 records over its input budget of {limit} tokens (o200k_base)" in t.out


def test_nested_field_gzip_zstd_and_parquet_agree(cli, tmp_path):
    rows = make_rows(30)
    plain = write_jsonl(tmp_path / "d.jsonl", rows)
    gz = write_jsonl(tmp_path / "d.jsonl.gz", rows, compress="gz")
    zst = write_jsonl(tmp_path / "d.jsonl.zst", rows, compress="zst")
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([{"meta": r.get("meta")} for r in rows]), str(tmp_path / "d.parquet"),
                   row_group_size=7)  # fmt: skip
    docs = [json.loads(cli("count", "--field", "meta.body", "-t", "bpe", "-f", "json", f).out)
            for f in (plain, gz, zst, str(tmp_path / "d.parquet"))]  # fmt: skip
    assert all(d["statistics"] == docs[0]["statistics"] for d in docs)
    assert docs[0]["statistics"][0]["records"] == 29  # doc-7 has no meta
    assert docs[3]["without_text"]["examples"][0]["id"] == "7"  # Parquet rows count from 0


def test_csv_and_markdown_tables(cli, tmp_path):
    p = write_jsonl(tmp_path / "d.jsonl", make_rows())
    doc = json.loads(cli("count", "--field", "text", "-t", "bpe", "-t", "char", "-f", "json", p).out)
    c = cli("count", "--field", "text", "-t", "bpe", "-t", "char", "-f", "csv", p)
    got = list(csv.DictReader(io.StringIO(c.out)))
    assert [{k: v for k, v in row.items()} for row in got] == [
        {k: str(v) for k, v in s.items()} for s in doc["statistics"]
    ]
    md = cli("count", "--field", "text", "-t", "bpe", "-f", "markdown", p)
    assert md.out.splitlines()[0] == "| tokenizer | records | total | mean | p50 | p90 | p99 | max |"


def test_histogram_on_a_terminal(tmp_path, capsys, monkeypatch):
    from tokcli import load
    from tokcli.analysis.records import count_records
    from tokcli.output import records as out_records

    p = write_jsonl(tmp_path / "d.jsonl", make_rows())
    report = count_records([load("bpe")], [p], "text")
    monkeypatch.setattr(out_records, "is_tty", lambda stream=None: True)
    out_records.records(report, fmt="text")
    shown = capsys.readouterr().out
    assert "record lengths, bpe tokens" in shown
    bins = report.lengths["bpe"].histogram()
    lo, hi, n = max(bins, key=lambda b: b[2])
    assert any(line.split()[:2] == [f"{lo:,}-{hi - 1:,}", f"{n:,}"] and "█" * 40 in line for line in shown.splitlines())


def test_malformed_line_is_one_error_line(cli, tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "ok"}\n{"text": "ok"}\n{"text": oops}\n')
    r = cli("count", "--field", "text", "-t", "bpe", str(p))
    assert (r.code, r.out) == (2, "")
    assert r.err == f"error: {p}:3: not JSON (Expecting value at column 10); fix or remove the line\n"


def test_a_field_no_record_has_is_an_error_for_jsonl_and_parquet_alike(cli, tmp_path):
    """A misspelt --field is exit 2 naming the fields the records have, whatever the format; a field some
    records lack (or hold null) stays a warning with exit 0."""
    rows = make_rows(32)
    jsonl = write_jsonl(tmp_path / "d.jsonl", rows)
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    parquet = str(tmp_path / "d.parquet")
    pq.write_table(pa.Table.from_pylist(rows), parquet, row_group_size=7)
    # the fields of the first five records are named (doc-7's title, the eighth record's, is not)
    r = cli("count", "--field", "txt", "-t", "bpe", jsonl)
    assert (r.code, r.out) == (2, "")
    assert r.err == f"error: {jsonl}: no record has the field 'txt'; its first records have id, text, meta\n"
    r = cli("count", "--field", "txt", "-t", "bpe", parquet)
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith(f"error: {parquet}: no column 'txt'; its columns are id, text, meta")
    for path in (jsonl, parquet):  # a nested field no record has: the fields beside it
        r = cli("count", "--field", "meta.txt", "-t", "bpe", path)
        assert (r.code, r.out) == (2, "")
        assert r.err == f"error: {path}: no record has the field 'meta.txt'; its first records have meta.body\n"
    # in several inputs, the one without the field is named
    other = write_jsonl(tmp_path / "other.jsonl", [{"body": "x"}])
    r = cli("count", "--field", "text", "-t", "bpe", jsonl, other)
    assert (r.code, r.err) == (2, f"error: {other}: no record has the field 'text'; its first records have body\n")
    r = cli("count", "--field", "text", "-t", "bpe", jsonl)
    assert r.code == 0 and "2 of 32 records have no text in 'text'" in r.err
    # chunk --field alike: no pieces, exit 2, the same message
    r = cli("chunk", "--field", "txt", "-t", "bpe", "-n", "50", jsonl)
    assert (r.code, r.out) == (2, "")
    assert r.err == f"error: {jsonl}: no record has the field 'txt'; its first records have id, text, meta\n"
    r = cli("chunk", "--field", "txt", "-t", "bpe", "-n", "50", parquet)
    assert (r.code, r.out) == (2, "") and "no column 'txt'" in r.err
    # encode --to alike: refused before anything is written (no directory, no shard, no index)
    for path, message in ((jsonl, "no record has the field 'txt'; its first records have id, text, meta"),
                          (parquet, "no column 'txt'; its columns are id, text, meta")):  # fmt: skip
        out = tmp_path / f"shards-{path.rsplit('.', 1)[1]}"
        r = cli("encode", "--field", "txt", "-t", "bpe", "--to", str(out), path)
        assert r.code == 2 and r.err.startswith(f"error: {path}: {message}") and r.err.count("\n") == 1
        assert not out.exists()
    r = cli("encode", "--field", "text", "-t", "bpe", "--to", str(tmp_path / "fine"), jsonl, other)
    assert (r.code, r.err) == (2, f"error: {other}: no record has the field 'text'; its first records have body\n")
    assert not (tmp_path / "fine").exists()


def test_missing_extra_error_names_the_pip_command(cli, tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    p = tmp_path / "d.parquet"
    p.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    r = cli("count", "--field", "text", "-t", "bpe", str(p))
    assert (r.code, r.err) == (2, 'error: reading Parquet files needs pyarrow: pip install "tokcli[data]"\n')


def test_usage_errors(cli, tmp_path):
    p = write_jsonl(tmp_path / "d.jsonl", make_rows(25))
    assert "is a directory; --field reads files" in cli("count", "--field", "text", "-t", "bpe", str(tmp_path)).err
    assert cli("count", "--id-field", "id", "-t", "bpe", p).code == 2
    assert "--field 'a..b'" in cli("count", "--field", "a..b", "-t", "bpe", p).err
    assert "--cost does not go with" in cli("count", "--field", "text", "--cost", "-m", "gpt-4o", p).err
    r = cli("count", "--field", "text", "-t", "bpe", str(tmp_path / "nope.jsonl"))
    assert (r.code, r.err) == (2, f"error: {tmp_path / 'nope.jsonl'}: no such file or directory\n")


def test_chunk_field_carries_the_record_id(cli, tmp_path):
    from tokcli import load
    from tokcli.analysis.chunking import chunk

    rows = make_rows(12)
    p = write_jsonl(tmp_path / "d.jsonl", rows)
    r = cli("chunk", "--field", "text", "--id-field", "id", "-t", "bpe", "-n", "20", p)
    assert r.code == 0, r.err
    lines = [json.loads(x) for x in r.out.splitlines()]
    tok = load("bpe")
    want = []
    for row in rows:
        if isinstance(row.get("text"), str):
            for k, piece in enumerate(chunk(tok, [row["text"]], 20), 1):
                want.append({"schema": "tokcli-chunk/1", "id": row["id"], "piece": k, "text": piece.text, "tokens": piece.tokens,
                             "start": piece.start, "end": piece.end})  # fmt: skip
    assert lines == want
    for row in rows:  # each record's pieces put back together give its text
        if isinstance(row.get("text"), str):
            assert "".join(x["text"] for x in lines if x["id"] == row["id"]) == row["text"]
    assert max(x["tokens"] for x in lines) <= 20
    assert "1 record has no text, so no pieces (doc-7: no field 'text')" in r.err
    assert r.err.endswith(f"{len(lines)} pieces, {sum(x['tokens'] for x in lines):,} tokens\n")
    assert cli("chunk", "--field", "text", "--out-dir", str(tmp_path), p).code == 2
