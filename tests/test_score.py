"""`tokcli score` and `--ladder`: known answers from logits functions whose probabilities the tests set, the
windows `generate` would use, the tokens at the prompt's boundary, the n-gram tables shipped with a model
(checked against the plain dictionary Kneser-Ney of test_ngram), and the CLI's JSON."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from conftest import tiny_model_dir
from test_ngram import reference_prob

from tokcli.errors import ModelFileError, UsageError
from tokcli.lm import ngram_tables
from tokcli.lm.ladder import ladder, model_tables
from tokcli.lm.ngram import KneserNey
from tokcli.model.model import load_model
from tokcli.model.score import normalize, score_continuations, split_ids, token_logprobs

TEXT = (
    "the cat sat on the mat. the dog ate the hat! the cat ate the rat.\nTo be, or not to be: that is the question.\n"
    "吾輩は猫である。名前はまだ無い。猫は寝る。犬は走る。\n"
) * 3


def _model_dir(tmp_path_factory, kind: str, block_size: int = 16) -> str:
    return tiny_model_dir(tmp_path_factory.mktemp(kind) / "model", kind, TEXT, block_size=block_size)


@pytest.fixture(scope="module")
def char_dir(tmp_path_factory) -> str:
    return _model_dir(tmp_path_factory, "char")


@pytest.fixture(scope="module")
def ladder_dir(tmp_path_factory) -> str:
    """A char model with n-gram tables built from TEXT, as scripts/build_ngrams.py builds them."""
    d = _model_dir(tmp_path_factory, "char", block_size=32)
    m = load_model(d)
    arrays, meta = ngram_tables.build(m.tokenizer, [TEXT], val_fraction=0.1, max_order=4)
    ngram_tables.save(f"{d}/ngrams.npz", arrays, meta)
    return d


def bigram_table(V: int, seed: int = 0) -> np.ndarray:
    """A known next-token distribution per previous token: log-probs [V, V], each row summing to 1."""
    p = np.random.default_rng(seed).dirichlet(np.ones(V), size=V)
    return np.log(p)


# -- known answers ---------------------------------------------------------------------------------------
def test_score_is_the_sum_of_known_token_logprobs(char_dir):
    m = load_model(char_dir)
    L = bigram_table(m.vocab_size)

    def fn(ids):  # row r predicts the token after ids[r] from ids[r] alone: a known bigram model
        return L[np.asarray(ids)].astype(np.float32)

    conts = [" sat", " ate the rat", "猫である"]
    rep = score_continuations(m, "the cat", conts, logits_fn=fn)
    for c, text in zip(rep.continuations, conts, strict=True):
        ids = m.encode("the cat" + text)
        expected = sum(float(L[a, b]) for a, b in zip(ids[6:], ids[7:], strict=False))
        assert c.split.joint and c.split.cont_ids == ids[7:]
        assert c.logprob == pytest.approx(expected, rel=1e-5)
        assert c.prob == pytest.approx(math.exp(expected), rel=1e-5)
        assert [t.token for t in c.tokens] == list(text)
    shares = [c.normalized for c in rep.continuations]
    assert sum(shares) == pytest.approx(1.0)
    assert shares == pytest.approx(normalize([c.logprob for c in rep.continuations]))


def test_normalize_known_values():
    assert normalize([math.log(0.2), math.log(0.3)]) == pytest.approx([0.4, 0.6])
    assert normalize([math.log(1e-300), math.log(3e-300), -math.inf]) == pytest.approx([0.25, 0.75, 0.0])
    assert sum(normalize([-1000.0, -1001.0, -999.5])) == pytest.approx(1.0)


def test_windows_are_those_of_generate():
    """T = 16, keep = 12, a 20-token prompt and 8 tokens to score: the prompt is cropped to its last 16, so
    the first token sees 16; the window is then full and jumps keeping 12: 12, 13, 14, 15, 16, then 12 again."""
    seen = []

    def fn(ids):  # log-probs that say which window predicted: uniform, but remember the windows
        seen.append(len(ids))
        return np.zeros((len(ids), 5), dtype=np.float32)

    ids = [i % 5 for i in range(28)]
    lp, rank, ctx = token_logprobs(fn, ids, 20, 16, 12)
    assert ctx.tolist() == [16, 12, 13, 14, 15, 16, 12, 13]
    assert lp == pytest.approx([-math.log(5)] * 8)
    assert rank.tolist() == [1] * 8
    assert seen == [16, 16, 13]  # one forward pass per window: 4..20, 9..25, 21..27 (predicting 26, 27)


def test_windowed_scores_match_one_forward_pass_per_token(char_dir):
    m = load_model(char_dir)  # context 16
    prompt = "To be, or not to be: that is"  # 28 tokens
    rep = score_continuations(m, prompt, [" the question. 猫"])
    ids = m.encode(prompt + " the question. 猫")
    start = max(0, 28 - 16)
    for t, ts in zip(range(28, len(ids)), rep.continuations[0].tokens, strict=True):
        if t - start > 16:
            start = t - 12
        row = m.forward(ids[start:t])[-1].astype(np.float64)
        expected = row[ids[t]] - np.log(np.exp(row - row.max()).sum()) - row.max()
        assert ts.context == t - start
        assert ts.logprob == pytest.approx(expected, abs=1e-5)
        assert ts.rank == int((row > row[ids[t]]).sum()) + 1
    assert any("the model sees only the last 16" in n for n in rep.notes)


def test_boundary_joint_or_apart():
    vocab: dict[str, int] = {}

    def encode(s: str) -> list[int]:  # words carry their leading space, as GPT-2's BPE does
        return [vocab.setdefault(w, len(vocab)) for w in re.findall(r" ?\w+| ", s)]

    joint = split_ids(encode, "the cat", " sat")
    assert joint.joint and joint.cont_ids == [vocab[" sat"]]
    apart = split_ids(encode, "the cat ", "sat")  # " sat" would swallow the prompt's space
    assert not apart.joint
    assert apart.prompt_ids == encode("the cat ") and apart.cont_ids == [vocab["sat"]]


def test_score_errors(char_dir):
    m = load_model(char_dir)
    with pytest.raises(UsageError, match="no continuation"):
        score_continuations(m, "the", [])
    with pytest.raises(UsageError, match="non-empty continuation"):
        score_continuations(m, "the", ["x", ""])
    with pytest.raises(UsageError, match="prompt is empty"):
        score_continuations(m, "", ["x"])
    rep = score_continuations(m, "the", [" cat", " cat", " dog"])
    assert [c.text for c in rep.continuations] == [" cat", " dog"]
    assert any("given twice" in n for n in rep.notes)


# -- the n-gram tables -----------------------------------------------------------------------------------
@pytest.mark.parametrize("best", [1, 2, 3, 5])
def test_tables_round_trip_exactly_without_pruning(best):
    rng = np.random.default_rng(best)
    train = np.concatenate([rng.integers(0, 12, 800), np.tile([1, 2, 3, 4], 50)])
    lm = KneserNey.train(train, 15, max_order=best)
    back = ngram_tables.from_arrays(ngram_tables.compact(lm, best), 15, best)
    test = rng.integers(0, 15, 200)
    for order in sorted({1, min(2, best), best}):
        assert np.array_equal(back.logprobs(test, order), lm.logprobs(test, order))
    if best > 3:
        with pytest.raises(UsageError, match="these tables hold orders 1, 2, 5"):
            back.logprobs(test, 3)


def test_pruned_tables_still_sum_to_one_and_are_smaller():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 30, 5000)
    lm = KneserNey.train(train, 32, max_order=4)
    full, pruned = ngram_tables.compact(lm, 4, 1), ngram_tables.compact(lm, 4, 3)
    assert len(pruned["first4"]) < len(full["first4"])
    back = ngram_tables.from_arrays(pruned, 32, 4)
    for ctx in ([1, 2, 3], [5, 5, 5], [31, 30, 29], train[:3].tolist()):
        for order in (1, 2, 4):
            d = back.distribution(ctx, order)
            assert d.sum() == pytest.approx(1.0) and (d > 0).all()


def test_ladder_matches_the_dictionary_kneser_ney(ladder_dir):
    m = load_model(ladder_dir)
    tables = model_tables(m)
    train_ids = m.encode(TEXT[: int(len(TEXT) * 0.9)])
    V = m.vocab_size
    rep = score_continuations(m, "the cat", [" sat", " ate the hat", "。犬は"])
    cols = ladder(rep, tables)
    assert [c.name for c in cols][: len(tables.orders)] == [
        {1: "unigram", 2: "bigram"}.get(o, f"{o}-gram") for o in tables.orders
    ]
    assert cols[-1].name == "Transformer"
    assert cols[-1].logprobs == pytest.approx([c.logprob for c in rep.continuations])
    for col, order in zip(cols, tables.orders, strict=False):
        for c, lp in zip(rep.continuations, col.logprobs, strict=True):
            ids = c.split.prompt_ids + c.split.cont_ids
            n0 = len(c.split.prompt_ids)
            expected = sum(math.log(reference_prob(train_ids, V, order, ids[:t], ids[t])) for t in range(n0, len(ids)))
            assert lp == pytest.approx(expected, rel=1e-9)
    for col in cols:
        assert sum(col.normalized) == pytest.approx(1.0)


def test_tables_refused_when_they_do_not_fit(ladder_dir, tmp_path):
    with pytest.raises(ModelFileError, match="built for"):
        ngram_tables.load(f"{ladder_dir}/ngrams.npz", 9999)
    bad = tmp_path / "ngrams.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a tokcli n-gram file"):
        ngram_tables.load(bad, 10)


@pytest.mark.parametrize("name", ["char", "word", "bpe", "ja-char"])
def test_bundled_models_ship_their_ladder(name):
    from tokcli.files import bundled

    if name not in bundled.model_names():
        pytest.skip(f"the bundled {name} model is not installed")
    m = load_model(name)
    t = model_tables(m)
    assert t.orders == [1, 2, t.best] and t.best >= 3
    assert (m.path / "ngrams.npz").stat().st_size <= ngram_tables.DEFAULT_BUDGET
    d = t.lm.distribution(m.encode("the" if name != "ja-char" else "吾輩は"), t.best)
    assert d.sum() == pytest.approx(1.0)
    # the best n-gram of the held-out text is the one recorded, and it beats the bigram there
    held = t.meta["held_out"]
    assert held[str(t.best)]["bits_per_char_pruned"] < held["2"]["bits_per_char_pruned"]


# -- the command -----------------------------------------------------------------------------------------
def test_cli_score_json_schema(cli, char_dir):
    r = cli("score", "吾輩は", "-c", "猫", "-c", "犬である", "-m", char_dir, "-f", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert set(doc) == {"schema", "model", "prompt", "prompt_tokens", "context", "units", "continuations"}
    assert doc["prompt"] == "吾輩は" and doc["prompt_tokens"] == 3 and doc["context"] == 16
    cs = doc["continuations"]
    assert [c["text"] for c in cs] == ["猫", "犬である"]
    assert sum(c["normalized"] for c in cs) == pytest.approx(1.0)
    for c in cs:
        assert set(c) == {"text", "prob", "logprob", "bits", "normalized", "n_tokens", "boundary", "tokens"}
        assert c["boundary"] == "joint" and c["n_tokens"] == len(c["text"]) == len(c["tokens"])
        assert c["logprob"] == pytest.approx(sum(t["logprob"] for t in c["tokens"]))
        assert c["prob"] == pytest.approx(math.exp(c["logprob"]))
        assert c["bits"] == pytest.approx(-c["logprob"] / math.log(2))
        assert [t["token"] for t in c["tokens"]] == list(c["text"])


def test_cli_score_text_and_tokens(cli, char_dir):
    r = cli("score", "the cat", "-c", " sat", "-c", " ate", "-m", char_dir, "--tokens")
    assert r.code == 0, r.err
    table, tokens = r.out.split("\n\n")
    lines = table.splitlines()
    assert lines[0] == "continuation\tprob\tlogprob\tshare\ttokens"
    assert [ln.split("\t")[0] for ln in lines[1:]] == ["␣sat", "␣ate"]
    shares = [float(ln.split("\t")[3].rstrip("%")) for ln in lines[1:]]
    assert sum(shares) == pytest.approx(100.0, abs=0.11)
    assert len(tokens.splitlines()) == 1 + 8  # header and 4 + 4 characters
    assert "logprob in nats" in r.err


def test_cli_ladder(cli, ladder_dir):
    r = cli("score", "the cat", "-c", " sat", "-c", " ate", "-m", ladder_dir, "--ladder", "-f", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    names = [c["name"] for c in doc["ladder"]]
    assert names[:2] == ["unigram", "bigram"] and names[-1] == "Transformer"
    assert doc["ngrams"]["best_order"] == int(names[2].split("-")[0])
    for col in doc["ladder"]:
        assert [c["text"] for c in col["continuations"]] == [" sat", " ate"]
        assert sum(c["normalized"] for c in col["continuations"]) == pytest.approx(1.0)
        for c in col["continuations"]:
            assert c["logprob"] == pytest.approx(sum(c["token_logprobs"]))
    text = cli("score", "the cat", "-c", " sat", "-c", " ate", "-m", ladder_dir, "--ladder")
    assert text.out.splitlines()[0] == "continuation\t" + "\t".join(names)
    assert "each token predicted from: unigram: no context" in text.err
    both = cli("score", "the cat", "-c", " sat", "-c", " ate", "-m", ladder_dir, "--ladder", "--tokens")
    per_token = both.out.split("\n\n")[1].splitlines()
    assert per_token[0] == "continuation\t#\ttoken\tid\t" + "\t".join(names)
    assert len(per_token) == 1 + 8
    first = per_token[1].split("\t")  # ␣sat's first token, ' ', under each model
    for col, cell in zip(doc["ladder"], first[4:], strict=True):
        assert float(cell) == pytest.approx(math.exp(col["continuations"][0]["token_logprobs"][0]), abs=6e-5)


def test_cli_errors_are_one_line(cli, char_dir):
    for args, msg in [
        (("score", "the", "-m", char_dir), "Missing option"),
        (("score", "the", "-c", "", "-m", char_dir), "non-empty continuation"),
        (("score", "the", "-c", " t", "-m", char_dir, "--ladder"), "no n-gram tables"),
    ]:
        r = cli(*args)
        assert r.code == 2, (args, r.err)
        assert msg in r.err and "Traceback" not in r.err
        assert r.out == ""
    r = cli("score", "the", "-c", " t", "-m", char_dir, "--ladder")
    assert len(r.err.strip().splitlines()) == 1 and r.err.startswith("error: ")
