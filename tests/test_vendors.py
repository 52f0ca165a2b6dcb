"""Open models' tokenizers (tokcli.tokenizer.vendors): the ids are the vendors' own code's, exactly.

The references are the vendors' own tokenizer classes, run on their own files:
llama_models.llama3/llama4.tokenizer.Tokenizer on its tokenizer.model (what get_instance() builds),
mistral_common's MistralTokenizer.v1/v3/v7 (and v3(is_tekken=True)) and dashscope's QwenTokenizer.
dashscope's package __init__ imports its whole cloud SDK (aiohttp, fastapi, ...), so its tokenizer module
is loaded by file path from the installed distribution (it needs only tiktoken). Each reference is asked for ordinary text, as tokcli encodes:
bos=False, eos=False and no special tokens allowed.

A test skips, saying which extra it needs, where that extra is not installed; the tests of the
missing-extra error run everywhere.
"""

from __future__ import annotations

import importlib
import sys
import types
import unicodedata
from importlib import metadata
from pathlib import Path

import pytest
from conftest import CORPORA, shared_corpus
from hypothesis import given, settings
from hypothesis import strategies as st

from tokcli.errors import BackendMissing, TokenizerFileError
from tokcli.tokenizer import vendors, vendortable
from tokcli.tokenizer.registry import _load, known_names, load

# corpus slices stay under the vendors' own cutting lengths (dashscope: 100,000 characters; llama-models:
# 400,000), where their encode functions cut the text for their own reasons (see tokcli.tokenizer.vendors)
SLICE = 90_000
LARGE = ["ja_aozora_kokoro.txt", "ja_aozora_botchan.txt", "code_cpython.py.txt", "en_shakespeare.txt", "en_large.txt"]
UDHR = sorted(p.name for p in (CORPORA / "udhr").glob("*.txt")) if (CORPORA / "udhr").is_dir() else ["jpn.txt"]

# -- the vendors' own tokenizers ----------------------------------------------------------------------------


def _need(distribution: str, extra: str) -> metadata.Distribution:
    try:
        return metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        pytest.skip(f'needs the {extra} extra ({distribution}): pip install "tokcli[{extra}]"')


def _llama(version: str):
    _need("llama-models", "llama")
    module = importlib.import_module(f"llama_models.{version}.tokenizer")
    # what Tokenizer.get_instance() builds, without its module-global singleton (kept for the worker's life)
    vendor = module.Tokenizer(Path(module.__file__).parent / "tokenizer.model")
    return lambda s: vendor.encode(s, bos=False, eos=False, allowed_special=set(), disallowed_special=())


def _mistral(which: str):
    _need("mistral-common", "mistral")
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    make = {
        "mistral-v1": MistralTokenizer.v1,
        "mistral-v3": MistralTokenizer.v3,
        "mistral-v7": MistralTokenizer.v7,
        "tekken": lambda: MistralTokenizer.v3(is_tekken=True),
    }[which]
    vendor = make().instruct_tokenizer.tokenizer
    return lambda s: vendor.encode(s, bos=False, eos=False)


def _qwen():
    dist = _need("dashscope", "qwen")
    folder = Path(str(dist.locate_file("dashscope/tokenizers")))
    package = types.ModuleType("_dashscope_tokenizers")  # a stand-in package: only these two files are run
    package.__path__ = [str(folder)]
    sys.modules.setdefault("_dashscope_tokenizers", package)
    module = importlib.import_module("_dashscope_tokenizers.qwen_tokenizer")
    vendor = module.QwenTokenizer(str(dist.locate_file("dashscope/resources/qwen.tiktoken")))
    return lambda s: vendor.encode(s, allowed_special=set(), disallowed_special=())


REFERENCES = {
    "llama3": lambda: _llama("llama3"),
    "llama4": lambda: _llama("llama4"),
    "mistral-v1": lambda: _mistral("mistral-v1"),
    "mistral-v3": lambda: _mistral("mistral-v3"),
    "mistral-v7": lambda: _mistral("mistral-v7"),
    "tekken": lambda: _mistral("tekken"),
    "qwen": _qwen,
}
TIKTOKEN_FORMAT = ["llama3", "llama4", "tekken", "qwen"]  # byte-level: decode gives the text back


@pytest.fixture(scope="module", params=list(REFERENCES))
def pair(request):
    """(name, tokcli's tokenizer, the vendor's encode function)."""
    reference = _references(request.param)
    return request.param, load(request.param), reference


@pytest.fixture(scope="module", params=TIKTOKEN_FORMAT)
def byte_level(request):
    _references(request.param)  # skips without the extra
    return request.param, load(request.param)


