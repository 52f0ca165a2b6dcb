"""why: per-class characters and tokens (shares summing exactly to the totals), costliest runs, formats."""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction

import pytest
from conftest import shared_corpus

from tokcli import load
from tokcli.analysis.alignment import token_offsets
from tokcli.analysis.why import CLASSES, why

MIXED = "吾輩は猫である。カタカナ ABC 123 🧑‍💻\n    x"
CODE = "def f(x):\n    if x:\n\t\treturn '日本'  # 🇯🇵 ok\n    return None\n"


def reference_shares(tok, text, char_class):
    """The rule, as a plain loop: each token's 1 shared over the characters it covers, a character weighing
    the fraction of its UTF-8 bytes the token holds."""
    ids = tok.encode(text)
    starts, ends = token_offsets(tok, text, ids)
    byte_char = []  # byte -> (character index, bytes of that character)
    for i, ch in enumerate(text):
        n = len(ch.encode("utf-8"))
        byte_char += [(i, n)] * n
    totals = {c: Fraction(0) for c in CLASSES}
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        weights: dict[str, Fraction] = {}
        for b in range(s, e):
            i, n = byte_char[b]
            weights[char_class[i]] = weights.get(char_class[i], Fraction(0)) + Fraction(1, n)
        whole = sum(weights.values())
        if not whole:
            totals["other"] += 1
            continue
        for c, w in weights.items():
            totals[c] += w / whole
    return len(ids), totals


def mixed_classes():
    # 吾輩は猫である。カタカナ ABC 123 🧑‍💻\n    x, class by class
    return (["Han"] * 2 + ["Hiragana", "Han"] + ["Hiragana"] * 3 + ["punctuation"] + ["Katakana"] * 4
            + ["whitespace"] + ["Latin"] * 3 + ["whitespace"] + ["digits"] * 3 + ["whitespace"] + ["emoji"] * 3
            + ["whitespace"] + ["indentation"] * 4 + ["Latin"])  # fmt: skip


def test_class_chars_known_answer():
    cls = mixed_classes()
    assert len(cls) == len(MIXED)
    w = why([load("char")], [("x", MIXED)])
    got = {c.name: c.chars for c in w.tokenizers[0].classes if c.chars}
    expected = {c: cls.count(c) for c in dict.fromkeys(cls)}
    assert got == expected
    assert w.chars == len(MIXED) == sum(got.values())


@pytest.mark.parametrize("name", ["cl100k_base", "bpe", "char", "ja-char", "word"])
@pytest.mark.parametrize("text", [MIXED, CODE, "  \n\n", "🇯🇵🇯🇵👍🏽❤️ ©"])
def test_classes_sum_exactly_and_match_the_reference(name, text):
    tok = load(name)
    w = why([tok], [("x", text)])
    t = w.tokenizers[0]
    assert sum(c.tokens for c in t.classes) == t.tokens == len(tok.encode(text))  # exactly, as fractions
    assert sum(c.chars for c in t.classes) == len(text)
    char_class = [None] * len(text)
    from tokcli.analysis.why import RUNS

    for m in RUNS.finditer(text):
        for i in range(*m.span()):
            char_class[i] = m.lastgroup
    n, ref = reference_shares(tok, text, char_class)
    assert {c.name: c.tokens for c in t.classes} == ref


def test_byte_split_kanji_costs_its_tokens():
    tok = load("cl100k_base")
    n = len(tok.encode("婆"))
    assert n > 1  # a rare kanji is several byte tokens in cl100k_base
    w = why([tok], [("x", "婆")])
    t = w.tokenizers[0]
    assert {c.name: c.tokens for c in t.classes if c.tokens} == {"Han": n}
    assert t.runs[0].text == "婆" and t.runs[0].tokens_per_char == pytest.approx(n)


def test_code_indentation_is_its_own_class():
    w = why([load("char"), load("cl100k_base")], [("code", CODE)])
    char, gpt = w.tokenizers
    ind = {c.name: c for c in char.classes}["indentation"]
    assert ind.chars == 4 + 2 + 4 and ind.tokens == ind.chars  # one token per character under char
    ind_gpt = {c.name: c for c in gpt.classes}["indentation"]
    assert ind_gpt.tokens < ind.tokens  # cl100k_base merges runs of spaces
    emoji = {c.name: c for c in gpt.classes}["emoji"]
    assert emoji.chars == 2  # a flag: two regional indicators


def test_runs_aggregate_occurrences():
    w = why([load("char")], [("x", "猫と猫と猫")])
    runs = {(r.text, r.cls): r for r in w.tokenizers[0].runs}
    assert runs[("猫", "Han")].count == 3 and runs[("猫", "Han")].tokens == pytest.approx(3)
    assert runs[("と", "Hiragana")].count == 2


def test_cli_json_and_csv(cli):
    r = cli("why", "-t", "cl100k_base", "-t", "ja-char", "--text", MIXED, "-f", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["schema"] == "tokcli-why/1" and doc["chars"] == len(MIXED)
    for t in doc["tokenizers"]:
        assert sum(c["tokens"] for c in t["classes"]) == pytest.approx(t["tokens"], abs=1e-3)
        assert sum(c["chars"] for c in t["classes"]) == len(MIXED)
    r = cli("why", "-t", "cl100k_base", "--text", MIXED, "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(r.out)))
    total = next(x for x in rows if x["class"] == "total")
    assert sum(float(x["tokens"]) for x in rows if x["class"] != "total") == pytest.approx(
        float(total["tokens"]), abs=1e-3
    )
    r = cli("why", "-t", "cl100k_base", "--text", MIXED, "-f", "markdown", "-n", "2")
    assert r.out.startswith("**") and "| Han |" in r.out and "costliest runs under cl100k_base" in r.out


def test_cli_text_and_show(cli, monkeypatch):
    r = cli("why", "-t", "cl100k_base", "--text", MIXED, "-n", "3")
    assert r.code == 0 and "Hiragana" in r.out and "costliest runs" in r.out and "shared among" in r.err
    r = cli("why", "--show", "-f", "json", "--text", "x")
    assert r.code == 2 and r.err.startswith("error: --show")
    r = cli("why", "--show", "-t", "char", "--text", "x")
    assert r.code == 0 and "--show colours the text on a terminal" in r.err
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    r = cli("why", "--show", "-t", "cl100k_base", "--text", "猫 婆", "-n", "0")
    assert "\x1b[" in r.out and "tokens per character" in r.out


@pytest.mark.shared
def test_japanese_novel(cli):
    path = shared_corpus("ja_aozora_botchan.txt")
    r = cli("why", "-t", "cl100k_base", "-t", "ja-char", path, "-f", "json", "-n", "5")
    doc = json.loads(r.out)
    gpt, jachar = doc["tokenizers"]
    classes = {c["class"]: c for c in gpt["classes"]}
    assert classes["Hiragana"]["chars"] > classes["Han"]["chars"] > classes["Katakana"]["chars"]
    assert classes["Han"]["chars_per_token"] < 1  # kanji cost more than a token each under cl100k_base
    assert jachar["chars_per_token"] == pytest.approx(1.0)  # one token per character
    assert (
        len(gpt["expensive"]) == 5 and gpt["expensive"][0]["tokens_per_char"] >= gpt["expensive"][-1]["tokens_per_char"]
    )
