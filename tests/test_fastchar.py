"""tokcli's char tokenizer through a numpy lookup table gives exactly the ids `tokenizers` gives."""

from __future__ import annotations

import json

import pytest
from test_fastbpe import EXTRA, _shared

from tokcli.bundled import sample_files
from tokcli.tokenizer.char import train_char
from tokcli.tokenizer.hf import HFTokenizer
from tokcli.tokenizer.registry import load

MORE = ["\x00nul \U0010ffff max \ud7ff \ue000 private", "\u2028\u2029\x85 separators", "z" * 1000]


def _texts() -> list[tuple[str, str]]:
    out = [(p.name, p.read_text(encoding="utf-8")) for p in sample_files()]
    return out + [(f"extra{i}", t) for i, t in enumerate(EXTRA + MORE)]


def _check(tok: HFTokenizer, texts: list[tuple[str, str]]) -> None:
    assert tok._fast is not None
    for name, text in texts:
        want = tok.tok.encode(text, add_special_tokens=False).ids
        assert tok.encode(text) == want, name
    batch = [t for _, t in texts]
    assert tok.encode_batch(batch) == [e.ids for e in tok.tok.encode_batch(batch, add_special_tokens=False)]


@pytest.mark.parametrize("name", ["char", "ja-char"])
def test_bundled_char_tokenizers_match_hf(name) -> None:
    _check(load(name), _texts())  # English samples under ja-char: mostly <unk>, which must agree too


def test_trained_char_matches_hf_including_unknown_characters() -> None:
    texts = _texts()
    tok = train_char([t for _, t in texts[:2]], vocab_size=40)  # most characters of the rest are unknown
    _check(tok, texts)


def test_matches_hf_on_shared_corpora() -> None:
    texts = [(name, text[:200_000]) for name, text in _shared()]  # every file's scripts; tokenizers is slow here
    if not texts:
        pytest.skip("needs ../shared/corpora, which only the development checkout has")
    for name in ("char", "ja-char"):
        _check(load(name), texts)


def test_other_structures_keep_hf() -> None:
    tok = train_char(["abc"])
    spec = json.loads(tok.tok.to_str())
    spec["pre_tokenizer"]["pattern"]["Regex"] = r"\S+|\s+"  # not one piece per code point
    from tokenizers import Tokenizer

    other = HFTokenizer(Tokenizer.from_str(json.dumps(spec)), "other", kind="char")
    assert other._fast is None
    assert other.encode("ab c") == other.tok.encode("ab c", add_special_tokens=False).ids
