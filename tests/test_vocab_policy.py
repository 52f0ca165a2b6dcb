"""One vocabulary-size rule for every kind and backend: a size larger than the text supports trains the
largest vocabulary it does support, with a warning naming both sizes (train and compare --train alike)."""

from __future__ import annotations

import json
import re

import pytest

import tokcli
from tokcli.errors import VocabSizeError
from tokcli.files.bundled import corpora_dir
from tokcli.tokenizer import spm
from tokcli.tokenizer.training import train, vocab_shortfall

KINDS = [
    ("char", [], "t.json"),
    ("word", [], "t.json"),
    ("bpe", [], "t.json"),
    ("unigram", [], "t.model"),
    ("bpe", ["--backend", "sentencepiece"], "t.model"),
]
FITS = {"char": 40, "word": 300, "bpe": 300, "unigram": 400, "t.model": 400}  # sizes en_prose.txt supports


def _small_text() -> str:
    return (corpora_dir() / "en_prose.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(("kind", "extra", "out"), KINDS)
def test_a_size_too_large_for_the_text_trains_the_largest_it_supports(cli, tmp_path, kind, extra, out):
    src = tmp_path / "small.txt"
    src.write_text(_small_text(), encoding="utf-8")
    r = cli("train", kind, src, "-o", tmp_path / out, "--vocab-size", "8000", *extra)
    assert r.code == 0, r.err
    assert r.out == ""
    warning, info = r.err.splitlines()
    m = re.fullmatch(
        rf"warning: --vocab-size 8000 is more than the text supports: trained {kind} with ([\d,]+) tokens, not 8,000",
        warning,
    )
    assert m, warning
    actual = int(m[1].replace(",", ""))
    assert 1 < actual < 8000
    saved = tokcli.load(str(tmp_path / out))
    assert saved.vocab_size == actual  # the file holds the vocabulary the warning names
    assert info.startswith(f"trained {kind} tokenizer: {actual} tokens")


@pytest.mark.parametrize(("kind", "extra", "out"), KINDS)
def test_a_size_the_text_supports_gives_no_warning(cli, tmp_path, kind, extra, out):
    src = tmp_path / "small.txt"
    src.write_text(_small_text(), encoding="utf-8")
    size = FITS[out if extra else kind]
    r = cli("train", kind, src, "-o", tmp_path / out, "--vocab-size", str(size), "-q", *extra)
    assert (r.code, r.out, r.err) == (0, "", "")
    assert tokcli.load(str(tmp_path / out)).vocab_size == size


def test_the_default_size_is_named_as_the_default(cli, tmp_path):
    src = tmp_path / "small.txt"
    src.write_text(_small_text(), encoding="utf-8")
    r = cli("train", "word", src, "-o", tmp_path / "w.json", "-q")
    assert r.code == 0
    assert r.err.startswith(
        "warning: the default --vocab-size (8000) is more than the text supports: trained word with "
    )
    # char without a size keeps every character seen: nothing was asked for, nothing to warn about
    r = cli("train", "char", src, "-o", tmp_path / "c.json", "-q")
    assert (r.code, r.err) == (0, "")


@pytest.mark.parametrize(("kind", "backend"), [("char", "hf"), ("word", "hf"), ("bpe", "hf"), ("unigram", "hf"),
                                               ("bpe", "sentencepiece")])  # fmt: skip
def test_the_library_says_what_was_asked_and_what_was_trained(kind, backend):
    tok = train(kind, [_small_text()], vocab_size=5000, backend=backend)
    assert tok.requested_vocab_size == 5000
    assert vocab_shortfall(tok) == (5000, tok.vocab_size)
    assert tok.vocab_size < 5000
    fits = train(kind, [_small_text()], vocab_size=tok.vocab_size, backend=backend)
    assert vocab_shortfall(fits) is None
    assert fits.vocab_size == tok.vocab_size


def test_sentencepiece_retries_from_a_temporary_file_past_the_memory_bound(monkeypatch):
    """The lines kept for the second run go to disk past SPOOL_BYTES: the same model either way."""
    in_memory = train("unigram", [_small_text()], vocab_size=8000)
    monkeypatch.setattr(spm, "SPOOL_BYTES", 1)
    on_disk = train("unigram", [_small_text()], vocab_size=8000)
    assert on_disk.proto == in_memory.proto  # type: ignore[attr-defined]
    assert on_disk.vocab_size < 8000


def test_a_text_too_small_for_any_sentencepiece_model_says_so():
    with pytest.raises(VocabSizeError, match=r"^--vocab-size 8000 is too large for this text: sentencepiece can learn"
                       r" at most \d+ pieces from it, fewer than a model with byte fallback needs \(264\)"):  # fmt: skip
        train("unigram", ["ab"], vocab_size=8000)


def test_compare_trains_the_largest_vocabulary_and_warns_in_its_own_terms(cli, tmp_path):
    src = tmp_path / "small.txt"
    src.write_text(_small_text(), encoding="utf-8")
    r = cli("compare", src, "--train", "unigram:8000", "--train", "word", "--format", "json")
    assert r.code == 0, r.err
    warnings = r.err.splitlines()
    assert len(warnings) == 2
    assert re.fullmatch(r"warning: --train unigram:8000 is more than the text supports: trained unigram with "
                        r"[\d,]+ tokens, not 8,000", warnings[0])  # fmt: skip
    assert warnings[1].startswith("warning: --train word (its default size, 8000) is more than the text supports")
    doc = json.loads(r.out)
    trained = {t["tokenizer"]: t for t in doc["trained"]}
    assert trained["trained unigram:8000"]["requested_vocab_size"] == 8000
    sizes = {row["tokenizer"]: row["vocab_size"] for row in doc["rows"]}
    assert trained["trained unigram:8000"]["vocab_size"] == sizes["trained unigram:8000"] < 8000
    assert trained["trained word"]["vocab_size"] == sizes["trained word"] < 8000
    assert str(trained["trained unigram:8000"]["vocab_size"]) in warnings[0].replace(",", "")


def test_compare_names_its_own_option_when_a_size_cannot_work(cli, tmp_path):
    src = tmp_path / "small.txt"
    src.write_text(_small_text(), encoding="utf-8")
    r = cli("compare", src, "--train", "unigram:100")
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith("error: --train unigram:100 cannot work: a sentencepiece model with byte fallback needs")
    assert "--vocab-size" not in r.err
    r = cli("compare", src, "--train", "bpe:200")
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith("error: --train bpe:200 cannot work: byte-level BPE needs the 256 byte tokens")