def _text(name: str) -> str:
    return shared_corpus(name).read_text(encoding="utf-8")


# -- identity on the shared corpora ----------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.parametrize("corpus", LARGE)
def test_ids_match_the_vendor_on_the_large_corpora(pair, corpus):
    name, tok, reference = pair
    text = _text(corpus)
    middle = len(text) // 2
    for piece in (text[:SLICE], text[middle : middle + SLICE // 3]):
        ids = tok.encode(piece)
        assert ids == reference(piece), f"{name} on {corpus}"
        assert tok.count_stream([piece[:1000], piece[1000:]]) == len(ids)
        assert tok.encode_array([piece[:1000], piece[1000:]]).tolist() == ids


@pytest.mark.shared
def test_ids_match_the_vendor_on_every_udhr_language(pair):
    name, tok, reference = pair
    texts = [_text(f"udhr/{f}") for f in UDHR]
    assert len(texts) >= 29
    assert tok.encode_batch(texts) == [reference(t) for t in texts], name


def test_special_token_strings_are_ordinary_text_and_no_bos_is_added(pair):
    name, tok, reference = pair
    text = "<|begin_of_text|>こんにちは<|endoftext|> <s>[INST] 世界 </s><|im_start|><|eot_id|><SPECIAL_20>"
    ids = tok.encode(text)
    assert ids == reference(text)
    assert tok.count(text) == len(ids)
    specials = {"<|begin_of_text|>", "<|endoftext|>", "<s>", "</s>", "[INST]", "<|im_start|>", "<|eot_id|>"}
    assert not any(tok.id_to_token(i) in specials for i in ids)


# -- identity and round trips on generated text ---------------------------------------------------------

FRAGMENTS = [
    "吾輩は猫である。",
    "名前はまだ無い",
    " ",
    "  ",
    "\n",
    "\r\n",
    "\t",
    "'s",
    "'LL",
    "123456",
    "١٢٣",
    "def f(x):\n    return x",
    "<|endoftext|>",
    "[INST]",
    "e\u0301",
    "\u00e9",
    "한국어",
    "😀👍🏽",
    "Ünïcödé",
    "ሰላም",
]
TEXTS = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=25).map("".join),
)


@pytest.mark.parametrize("name", list(REFERENCES))
@settings(max_examples=150, deadline=None)
@given(text=TEXTS)
def test_ids_match_the_vendor_on_generated_text(name, text):
    reference = _references(name)
    assert load(name).encode(text) == reference(text)


@pytest.mark.parametrize("name", TIKTOKEN_FORMAT)
@settings(max_examples=150, deadline=None)
@given(text=TEXTS)
def test_decode_gives_the_text_back(name, text):
    _references(name)  # skips without the extra
    tok = load(name)
    # Qwen's encode NFC-normalises first (dashscope's QwenTokenizer.encode): its round trip gives the NFC form
    expected = unicodedata.normalize("NFC", text) if name == "qwen" else text
    assert tok.decode(tok.encode(text)) == expected


_REFERENCE_CACHE: dict[str, object] = {}  # the reference last used: one at a time (the tests go by name)


@pytest.fixture(scope="module", autouse=True)
def _references_freed_after_the_module():
    yield
    _REFERENCE_CACHE.clear()


def _references(name: str):
    if name not in _REFERENCE_CACHE:
        _REFERENCE_CACHE.clear()
        _REFERENCE_CACHE[name] = REFERENCES[name]()
    return _REFERENCE_CACHE[name]


@pytest.mark.shared
def test_round_trips_on_the_corpora(byte_level):
    name, tok = byte_level
    for corpus in ["ja_aozora_botchan.txt", "code_cpython.py.txt", "udhr/tha.txt", "udhr/hin.txt"]:
        text = _text(corpus)[:SLICE]
        expected = unicodedata.normalize("NFC", text) if name == "qwen" else text
        assert tok.decode(tok.encode(text)) == expected, f"{name} on {corpus}"


def test_qwen_normalises_to_nfc_as_dashscope_does():
    reference = _references("qwen")
    tok = load("qwen")
    decomposed, composed = "cafe\u0301 が", "caf\u00e9 が"
    assert tok.encode(decomposed) == tok.encode(composed) == reference(decomposed)
    assert tok.decode(tok.encode(decomposed)) == composed
    assert tok.count_stream(["cafe", "\u0301 が"]) == len(reference(decomposed))  # a chunk cut inside é
    assert tok.encode_array(["cafe", "\u0301 が"]).tolist() == reference(decomposed)


