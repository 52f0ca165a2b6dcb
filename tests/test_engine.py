"""The fast exact engine (splintr-rs) against the reference (tiktoken with OpenAI's official files).

The reference encodings here are built directly from the official .tiktoken files in ../shared/tiktoken-cache
(tiktoken's own parser, tiktoken's own pattern and special tokens), never through tokcli's loader, so that
neither the engine nor splintr's embedded vocabulary is compared with itself.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPORA, TIKTOKEN_CACHE

pytest.importorskip("splintr", reason="splintr-rs is a default dependency; this environment lacks it")

import splintr  # noqa: E402
import tiktoken  # noqa: E402
import tiktoken.load  # noqa: E402
from tiktoken_ext import openai_public  # noqa: E402

from tokcli.tokenizer import engine  # noqa: E402
from tokcli.tokenizer.pretrained import TiktokenEncoding  # noqa: E402

NAMES = ("cl100k_base", "o200k_base")
# the official files, named in the cache by the SHA-1 of their URL (see ../shared/tiktoken-cache/README.md)
OFFICIAL_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}
URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"

_reference: dict[str, tiktoken.Encoding] = {}


@pytest.fixture(scope="module", autouse=True)
def _references_freed_after_the_module():
    yield
    _reference.clear()


def official_file(name: str) -> Path:
    path = TIKTOKEN_CACHE / hashlib.sha1(URL.format(name).encode()).hexdigest()
    if not path.is_file():
        pytest.skip(
            f"needs the official {name} file in ../shared/tiktoken-cache, which only the development checkout has"
        )
    assert hashlib.sha256(path.read_bytes()).hexdigest() == OFFICIAL_SHA256[name]
    return path


def official_spec(name: str) -> dict:
    """tiktoken's own constructor for `name`, reading the official file from ../shared (not tokcli's loader)."""
    path = official_file(name)

    def load(blobpath, expected_hash=None):
        assert blobpath == URL.format(name) and expected_hash == OFFICIAL_SHA256[name]
        return tiktoken.load.load_tiktoken_bpe(str(path), expected_hash)

    ctor = openai_public.ENCODING_CONSTRUCTORS[name]
    g = dict(vars(openai_public), load_tiktoken_bpe=load)
    import types

    return types.FunctionType(ctor.__code__, g, ctor.__name__)()


def reference(name: str) -> tiktoken.Encoding:
    if name not in _reference:
        _reference[name] = tiktoken.Encoding(**official_spec(name))
    return _reference[name]


@pytest.fixture
def fresh_engines(monkeypatch):
    """No splintr tokenizer built by an earlier test is reused."""
    monkeypatch.setattr(engine, "_built", {})
    monkeypatch.delenv("TOKCLI_ENGINE", raising=False)


def corpus_files() -> list[Path]:
    if not CORPORA.is_dir():
        pytest.skip("needs ../shared/corpora, which only the development checkout has")
    files = sorted(p for p in CORPORA.rglob("*") if p.is_file())
    assert len(files) >= 30
    return files


# -- ids identical to the reference -----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_ids_identical_on_every_shared_corpus(name, fresh_engines):
    ref = reference(name)
    tok = TiktokenEncoding(ref, name)
    assert tok.engine == "splintr"
    files = corpus_files()
    texts = [p.read_text(encoding="utf-8") for p in files]
    assert any("吾輩" in t or "親譲り" in t for t in texts)  # the Japanese novels are among them
    expected = ref.encode_ordinary_batch(texts)
    different = [p.name for p, t, e in zip(files, texts, expected, strict=True) if tok.encode(t) != e]
    assert different == []
    # the batch call too, on all files at once
    assert tok.encode_batch(texts) == expected


POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
    " \t\n\r\n  \u00a0\u3000\u2028\u0085\x0b\x0c",
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~'s've're'll'd't'm",
    "あいうえおかきくけこ吾輩は猫である。名前はまだ無い。親譲りの無鉄砲で小供の時から損ばかりしている。",
    "アイウエオカキクケコーヴｶﾞﾊﾟ",
    "😀👍🏽👨‍👩‍👧‍👦🏳️‍🌈❤️\u200d\ufe0f🇯🇵",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "مرحبا بالعالم",
    "שלום עולם",
    "ქართული",
    "ሰላም ዓለም",
    "ᏣᎳᎩ",
    "བོད་ཡིག",
    "ᠮᠣᠩᠭᠣᠯ",
    "𐌰𐌱𐌲𐌳𒀀𒀁𓀀𓀁",
    "e\u0301a\u0308\u0327\u20dd",
    "".join(chr(c) for c in range(0x20)) + "\x7f",
    "<|endoftext|><|endofprompt|><|fim_prefix|>",
    "ÀÉÎõüßÆøÅçñĲǅǈ",
    "Привет мир Ελληνικά",
    "한국어 텍스트",
]


def random_strings(n: int, seed: int) -> list[str]:
    """Seeded strings of runs from the pools above, plus arbitrary code points (no lone surrogates)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(0, 12)):
            if rng.random() < 0.1:
                c = rng.randint(0, 0x10FFFF)
                while 0xD800 <= c <= 0xDFFF:
                    c = rng.randint(0, 0x10FFFF)
                parts.append(chr(c))
            else:
                pool = rng.choice(POOLS)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))))
        out.append("".join(parts))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_ids_identical_on_20000_random_strings(name, fresh_engines):
    ref = reference(name)
    tok = TiktokenEncoding(ref, name)
    assert tok.engine == "splintr"
    texts = random_strings(20_000, seed=12)
    assert sum(any("\u3040" <= ch <= "\u30ff" for ch in t) for t in texts) > 1000
    expected = ref.encode_ordinary_batch(texts)
    different = [t for t, e in zip(texts, expected, strict=True) if tok.encode(t) != e]
    assert different[:5] == []
    assert tok.encode_batch(texts) == expected


