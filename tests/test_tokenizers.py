"""One contract, run on every kind of tokenizer tokcli trains or loads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokcli
from tokcli.bundled import sample_files
from tokcli.errors import UsageError

SAMPLE = "".join(p.read_text(encoding="utf-8") for p in sample_files())
TRICKY = ["", " ", "\n\n\n", "héllo wörld", "日本語のテキスト。", "emoji 👩‍💻🇯🇵 and 🙂", "  two  spaces\tand tab\r\n"]

# (kind, options, lossless on text it was trained on)
KINDS = {
    "char": ("char", {}),
    "word": ("word", {"vocab_size": 2000}),
    "bpe": ("bpe", {"vocab_size": 600}),
    "unigram": ("unigram", {"vocab_size": 1500}),
    "bpe-spm": ("bpe", {"vocab_size": 1500, "backend": "sentencepiece"}),
}


@pytest.fixture(scope="module", params=list(KINDS) + ["cl100k_base", "bundled-bpe"])
def tok(request):
    if request.param == "cl100k_base":
        return tokcli.load("cl100k_base")
    if request.param == "bundled-bpe":
        return tokcli.load("bpe")
    kind, opts = KINDS[request.param]
    return tokcli.train(kind, [SAMPLE], **opts)


def test_round_trip_on_training_text(tok):
    assert tok.decode(tok.encode(SAMPLE)) == SAMPLE or tok.kind == "word" and tok.unk_id is not None


@pytest.mark.parametrize("text", TRICKY)
def test_round_trip_where_lossless(tok, text):
    ids = tok.encode(text)
    if tok.lossless:
        assert tok.decode(ids) == text
    assert all(0 <= i < tok.vocab_size for i in ids)


def test_empty_string_is_zero_tokens(tok):
    assert tok.encode("") == []
    assert tok.count("") == 0
    assert tok.decode([]) == ""


def test_cjk_and_emoji_seen_in_training_round_trip(tok):
    text = "東京駅で☕を飲んだ。 👍🏽"  # all in corpora/mixed_scripts.txt
    if tok.kind in ("char", "bpe", "unigram", "tiktoken", "hf", "sentencepiece"):
        assert tok.decode(tok.encode(text)) == text


def test_token_bytes_concatenate_to_the_text(tok):
    text = "Grüße, 世界! 🙂"
    ids = tok.encode(text)
    if tok.lossless:
        assert b"".join(tok.token_bytes(i) for i in ids) == text.encode("utf-8")


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
