"""One contract, run on every kind of tokenizer tokcli trains or loads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokcli
from tokcli.errors import UsageError
from tokcli.files.bundled import corpora_dir, sample_files
from tokcli.tokenizer.word import split_words

SAMPLE = "".join(p.read_text(encoding="utf-8") for p in sample_files())
TRICKY = ["", " ", "\n\n\n", "héllo wörld", "日本語のテキスト。", "emoji 👩‍💻🇯🇵 and 🙂", "  two  spaces\tand tab\r\n"]

KINDS = {
    "char": ("char", {}),
    "word": ("word", {"vocab_size": 2000}),  # more than the sample's distinct pieces: it keeps them all
    "bpe": ("bpe", {"vocab_size": 600}),
    "unigram": ("unigram", {"vocab_size": 1500}),
    "bpe-spm": ("bpe", {"vocab_size": 1500, "backend": "sentencepiece"}),
}

# -- what each kind does to a text, stated here rather than read from the tokenizer's own flags ---------
UNK = "<unk>"
SEEN_CHARS = frozenset(SAMPLE)
SEEN_WORDS = frozenset(split_words(SAMPLE))  # split_words is checked against HF's pre-tokenizer below


def _exact(text: str) -> str:
    return text


def _none(text: str) -> list[str]:
    return []


def _char_round_trip(text: str) -> str:
    return "".join(c if c in SEEN_CHARS else UNK for c in text)


def _unseen_chars(text: str) -> list[str]:
    return [c for c in text if c not in SEEN_CHARS]


def _word_round_trip(text: str) -> str:
    return "".join(w if w in SEEN_WORDS else UNK for w in split_words(text))


def _unseen_words(text: str) -> list[str]:
    return [w for w in split_words(text) if w not in SEEN_WORDS]


def _spm_round_trip(text: str) -> str:
    return text.replace("\u2581", " ")


@dataclass(frozen=True)
class Behaviour:
    lossless: bool  # decode(encode(text)) == text for every text
    round_trip: Callable[[str], str]  # what decode(encode(text)) gives
    unknown: Callable[[str], list[str]]  # the pieces of a text that become the unknown token, in order


# char:    a character not in the training text becomes <unk> and decodes as the literal "<unk>"
# word:    a piece (word, number, symbol, whitespace run; see split_words) not in the training text
#          becomes <unk> and decodes as "<unk>"
# bpe:     byte-level: every byte has a token, nothing is unknown, exact for any text (tiktoken's too)
# spm:     byte fallback, so nothing is unknown; but U+2581 "▁", sentencepiece's own mark for a space,
#          comes back as a space (it is the same piece), so these are not exact for every text
EXPECTED = {
    "char": Behaviour(False, _char_round_trip, _unseen_chars),
    "word": Behaviour(False, _word_round_trip, _unseen_words),
    "bpe": Behaviour(True, _exact, _none),
    "unigram": Behaviour(False, _spm_round_trip, _none),
    "bpe-spm": Behaviour(False, _spm_round_trip, _none),
    "cl100k_base": Behaviour(True, _exact, _none),
    "bundled-bpe": Behaviour(True, _exact, _none),
}


def _first_line(name: str) -> str:
    return next(line for line in (corpora_dir() / name).read_text(encoding="utf-8").splitlines() if line.strip())


# seen (a line of the training text) and unseen (characters and words the sample corpora lack) text
SAMPLES = {
    "japanese": _first_line("ja_prose.txt") + "\n鬱蒼とした森で麒麟が嚔をした。\n",
    "rare-scripts": "Cherokee ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ, Ogham ᚛ᚑᚌᚐᚋ᚜, Gothic 𐌲𐌿𐍄𐌹𐍃𐌺, Linear B 𐀀𐀁𐀂, Tifinagh ⵜⴰⵎⴰⵣⵉⵖⵜ, Javanese ꦧꦱꦗꦮ",
    "english": _first_line("en_prose.txt") + "\nThe quokka's xylophone zigzagged past 42 onyx sphinxes.\n",
    "markers": "a▁b ▁▂▃ <unk> <s></s> <0x41>",  # sentencepiece's space mark, special-token look-alikes
    **{f"tricky{i}": t for i, t in enumerate(TRICKY)},
}
each_sample = pytest.mark.parametrize("text", list(SAMPLES.values()), ids=list(SAMPLES))


@pytest.fixture(scope="module", params=list(EXPECTED))
def name(request):
    return request.param


@pytest.fixture(scope="module")
def tok(name):
    if name == "cl100k_base":
        return tokcli.load("cl100k_base")
    if name == "bundled-bpe":
        return tokcli.load("bpe")
    kind, opts = KINDS[name]
    return tokcli.train(kind, [SAMPLE], **opts)


@pytest.fixture(scope="module")
def expected(name):
    return EXPECTED[name]


def test_the_samples_hold_what_the_lossy_kinds_lose():
    """Without unseen characters, words and "▁" the lossy expectations would equal the texts and prove nothing."""
    assert len(SEEN_WORDS) < KINDS["word"][1]["vocab_size"]  # so the word vocabulary is every piece of SAMPLE
    for name, e in EXPECTED.items():
        changed = [t for t in SAMPLES.values() if e.round_trip(t) != t]
        assert bool(changed) is not e.lossless, name


def test_round_trip_on_training_text(tok):
    assert tok.decode(tok.encode(SAMPLE)) == SAMPLE  # every kind here keeps all of its training text


@each_sample
def test_round_trip_is_what_the_kind_promises(tok, expected, text):
    ids = tok.encode(text)
    assert tok.decode(ids) == expected.round_trip(text)
    assert all(0 <= i < tok.vocab_size for i in ids)


@each_sample
def test_unknown_pieces_are_exactly_the_unseen_ones(name, tok, expected, text, request):
    assert tok.encode(text).count(tok.unk_id) == len(expected.unknown(text))
    assert tok.unknown_pieces(text) == expected.unknown(text)


# Assigned characters only: `regex` (split_words) and Oniguruma (the HF pre-tokenizer) know different
# Unicode versions, and split characters assigned since differently.
_CHARS = st.characters(exclude_categories=("Cn", "Cs"))
_PIECES = st.sampled_from(["▁", " ", "\n", UNK, "東京", " the", "é", "\r\n"])


@settings(max_examples=100, deadline=None)
@given(text=st.lists(st.one_of(_CHARS, _PIECES)).map("".join))
def test_round_trip_of_any_text_is_what_the_kind_promises(tok, expected, text):
    assert tok.decode(tok.encode(text)) == expected.round_trip(text)


def test_lossless_flag_agrees_with_the_table(name, tok, expected, request):
    assert tok.lossless is expected.lossless


def test_empty_string_is_zero_tokens(tok):
    assert tok.encode("") == []
    assert tok.count("") == 0
    assert tok.decode([]) == ""


def test_cjk_and_emoji_seen_in_training_round_trip(tok, expected):
    text = "東京駅で☕を飲んだ。 👍🏽"  # all in corpora/mixed_scripts.txt
    assert expected.round_trip(text) == text and expected.unknown(text) == []
    assert tok.decode(tok.encode(text)) == text


@pytest.mark.parametrize("text", ["Grüße, 世界! 🙂", *SAMPLES.values()], ids=["mixed", *SAMPLES])
def test_token_bytes_concatenate_to_the_decoded_text(tok, expected, text):
    ids = tok.encode(text)
    assert b"".join(tok.token_bytes(i) for i in ids) == expected.round_trip(text).encode("utf-8")


def test_save_and_load_give_the_same_ids(tok, tmp_path):
    if tok.kind == "tiktoken":
        pytest.skip("tiktoken encodings are loaded by name, not saved")
    path = tmp_path / ("t.model" if type(tok).__name__ == "SentencePiece" else "t.json")
    tok.save(str(path))
    again = tokcli.load(str(path))
    assert again.encode(SAMPLE) == tok.encode(SAMPLE)
    assert again.vocab_size == tok.vocab_size


def test_batch_equals_single(tok):
    texts = SAMPLE.split("\n")[:20]
    assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]


def test_char_unknown_character_becomes_unk():
    tok = tokcli.train("char", ["abc"])
    assert tok.vocab_size == 4
    assert tok.encode("abz") == [1, 2, tok.unk_id]
    assert tok.decode(tok.encode("abz")) == "ab<unk>"


def test_char_vocab_size_keeps_the_most_frequent():
    tok = tokcli.train("char", ["aaaabbbcc d"], vocab_size=3)
    assert [tok.id_to_token(i) for i in range(tok.vocab_size)] == ["<unk>", "a", "b"]


def test_word_is_lossy_only_for_unknown_words():
    tok = tokcli.train("word", ["the cat sat on the mat.\n"])
    assert tok.decode(tok.encode("the cat sat on the mat.\n")) == "the cat sat on the mat.\n"
    assert tok.decode(tok.encode("the dog sat")) == "the<unk> sat"


def test_word_splits_japanese_by_script_and_keeps_hindi_marks():
    from tokcli.tokenizer.word import split_words

    assert split_words("東京駅でコーヒーを飲んだ") == ["東京駅", "で", "コーヒー", "を", "飲", "んだ"]
    assert split_words(" नमस्ते दुनिया") == [" नमस्ते", " दुनिया"]
    assert "".join(split_words(SAMPLE)) == SAMPLE  # every character is in some piece


def test_word_split_agrees_with_hf_pretokenizer():
    from tokenizers import Regex, pre_tokenizers

    from tokcli.tokenizer.patterns import WORD_PATTERN
    from tokcli.tokenizer.word import split_words

    hf = pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="isolated")
    assert [p for p, _ in hf.pre_tokenize_str(SAMPLE)] == split_words(SAMPLE)


@pytest.mark.parametrize(
    "kind,opts",
    [
        ("char", {"vocab_size": 1}),
        ("bpe", {"vocab_size": 200}),
        ("unigram", {"vocab_size": 100}),
        ("unigram", {"vocab_size": 600}),  # fewer pieces than the sample has characters
        ("word", {"vocab_size": 1}),
    ],
)
def test_vocab_sizes_that_cannot_work_are_usage_errors(kind, opts):
    with pytest.raises(UsageError, match="cannot work"):
        tokcli.train(kind, [SAMPLE], **opts)


@pytest.mark.parametrize("kind,opts", [(k, o) for k, o in KINDS.values()])
def test_training_is_deterministic(kind, opts, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    tokcli.train(kind, [SAMPLE], **opts).save(str(a))
    tokcli.train(kind, [SAMPLE], **opts).save(str(b))
    assert a.read_bytes() == b.read_bytes()


_BPE = tokcli.train("bpe", [SAMPLE], vocab_size=500)
_CHAR = tokcli.train("char", [SAMPLE])


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_byte_level_bpe_round_trips_any_text(text):
    assert _BPE.decode(_BPE.encode(text)) == text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=sorted(set(SAMPLE))))
def test_char_round_trips_any_text_of_seen_characters(text):
    assert _CHAR.decode(_CHAR.encode(text)) == text
    assert len(_CHAR.encode(text)) == len(text)
