"""Counting many small files in batches (tokcli.tokenizer.counting._SmallFiles, Tokenizer.count_texts): every
row is what counting that file alone gives, in input order, with the same skips and errors."""

from __future__ import annotations

import shutil

import pytest
from conftest import CORPORA

import tokcli
from tokcli.errors import InputError
from tokcli.files.bundled import sample_files
from tokcli.files.text import expand_inputs
from tokcli.files.walk import Source
from tokcli.tokenizer import counting
from tokcli.tokenizer.counting import count_inputs


@pytest.fixture
def tree(tmp_path):
    """Japanese, UDHR, code and English files, small ones and one over the batch limit, plus a binary file
    and one that is not UTF-8 (a walk skips both)."""
    root = tmp_path / "tree"
    root.mkdir()
    if not CORPORA.is_dir():
        pytest.skip("needs ../shared/corpora, which only the development checkout has")
    for p in sorted((CORPORA / "udhr").glob("*.txt")):
        shutil.copy(p, root / f"udhr_{p.name}")
    ja = (CORPORA / "ja_aozora_botchan.txt").read_text(encoding="utf-8")
    (root / "ja_small.txt").write_text(ja[:5000], encoding="utf-8")
    (root / "ja_big.txt").write_text(ja, encoding="utf-8")  # more than SMALL_FILE_BYTES: streamed
    (root / "code.py").write_text((CORPORA / "code_cpython.py.txt").read_text(encoding="utf-8")[:20000])
    (root / "crlf.txt").write_bytes("行一\r\nline two <|endoftext|>\r\n\r\n".encode())
    (root / "bom.txt").write_bytes("\ufeffBOM 付き".encode())
    (root / "empty.txt").write_bytes(b"")
    for p in sample_files():
        shutil.copy(p, root / p.name)
    (root / "blob.bin").write_bytes(b"\x00\x01binary")
    (root / "latin1.txt").write_bytes("café au lait".encode("latin-1"))
    return root


def _alone(toks, sources):
    """Each file counted alone, through the streaming path (count_stream), as before batching."""
    rows = []
    for src in sources:
        try:
            rows.append(counting._count_one(toks, src, errors="strict", strict_unk=False))
        except InputError:
            continue
    return rows


@pytest.mark.parametrize("names", [["cl100k_base"], ["o200k_base", "cl100k_base", "bpe"]])
def test_batched_rows_equal_counting_each_file_alone(tree, names, monkeypatch, o200k_cache):
    monkeypatch.setattr(counting, "SMALL_BATCH_CHARS", 20_000)  # many batches
    toks = [tokcli.load(n) for n in names]
    sources = expand_inputs([str(tree)])
    skipped: list[tuple[str, str]] = []
    calls = []
    real = type(toks[0]).count_texts

    def spy(self, texts):
        calls.append(len(texts))
        return real(self, texts)

    monkeypatch.setattr(type(toks[0]), "count_texts", spy)
    rows = count_inputs(toks, sources, skipped=skipped)
    assert max(calls) > 1  # several files per call
    expected = _alone(toks, [s for s in sources if not s.path.endswith("latin1.txt")])
    assert [r.input for r in rows] == [r.input for r in expected]  # input order
    assert rows == expected
    assert any("ja_big" in r.input for r in rows) and any("udhr_jpn" in r.input for r in rows)
    assert [p for p, _ in skipped] == [str(tree / "latin1.txt")]
    assert sources.skipped and "blob.bin" in sources.skipped[0][0]


def test_splintr_counts_texts_like_count_stream(o200k_cache):
    tok = tokcli.load("o200k_base")
    assert tok.engine == "splintr"
    texts = [
        "",
        "吾輩は猫である。",
        "<|endoftext|>",
        "x" * 10,
        *(p.read_text(encoding="utf-8") for p in sample_files()),
    ]
    assert tok.count_texts(texts) == [tok.count_stream([t]) for t in texts] == [len(tok.encode(t)) for t in texts]
    special = tok.with_special(add_special=True)
    assert special.count_texts(texts) == [special.count_stream([t]) for t in texts]


def test_a_named_bad_file_among_small_ones_is_still_an_error(tree):
    toks = [tokcli.load("cl100k_base")]
    sources = [Source(str(tree / "ja_small.txt")), Source(str(tree / "latin1.txt"))]
    with pytest.raises(InputError, match="not valid UTF-8 at byte 3"):
        count_inputs(toks, sources)


def test_tokenizers_with_an_unknown_token_are_not_batched(tree, monkeypatch):
    monkeypatch.setattr(counting, "_SmallFiles", None)  # would fail if used
    toks = [tokcli.load("char"), tokcli.load("cl100k_base")]
    rows = count_inputs(toks, [Source(str(tree / "ja_small.txt"))])
    assert rows[0].tokens["char"] == 5000 and rows[0].unknown["char"].chars > 0
