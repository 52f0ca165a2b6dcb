"""Every metric against a small example computed by hand, with a toy tokenizer whose ids are obvious."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from tokcli.analysis.alignment import token_spans
from tokcli.analysis.metrics import (
    continued_units,
    first_difference,
    measure,
    renyi_efficiency,
    renyi_entropy,
    unit_for,
    unit_spans,
)
from tokcli.tokenizer.base import Tokenizer


class Toy(Tokenizer):
    """Greedy longest match over a fixed vocabulary; an unknown character is <unk> (id 0), or with
    byte_fallback its UTF-8 bytes as ids 100 + byte."""

    def __init__(self, pieces: Sequence[str], byte_fallback: bool = False) -> None:
        self.vocab = {"<unk>": 0} | {p: i + 1 for i, p in enumerate(pieces)}
        self.inv = {i: p for p, i in self.vocab.items()}
        self.fallback = byte_fallback
        self.unk_id = None if byte_fallback else 0
        self.name = "toy"
        self.longest = max(map(len, self.vocab))

    def encode(self, text: str) -> list[int]:
        ids, i = [], 0
        while i < len(text):
            for n in range(min(self.longest, len(text) - i), 0, -1):
                if text[i : i + n] in self.vocab:
                    ids.append(self.vocab[text[i : i + n]])
                    i += n
                    break
            else:
                ids += [100 + b for b in text[i].encode()] if self.fallback else [0]
                i += 1
        return ids

    def token_bytes(self, token_id: int) -> bytes:
        return bytes([token_id - 100]) if token_id >= 100 else self.inv[token_id].encode()

    def decode(self, ids: Sequence[int]) -> str:
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", "replace")

    def is_byte_fallback(self, token_id: int) -> bool:
        return token_id >= 100

    @property
    def vocab_size(self) -> int:
        return len(self.vocab) + (256 if self.fallback else 0)


def test_every_metric_on_a_hand_computed_example():
    # "ab ab c" -> "ab" " " "ab" " " <unk>: 5 tokens, 7 characters, 7 bytes, 3 words, |V| = 5
    tok = Toy(["a", "b", " ", "ab"])
    r = measure(tok, "ab ab c", reference_tokens=10, reference="ten")
    assert tok.encode("ab ab c") == [4, 3, 4, 3, 0]
    assert (r.tokens, r.chars, r.bytes, r.units, r.unit, r.vocab_size) == (5, 7, 7, 3, "word", 5)
    assert r.chars_per_token == pytest.approx(7 / 5) and r.bytes_per_token == pytest.approx(7 / 5)
    assert r.fertility == pytest.approx(5 / 3)
    assert r.continued == 0  # every word is one token
    assert r.unk_rate == pytest.approx(1 / 5)
    assert r.byte_fallback_rate is None  # this tokenizer has no byte-fallback tokens
    assert not r.round_trip and r.first_diff == 6  # "ab ab <unk>" differs from "ab ab c" at offset 6
    assert r.distinct == 3 and r.utilisation == pytest.approx(3 / 5)
    # ids 4, 3, 0 occur 2, 2, 1 times: p = .4 .4 .2; H_2.5 = ln(2 * .4^2.5 + .2^2.5) / (1 - 2.5) = 1.00859
    assert r.renyi == pytest.approx(1.00859 / math.log(5), abs=1e-4) and r.renyi_vocab == 5
    assert r.nsl == pytest.approx(0.5) and r.reference == "ten"
    assert r.seconds >= 0


def test_continued_words():
    # without "ab" each "ab" takes two tokens: 2 of 3 words are continued; 7 tokens for 3 words
    r = measure(Toy(["a", "b", " ", "c"]), "ab ab c")
    assert r.tokens == 7 and r.continued == pytest.approx(2 / 3) and r.fertility == pytest.approx(7 / 3)
    assert r.round_trip and r.first_diff is None and r.unk_rate == 0


def test_byte_fallback_rate_and_character_units():
    tok = Toy(["a"], byte_fallback=True)
    assert tok.encode("aé") == [1, 100 + 0xC3, 100 + 0xA9]
    r = measure(tok, "aé")
    assert r.byte_fallback_rate == pytest.approx(2 / 3) and r.unk_rate is None
    assert r.unit == "word" and r.continued == 1.0  # the one word "aé" takes three tokens
    rc = measure(tok, "aé", unit="char")
    assert rc.units == 2 and rc.continued == pytest.approx(1 / 2)  # é is split into two byte tokens
    assert rc.fertility == pytest.approx(3 / 2)


def test_unit_detection():
    assert unit_for("hello world, how are you") == "word"
    assert unit_for("吾輩は猫である。名前はまだ無い。") == "char"
    assert unit_for("ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ") == "char"
    assert unit_for("12345 !!!") == "word"
    assert unit_spans("héllo wörld", "word") == [(0, 6), (7, 13)]
    assert unit_spans("日 本", "char") == [(0, 3), (4, 7)]


def test_token_spans_align_unknown_tokens_with_the_text_they_replace():
    tok = Toy(["a", " "])
    text = "a xyz a"
    ids = tok.encode(text)  # a, " ", unk, unk, unk, " ", a
    assert token_spans(tok, text, ids) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7)]


def test_continued_units_counts_units_spanning_two_tokens():
    units = [(0, 3), (4, 6)]
    assert continued_units(units, [(0, 1), (1, 3), (3, 5), (5, 6)]) == 2
    assert continued_units(units, [(0, 4), (4, 6)]) == 0


def test_renyi_entropy_and_efficiency():
    assert renyi_entropy([1, 1, 1, 1]) == pytest.approx(math.log(4))  # uniform: log n for every alpha
    assert renyi_entropy([1, 1], alpha=1) == pytest.approx(math.log(2))
    assert renyi_efficiency([5, 5], 2) == pytest.approx(1.0)
    assert renyi_efficiency([5, 5], 4) == pytest.approx(0.5)  # log 2 / log 4
    assert renyi_efficiency([3], 1) is None


def test_first_difference():
    assert first_difference("abc", "abc") is None
    assert first_difference("abc", "abd") == 2
    assert first_difference("abc", "ab") == 2


@pytest.mark.parametrize("name", ["char", "word", "bpe", "cl100k_base"])
def test_every_kind_measures(name):
    import tokcli

    tok = tokcli.load(name)
    r = measure(tok, "The cat sat. 猫が座った。 🎉\n")
    assert r.tokens == len(tok.encode("The cat sat. 猫が座った。 🎉\n"))
    assert r.round_trip == (
        tok.decode(tok.encode("The cat sat. 猫が座った。 🎉\n")) == "The cat sat. 猫が座った。 🎉\n"
    )
    assert 0 <= (r.continued or 0) <= 1 and 0 < r.utilisation <= 1


# -- the vectorised alignment against the plain loop it replaced ---------------------------------


def _spans_by_loop(tok: Tokenizer, text: str, ids: Sequence[int]) -> list[tuple[int, int]]:
    """token_spans' documented rule, one token at a time (the implementation before vectorising)."""
    data = text.encode("utf-8")
    pieces = [tok.token_bytes(i) for i in ids]
    spans: list[tuple[int, int]] = []
    pos, i = 0, 0
    while i < len(pieces):
        if data.startswith(pieces[i], pos):
            spans.append((pos, pos + len(pieces[i])))
            pos += len(pieces[i])
            i += 1
            continue
        j, end = i + 1, len(data)
        while j < len(pieces):
            found = data.find(pieces[j], pos + 1) if pieces[j] else -1
            if found >= 0:
                end = found
                break
            j += 1
        for _ in range(j - i - 1):  # one character each, the last one taking the rest
            nxt = pos + 1 if pos < end else pos
            while nxt < end and (data[nxt] & 0xC0) == 0x80:
                nxt += 1
            spans.append((pos, nxt))
            pos = nxt
        spans.append((pos, end))
        pos, i = end, j
    return spans