# -- counting ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_count_stream_identical_on_a_multi_segment_text(name, fresh_engines, monkeypatch):
    from tokcli.tokenizer import base, pretrained

    ref = reference(name)
    parts = [
        CORPORA / "ja_aozora_botchan.txt",
        CORPORA / "en_shakespeare.txt",
        CORPORA / "code_cpython.py.txt",
    ]
    if not all(p.is_file() for p in parts):
        pytest.skip("needs ../shared/corpora, which only the development checkout has")
    text = "".join(p.read_text(encoding="utf-8") for p in parts)
    # many segments and several splintr batches, fed in odd-sized chunks
    monkeypatch.setattr(pretrained, "BATCH_CHARS", 200_000)
    assert len(text) > 5 * base.SEGMENT_CHARS
    chunks = [text[i : i + 65_537] for i in range(0, len(text), 65_537)]
    tok = TiktokenEncoding(ref, name)
    assert tok.engine == "splintr"
    assert len(list(tok.segments(chunks))) > 5
    expected = len(ref.encode_ordinary(text))
    assert tok.count_stream(iter(chunks)) == expected
    monkeypatch.setenv("TOKCLI_ENGINE", "reference")
    slow = TiktokenEncoding(ref, name)
    assert slow.engine == "tiktoken"
    assert slow.count_stream(iter(chunks)) == expected


@pytest.mark.parametrize("name", NAMES)
def test_encode_array_identical_on_a_multi_segment_text(name, fresh_engines, monkeypatch):
    """encode_array (splintr's uint32 buffers, no Python ints) gives the reference's ids of the whole text,
    across several batches, and so does each engine's path and the added-tokens wrapper."""
    import numpy as np

    from tokcli.tokenizer import base, pretrained

    parts = [CORPORA / "ja_aozora_kokoro.txt", CORPORA / "udhr", CORPORA / "en_shakespeare.txt"]
    if not all(p.exists() for p in parts):
        pytest.skip("needs ../shared/corpora, which only the development checkout has")
    udhr = "".join(f.read_text(encoding="utf-8") for f in sorted(parts[1].glob("*.txt")))
    text = parts[0].read_text(encoding="utf-8") + udhr + parts[2].read_text(encoding="utf-8")
    monkeypatch.setattr(pretrained, "BATCH_CHARS", 300_000)
    assert len(text) > 5 * base.SEGMENT_CHARS
    chunks = [text[i : i + 70_001] for i in range(0, len(text), 70_001)]
    ref = reference(name)
    expected = ref.encode_ordinary(text)
    tok = TiktokenEncoding(ref, name)
    assert tok.engine == "splintr"
    fast = tok.encode_array(iter(chunks))
    assert fast.dtype == np.uint32
    assert fast.tolist() == expected
    wrapped = tok.with_special("text", add_special=True)
    assert wrapped.encode_array(iter(chunks)).tolist() == [*tok.added_around()[0], *expected, *tok.added_around()[1]]
    assert tok.encode_array([]).tolist() == []
    monkeypatch.setenv("TOKCLI_ENGINE", "reference")
    slow = TiktokenEncoding(ref, name)
    assert slow.engine == "tiktoken"
    assert slow.encode_array(iter(chunks)).tolist() == expected


