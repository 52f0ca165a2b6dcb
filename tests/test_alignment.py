"""The one token-to-text aligner (tokcli.tokenizer.alignment) under its two rules, against plain references.

analysis (metrics, why, show side by side, chunking) aligns with the default rule; the model's word grouping
(tokcli.model.words.token_char_spans) with `unk_is_gap` and its own sharing of a gap among words. Each rule is
written out here once more, plainly, token by token, and compared on the shared corpora, on hostile strings
and on ids that do not belong to the text, under the bundled tokenizers and OpenAI's encodings.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from types import SimpleNamespace

import pytest
from conftest import shared_corpus

import tokcli
from tokcli.model.words import WORD, token_char_spans
from tokcli.tokenizer.alignment import share_chars, token_offsets
from tokcli.tokenizer.base import Tokenizer

# -- the references: each rule token by token ---------------------------------------------------------


def _char_starts(data: bytes) -> list[int]:
    """Byte offsets where a UTF-8 character starts, then len(data)."""
    return [b for b in range(len(data)) if data[b] & 0xC0 != 0x80] + [len(data)]


def _walk(data: bytes, pieces: Sequence[bytes], empty_matches: bool):
    """Yield ("match", t, start, end) for each token found where the text stands, and ("gap", i, j, start,
    end) for tokens i..j-1 not found: the gap runs up to the first later token whose bytes occur after start."""
    pos, t = 0, 0
    while t < len(pieces):
        p = pieces[t]
        if (p or empty_matches) and data[pos : pos + len(p)] == p:
            yield "match", t, pos, pos + len(p)
            pos, t = pos + len(p), t + 1
            continue
        j = t + 1
        while j < len(pieces) and not (pieces[j] and data.find(pieces[j], pos + 1) >= 0):
            j += 1
        end = data.find(pieces[j], pos + 1) if j < len(pieces) else len(data)
        yield "gap", t, j, pos, end
        pos, t = end, j


def analysis_reference(tok: Tokenizer, text: str, ids: Sequence[int]) -> list[tuple[int, int]]:
    """Byte spans: every token looked for by its bytes; a gap shared one character each, the last token
    taking the rest (one starting inside a character first takes the rest of it)."""
    data = text.encode("utf-8")
    starts = _char_starts(data)
    spans: list[tuple[int, int]] = []
    for step in _walk(data, [tok.token_bytes(i) for i in ids], empty_matches=True):
        if step[0] == "match":
            spans.append((step[2], step[3]))
            continue
        _, i, j, pos, end = step
        for _ in range(j - i - 1):
            nxt = min(starts[bisect.bisect_right(starts, pos)], end) if pos < end else pos
            spans.append((pos, nxt))
            pos = nxt
        spans.append((pos, end))
    return spans


def words_reference(tok: Tokenizer, text: str, ids: Sequence[int]) -> list[tuple[int, int]]:
    """Character spans: <unk> and tokens without bytes never match; a gap is shared a word each where it
    holds as many words as tokens, else a character each; byte offsets inside a character round up."""
    data = text.encode("utf-8")
    starts = _char_starts(data)

    def char(b: int) -> int:  # characters starting before byte b
        return bisect.bisect_left(starts, b)

    pieces = [b"" if i == tok.unk_id else tok.token_bytes(i) for i in ids]
    spans: list[tuple[int, int]] = []
    for step in _walk(data, pieces, empty_matches=False):
        if step[0] == "match":
            spans.append((char(step[2]), char(step[3])))
            continue
        _, i, j, pos, end = step
        k, c0, c1 = j - i, char(pos), char(end)
        words = [c0 + m.start() for m in WORD.finditer(text[c0:c1])]
        cuts = words[1:k] if len(words) >= k else list(range(c0 + 1, c1))[: k - 1]
        bounds = [c0, *cuts, *[c1] * (k - 1 - len(cuts)), c1]
        spans += list(zip(bounds, bounds[1:], strict=False))[:k]
    return spans


# -- the texts ------------------------------------------------------------------------------------------

HOSTILE = [
    "",
    " ",
    "Hello, world!",
    "👩‍👩‍👧 family 🇯🇵 flag ☃☃☃ snow 😀",
    "e\u0301 cafe\u0301 n\u0303o a\u0301\u0301\u0301b Z\u0351\u0352",
    "line one\r\nline two\r\n\r\nend\r",
    "<unk> literally <unk><unk> and [UNK] and <|endoftext|> <unk",
    "吾輩は猫である。名前はまだ無い。 ｶﾀｶﾅ ＡＢＣ",
    "мир ΑΒΓ אבג عربى हिन्दी தமிழ் ไทย 한국어 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𓀀 \U0010fffd",
    "\u0000\u0001\t\x7f\u00ad\u200b\u200d\ufeff  trailing  ",
    "Zebra quokka axolotl xylophone the qqq, zzz! the",
    "x" * 300 + "日本語" * 50 + "😀" * 20,
]
CORPORA = [  # (file, bytes read): long enough for the block comparison between mismatches
    ("en_large.txt", 60_000),
    ("ja_aozora_botchan.txt", 30_000),
    ("code_cpython.py.txt", 30_000),
    *((f"udhr/{n}.txt", 6_000) for n in ("jpn", "cmn_hans", "kor", "tha", "arb", "hin", "rus", "vie", "eng")),
]
NAMES = ["char", "word", "bpe", "ja-char", "en", "cl100k_base", "o200k_base"]


@pytest.fixture(params=NAMES)
def tok(request) -> Tokenizer:
    if request.param.endswith("_base"):
        request.getfixturevalue("o200k_cache")
    return tokcli.load(request.param)


def _check(tok: Tokenizer, text: str, ids: Sequence[int], own: bool = True) -> None:
    """Both rules against their references. With ids that are not the text's own (`own` False) and as many
    as its characters, a char tokenizer's analysis alignment takes its one-token-per-character shortcut,
    which holds only for the text's own ids: there only the words rule is compared."""
    ids = [int(i) for i in ids]
    aligned = getattr(tok, "char_aligned", None)
    if own or not (len(ids) == len(text) and aligned is not None and aligned(text)):
        starts, ends = token_offsets(tok, text, ids)
        got = list(zip(starts.tolist(), ends.tolist(), strict=True))
        assert got == analysis_reference(tok, text, ids), text[:80]
    assert token_char_spans(SimpleNamespace(tokenizer=tok), text, ids) == words_reference(tok, text, ids), text[:80]


