"""`lm eval`: sliding windows score each token once, known answers in every unit, determinism, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import shared_corpus
from hypothesis import given, settings
from hypothesis import strategies as st

import tokcli
from tokcli.errors import UsageError
from tokcli.lm.evaluate import evaluate, score, split_texts, token_char_lengths, windows
from tokcli.model.config import GPTConfig
from tokcli.model.model import load_model
from tokcli.model.weights import random_weights, save_model_dir

TEXT = "To be, or not to be: that is the question.\nWhether 'tis nobler in the mind to suffer\n" * 3


@pytest.fixture(scope="module")
def char_tok():
    return tokcli.train("char", [TEXT + "é"])


@pytest.fixture
def model_dir(char_tok, tmp_path):
    cfg = GPTConfig(vocab_size=char_tok.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=8)
    return save_model_dir(tmp_path / "m", cfg, random_weights(cfg, 0, std=0.3), char_tok)


# -- windows ---------------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.integers(2, 300), st.integers(1, 40), st.data())
def test_every_token_after_the_first_is_scored_exactly_once(n, T, data):
    stride = data.draw(st.integers(1, T))
    wins = windows(n, T, stride)
    scored = [t for w in wins for t in range(w.first, w.end + 1)]
    assert scored == list(range(1, n))
    for k, w in enumerate(wins):
        assert 0 <= w.start < w.first <= w.end and w.end - w.start <= T  # a window fits the context
        if k == 0:
            assert (w.start, w.first) == (0, 1)  # the first window scores all its tokens
        else:
            assert w.first - w.start >= T - stride + 1 or w.start == 0  # the context the stride allows


def test_windows_known_layout():
    assert [(w.start, w.end, w.first) for w in windows(10, 4, 2)] == [(0, 4, 1), (2, 6, 5), (4, 8, 7), (5, 9, 9)]
    assert [(w.start, w.end, w.first) for w in windows(9, 4, 4)] == [(0, 4, 1), (4, 8, 5)]
    with pytest.raises(UsageError):
        windows(10, 4, 5)
    with pytest.raises(UsageError):
        windows(10, 4, 0)


# -- scoring with fake models whose answers are known ----------------------------------------------------
def test_uniform_logits_give_log2_v_bits_per_token():
    tok = tokcli.load("bpe")  # tokens != characters != bytes
    text = "Naïve café owners — 'tis true — sell crème brûlée.\n" * 4
    V = tok.vocab_size
    r = evaluate(lambda ids: np.zeros((len(ids), V), np.float32), text, tok, 8)
    n = len(tok.encode(text))
    assert r.text.tokens == n and r.scored_tokens == n - 1
    assert r.nats_per_token == pytest.approx(math.log(V), rel=1e-12)
    assert r.bits_per_char == pytest.approx(math.log2(V) * n / len(text), rel=1e-12)
    assert r.bits_per_byte == pytest.approx(math.log2(V) * n / len(text.encode()), rel=1e-12)
    assert r.perplexity == pytest.approx(V, rel=1e-9)


def test_a_model_that_halves_between_two_tokens_scores_one_bit_per_char(char_tok):
    # "abab...": the fake model always gives 1/2 to 'a' and 1/2 to 'b' -> exactly 1 bit per character
    a, b = char_tok.encode("ab")
    V = char_tok.vocab_size

    def logits(ids):
        out = np.full((len(ids), V), -1e9)
        out[:, [a, b]] = 0.0
        return out

    r = evaluate(logits, "ab" * 50, char_tok, 7, stride=3)
    assert r.bits_per_char == pytest.approx(1.0, abs=1e-12)
    assert r.nats_per_token == pytest.approx(math.log(2), abs=1e-12)


@pytest.mark.parametrize("stride", [1, 3, 8])
def test_a_bigram_model_scores_the_same_whatever_the_stride(stride):
    rng = np.random.default_rng(1)
    V = 11
    table = rng.normal(size=(V, V))
    ids = rng.integers(0, V, size=57)
    nll, ctx, _ = score(lambda x: table[x], ids, 8, stride)
    logp = table - np.log(np.exp(table).sum(axis=1, keepdims=True))
    assert nll == pytest.approx(-logp[ids[:-1], ids[1:]], abs=1e-12)
    assert ctx.min() >= 1 and ctx.max() <= 8


def test_context_is_the_position_in_the_window():
    # a fake model that predicts token t+1 with probability 1/(t+2): row t of the window holds t+1 tokens
    V = 64

    def logits(ids):
        rows = np.full((len(ids), V), -1e9)
        for t in range(len(ids)):
            rows[t, : t + 2] = 0.0
        return rows

    ids = np.zeros(30, dtype=np.int64)
    nll, ctx, n_windows = score(logits, ids, 10, 5)
    # 29 tokens scored: 10 by the first window, 5 by each next one, and the last window, moved back to end
    # at the text's end, scores the remaining 4 with 7..10 tokens of context
    assert ctx.tolist() == list(range(1, 11)) + [6, 7, 8, 9, 10] * 3 + [7, 8, 9, 10]
    assert nll == pytest.approx(np.log(ctx + 1.0))
    assert n_windows == 5


def test_average_context_in_characters():
    tok = tokcli.load("bpe")
    text = "héllo wörld, héllo wörld, héllo wörld"
    V = tok.vocab_size
    r = evaluate(lambda ids: np.zeros((len(ids), V)), text, tok, 4, stride=4)
    ids = tok.encode(text)
    data = text.encode()
    ends = np.cumsum([len(tok.token_bytes(i)) for i in ids])  # byte offset after each token
    assert ends[-1] == len(data)
    bounds = np.concatenate([[0], ends])

    def chars(a: int, b: int) -> int:  # characters whose first byte lies in tokens a..b-1
        return sum(1 for x in data[bounds[a] : bounds[b]] if x & 0xC0 != 0x80)

    start = {t: w.start for w in windows(len(ids), 4, 4) for t in range(w.first, w.end + 1)}
    assert r.avg_context_tokens == pytest.approx(np.mean([t - start[t] for t in range(1, len(ids))]))
    assert r.avg_context_chars == pytest.approx(np.mean([chars(start[t], t) for t in range(1, len(ids))]))


def test_token_char_lengths_sum_to_the_text():
    bpe = tokcli.load("bpe")
    text = "日本語 and émigré\n"
    ids = np.array(bpe.encode(text))
    assert token_char_lengths(bpe, ids, len(text)).sum() == pytest.approx(len(text))
    word = tokcli.load("word")  # unknown words become <unk>: they get what the known tokens leave
    text = "the Zyzzyva xqj said"
    ids = np.array(word.encode(text))
    assert word.unk_id in ids
    assert token_char_lengths(word, ids, len(text)).sum() == pytest.approx(len(text))


# -- the numpy model, n-gram baselines, determinism --------------------------------------------------------
def test_model_evaluation_is_deterministic_and_matches_a_direct_pass(model_dir):
    m = load_model(str(model_dir))
    text = TEXT[:60]
    r1 = evaluate(m.forward, text, m.tokenizer, m.block_size, stride=4, ngram_train=TEXT)
    r2 = evaluate(m.forward, text, m.tokenizer, m.block_size, stride=4, ngram_train=TEXT)
    strip = {"seconds", "tokens_per_second"}
    d1 = {k: v for k, v in r1.to_dict().items() if k not in strip}
    d2 = {k: v for k, v in r2.to_dict().items() if k not in strip}
    for d in (d1, d2):
        d["baselines"] = [{k: v for k, v in b.items() if k != "seconds"} for b in d["baselines"]]
    assert d1 == d2
    # the first window by hand
    ids = m.encode(text)
    logits = m.forward(ids[:16]).astype(np.float64)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    first = -logp[np.arange(15), ids[1:16]]
    nll, _, _ = score(m.forward, np.array(ids), 16, 4)
    assert nll[:16] == pytest.approx(np.append(first, nll[15]), abs=1e-6)
    assert [b.order for b in r1.baselines] == [1, 2, 3, 4, 5, 6]
    for b in r1.baselines:
        assert b.tokens == r1.scored_tokens
        assert b.bits_per_char == pytest.approx(b.nats_per_token * r1.text.tokens / r1.text.chars / math.log(2))


def test_split_texts():
    a, b = "a" * 100, "b" * 50
    assert split_texts([a, b], "val", 0.1) == ("a" * 10 + "b" * 5, "a" * 90 + "b" * 45)
    assert split_texts([a, b], "train", 0.1) == ("a" * 90 + "b" * 45, None)
    assert split_texts([a, b], "all", 0.1) == (a + b, None)
    with pytest.raises(UsageError):
        split_texts([a], "test", 0.1)
    with pytest.raises(UsageError):
        split_texts([a], "val", 1.0)


def test_too_short_text(char_tok):
    with pytest.raises(UsageError):
        evaluate(lambda ids: np.zeros((len(ids), 3)), "T", char_tok, 4)


# -- the command -------------------------------------------------------------------------------------------
def test_cli_json(cli, model_dir, tmp_path):
    f = tmp_path / "t.txt"
    f.write_text(TEXT, encoding="utf-8")
    r = cli("lm", "eval", "-m", model_dir, f, "--split", "val", "--baseline", "ngram", "--stride", "4", "-f", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["split"] == "val" and doc["stride"] == 4 and doc["block_size"] == 16
    val = TEXT[int(len(TEXT) * 0.9) :]
    assert doc["text"]["chars"] == len(val)
    assert doc["ngram_train_tokens"] == int(len(TEXT) * 0.9)
    assert [b["order"] for b in doc["baselines"]] == [1, 2, 3, 4, 5, 6]
    assert doc["bits_per_char"] > 0


def test_cli_table_when_piped(cli, model_dir, tmp_path):
    f = tmp_path / "t.txt"
    f.write_text(TEXT, encoding="utf-8")
    train = tmp_path / "train.txt"
    train.write_text(TEXT * 2, encoding="utf-8")
    r = cli("lm", "eval", "-m", model_dir, f, "--train-text", train, "--max-order", "3")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    header = ["model", "ctx", "nats/tok", "bits/char", "bits/byte", "ppl", "tok/s"]
    assert lines[0].split("\t") == header
    assert [ln.split("\t")[0] for ln in lines[1:]] == ["1-gram", "2-gram", "3-gram", "transformer"]
    assert "windows" in r.err and "n-grams trained on" in r.err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--baseline", "ngram"], "--train-text"),
        (["--stride", "17"], "--stride"),
        (["--split", "test"], "--split"),
        (["--baseline", "kenlm"], "--baseline"),
        (["--val-fraction", "0", "--split", "val"], "--val-fraction"),
    ],
)
def test_cli_usage_errors(cli, model_dir, tmp_path, args, message):
    f = tmp_path / "t.txt"
    f.write_text(TEXT, encoding="utf-8")
    r = cli("lm", "eval", "-m", model_dir, f, *args)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("error:") and message in r.err


def test_cli_unknown_model(cli, tmp_path):
    f = tmp_path / "t.txt"
    f.write_text(TEXT, encoding="utf-8")
    r = cli("lm", "eval", "-m", "nonesuch", f)
    assert r.code == 2 and "unknown model" in r.err


def test_bundled_char_model_on_shakespeare():
    """A sanity check of the bundled model on 2,000 characters of its own validation split."""
    path = shared_corpus("en_shakespeare.txt")
    try:
        m = load_model("char")
    except tokcli.errors.TokcliError as e:
        pytest.skip(f"the bundled char model is not trained yet ({e})")
    val, train = split_texts([path.read_text(encoding="utf-8")], "val", 0.1)
    r = evaluate(m.forward, val[:2000], m.tokenizer, m.block_size, ngram_train=train[-200_000:], max_order=3)
    assert 1.0 < r.bits_per_char < 3.5
    assert r.baselines[0].bits_per_char > r.baselines[2].bits_per_char
