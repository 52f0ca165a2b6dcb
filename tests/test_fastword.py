"""tokcli's word tokenizer through `regex` and a dict gives exactly the ids `tokenizers` gives."""

from __future__ import annotations

import json
import unicodedata

import pytest
from conftest import hf_ids
from test_fastbpe import EXTRA, _shared

from tokcli.files.bundled import sample_files
from tokcli.tokenizer import fastword
from tokcli.tokenizer.hf import HFTokenizer
from tokcli.tokenizer.registry import load
from tokcli.tokenizer.word import train_word

SIDETIC = "\U00010940"  # assigned in Unicode 17: a letter to `regex`, unassigned (\p{Cn}) to Oniguruma today
MORE = ["\x00nul \U0010ffff max \ud7ff \ue000 private", "\u2028\u2029\x85 separators", "z" * 1000,
        f"new scripts: a{SIDETIC}b {SIDETIC}\u0301 \U000105c0\U00011f04", "Ｆｕｌｌｗｉｄｔｈ　ｓｐａｃｅ ﾊﾝｶｸ"]  # fmt: skip


def _texts() -> list[tuple[str, str]]:
    out = [(p.name, p.read_text(encoding="utf-8")) for p in sample_files()]
    return out + [(f"extra{i}", t) for i, t in enumerate(EXTRA + MORE)]


def _hf_ids(tok: HFTokenizer, text: str) -> list[int]:
    return tok.tok.encode(text, add_special_tokens=False).ids


def _check(tok: HFTokenizer, texts: list[tuple[str, str]]) -> None:
    assert isinstance(tok._fast, fastword.WordTable)
    for name, text in texts:
        assert tok.encode(text) == _hf_ids(tok, text), name
    batch = [t for _, t in texts]
    assert tok.encode_batch(batch) == [e.ids for e in tok.tok.encode_batch(batch, add_special_tokens=False)]


def test_bundled_word_tokenizer_matches_hf() -> None:
    _check(load("word"), _texts())


def test_trained_word_matches_hf_and_names_the_same_unknown_pieces() -> None:
    texts = _texts()
    tok = train_word([t for _, t in texts[:1]], vocab_size=300)  # most words of the rest are unknown
    _check(tok, texts)
    for name, text in texts:
        enc = tok.tok.encode(text, add_special_tokens=False)
        want = [text[s:e] for i, (s, e) in zip(enc.ids, enc.offsets, strict=True) if i == tok.unk_id]
        assert tok.unknown_pieces(text) == want, name
    assert tok.unknown_pieces("東京の麒麟") == ["東京", "の", "麒麟"]  # not in the English sample


@pytest.mark.slow
def test_matches_hf_on_shared_corpora(tmp_path) -> None:
    texts = _shared()  # every file, every script
    if not texts:
        pytest.skip("needs ../shared/corpora, which only the development checkout has")
    tok = load("word")
    want = hf_ids(tok.tok, [t for _, t in texts], tmp_path)  # in a child process: HF takes ~1 GB here
    for (name, text), ids in zip(texts, want, strict=True):
        assert tok.encode(text) == ids, name


@pytest.mark.slow
def test_every_code_point_both_engines_know_is_split_alike() -> None:
    """Each character unicodedata calls assigned, beside letters, digits, marks, kana, spaces or nothing
    (the surroundings taking turns, so every block meets all of them): the pieces `regex` cuts are the
    pieces HF's Split pre-tokenizer cuts."""
    tok = load("word")
    table = tok._fast
    assert isinstance(table, fastword.WordTable)
    around = [("", "|"), ("a", "\u0301 "), ("\u3042", "1\n"), (" ", "a")]
    chars = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) not in ("Cn", "Cs")]
    text = "".join(around[i % 4][0] + c + around[i % 4][1] for i, c in enumerate(chars))
    pieces = table._pieces(text)
    assert pieces is not None
    hf = [text[s:e] for s, e in tok.tok.encode(text, add_special_tokens=False).offsets]  # one token per piece
    assert pieces == hf, next((i, pieces[i], hf[i]) for i in range(len(hf)) if pieces[i] != hf[i])


def test_a_character_unicodedata_does_not_know_goes_to_tokenizers() -> None:
    tok = load("word")
    for text in [f"a{SIDETIC}", f"The {SIDETIC}\u0301 script"]:
        assert tok._fast._pieces(text) is None
        assert tok.encode(text) == _hf_ids(tok, text)
    # where they disagree: `regex` would make one letter run of it, Oniguruma two pieces
    import regex

    assert regex.findall(fastword.WORD_PATTERN, f"a{SIDETIC}") == [f"a{SIDETIC}"]


def test_no_fast_path_where_the_unicode_versions_cannot_be_told(monkeypatch) -> None:
    monkeypatch.setattr(fastword, "_PROBES", {})  # a Python whose Unicode version the table lacks
    tok = train_word(["one two three"])
    assert tok._fast is None
    assert tok.encode("one two four") == _hf_ids(tok, "one two four")
    assert tok.unknown_pieces("one two four") == [" four"]


def test_the_probe_of_this_pythons_unicode_version_is_known_to_both_engines() -> None:
    assert unicodedata.unidata_version in fastword._PROBES, "add a probe letter of this Unicode version"
    assert fastword.engines_agree(load("word").tok)


def test_other_structures_keep_hf() -> None:
    tok = train_word(["abc def"])
    spec = json.loads(tok.tok.to_str())
    spec["pre_tokenizer"]["pattern"]["Regex"] = r"\S+|\s+"  # not WORD_PATTERN
    from tokenizers import Tokenizer

    other = HFTokenizer(Tokenizer.from_str(json.dumps(spec)), "other", kind="word")
    assert other._fast is None
    assert other.encode("abc  def") == _hf_ids(other, "abc  def")


def test_decode_joins_the_tokens_as_tokenizers_does() -> None:
    """The word tokenizer's decode (joining the tokens' strings) equals `tokenizers`' on every shared corpus
    and on text with unknown words."""
    tok = load("word")
    texts = [t[:200_000] for _, t in _shared()] + ["<unk> 未知の単語 zzqxv", ""]
    assert tok._fused is not None
    seen_unk = False
    for text in texts:
        ids = tok.encode(text)
        seen_unk |= tok.unk_id in ids
        assert tok.decode(ids) == tok.tok.decode(ids, skip_special_tokens=False)
    assert seen_unk