def _continued_by_loop(units, tokens) -> int:
    """Units sharing a byte with two or more tokens, byte by byte (no assumption on the order of either;
    for non-empty units this is "overlaps two or more non-empty token spans")."""
    assert all(ue > us for us, ue in units)
    owner = {b: k for k, (us, ue) in enumerate(units) for b in range(us, ue)}
    touched: list[set[int]] = [set() for _ in units]
    for t, (s, e) in enumerate(tokens):
        for b in range(s, e):
            if b in owner:
                touched[owner[b]].add(t)
    return sum(len(ts) >= 2 for ts in touched)


ALPHABET = "ab \n日本é🎉x"


@pytest.mark.parametrize("fallback", [False, True])
def test_token_spans_equal_the_plain_loop_on_random_texts(fallback):
    import random

    rng = random.Random(7)
    tok = Toy(["a", "b", "ab", " a", " ", "日本", "\n"], byte_fallback=fallback)
    for size in [0, 1, 5, 40, 300, 3000]:
        for _ in range(20):
            text = "".join(rng.choice(ALPHABET) for _ in range(size))
            ids = tok.encode(text)
            want = _spans_by_loop(tok, text, ids)
            assert token_spans(tok, text, ids) == want, text
            for unit in ("word", "char"):
                units = unit_spans(text, unit)
                assert continued_units(units, want) == _continued_by_loop(units, want)


def test_token_spans_of_long_matching_runs_between_mismatches():
    tok = Toy(["a", "b", " "])
    text = ("ab " * 2000 + "xyz") * 3 + "ab" * 5000  # long runs go through the block comparison
    ids = tok.encode(text)
    assert token_spans(tok, text, ids) == _spans_by_loop(tok, text, ids)


def test_unit_spans_by_regex():
    import regex

    text = "  héllo\u3000wörld\t日本語 x\u00a0y\u2028z  "
    for unit, pattern in (("word", r"\S+"), ("char", r"\S")):
        data_spans = []
        for m in regex.finditer(pattern, text):
            s = len(text[: m.start()].encode())
            data_spans.append((s, s + len(m.group().encode())))
        assert unit_spans(text, unit) == data_spans
