"""chunk and truncate: pieces within the limit, concatenating back to the input, never half a character."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokcli
from tokcli.analysis.chunking import Truncator, chunk, token_cut
from tokcli.errors import UsageError

TEXT = (
    "First paragraph. It has two sentences.\n\nSecond paragraph, one line\nand another line.\n\n"
    "A long sentence without any boundary at all just words and words and words and more words here\n"
    "日本語の文です。もう一つの文です。🎉🎉🎉 emoji\n"
)


@pytest.mark.parametrize("name", ["char", "bpe", "cl100k_base"])
@pytest.mark.parametrize("n", [4, 8, 40])  # 🎉 takes 4 byte tokens in bpe
def test_pieces_within_limit_and_concatenating_back(name, n):
    tok = tokcli.load(name)
    pieces = list(chunk(tok, [TEXT[:50], TEXT[50:]], n))
    assert "".join(p.text for p in pieces) == TEXT
    for p in pieces:
        assert p.tokens == tok.count(p.text) <= n
        assert TEXT[p.start : p.end] == p.text
    assert [p.start for p in pieces[1:]] == [p.end for p in pieces[:-1]]


def test_prefers_paragraph_then_line_then_sentence():
    tok = tokcli.load("cl100k_base")
    pieces = [p.text for p in chunk(tok, [TEXT], 10)]  # the paragraphs take 8 and 10 tokens
    assert pieces[0] == "First paragraph. It has two sentences.\n\n"
    assert pieces[1] == "Second paragraph, one line\nand another line.\n\n"
    assert pieces[2] == "A long sentence without any boundary at all just words"  # no boundary: a token cut
    assert [p.text for p in chunk(tok, [TEXT], 20)][0] == pieces[0] + pieces[1]  # both fit in 20
    five = [p.text for p in chunk(tok, ["One two. Three four. Five six."], 5)]
    assert five == ["One two. ", "Three four. ", "Five six."]


def test_overlap():
    tok = tokcli.load("cl100k_base")
    text = "one two three four five six seven eight nine ten"
    pieces = list(chunk(tok, [text], 4, overlap=1))
    assert all(p.tokens <= 4 for p in pieces) and pieces[-1].end == len(text)
    for a, b in zip(pieces, pieces[1:], strict=False):
        assert a.start < b.start < a.end  # each piece starts inside the one before
    with pytest.raises(UsageError):
        list(chunk(tok, [text], 4, overlap=4))


def test_cut_never_splits_a_character():
    tok = tokcli.load("cl100k_base")
    assert tok.encode("🎉") == [9468, 236, 231]  # one character, three byte-level tokens
    assert token_cut(tok, "a🎉", 2) == 1  # two tokens end inside 🎉: back off to before it
    with pytest.raises(UsageError, match="too small"):
        list(chunk(tok, ["🎉"], 2))


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .\n日🎉é")), max_size=60), st.integers(4, 12))
def test_chunk_round_trip_property(text, n):
    tok = tokcli.load("bpe")
    pieces = list(chunk(tok, [text], n))
    assert "".join(p.text for p in pieces) == text and all(p.tokens <= n for p in pieces)


def test_truncate_head_and_tail():
    tok = tokcli.load("cl100k_base")
    text = "one two three four five 🎉 six"
    t = Truncator(tok, 3)
    assert "".join(t.run([text])) == "one two three" and t.cut and t.kept == 3
    t = Truncator(tok, 3, from_end=True)
    kept = "".join(t.run([text]))
    assert text.endswith(kept) and tok.count(kept) <= 3 and t.total == tok.count(text) and t.cut
    t = Truncator(tok, 6)  # 6 tokens end inside 🎉: keep what comes before it
    kept = "".join(t.run([text]))
    assert kept.rstrip() == "one two three four five" and t.kept <= 6 and "🎉" not in kept
    t = Truncator(tok, 100)
    assert "".join(t.run([text])) == text and not t.cut and t.total == tok.count(text)


def test_chunk_cli(cli, tmp_path):
    r = cli("chunk", "-t", "cl100k_base", "-n", "20", input=TEXT)
    assert r.code == 0, r.err
    pieces = [json.loads(line) for line in r.out.splitlines()]
    assert "".join(p["text"] for p in pieces) == TEXT and set(pieces[0]) == {"schema", "text", "tokens", "start", "end"}
    assert r.err.startswith(f"{len(pieces)} pieces")
    out = tmp_path / "pieces"
    out.mkdir()
    assert cli("chunk", "-n", "20", "--out-dir", str(out), input=TEXT).code == 0
    files = sorted(out.iterdir())
    assert files[0].name == "00001.txt" and "".join(f.read_text() for f in files) == TEXT
    assert cli("chunk", "-n", "20", "--out-dir", str(tmp_path / "nope"), input=TEXT).code == 2


def test_truncate_cli(cli):
    r = cli("truncate", "-n", "3", input="one two three four")
    assert (r.code, r.out) == (0, "one two three") and "truncated: kept the first 3" in r.err
    r = cli("truncate", "-n", "3", "--exit-code", "--from-end", input="one two three four")
    assert (r.code, r.out) == (1, " two three four")
    r = cli("truncate", "-n", "30", "--exit-code", input="one two")
    assert (r.code, r.out) == (0, "one two") and "not truncated" in r.err
