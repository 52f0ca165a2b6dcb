"""attention --words: pieces grouped into words, known answers on hand-made attention, rows summing to 1."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tokcli.model.model import load_model
from tokcli.model.words import group_tokens, word_attention, word_spans, word_weights

SENTENCE = "The animal didn't cross the street because it was too tired"
WIDE = "The animal didn't cross the street because it was too wide"


def test_word_weights_known_answer():
    # 4 tokens in 3 words: [0], [1, 2], [3]; causal rows that each sum to 1
    a = np.array([[1.0, 0, 0, 0], [0.5, 0.5, 0, 0], [0.2, 0.3, 0.5, 0], [0.1, 0.2, 0.3, 0.4]])[
        None, None
    ]  # [1, 1, 4, 4]
    w = word_weights(a, [[0], [1, 2], [3]])[0, 0]
    expected = np.array(
        [
            [1.0, 0.0, 0.0],
            [(0.5 + 0.2) / 2, (0.5 + 0.3 + 0.5) / 2, 0.0],  # mean over the attending word's two rows
            [0.1, 0.2 + 0.3, 0.4],  # sum over the attended word's two columns
        ]
    )
    np.testing.assert_allclose(w, expected)


def test_word_weights_two_heads_differ_per_head():
    rng = np.random.default_rng(0)
    raw = np.tril(rng.random((2, 3, 6, 6)))  # [L, H, T, T]
    a = raw / raw.sum(-1, keepdims=True)
    groups = [[0, 1], [2], [3, 4, 5]]
    w = word_weights(a, groups)
    assert w.shape == (2, 3, 3, 3)
    np.testing.assert_allclose(w.sum(-1), 1.0)  # each word row sums to 1, in every layer and head
    # the plain loop: mean over the attending pieces of the sum over the attended pieces
    for li in range(2):
        for h in range(3):
            for i, gi in enumerate(groups):
                for j, gj in enumerate(groups):
                    ref = sum(sum(a[li, h, q, k] for k in gj) for q in gi) / len(gi)
                    assert w[li, h, i, j] == pytest.approx(ref)
    assert np.allclose(np.triu(w[0, 0], 1), 0)  # causal: no word looks at a later word


@pytest.mark.parametrize(
    ("text", "spans", "groups"),
    [
        # GPT-style pieces with the space before the word: " an" + "imal" is one word, "didn" + "'t" another
        ("The animal didn't", [(0, 3), (3, 6), (6, 10), (10, 15), (15, 17)], [[0], [1, 2], [3, 4]]),
        # a whitespace-only token belongs to the word after it
        ("a  b", [(0, 1), (1, 3), (3, 4)], [[0], [1, 2]]),
        # Japanese: one character per token, words cut where the script changes
        ("吾輩は猫", [(0, 1), (1, 2), (2, 3), (3, 4)], [[0, 1], [2], [3]]),
        # punctuation and an emoji (a ZWJ sequence of three code points) are words of their own
        ("hi, 🧑‍💻", [(0, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7)], [[0], [1], [2, 3, 4, 5]]),
        # trailing whitespace goes to the last word
        ("ok\n", [(0, 2), (2, 3)], [[0, 1]]),
    ],
)
def test_group_tokens_known_answers(text, spans, groups):
    assert group_tokens(text, spans) == groups


def test_word_spans():
    text = "it's 12 猫です、カタカナ!"
    assert [text[s:e] for s, e in word_spans(text)] == ["it's", "12", "猫", "です", "、", "カタカナ", "!"]


@pytest.mark.parametrize("name", ["bpe", "char", "word", "ja-char"])
@pytest.mark.parametrize("text", [SENTENCE, "吾輩は猫である。名前はまだ無い。"])
def test_real_models_rows_sum_to_one(name, text):
    wa = word_attention(load_model(name), text)
    np.testing.assert_allclose(wa.weights.sum(-1), 1.0, atol=1e-5)
    assert sorted(t for g in wa.groups for t in g) == list(range(len(wa.tokens)))  # every token in one word
    assert wa.head_mean().shape == (wa.weights.shape[0], wa.index + 1)
    if text == SENTENCE:
        assert wa.words == SENTENCE.replace("didn't", "didn't").split()  # the words, whatever the pieces


def test_choose_word_by_token_and_index():
    m = load_model("bpe")
    assert word_attention(m, SENTENCE, word="it").word == "it"
    wa = word_attention(m, SENTENCE, word="animal")
    assert wa.word == "animal" and len(wa.groups[wa.index]) > 1  # several pieces under the bpe model
    assert word_attention(m, SENTENCE, index=0).word == "The"
    assert word_attention(m, SENTENCE).word == "tired"


def test_cli_words_text(cli):
    r = cli("attention", SENTENCE, "-m", "bpe", "--words", "--token", "it", "-n", "3")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].startswith("word 7 'it'")
    layers = [ln for ln in lines if ln.startswith("layer ")]
    assert len(layers) == 4 and all(ln.startswith(f"layer {i}: it → ") for i, ln in enumerate(layers))
    assert all(ln.count(",") == 2 for ln in layers)  # --top 3
    assert lines[-1].startswith("all layers: it → ")
    assert "attends only to earlier tokens" in r.err  # the causal-model note stays


def test_cli_words_json_sums_to_one(cli):
    r = cli("attention", SENTENCE, "-m", "bpe", "--words", "--token", "it", "-f", "json")
    doc = json.loads(r.out)
    assert doc["view"] == "words" and doc["word"] == "it" and doc["index"] == 7
    assert [w["word"] for w in doc["words"]][:3] == ["The", "animal", "didn't"]
    for layer in doc["layers"]:
        assert sum(layer["mean"]) == pytest.approx(1.0, abs=1e-4)
        for head in layer["heads"]:
            assert len(head) == 8 and sum(head) == pytest.approx(1.0, abs=1e-4)
    assert "earlier tokens" in doc["note"]


def test_cli_contrast_same_prefix_is_said(cli):
    r = cli("attention", SENTENCE, "-m", "bpe", "--words", "--token", "it", "--contrast", WIDE, "-f", "json")
    doc = json.loads(r.out)
    assert doc["contrast"]["same_prefix"] is True
    for row in doc["contrast"]["rows"]:
        assert all(abs(d) < 1e-5 for d in row["difference"])  # a causal model cannot tell them apart at "it"
    r = cli("attention", SENTENCE, "-m", "bpe", "--words", "--token", "it", "--contrast", WIDE)
    assert "cannot differ" in r.err and "--token 'tired'" in r.err


def test_cli_contrast_last_words(cli):
    r = cli("attention", SENTENCE, "-m", "bpe", "--words", "--contrast", WIDE, "-f", "json")
    doc = json.loads(r.out)
    c = doc["contrast"]
    assert doc["word"] == "tired" and c["word"] == "wide" and c["same_prefix"] is False
    pairs = [(row["a"], row["b"]) for row in c["rows"]]
    assert pairs[-1] == ("tired", "wide") and pairs[0] == ("The", "The")
    assert any(abs(d) > 1e-4 for row in c["rows"] for d in row["difference"])
    for key in ("weights_a", "weights_b"):  # per layer, each text's weights over its words sum to 1
        for li in range(len(doc["layers"])):
            assert sum(row[key][li] for row in c["rows"]) == pytest.approx(1.0, abs=1e-4)


def test_cli_words_errors(cli):
    r = cli("attention", SENTENCE, "-m", "bpe", "--contrast", WIDE)
    assert r.code == 2 and r.err.startswith("error: --contrast") and r.err.count("\n") == 1
    r = cli("attention", SENTENCE, "-m", "bpe", "--words", "--token", "zebra")
    assert r.code == 2 and "is not one of the text's words" in r.err
    r = cli("attention", SENTENCE, "-m", "bpe", "--words", "--token", "animal", "--contrast", "a cat")
    assert r.code == 2 and "'animal'" in r.err


def test_html_has_word_view(cli, tmp_path):
    page = tmp_path / "a.html"
    hostile = "</script><script>alert(1)</script> it <b>x</b>"
    r = cli("attention", hostile, "-m", "bpe", "--words", "--contrast", hostile + " y", "--html", page)
    assert r.code == 0, r.err
    html = page.read_text(encoding="utf-8")
    assert html.count("<script>") == 1 and "alert(1)</script>" not in html
    assert 'id="word-summary"' in html and 'id="contrast"' in html and '"words"' in html
