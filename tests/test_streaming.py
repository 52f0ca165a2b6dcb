"""Streaming encode/count gives exactly the ids of encoding the whole text, for every kind."""

from __future__ import annotations

import pytest
from conftest import shared_corpus

import tokcli
from tokcli.bundled import sample_files
from tokcli.tokenizer import base

SAMPLE = "".join(p.read_text(encoding="utf-8") for p in sample_files())


def _chunks(text: str, size: int):
    return (text[i : i + size] for i in range(0, len(text), size))


@pytest.fixture(autouse=True)
def small_segments(monkeypatch):
    monkeypatch.setattr(base, "SEGMENT_CHARS", 2000)  # many cuts even in small texts


TOKS = {
    "char": lambda: tokcli.load("char"),
    "word": lambda: tokcli.load("word"),
    "bpe": lambda: tokcli.load("bpe"),
    "cl100k_base": lambda: tokcli.load("cl100k_base"),
    "unigram": lambda: tokcli.train("unigram", [SAMPLE], vocab_size=1500),
    "spm-dummy-prefix": None,  # built in the test: sentencepiece's defaults, encoded whole (no cut point)
}


def _spm_with_dummy_prefix():
    import io

    import sentencepiece as spm

    from tokcli.tokenizer.spm import SentencePiece

    out = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(SAMPLE.splitlines()), model_writer=out, vocab_size=1500,
                                   byte_fallback=True, minloglevel=2, num_threads=1)  # fmt: skip
    tok = SentencePiece(out.getvalue(), "dummy")
    assert tok.dummy_prefix
    return tok


@pytest.mark.parametrize("name", list(TOKS))
@pytest.mark.parametrize("chunk", [1, 997, 8192])
def test_stream_equals_whole(name, chunk):
    tok = _spm_with_dummy_prefix() if TOKS[name] is None else TOKS[name]()
    text = SAMPLE * 3
    streamed = [i for seg in tok.encode_stream(_chunks(text, chunk)) for i in seg]
    assert streamed == tok.encode(text)
    assert tok.count_stream(_chunks(text, chunk)) == len(tok.encode(text))


def test_segments_reassemble_the_text_and_are_cut_where_promised():
    tok = tokcli.load("cl100k_base")
    text = SAMPLE * 5
    segs = list(tok.segments(_chunks(text, 500)))
    assert len(segs) > 5
    assert "".join(segs) == text


def test_cutting_at_fixed_sizes_would_change_the_count():
    """What `count` must not do: cutting every 100 characters adds tokens at the cuts."""
    tok = tokcli.load("cl100k_base")
    text = SAMPLE * 3
    naive = sum(tok.count(text[i : i + 100]) for i in range(0, len(text), 100))
    assert naive > tok.count(text) == tok.count_stream(_chunks(text, 100))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cl100k_base", "bpe", "word", "char"])
def test_stream_equals_whole_on_multi_megabyte_input(name, monkeypatch):
    monkeypatch.setattr(base, "SEGMENT_CHARS", 1 << 18)
    text = shared_corpus("en_large.txt").read_text(encoding="utf-8")[:3_000_000]
    text += shared_corpus("ja_aozora_kokoro.txt").read_text(encoding="utf-8")
    tok = TOKS[name]()
    assert tok.count_stream(_chunks(text, 1 << 20)) == len(tok.encode(text))
