"""tokcli.files.datasets: the text field of every JSONL line or Parquet row, nested fields, records without the
field kept and reported, malformed lines named, compressed files, line caps, splits for parallel readers."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import write_jsonl

from tokcli.errors import BackendMissing, InputError, UsageError
from tokcli.files.datasets import Record, count_records, iter_records, splits

JA = "吾輩は猫である。名前はまだ無い。"


ROWS = [
    {"id": "a", "text": "hello world", "meta": {"text": "nested one"}},
    {"id": "b", "text": JA, "meta": {"text": "日本語の本文"}},
    {"id": "c", "meta": {}},  # no text, no meta.text
    {"id": "d", "text": 42, "meta": {"text": None}},
    {"id": "e", "text": "", "meta": "flat"},
]


def test_jsonl_field_and_problems(tmp_path):
    p = write_jsonl(tmp_path / "d.jsonl", ROWS)
    got = list(iter_records(p, "text"))
    assert got == [
        Record("1", "hello world"),
        Record("2", JA),
        Record("3", None, "no field 'text'", ("id", "meta")),  # it lacks the field: what it has instead
        Record("4", None, "'text' is a number, not a string"),
        Record("5", ""),
    ]


def test_nested_field_and_id_field(tmp_path):
    p = write_jsonl(tmp_path / "d.jsonl", ROWS)
    got = list(iter_records(p, "meta.text", id_field="id"))
    assert [(r.id, r.text) for r in got] == [("a", "nested one"), ("b", "日本語の本文"), ("c", None), ("d", None),
                                             ("e", None)]  # fmt: skip
    assert got[2].problem == "no field 'meta.text'"
    assert got[3].problem == "'meta.text' is null"
    assert got[4].problem == "no field 'meta.text' ('meta' is a string)"
    # where a record lacks the field, the fields of the deepest object on the way that has any
    assert [r.fields for r in got] == [None, None, ("id", "meta"), None, ("id", "text", "meta")]


def test_list_index_in_path(tmp_path):
    p = write_jsonl(tmp_path / "d.jsonl", [{"turns": [{"text": "x"}, {"text": "y"}]}, {"turns": []}])
    assert [r.text for r in iter_records(p, "turns.1.text")] == ["y", None]


def test_blank_lines_are_not_records_but_keep_line_numbers(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "a"}\n\n   \n{"text": "b"}\n{"text": "c"}')  # no final newline
    assert [(r.id, r.text) for r in iter_records(str(p), "text")] == [("1", "a"), ("4", "b"), ("5", "c")]
    assert count_records(str(p)) == 3


def test_malformed_line_names_the_line(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "a"}\n{"text": "b"\n{"text": "c"}\n')
    it = iter_records(str(p), "text")
    assert next(it).text == "a"
    with pytest.raises(InputError, match=r"d\.jsonl:2: not JSON \(Expecting ',' delimiter at column 13\)"):
        next(it)


def test_not_utf8_names_the_line(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_bytes(b'{"text": "a"}\n{"text": "caf\xe9"}\n')
    with pytest.raises(InputError, match=r"d\.jsonl:2: not valid UTF-8 at byte 13"):
        list(iter_records(str(p), "text"))
    assert [r.text for r in iter_records(str(p), "text", errors="replace")] == ["a", "caf\ufffd"]


def test_line_cap_refuses_before_reading_it_whole(tmp_path, monkeypatch):
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "short"}\n{"text": "' + "x" * 1000 + '"}\n')
    assert len(list(iter_records(str(p), "text", max_line_bytes=2000))) == 2
    with pytest.raises(InputError, match=r"d\.jsonl:2: line longer than 100 bytes"):
        list(iter_records(str(p), "text", max_line_bytes=100))
    monkeypatch.setenv("TOKCLI_MAX_LINE_BYTES", "100")
    with pytest.raises(InputError, match="TOKCLI_MAX_LINE_BYTES"):
        list(iter_records(str(p), "text"))
    monkeypatch.setenv("TOKCLI_MAX_LINE_BYTES", "lots")
    with pytest.raises(UsageError, match="TOKCLI_MAX_LINE_BYTES='lots'"):
        list(iter_records(str(p), "text"))


@pytest.mark.parametrize("compress", ["gz", "zst"])
def test_compressed_jsonl(tmp_path, compress):
    plain = list(iter_records(write_jsonl(tmp_path / "d.jsonl", ROWS), "meta.text"))
    packed = write_jsonl(tmp_path / f"d.jsonl.{compress}", ROWS, compress=compress)
    assert list(iter_records(packed, "meta.text")) == plain
    assert count_records(packed) == len(ROWS)


@pytest.mark.parametrize("compress", ["gz", "zst"])
def test_corrupt_compressed_file_is_an_input_error(tmp_path, compress):
    p = tmp_path / f"d.jsonl.{compress}"
    p.write_bytes(b"this is not compressed at all\n")
    with pytest.raises(InputError, match=rf"d\.jsonl\.{compress}: cannot read it as"):
        list(iter_records(str(p), "text"))


def test_missing_zstandard_names_the_pip_command(tmp_path, monkeypatch):
    p = write_jsonl(tmp_path / "d.jsonl.zst", ROWS, compress="zst")
    monkeypatch.setitem(sys.modules, "zstandard", None)  # import zstandard now raises ImportError
    with pytest.raises(BackendMissing, match=r'needs zstandard: pip install "tokcli\[data\]"'):
        list(iter_records(p, "text"))


def test_bad_field_paths():
    for bad in ("", "a..b", ".a", "a."):
        with pytest.raises(UsageError, match="--field"):
            iter_records("x.jsonl", bad)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        list(iter_records(str(tmp_path / "nope.jsonl"), "text"))


# -- Parquet --------------------------------------------------------------------------------------------


def write_parquet(path, rows, *, row_group_size=None):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), str(path), row_group_size=row_group_size)
    return str(path)


PQ_ROWS = [
    {"id": i, "text": t, "meta": {"text": m}}
    for i, (t, m) in enumerate([("hello", "a"), (JA, "b"), (None, None), ("", "日本"), ("last", "z")])
]


def test_parquet_column_nested_and_nulls(tmp_path):
    p = write_parquet(tmp_path / "d.parquet", PQ_ROWS, row_group_size=2)
    got = list(iter_records(p, "text"))
    assert [(r.id, r.text) for r in got] == [("0", "hello"), ("1", JA), ("2", None), ("3", ""), ("4", "last")]
    assert got[2].problem == "'text' is null"
    assert [r.text for r in iter_records(p, "meta.text", id_field="id")] == ["a", "b", None, "日本", "z"]
    assert count_records(p) == 5


def test_parquet_non_string_column_is_reported_per_record(tmp_path):
    p = write_parquet(tmp_path / "d.parquet", PQ_ROWS)
    assert {r.problem for r in iter_records(p, "id")} == {"'id' is a number, not a string"}


def test_parquet_missing_column_lists_the_columns(tmp_path):
    p = write_parquet(tmp_path / "d.parquet", PQ_ROWS)
    with pytest.raises(UsageError, match="no column 'body'; its columns are id, text, meta"):
        list(iter_records(p, "body"))


def test_not_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    p = tmp_path / "d.parquet"
    p.write_text("not parquet")
    with pytest.raises(InputError, match=r"d\.parquet: not a Parquet file"):
        list(iter_records(str(p), "text"))


def test_missing_pyarrow_names_the_pip_command(tmp_path, monkeypatch):
    p = write_parquet(tmp_path / "d.parquet", PQ_ROWS)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(BackendMissing, match=r'needs pyarrow: pip install "tokcli\[data\]"'):
        list(iter_records(p, "text"))


def test_parquet_reads_batch_by_batch(tmp_path, monkeypatch):
    """Bounded memory: rows come from iter_batches of BATCH_ROWS rows, never the whole table."""
    import tokcli.files.parquet as parquet

    rows = [{"text": f"row {i}"} for i in range(50)]
    p = write_parquet(tmp_path / "d.parquet", rows, row_group_size=20)
    monkeypatch.setattr(parquet, "BATCH_ROWS", 7)
    seen = []
    pq = parquet.pyarrow_parquet()
    real = pq.ParquetFile.iter_batches

    def spy(self, *a, **kw):
        for b in real(self, *a, **kw):
            seen.append(b.num_rows)
            yield b

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    assert [r.text for r in iter_records(p, "text")] == [r["text"] for r in rows]
    assert max(seen) <= 7 and sum(seen) == 50


# -- splits -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("parts", [1, 2, 3, 7, 40])
def test_jsonl_splits_read_the_same_records(tmp_path, parts):
    rows = [{"text": f"{JA} {i}" * (i % 5)} for i in range(23)]
    p = tmp_path / "d.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" + ("\n" if i % 4 == 0 else "")
                         for i, r in enumerate(rows)))  # fmt: skip
    whole = list(iter_records(str(p), "text"))
    sp = splits(str(p), parts)
    assert sp[0].start == 0 and sp[-1].stop == p.stat().st_size
    assert all(a.stop == b.start for a, b in zip(sp, sp[1:], strict=False))
    assert len(sp) <= parts
    got = [r for s in sp for r in iter_records(s.path, "text", start=s.start, stop=s.stop, first=s.first)]
    assert got == whole
    data = p.read_bytes()
    assert all(s.start == 0 or data[s.start - 1 : s.start] == b"\n" for s in sp)


def test_jsonl_splits_of_a_file_with_long_lines(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps({"text": "x" * 5000}) + "\n" + json.dumps({"text": "y"}) + "\n")
    sp = splits(str(p), 10)
    got = [r.text for s in sp for r in iter_records(s.path, "text", start=s.start, stop=s.stop, first=s.first)]
    assert got == ["x" * 5000, "y"]


@pytest.mark.parametrize("parts", [1, 2, 3, 10])
def test_parquet_splits_are_row_group_runs(tmp_path, parts):
    rows = [{"text": f"{i} {JA}"} for i in range(25)]
    p = write_parquet(tmp_path / "d.parquet", rows, row_group_size=4)  # 7 row groups
    whole = list(iter_records(p, "text"))
    sp = splits(p, parts)
    got = [r for s in sp for r in iter_records(p, "text", start=s.start, stop=s.stop, first=s.first)]
    assert got == whole
    assert [r.id for r in got] == [str(i) for i in range(25)]
    # a part read without `first` finds its row numbers from the metadata
    last = sp[-1]
    assert list(iter_records(p, "text", start=last.start, stop=last.stop)) == got[last.first :]


def test_compressed_files_are_one_split(tmp_path):
    p = write_jsonl(tmp_path / "d.jsonl.gz", ROWS, compress="gz")
    assert [(s.start, s.stop) for s in splits(p, 4)] == [(0, None)]
    with pytest.raises(UsageError, match="only an uncompressed JSONL file"):
        list(iter_records(p, "text", start=10, stop=20))