@pytest.mark.parametrize("name", NAMES)
def test_all_token_bytes_are_token_bytes_id_by_id(name, fresh_engines):
    """The shard fingerprint's fast path (tiktoken's ranks and specials at once) gives every id the bytes
    token_bytes gives it one by one through splintr, the gaps included, so fingerprints do not change."""
    from tokcli.files.shards import fingerprint
    from tokcli.tokenizer.base import Tokenizer

    tok = TiktokenEncoding(reference(name), name)
    assert tok.engine == "splintr"
    fast = tok.all_token_bytes()
    slow = Tokenizer.all_token_bytes(tok)
    assert len(fast) == tok.vocab_size
    assert fast == slow
    assert fast.count(None) > 0  # the ids tiktoken leaves unassigned below its special tokens
    assert fast[tok.special_tokens()["<|endoftext|>"]] == b"<|endoftext|>"

    class Slow(TiktokenEncoding):
        def all_token_bytes(self):
            return Tokenizer.all_token_bytes(self)

    assert fingerprint(tok) == fingerprint(Slow(reference(name), name))


# -- special tokens: ordinary text -------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_special_token_strings_are_ordinary_text(name, fresh_engines):
    ref = reference(name)
    tok = TiktokenEncoding(ref, name)
    assert tok.engine == "splintr"
    text = "前文<|endoftext|>後文 <|endofprompt|>"
    ids = tok.encode(text)
    assert ids == ref.encode_ordinary(text)
    specials = {ref.encode_single_token("<|endoftext|>"), ref.encode_single_token("<|endofprompt|>")}
    assert not specials & set(ids)
    assert len(tok.encode("<|endoftext|>")) > 1
    assert tok.decode(ids) == text
    assert tok.count_stream([text]) == len(ids)
    assert tok.encode_batch([text, "<|endoftext|>"]) == [ids, ref.encode_ordinary("<|endoftext|>")]


def test_cli_counts_a_literal_endoftext_as_text(cli):
    r = cli("count", "-t", "cl100k_base", input="<|endoftext|>")
    assert r.code == 0
    assert r.err == ""
    # <|endoftext|> as text: <, |, endo, ft, ext, |, > under cl100k_base (a special token would be 1)
    assert r.out.strip() == "7"


# -- choosing the engine -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_reference_engine_really_uses_tiktoken(name, fresh_engines, monkeypatch):
    ref = reference(name)
    calls = []
    real = ref.encode_ordinary

    def spy(text):
        calls.append(text)
        return real(text)

    monkeypatch.setattr(ref, "encode_ordinary", spy)
    text = "吾輩は猫である。 <|endoftext|> tokens"
    fast = TiktokenEncoding(ref, name)
    assert fast.engine == "splintr"
    fast_ids = fast.encode(text)
    assert calls == []
    monkeypatch.setenv("TOKCLI_ENGINE", "reference")
    slow = TiktokenEncoding(ref, name)
    assert slow.engine == "tiktoken"
    assert slow.encode(text) == fast_ids
    assert calls == [text]


def test_fallback_when_splintr_cannot_be_imported(fresh_engines, monkeypatch):
    ref = reference("o200k_base")
    text = "日本語のテキスト 😀 <|endoftext|> and English"
    expected = TiktokenEncoding(ref, "o200k_base").encode(text)
    monkeypatch.setattr(engine, "_built", {})
    monkeypatch.setitem(sys.modules, "splintr", None)  # import splintr raises ImportError
    tok = TiktokenEncoding(ref, "o200k_base")
    assert tok.engine == "tiktoken"
    assert tok.encode(text) == expected == ref.encode_ordinary(text)
    assert tok.count_stream([text]) == len(expected)


