"""tokcli's byte-level BPE through tiktoken's core gives exactly the ids `tokenizers` gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import hf_ids

from tokcli.files.bundled import sample_files
from tokcli.tokenizer.bpe import train_bpe
from tokcli.tokenizer.fastbpe import fast_encoding
from tokcli.tokenizer.registry import load

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpora"
EXTRA = [
    "emoji 👍🏽 👨‍👩‍👧 and flags 🇯🇵🇫🇷, ZWJ\u200djoined",
    "中文字符和日本語のテキスト、한국어 텍스트。",
    "tabs\t\tand\r\nCRLF\r\n\r\n  lines   \n\n\nend",
    "don't I'LL we've 12345678 x=1.5e-3;// /* */",
    "Ünïcödé COMBINING e\u0301 a\u0308 ǅ ǈ",
    "",
    " ",
]


def _texts() -> list[tuple[str, str]]:
    out = [(p.name, p.read_text(encoding="utf-8")) for p in sample_files()]
    out += [(f"extra{i}", t) for i, t in enumerate(EXTRA)]
    return out


def _shared() -> list[tuple[str, str]]:
    if not SHARED.is_dir():
        return []
    files = sorted(SHARED.glob("*.txt")) + sorted((SHARED / "udhr").glob("*.txt"))
    return [(p.name, p.read_text(encoding="utf-8")) for p in files]


def _shared_group(group: str) -> list[tuple[str, str]]:
    """One large corpus of ../shared/corpora, or "udhr" (its 30 translations together)."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (the shared English, Japanese, CPython and UDHR corpora)")
    files = sorted((SHARED / "udhr").glob("*.txt")) if group == "udhr" else [SHARED / group]
    return [(p.name, p.read_text(encoding="utf-8")) for p in files]


# each large corpus apart, so that the test's parts run on different workers (HF takes ~15 s on en_large)
SHARED_GROUPS = [p.name for p in sorted(SHARED.glob("*.txt"))] + ["udhr"] if SHARED.is_dir() else ["absent"]


@pytest.fixture(scope="module")
def trained():
    return train_bpe([t for _, t in _texts()], vocab_size=1200)


def _check(tok, texts, wants=None) -> None:
    """tokcli's encode and encode_batch (tiktoken's core) give HF's ids; the ids decode to the text.
    HF encodes each text once (its encode and encode_batch give the same ids; the slow side here)."""
    assert tok._fast is not None
    if wants is None:
        wants = [tok.tok.encode(text, add_special_tokens=False).ids for _, text in texts]
    for (name, text), want in zip(texts, wants, strict=True):
        ids = tok.encode(text)
        assert ids == want, name
        assert tok.decode(ids) == text, name
    assert tok.encode_batch([t for _, t in texts]) == wants


def test_trained_bpe_matches_hf_on_samples(trained) -> None:
    _check(trained, _texts())


def test_bundled_bpe_matches_hf_on_samples() -> None:
    _check(load("bpe"), _texts())


@pytest.mark.parametrize("group", SHARED_GROUPS)
@pytest.mark.parametrize("which", ["trained", "bundled"])
def test_matches_hf_on_shared_corpora(which, group, trained, tmp_path) -> None:
    texts = _shared_group(group)
    tok = trained if which == "trained" else load("bpe")
    _check(tok, texts, hf_ids(tok.tok, [t for _, t in texts], tmp_path))  # en_large's in a child process


def test_token_bytes_unchanged(trained) -> None:
    for i in range(trained.vocab_size):
        assert trained._fast.decode_single_token_bytes(i) == trained.token_bytes(i)


def test_falls_back_when_rank_is_not_id(trained) -> None:
    import json

    spec = json.loads(trained.tok.to_str())
    m = spec["model"]
    m["merges"] = m["merges"][1:] + m["merges"][:1]  # merge order no longer matches the ids
    assert fast_encoding(trained.tok, spec, "x") is None
    spec = json.loads(trained.tok.to_str())
    spec["normalizer"] = {"type": "NFC"}
    assert fast_encoding(trained.tok, spec, "x") is None


def _unreachable(trained):
    """A tokenizer.json that passes every check but the last: HF merges "abc" into ab + c, never into "abc"."""
    import json

    from tokenizers import Tokenizer

    spec = json.loads(trained.tok.to_str())
    m = spec["model"]
    m["vocab"] = {s: i for s, i in m["vocab"].items() if i < 256} | {"ab": 256, "bc": 257, "abc": 258}
    m["merges"] = [["a", "b"], ["b", "c"], ["a", "bc"]]
    tok = Tokenizer.from_str(json.dumps(spec))
    assert tok.encode("abc").ids == [256, m["vocab"]["c"]]  # tiktoken would give [258]
    return tok, spec


def test_falls_back_when_a_token_is_unreachable(trained) -> None:
    assert fast_encoding(*_unreachable(trained), "x") is None


def test_other_kinds_do_not_take_the_bpe_fast_path() -> None:
    from tokcli.tokenizer.fastchar import CharTable
    from tokcli.tokenizer.fastword import WordTable

    assert isinstance(load("word")._fast, WordTable)  # its own fast path (tests/test_fastword.py)
    assert isinstance(load("char")._fast, CharTable)  # its own fast path (tests/test_fastchar.py)


def test_without_tiktokens_private_single_piece_the_public_api_checks_the_same(trained, monkeypatch) -> None:
    """`encode_single_piece` is private to tiktoken's core: a tiktoken without it still gets the fast path."""
    import json

    import tiktoken

    class CoreWithout:  # tiktoken's core less encode_single_piece
        def __init__(self, core) -> None:
            self._core = core

        def __getattr__(self, attr: str):
            if attr == "encode_single_piece":
                raise AttributeError(attr)
            return getattr(self._core, attr)

    class Encoding(tiktoken.Encoding):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._core_bpe = CoreWithout(self._core_bpe)

    spec = json.loads(trained.tok.to_str())
    monkeypatch.setattr(tiktoken, "Encoding", Encoding)
    enc = fast_encoding(trained.tok, spec, "x")
    assert isinstance(enc, Encoding) and not hasattr(enc._core_bpe, "encode_single_piece")
    for name, text in _texts():
        assert enc.encode_ordinary(text) == trained.tok.encode(text, add_special_tokens=False).ids, name
    assert fast_encoding(*_unreachable(trained), "x") is None


@pytest.mark.parametrize("which", ["bundled", "trained"])
def test_decode_through_the_fast_path_equals_hf(which, trained) -> None:
    """decode on tiktoken's core gives `tokenizers`' ByteLevel decode: on every shared corpus, Japanese and
    UDHR included, and on random id sequences, whose bytes are mostly not UTF-8 (U+FFFD alike)."""
    import random

    tok = load("bpe") if which == "bundled" else trained
    assert tok._fast is not None
    texts = [t for _, t in _texts()] + [t[:100_000] for _, t in _shared()]
    for text in texts:
        ids = tok.encode(text)
        assert tok.decode(ids) == tok.tok.decode(ids, skip_special_tokens=False) == text
    rng = random.Random(5)
    for _ in range(2000):
        ids = [rng.randrange(tok.vocab_size) for _ in range(rng.randint(0, 12))]
        assert tok.decode(ids) == tok.tok.decode(ids, skip_special_tokens=False), ids
    assert tok.decode([tok.vocab_size + 3]) == tok.tok.decode([tok.vocab_size + 3], skip_special_tokens=False)
