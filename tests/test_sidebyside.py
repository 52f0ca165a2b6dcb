"""show -t A -t B: tokenizations aligned by character, differing boundaries marked; show --html."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from tokcli import load
from tokcli.analysis.sidebyside import char_spans, side_by_side

JA = "吾輩は猫である。名前はまだ無い。婆"
HOSTILE = '</script><script>alert("x")</script> <b>bold</b> & <!-- c --> 猫'


@pytest.mark.parametrize("name", ["cl100k_base", "bpe", "char", "ja-char", "word"])
@pytest.mark.parametrize("text", [JA, "The animal didn't cross 🧑‍💻\n\tx", HOSTILE, ""])
def test_char_spans_tile_the_text(name, text):
    tok = load(name)
    spans = char_spans(tok, text)
    assert [i for s in spans for i in s.ids] == list(tok.encode(text))  # every id, in order
    pos = 0
    for s in spans:  # contiguous, never inside a character
        assert s.start == pos and s.end >= s.start
        pos = s.end
    assert pos == len(text)
    if tok.unk_id is None:
        assert "".join(text[s.start : s.end] for s in spans) == tok.decode(tok.encode(text))


def test_byte_tokens_of_one_character_share_a_span():
    tok = load("cl100k_base")
    ids = tok.encode("婆")
    assert len(ids) > 1
    (span,) = char_spans(tok, "婆")
    assert (span.start, span.end, span.ids) == (0, 1, tuple(ids))


def test_differing_known_answer():
    sbs = side_by_side([load("char"), load("cl100k_base")], "hello world")
    char, gpt = sbs.tokenizations
    assert char.boundaries() == set(range(1, 11))
    assert gpt.boundaries() == {5}  # "hello", " world"
    assert sbs.differing() == [b for b in range(1, 11) if b != 5]


def test_cli_text_marks_under_differing_boundaries(cli):
    r = cli("show", "-t", "char", "-t", "cl100k_base", "--text", "hello world")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "char: 11 tokens, 1.00 chars/token"
    assert lines[1] == "cl100k_base: 2 tokens, 5.50 chars/token"
    char_row, gpt_row, marks = lines[2:5]
    assert char_row.startswith("char ") and gpt_row.startswith("cl100k_base ")
    for col, ch in enumerate(char_row):
        if col < len("cl100k_base  "):
            continue
        if ch == "|":  # a boundary of char: marked unless cl100k_base has it too
            both = col < len(gpt_row) and gpt_row[col] == "|"
            assert (marks[col] if col < len(marks) else " ") == (" " if both else "^")
    assert gpt_row.replace(" ", "").replace("|", "") == "cl100k_basehelloworld"
    assert marks.count("^") == 9 and "9 of 10 token boundaries differ" in r.err


def test_cli_wide_characters_stay_aligned(cli):
    r = cli("show", "-t", "cl100k_base", "-t", "ja-char", "--text", JA)
    rows = r.out.splitlines()[2:5]
    from tokcli.output.sidebyside import width

    # the same character sits in the same column in both rows: compare the display width before each "|"
    gpt, ja, marks = rows
    assert width(gpt) == width(ja) or width(gpt.rstrip()) <= width(ja)
    for i, ch in enumerate(marks):
        if ch == "^":
            prefix_cols = i  # marks are ASCII: character i is column i
            assert any(width(row[:k]) == prefix_cols and row[k] == "|" for row in (gpt, ja) for k in range(len(row)))


def test_cli_json(cli):
    r = cli("show", "-t", "char", "-t", "cl100k_base", "--text", "hello world", "-f", "json")
    doc = json.loads(r.out)
    assert doc["schema"] == "tokcli-show/1"
    (inp,) = doc["inputs"]
    assert inp["text"] == "hello world" and inp["differing"] == [1, 2, 3, 4, 6, 7, 8, 9, 10]
    gpt = inp["tokenizers"][1]
    assert [s["text"] for s in gpt["spans"]] == ["hello", " world"] and gpt["tokens"] == 2
    assert gpt["chars_per_token"] == 5.5
    # one tokenizer with --format json: spans too
    doc = json.loads(cli("show", "-t", "cl100k_base", "--text", JA, "-f", "json").out)
    assert "".join(s["text"] for s in doc["inputs"][0]["tokenizers"][0]["spans"]) == JA


def test_cli_single_tokenizer_unchanged(cli):
    r = cli("show", "-t", "cl100k_base", "--text", "hello world")
    assert r.out == "[hello][ world]\n"


def test_html_page_escapes_hostile_text(cli, tmp_path):
    page = tmp_path / "p.html"
    r = cli("show", "-t", "cl100k_base", "-t", "char", "--text", HOSTILE, "--html", page)
    assert r.code == 0 and r.out == "" and f"wrote {page}" in r.err
    html = page.read_text(encoding="utf-8")
    assert html.count("<script>") == 1 and html.count("</script>") == 1  # only the page's own
    assert "<b>" not in html and "<!-- c" not in html

    class Columns(HTMLParser):  # the text of the token spans, per column, as a browser reads it
        def __init__(self):
            super().__init__()
            self.cols, self.depth = [], 0

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "div" and a.get("class") == "col":
                self.cols.append("")
            if tag == "span" and "tok" in (a.get("class") or "").split():
                self.depth += 1

        def handle_endtag(self, tag):
            if tag == "span" and self.depth:
                self.depth -= 1

        def handle_data(self, data):
            if self.depth:
                self.cols[-1] += data

    p = Columns()  # convert_charrefs is on by default
    p.feed(html)
    assert p.cols == [HOSTILE, HOSTILE]
    for external in ("<link", "src=", "href=", "@import", "url(", "http:", "https:"):
        assert external not in html
    n = len(load("cl100k_base").encode(HOSTILE))
    assert f'<span class="n tokens">{n:,}</span>' in html


def test_html_refuses_bad_targets_and_huge_text(cli, tmp_path, monkeypatch):
    r = cli("show", "-t", "char", "-t", "bpe", "--text", "x", "--html", tmp_path)
    assert r.code == 2 and r.err.startswith("error:") and r.err.count("\n") == 1
    from tokcli.output import show_html

    # the limit lowered: the refusal is the same code, without aligning a million characters first
    monkeypatch.setattr(show_html, "MAX_CHARS", 5000)
    big = "a" * (show_html.MAX_CHARS + 1)
    r = cli("show", "-t", "char", "--html", tmp_path / "big.html", "-", input=big)
    assert r.code == 2 and "at most" in r.err and not (tmp_path / "big.html").exists()