@pytest.mark.shared
def test_qwen_streamed_count_of_a_whole_novel_is_the_count_of_the_whole_text():
    _references("qwen")
    tok = load("qwen")
    text = unicodedata.normalize("NFD", _text("ja_aozora_kokoro.txt"))  # longer than one segment; NFC changes it
    chunks = [text[i : i + 10_007] for i in range(0, len(text), 10_007)]
    assert tok.count_stream(chunks) == len(tok.encode(text))
    assert tok.encode_array(chunks).tolist() == tok.encode(text)


# -- names ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "tokenizer"), sorted((m, t) for m, t in vendortable.MODELS.items() if t in REFERENCES)
)
def test_a_model_name_gives_its_tokenizer_under_the_model_name(model, tokenizer):  # the others: test_open_models.py
    _references(tokenizer)
    tok, base = load(model), load(tokenizer)
    assert tok.name == model and base.name == tokenizer
    text = "Llama、Mistral と Qwen の数え方 <|endoftext|>"
    assert tok.encode(text) == base.encode(text) == _references(tokenizer)(text)


def test_every_vendor_name_is_a_known_name():
    names = known_names()
    for name in [*vendors.VENDORS, "llama-3.1-8b", "llama-3.3-70b", "llama-4-scout", "mistral-large-2411"]:
        assert name in names
    assert {"mistral-nemo", "qwen2.5-7b"} <= set(names)


def test_the_cli_counts_with_a_vendor_tokenizer(cli, tmp_path):
    _references("llama3")
    f = tmp_path / "ja.txt"
    text = "吾輩は猫である。名前はまだ無い。\n"
    f.write_text(text, encoding="utf-8")
    r = cli("count", "-t", "llama-3.1-8b", f)
    assert r.code == 0
    assert r.err == ""
    assert r.out == f"{len(_references('llama3')(text))}\n"


# -- the extra missing -------------------------------------------------------------------------------------


@pytest.fixture
def fresh(monkeypatch):
    _load.cache_clear()
    vendors._built.cache_clear()
    yield monkeypatch
    _load.cache_clear()
    vendors._built.cache_clear()


def _without(monkeypatch, distribution: str) -> None:
    real = metadata.distribution

    def distribution_lookup(name: str):
        if name == distribution:
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "distribution", distribution_lookup)


@pytest.mark.parametrize(
    ("name", "distribution", "extra"),
    [
        ("llama3", "llama-models", "llama"),
        ("llama-4-scout", "llama-models", "llama"),
        ("mistral-v7", "mistral-common", "mistral"),
        ("mistral-nemo", "mistral-common", "mistral"),
        ("qwen", "dashscope", "qwen"),
        ("qwen2.5-7b", "dashscope", "qwen"),
    ],
)
def test_a_missing_extra_names_the_pip_command(fresh, cli, tmp_path, name, distribution, extra):
    _without(fresh, distribution)
    with pytest.raises(BackendMissing) as e:
        load(name)
    assert str(e.value) == f'{name} needs the {extra} extra: pip install "tokcli[{extra}]"'
    f = tmp_path / "t.txt"
    f.write_text("こんにちは", encoding="utf-8")
    r = cli("count", "-t", name, f)
    assert r.code == 2
    assert r.out == ""
    assert r.err == f'error: {name} needs the {extra} extra: pip install "tokcli[{extra}]"\n'


def test_an_installed_distribution_without_the_file_says_what_to_install(fresh, tmp_path):
    class Empty:
        version = "0.0.1"

        def locate_file(self, path):
            return tmp_path / path

    fresh.setattr(metadata, "distribution", lambda name: Empty())
    with pytest.raises(TokenizerFileError) as e:
        load("llama3")
    assert str(e.value) == (
        "llama3: llama-models 0.0.1 has no llama_models/llama3/tokenizer.model; install the version tokcli is "
        'tested with: pip install "tokcli[llama]"'
    )


def test_a_corrupt_tiktoken_file_is_a_tokenizer_file_error(fresh, tmp_path):
    bad = tmp_path / "llama_models" / "llama3" / "tokenizer.model"
    bad.parent.mkdir(parents=True)
    bad.write_text("IQ== 0\nnot-base64!! 1\n", encoding="utf-8")

    class Fake:
        version = "0.3.0"

        def locate_file(self, path):
            return tmp_path / path

    fresh.setattr(metadata, "distribution", lambda name: Fake())
    with pytest.raises(TokenizerFileError, match=r"tokenizer.model:2: not a tiktoken line"):
        load("llama3")