def test_unproven_encodings_use_tiktoken(fresh_engines):
    from tokcli.tokenizer.pretrained import tiktoken_encoding

    gpt2 = TiktokenEncoding(tiktoken.Encoding(name="gpt2-like", **official_spec_small()))
    assert gpt2.engine == "tiktoken"
    # a proven name with another pattern is not trusted either
    cl = tiktoken_encoding("cl100k_base")
    other = tiktoken.Encoding(
        name="cl100k_base", pat_str=r"\S+|\s+", mergeable_ranks=cl._mergeable_ranks, special_tokens={}
    )
    assert TiktokenEncoding(other).engine == "tiktoken"


def official_spec_small() -> dict:
    ranks = {bytes([i]): i for i in range(256)}
    return {"pat_str": r"\S+|\s+", "mergeable_ranks": ranks, "special_tokens": {}}


def test_bad_engine_variable_is_one_error_line():
    env = dict(os.environ, TOKCLI_ENGINE="fastest")
    r = subprocess.run(
        [sys.executable, "-m", "tokcli", "count", "-t", "cl100k_base"],
        input="テキスト",
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("error: TOKCLI_ENGINE='fastest'")
    assert "reference" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


# -- splintr's embedded vocabularies against the official files ---------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_embedded_vocabulary_is_byte_identical_to_the_official_file(name):
    spec = official_spec(name)
    official = spec["mergeable_ranks"]
    emb = splintr.Tokenizer.from_pretrained(name)
    # every rank/bytes pair of the official file
    wrong = [rank for token, rank in official.items() if emb.decode_token_bytes(rank) != token]
    assert wrong == []
    # and nothing more below the special tokens: every other id is a special token or a hole
    emb_special = emb.special_tokens()
    known = set(official.values()) | set(emb_special.values())
    extra = []
    for i in range(splintr.base_vocab_size(name)):
        if i in known:
            continue
        try:
            extra.append((i, emb.decode_token_bytes(i)))
        except ValueError:
            pass
    assert extra == []
    # the official special tokens at the same ids (splintr adds its own agent tokens beyond them)
    assert {k: emb_special.get(k) for k in spec["special_tokens"]} == spec["special_tokens"]
    # the function tokcli uses: the rebuilt file is the official file, byte for byte
    ranks = engine.embedded_ranks(name, OFFICIAL_SHA256[name])
    assert ranks == official
    assert engine.tiktoken_file(ranks) == official_file(name).read_bytes()
    # and a wrong sha256 is refused
    assert engine.embedded_ranks(name, "0" * 64) is None
    assert engine.embedded_file(name, "0" * 64) is None


@pytest.mark.parametrize("name", NAMES)
def test_recorded_digests_are_the_official_and_the_embedded_files(name):
    """The digests tokcli trusts at run time instead of rebuilding and hashing 200,000 tokens: the official
    file's, as tiktoken's constructor names it and as the file has it, and the file rebuilt from the embedded
    vocabulary of the installed (pinned) splintr, rebuilt and hashed here."""
    from tokcli.tokenizer.tiktokenfiles import constructor_spec

    assert engine.OFFICIAL_SHA256[name] == OFFICIAL_SHA256[name] == constructor_spec(name)["sha256"]
    assert hashlib.sha256(official_file(name).read_bytes()).hexdigest() == engine.OFFICIAL_SHA256[name]
    assert splintr.__version__ in engine.EMBEDDED_SHA256, (
        f"splintr {splintr.__version__} has no recorded digests: run the identity tests on it, then record "
        "the sha256 of engine.embedded_file(name, ...) for each name in engine.EMBEDDED_SHA256"
    )
    recorded = engine.EMBEDDED_SHA256[splintr.__version__][name]
    rebuilt = engine.tiktoken_file(engine._embedded_ranks(name, recorded))
    assert hashlib.sha256(rebuilt).hexdigest() == recorded == engine.OFFICIAL_SHA256[name]
    assert engine.recorded_embedded(name, OFFICIAL_SHA256[name])
    assert not engine.recorded_embedded(name, "0" * 64)
    assert not engine.recorded_embedded("p50k_base", OFFICIAL_SHA256[name])


def _no_rebuild(*args):
    pytest.fail("the embedded vocabulary was rebuilt into a file although its digest is recorded")


@pytest.mark.parametrize("name", [*NAMES, "o200k_harmony"])
def test_a_recorded_embedded_vocabulary_is_not_rebuilt_to_count(name, fresh_engines, tmp_path, monkeypatch):
    """With no cached file, loading by name and counting rebuild nothing (the recorded digest is trusted);
    the file is rebuilt from the embedded vocabulary only when a batch holds "<|" or an id is decoded, and
    the ids are still tiktoken's encode_ordinary's (o200k_harmony: o200k_base's file and pattern)."""
    from tokcli.tokenizer import pretrained

    # before the empty cache is set: tiktoken's loader caches the file it reads
    ref = reference(engine.SAME_FILE.get(name, name))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TOKCLI_OFFLINE", "1")
    pretrained.openai_source.cache_clear()
    real = engine.tiktoken_file
    monkeypatch.setattr(engine, "tiktoken_file", _no_rebuild)
    tok = pretrained.TiktokenEncoding.load(name)
    text = "吾輩は猫である。 The cat sat 12345\n" * 20
    assert tok.engine == "splintr" and isinstance(tok._fast_engine, engine.Embedded)
    assert tok.count_texts([text]) == [len(ref.encode_ordinary(text))]
    assert tok.encode(text) == ref.encode_ordinary(text)
    monkeypatch.setattr(engine, "tiktoken_file", real)  # now the file is rebuilt, for "<|" and for decoding
    special = "x <|endoftext|> y"
    assert tok.encode(special) == ref.encode_ordinary(special)
    assert tok.decode(ref.encode_ordinary(text)) == text
    assert list(tmp_path.iterdir()) == []  # nothing written
    pretrained.openai_source.cache_clear()


@pytest.mark.parametrize("recorded", [{}, {"0.22.0": {"cl100k_base": "0" * 64, "o200k_base": "0" * 64}}])
def test_without_a_matching_record_the_embedded_vocabulary_is_rebuilt_and_hashed(
    recorded, fresh_engines, tmp_path, monkeypatch
):
    """A splintr version with no recorded digest (or a wrong one) is not trusted: the file is rebuilt from
    its embedded vocabulary and accepted only for the official sha256, and the engine built from its bytes."""
    from tokcli.tokenizer import pretrained

    ref = reference("o200k_base")  # before the empty cache is set: tiktoken's loader caches the file it reads
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TOKCLI_OFFLINE", "1")
    monkeypatch.setattr(engine, "EMBEDDED_SHA256", {splintr.__version__: recorded.get("0.22.0", {})})
    pretrained.openai_source.cache_clear()
    rebuilt = []
    real = engine.tiktoken_file
    monkeypatch.setattr(engine, "tiktoken_file", lambda ranks: rebuilt.append(1) or real(ranks))
    name = "o200k_base"
    assert not engine.recorded_embedded(name, OFFICIAL_SHA256[name])
    tok = pretrained.TiktokenEncoding.load(name)
    text = "吾輩は猫である。 The cat <|endoftext|> 12345\n"
    assert tok.engine == "splintr" and not isinstance(tok._fast_engine, engine.Embedded)
    assert rebuilt == [1]
    assert tok.encode(text) == ref.encode_ordinary(text)
    ranks = engine.embedded_ranks(name, OFFICIAL_SHA256[name])  # hashed, not trusted
    assert rebuilt == [1, 1] and ranks == ref._mergeable_ranks
    assert list(tmp_path.iterdir()) == []  # nothing written
    pretrained.openai_source.cache_clear()


@pytest.mark.parametrize("engine_var", ["", "reference"])
def test_o200k_base_counts_with_no_network_and_no_cache(tmp_path, engine_var):
    ref = reference("o200k_base")
    text = "吾輩は猫である。名前はまだ無い。 The cat <|endoftext|> 😀\n" * 50
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(empty), TOKCLI_OFFLINE="1", TOKCLI_ENGINE=engine_var)
    env.pop("DATA_GYM_CACHE_DIR", None)
    r = subprocess.run(
        [sys.executable, "-m", "tokcli", "count", "-t", "o200k_base"],
        input=text,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert r.stderr == ""
    assert r.returncode == 0
    assert r.stdout.strip() == str(len(ref.encode_ordinary(text)))
    assert list(empty.iterdir()) == []  # nothing downloaded or written


def test_cached_official_file_is_still_preferred(o200k_cache, fresh_engines, monkeypatch):
    from tokcli.tokenizer import pretrained

    monkeypatch.setattr(pretrained, "_encodings", {})
    monkeypatch.setattr(engine, "embedded_ranks", lambda *a: pytest.fail("the cached file should be used"))
    enc = pretrained.tiktoken_encoding("o200k_base")
    assert enc._mergeable_ranks == reference("o200k_base")._mergeable_ranks


# -- the engine straight from the file's bytes, no tiktoken.Encoding --------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_loaded_encoding_counts_without_building_tiktoken(name, fresh_engines, o200k_cache):
    """`TiktokenEncoding.load` gives splintr built from the official file's bytes: the counts and ids are the
    reference's, and the tiktoken.Encoding (a second copy of the vocabulary) is built only for decode."""
    from tokcli.tokenizer import pretrained

    ref = reference(name)
    tok = pretrained.TiktokenEncoding.load(name)
    assert tok.engine == "splintr"
    files = corpus_files()
    texts = [p.read_text(encoding="utf-8") for p in files]
    assert any("吾輩" in t for t in texts)
    expected = ref.encode_ordinary_batch(texts)
    assert tok.encode_batch(texts) == expected
    assert [tok.count_stream([t]) for t in texts] == [len(e) for e in expected]
    assert tok.count_texts(texts) == [len(e) for e in expected]
    assert tok.decode(expected[0]) == texts[0]
    assert tok.vocab_size == ref.n_vocab
    assert tok._enc is None  # counting, encoding, decoding never built tiktoken's encoding
    assert tok.special_tokens()["<|endoftext|>"] == ref.encode_single_token("<|endoftext|>")
    assert tok._enc is not None


@pytest.mark.parametrize("name", [*NAMES, "llama3", "llama4"])
def test_token_bytes_and_decode_identical_to_tiktoken_for_every_id(name, fresh_engines, o200k_cache):
    """Where splintr encodes, it also gives token bytes and decodes; every id, special tokens and the holes
    below them included, gives tiktoken's bytes or tiktoken's error."""
    from tokcli.tokenizer import pretrained, vendors

    if name in NAMES:
        ref, tok = reference(name), pretrained.TiktokenEncoding.load(name)
    else:
        ref, _ = _vendor_reference(name)
        vendors._built.cache_clear()
        tok = vendors.load(name)
    assert tok.engine == "splintr"
    for i in range(ref.n_vocab):
        try:
            want = ref.decode_single_token_bytes(i)
        except KeyError:
            with pytest.raises(KeyError):
                tok.token_bytes(i)
            continue
        assert tok.token_bytes(i) == want, i
    text = "吾輩は猫である。 😀 cafe\u0301 <|endoftext|>"
    ids = ref.encode(text, allowed_special="all")
    assert tok.decode(ids) == ref.decode(ids) == text
    assert tok.decode(ids[:3]) == ref.decode(ids[:3])  # a cut inside a character: U+FFFD as tiktoken


def _vendor_reference(key: str):
    from importlib import metadata

    from tokcli.tokenizer import patterns, vendors, vendortable

    try:
        metadata.distribution("llama-models")
    except metadata.PackageNotFoundError:
        pytest.skip('needs the llama extra (llama-models): pip install "tokcli[llama]"')
    v = vendors.VENDORS[key]
    path = vendors.vendor_file(key, v)
    pattern, specials = (
        (patterns.LLAMA3_PATTERN, vendortable.LLAMA3_SPECIALS)
        if key == "llama3"
        else (patterns.LLAMA4_PATTERN, vendortable.LLAMA4_SPECIALS)
    )
    # tiktoken on the vendor's file, with the vendor's pattern (tests/test_vendors.py: the vendor's own ids)
    return vendors._tiktoken_file_encoding(key, path, pattern, specials), path


@pytest.mark.parametrize("key", ["llama3", "llama4"])
def test_llama_ids_identical_to_tiktoken_on_the_vendor_file(key, fresh_engines):
    from tokcli.tokenizer import vendors

    ref, path = _vendor_reference(key)
    vendors._built.cache_clear()
    tok = vendors.load(key)
    assert tok.engine == "splintr"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == engine.VENDOR_FILES[key]
    texts = [p.read_text(encoding="utf-8") for p in corpus_files()]
    expected = ref.encode_ordinary_batch(texts)
    different = [i for i, (t, e) in enumerate(zip(texts, expected, strict=True)) if tok.encode(t) != e]
    assert different == []
    assert tok.count_texts(texts) == [len(e) for e in expected]
    randoms = random_strings(20_000, seed=7)
    assert tok.encode_batch(randoms) == ref.encode_ordinary_batch(randoms)
    assert tok._enc is None
    # special-token strings are text; --special allow and BOS go through tiktoken
    assert tok.encode("<|begin_of_text|>") == ref.encode_ordinary("<|begin_of_text|>")
    assert tok.with_special(add_special=True).encode("hi") == [
        ref.encode_single_token("<|begin_of_text|>"),
        *ref.encode_ordinary("hi"),
    ]


def test_a_vendor_file_other_than_the_tested_one_is_parsed_by_tiktoken_first(fresh_engines, tmp_path):
    """splintr parses a vendor file itself only when its sha256 is the tested one; otherwise the engine is
    built from the ranks tiktoken parsed (the same ids by construction), never from unchecked bytes."""
    ref, path = _vendor_reference("llama3")
    data = path.read_bytes()
    built = []

    def build():
        built.append(1)
        return ref

    source = engine.VocabSource("llama3", ref._pat_str, file=lambda: data + b"\n", build=build)
    assert engine.splintr_for_source(source) is None
    tok = TiktokenEncoding(name="llama3", source=source)
    assert tok.engine == "splintr" and built == [1]  # through splintr_for(tiktoken's encoding)
    text = "吾輩は猫である。 Llama 3 tokens\n\n  12345"
    assert tok.encode(text) == ref.encode_ordinary(text)
    # an OpenAI source with no known sha256 is not trusted either
    bare = engine.VocabSource("cl100k_base", engine.official_pattern("cl100k_base"), file=lambda: b"", build=build)
    assert engine.splintr_for_source(bare) is None
    # nor one whose pattern is not the reference's
    other = engine.VocabSource("llama3", r"\S+|\s+", file=lambda: data, build=build)
    assert engine.splintr_for_source(other) is None


@pytest.mark.parametrize("name", NAMES)
def test_the_embedded_encoder_gives_encode_ordinarys_ids(name, fresh_engines, o200k_cache):
    """Loaded by name, the engine is splintr's pre-parsed embedded encoder for batches without "<|" and one
    built from the official file's bytes for the rest: every special token the embedded encoder knows starts
    with "<|", and the ids are tiktoken's encode_ordinary's on every corpus and on 20,000 random strings,
    many holding special-token strings."""
    from tokcli.tokenizer import pretrained

    ref = reference(name)
    tok = pretrained.TiktokenEncoding.load(name)
    assert tok.engine == "splintr"
    fast = tok._fast_engine
    assert isinstance(fast, engine.Embedded)
    assert all(s.startswith(engine.SPECIAL_START) for s in fast.embedded.special_tokens())
    texts = [p.read_text(encoding="utf-8") for p in corpus_files()] + random_strings(20_000, seed=99)
    assert sum(engine.SPECIAL_START in t for t in texts) > 100
    expected = ref.encode_ordinary_batch(texts)
    assert tok.encode_batch(texts) == expected
    assert tok.count_texts(texts) == [len(e) for e in expected]
    plain = [(t, e) for t, e in zip(texts, expected, strict=True) if engine.SPECIAL_START not in t]
    assert fast.embedded.encode_batch([t for t, _ in plain]) == [e for _, e in plain]  # the embedded one alone
    assert [tok.encode(t) for t in texts[-500:]] == expected[-500:]
    special = "吾輩は<|endoftext|>猫 <|fim_prefix|><|think|>"
    assert tok.count_texts([special, "x"]) == [len(ref.encode_ordinary(special)), 1]
    assert fast.embedded.encode_batch([special]) != [ref.encode_ordinary(special)]  # it would match them