def _head(name: str, n: int) -> str:
    return shared_corpus(name).read_bytes()[:n].decode("utf-8", "ignore")


@pytest.mark.parametrize(("name", "size"), CORPORA)
def test_both_rules_equal_their_references_on_the_corpora(tok, name, size):
    text = _head(name, size)
    _check(tok, text, tok.encode(text))


def test_both_rules_equal_their_references_on_hostile_text_and_foreign_ids(tok):
    rng = random.Random(3)
    for text in HOSTILE:
        ids = tok.encode(text)
        _check(tok, text, ids)
        _check(tok, text, rng.sample(ids, len(ids)), own=False)  # the right tokens in the wrong order
        _check(tok, text, tok.encode("The quick brown fox 日本語 😀 <unk>"), own=False)  # another text's ids
        _check(tok, text, [rng.randrange(tok.vocab_size) for _ in range(len(ids) // 2 + 1)], own=False)
        if tok.unk_id is not None:
            _check(tok, text, [tok.unk_id] * (len(text) // 3 + 1), own=False)


@pytest.mark.parametrize("name", ["char", "ja-char", "word"])
def test_both_rules_on_random_text_with_long_runs_and_unknowns(name):
    """Random texts from an alphabet the tokenizer half knows: long matching runs (the block comparison)
    broken by unknown characters, literal "<unk>", combining marks, CRLF and emoji."""
    tok = tokcli.load(name)
    rng = random.Random(11)
    alphabet = ["a", "b", "e", " ", "the ", "\r\n", "<unk>", "\u0301", "😀", "日本", "ж", "猫が", "x"]
    for size in (0, 1, 10, 200, 3000):
        for _ in range(4):
            text = "".join(rng.choice(alphabet) for _ in range(size))
            _check(tok, text, tok.encode(text))


# -- where the two rules differ, known answers ----------------------------------------------------------


def test_a_literal_unk_is_the_unknown_tokens_text_for_analysis_but_not_for_words():
    tok = tokcli.load("char")
    text = "<unk>"
    ids = tok.encode(text)  # "<" and ">" are unknown: <unk> u n k <unk>
    assert ids[0] == ids[-1] == tok.unk_id and len(ids) == 5
    starts, ends = token_offsets(tok, text, ids)
    assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == [(0, 5), (5, 5), (5, 5), (5, 5), (5, 5)]
    assert token_char_spans(SimpleNamespace(tokenizer=tok), text, ids) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]


def test_a_gap_is_shared_by_characters_for_analysis_and_by_words_for_words():
    tok = tokcli.load("word")
    text = "qqq zzz the 猫が座った"
    ids = tok.encode(text)
    assert ids[:2] == [tok.unk_id, tok.unk_id]
    spans = token_char_spans(SimpleNamespace(tokenizer=tok), text, ids)
    assert [text[s:e] for s, e in spans] == ["qqq ", "zzz", " the", " ", "猫", "が", "座", "った"]
    starts, ends = token_offsets(tok, text, ids)
    data = text.encode("utf-8")
    assert [data[s:e].decode() for s, e in zip(starts.tolist(), ends.tolist(), strict=True)] == [
        "q", "qq zzz", " the", " ", "猫", "が", "座", "った",
    ]  # fmt: skip


def test_byte_tokens_inside_a_character_round_up_for_words():
    tok = tokcli.load("bpe")  # byte-level: an unseen character is several byte tokens
    text = "a 𓀀 b"  # 𓀀 is 4 bytes (2..6), character 2
    ids = tok.encode(text)
    assert [len(tok.token_bytes(i)) for i in ids] == [1, 1, 1, 1, 1, 1, 2]  # a, space, 4 bytes of 𓀀, " b"
    starts, ends = token_offsets(tok, text, ids)
    assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == [(b, b + 1) for b in range(6)] + [(6, 8)]
    # the first byte's end (inside 𓀀) rounds up to the character's end: it gets 𓀀, the other three nothing
    spans = token_char_spans(SimpleNamespace(tokenizer=tok), text, ids)
    assert spans == [(0, 1), (1, 2), (2, 3), (3, 3), (3, 3), (3, 3), (3, 5)]


def test_share_chars():
    data = "a日😀b".encode()  # bytes: a 0, 日 1..4, 😀 4..8, b 8
    assert share_chars(data, 0, 9, 3) == [(0, 1), (1, 4), (4, 9)]
    assert share_chars(data, 2, 9, 2) == [(2, 4), (4, 9)]  # a start inside 日 takes the rest of it
    assert share_chars(data, 0, 1, 3) == [(0, 1), (1, 1), (1, 1)]
