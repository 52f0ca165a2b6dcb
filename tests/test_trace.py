"""`generate --trace`: window events at exactly the steps the context size implies, per-token numbers
checked against the model's own distribution; and the unknown token never sampled."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import tiny_model_dir

from tokcli.model.generate import GenerateOptions, TokenStep, WindowSlide, generate, generate_ids
from tokcli.model.model import Model, load_model
from tokcli.model.sampling import SamplingOptions, filter_logits, sample

TEXT = "the cat sat on the mat. the dog ate the hat!\n吾輩は猫である。名前はまだ無い。\n" * 2


def _model_dir(tmp_path_factory, kind: str) -> str:
    return tiny_model_dir(tmp_path_factory.mktemp(kind) / "model", kind, TEXT, seed=2)


@pytest.fixture(scope="module")
def char_dir(tmp_path_factory) -> str:
    return _model_dir(tmp_path_factory, "char")


@pytest.fixture(scope="module")
def word_dir(tmp_path_factory) -> str:
    return _model_dir(tmp_path_factory, "word")


def _run(m: Model, prompt: str, n: int, **kw) -> tuple[list[int], list]:
    events: list = []
    ids = list(
        generate_ids(m, m.encode(prompt), n, SamplingOptions(**kw), np.random.default_rng(0), trace=events.append)
    )
    return ids, events


def test_window_events_match_the_context(char_dir):
    """Context 16, keep 12 (3/4), a 5-token prompt, 40 tokens: the window is full after step 12 (5 + 12 = 17
    tokens), so step 13 sees a new window that dropped 5 and kept 12; it fills again every 5 steps."""
    m = load_model(char_dir)
    ids, events = _run(m, "the c", 40)
    slides = [e for e in events if isinstance(e, WindowSlide)]
    assert [(e.before_step, e.kind, e.dropped, e.kept, e.context) for e in slides] == [
        (s, "slide", 5, 12, 16) for s in (13, 18, 23, 28, 33, 38)
    ]
    steps = [e for e in events if isinstance(e, TokenStep)]
    assert [e.step for e in steps] == list(range(1, 41)) and [e.id for e in steps] == ids
    ctx = [e.context for e in steps]
    assert ctx[:13] == [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 12]
    assert ctx[17] == 12 and max(ctx) == 16 and min(ctx[12:]) == 12
    # each window event comes just before the token it announces
    for i, e in enumerate(events):
        if isinstance(e, WindowSlide):
            assert isinstance(events[i + 1], TokenStep) and events[i + 1].step == e.before_step


def test_long_prompt_is_cropped_then_slides(char_dir):
    m = load_model(char_dir)
    prompt = "the cat sat on the mat."  # 23 tokens > 16
    _, events = _run(m, prompt, 8)
    slides = [(e.before_step, e.kind, e.dropped, e.kept) for e in events if isinstance(e, WindowSlide)]
    # cropped to 16 (7 dropped); after step 1 the window holds 17: jump keeping 12, then full again after 5 more
    assert slides == [(1, "crop", 7, 16), (2, "slide", 5, 12), (7, "slide", 5, 12)]


@pytest.mark.parametrize("kw", [{"temperature": 0.8}, {"temperature": 0}, {"temperature": 1.0, "top_k": 5}])
def test_trace_numbers_are_the_models(char_dir, kw):
    m = load_model(char_dir)
    o = SamplingOptions(**kw)
    prompt = m.encode("吾輩は")
    plain = list(generate_ids(m, prompt, 12, o, np.random.default_rng(3)))
    events: list = []
    traced = list(generate_ids(m, prompt, 12, o, np.random.default_rng(3), trace=events.append))
    assert traced == plain  # tracing draws the same tokens
    window = list(prompt)
    for e, tok in zip(events, traced, strict=True):  # no window event: 3 + 12 tokens fit in 16
        f = filter_logits(m.forward(window)[-1], o, window, m.banned_ids)
        p = f.probs
        assert e.id == tok and e.token == m.tokenizer.id_to_token(tok)
        assert e.prob == pytest.approx(p[tok], rel=1e-5)
        assert e.p_sample == pytest.approx(f.sample_probs[tok], rel=1e-5)
        assert e.rank == 1 + sum(1 for q in p if q > p[tok])
        assert e.entropy_bits == pytest.approx(-sum(q * np.log2(q) for q in p if q > 0), rel=1e-5)
        assert e.kept == int(f.keep.sum())
        if kw.get("top_k") == 5:
            assert e.kept == 5
        if kw["temperature"] == 0:
            allowed = [i for i in range(len(p)) if i not in m.banned_ids]
            assert tok == max(allowed, key=lambda i: p[i])  # greedy: the likeliest token that may be drawn
            assert e.kept == 1 and e.p_sample == 1.0 and e.sample_entropy_bits == 0.0
        window.append(tok)


def test_cli_trace_text_and_json(cli, char_dir):
    args = ("generate", "the c", "-m", char_dir, "-n", "20", "--seed", "4")
    plain = cli(*args)
    r = cli(*args, "--trace")
    assert r.code == 0, r.err
    assert r.out == plain.out  # the trace is talk: stdout is the same text
    lines = r.err.splitlines()
    assert lines[0].startswith("trace (context 16 tokens): ") and "entropy (in bits)" in lines[0]
    assert sum(1 for ln in lines if ln.lstrip()[:1].isdigit()) == 20
    assert [ln.strip() for ln in lines if "window is full" in ln] == [
        "-- the window is full: dropped 5 tokens, kept the last 12; step 13 sees the new window --",
        "-- the window is full: dropped 5 tokens, kept the last 12; step 18 sees the new window --",
    ]
    doc = json.loads(cli(*args, "--trace", "-f", "json").out)
    trace = doc["samples"][0]["trace"]
    assert [e["event"] for e in trace].count("token") == 20
    assert [(e["before_step"], e["dropped"], e["kept"]) for e in trace if e["event"] == "window"] == [
        (13, 5, 12),
        (18, 5, 12),
    ]
    tok = next(e for e in trace if e["event"] == "token")
    assert set(tok) == {"event", "step", "id", "token", "prob", "p_sample", "rank", "entropy_bits",
                        "sample_entropy_bits", "kept", "context"}  # fmt: skip
    assert "trace" not in json.loads(cli(*args, "-f", "json").out)["samples"][0]


# -- the unknown token ----------------------------------------------------------------------------------
def test_unk_is_masked_in_the_draw_but_its_probability_reported():
    logits = np.array([5.0, 1.0, 0.5, 0.0])  # token 0 (the unknown one) is by far the likeliest
    o = SamplingOptions(temperature=1.0, top_k=2)
    f = filter_logits(logits, o, banned=[0])
    assert f.probs[0] > 0.9  # the model's own probability, still reported
    assert not f.keep[0] and f.sample_probs[0] == 0 and f.keep.sum() == 2
    rng = np.random.default_rng(0)
    assert all(sample(logits, SamplingOptions(), rng, banned=[0]) != 0 for _ in range(200))
    assert sample(logits, SamplingOptions(temperature=0), rng, banned=[0]) == 1
    assert sample(logits, SamplingOptions(temperature=0), rng) == 0


def test_generate_never_samples_unk(word_dir, monkeypatch):
    m = load_model(word_dir)
    unk = m.tokenizer.unk_id
    assert unk is not None and m.banned_ids == [unk]
    real_fwd, real_cached = m.forward, m.forward_cached

    def boost(x):  # make <unk> the likeliest token at every step
        x = np.array(x)
        x[..., unk] = x.max() + 8.0
        return x

    monkeypatch.setattr(m, "forward", lambda ids: boost(real_fwd(ids)))
    monkeypatch.setattr(m, "forward_cached", lambda ids, cache: boost(real_cached(ids, cache)))
    assert m.next_distribution(m.encode("the cat")).top(1)[0]["id"] == unk  # it would be drawn most
    for temperature in (1.0, 0.0):
        opts = GenerateOptions(max_tokens=60, seed=1, sampling=SamplingOptions(temperature=temperature), trace=True)
        g = next(generate(m, "the cat", opts))
        text = "".join(g)
        assert unk not in g.ids and "<unk>" not in text and len(g.ids) == 60
        steps = [e for e in g.trace if isinstance(e, TokenStep)]
        ranks = {e.rank for e in steps}
        assert ranks == {2} if temperature == 0 else min(ranks) >= 2  # <unk> holds rank 1 at every step


def test_cli_says_unk_is_masked(cli, word_dir):
    doc = json.loads(cli("generate", "the cat", "-m", word_dir, "-n", "5", "--seed", "1", "-f", "json").out)
    assert doc["masked"] == ["<unk>"]
    nxt = cli("next", "the cat", "-m", word_dir, "-n", "200", "-f", "json")
    d = json.loads(nxt.out)
    assert d["masked"] == ["<unk>"]
    unk_row = next(t for t in d["tokens"] if t["token"] == "<unk>")
    assert unk_row["prob"] > 0 and not unk_row["kept"] and unk_row["sample_prob"] == 0
    assert "<unk> is never sampled" in cli("next", "the cat", "-m", word_dir).err


def test_bundled_word_model_writes_no_unk():
    from tokcli.files import bundled

    if "word" not in bundled.model_names():
        pytest.skip("the bundled word model is not installed")
    m = load_model("word")
    g = next(generate(m, "The animal didn't cross the street because it", GenerateOptions(max_tokens=150, seed=1)))
    text = "".join(g)
    assert len(g.ids) == 150 and m.tokenizer.unk_id not in g.ids and "<unk>" not in text
