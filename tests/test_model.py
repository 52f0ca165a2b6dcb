"""The numpy Transformer: against independent references, causality, KV cache, sliding window, loading."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tokcli
from tokcli.errors import ModelFileError, ModelNotFound, UsageError
from tokcli.model.config import GPTConfig
from tokcli.model.generate import GenerateOptions, generate, generate_ids
from tokcli.model.model import Model, load_model
from tokcli.model.sampling import SamplingOptions
from tokcli.model.weights import random_weights, save_model_dir

TEXT = "the cat sat on the mat. the dog ate the hat!\nTo be, or not to be: that is the question.\n"


@pytest.fixture(scope="module")
def char_tok():
    return tokcli.train("char", [TEXT])


def tiny(tok, tmp, *, block_size=16, n_layer=2, n_head=2, n_embd=16, std=0.3, seed=0) -> Model:
    cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=block_size, n_layer=n_layer, n_head=n_head, n_embd=n_embd)
    save_model_dir(tmp, cfg, random_weights(cfg, seed, std=std), tok)
    return load_model(str(tmp))


@pytest.fixture
def model(char_tok, tmp_path) -> Model:
    return tiny(char_tok, tmp_path / "m")


# -- a deliberately plain, slow reference: loops, no shared helpers with tokcli.model.gpt ------------------
def plain_forward(w: dict[str, np.ndarray], cfg: GPTConfig, ids: list[int]) -> np.ndarray:
    w = {k: v.astype(np.float64) for k, v in w.items()}
    C, H = cfg.n_embd, cfg.n_head
    hs = C // H

    def ln(v, name):
        mu = sum(v) / len(v)
        var = sum((a - mu) ** 2 for a in v) / len(v)
        return (
            np.array([(a - mu) / math.sqrt(var + cfg.layer_norm_eps) for a in v]) * w[name + ".weight"]
            + w[name + ".bias"]
        )

    def gelu(a):
        return 0.5 * a * (1 + math.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a**3)))

    xs = [w["wte"][t] + w["wpe"][p] for p, t in enumerate(ids)]
    for i in range(cfg.n_layer):
        p = f"h.{i}."
        qkv = [ln(x, p + "ln_1") @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"] for x in xs]
        outs = []
        for t in range(len(xs)):
            y = np.zeros(C)
            for h in range(H):
                sl = slice(h * hs, (h + 1) * hs)
                q = qkv[t][0:C][sl]
                scores = [float(q @ qkv[s][C : 2 * C][sl]) / math.sqrt(hs) for s in range(t + 1)]
                m = max(scores)
                e = [math.exp(a - m) for a in scores]
                for s in range(t + 1):
                    y[sl] += e[s] / sum(e) * qkv[s][2 * C :][sl]
            outs.append(y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"])
        xs = [x + o for x, o in zip(xs, outs, strict=True)]
        new = []
        for x in xs:
            hdn = ln(x, p + "ln_2") @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]
            hdn = np.array([gelu(a) for a in hdn])
            new.append(x + hdn @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"])
        xs = new
    return np.array([ln(x, "ln_f") @ w["wte"].T for x in xs])


def test_forward_matches_plain_reference(char_tok):
    cfg = GPTConfig(vocab_size=char_tok.vocab_size, block_size=12, n_layer=2, n_head=2, n_embd=8)
    w = random_weights(cfg, 3, std=0.3)
    m = Model(cfg, w, char_tok)
    ids = char_tok.encode("the cat sat")
    np.testing.assert_allclose(m.forward(ids), plain_forward(w, cfg, ids), rtol=1e-5, atol=1e-5)


def test_forward_matches_torch(char_tok):
    torch = pytest.importorskip("torch", reason="the torch reference needs the train extra")
    from tokcli.lm.torch_gpt import TorchGPT

    cfg = GPTConfig(vocab_size=char_tok.vocab_size, block_size=24, n_layer=3, n_head=4, n_embd=32)
    w = random_weights(cfg, 5, std=0.2)
    ref = TorchGPT.from_exported(cfg, {k: torch.from_numpy(v) for k, v in w.items()})
    m = Model(cfg, w, char_tok)
    ids = char_tok.encode(TEXT)[: cfg.block_size]
    with torch.no_grad():
        expect = ref(torch.tensor([ids]))[0][0].numpy()
    np.testing.assert_allclose(m.forward(ids), expect, rtol=1e-5, atol=1e-5)
    # and the cached path, one token at a time
    cache = m.new_cache()
    rows = [m.forward_cached([t], cache) for t in ids]
    np.testing.assert_allclose(np.stack(rows), expect, rtol=1e-5, atol=1e-5)


def test_causal_later_tokens_do_not_change_earlier_logits(model):
    ids = model.encode("the cat sat on")
    changed = ids[:8] + model.encode("dog ate")
    a, b = model.forward(ids), model.forward(changed)
    np.testing.assert_allclose(a[:8], b[:8], rtol=1e-6, atol=1e-6)
    assert not np.allclose(a[8:], b[8 : len(a)])
    w = model.attention(ids)  # [L, H, T, T]
    assert w.shape == (2, 2, len(ids), len(ids))
    assert np.all(np.triu(w, k=1) == 0)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)


def test_cached_logits_equal_uncached(model):
    ids = model.encode("to be, or not t")
    full = model.forward(ids)
    cache = model.new_cache()
    first = model.forward_cached(ids[:5], cache)  # a prefix in one go, then token by token
    rows = [first] + [model.forward_cached([t], cache) for t in ids[5:]]
    np.testing.assert_allclose(np.stack(rows), full[4:], rtol=1e-5, atol=1e-5)
    assert cache.n == len(ids)


@pytest.mark.parametrize("keep", [None, 16, 1, 8])
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_cached_and_uncached_generation_agree_past_the_context(model, keep, temperature):
    prompt = model.encode("the cat")
    s = SamplingOptions(temperature=temperature)
    a = list(generate_ids(model, prompt, 60, s, np.random.default_rng(7), keep=keep))  # 60 > block_size 16
    b = list(generate_ids(model, prompt, 60, s, np.random.default_rng(7), keep=keep, use_cache=False))
    assert a == b
    assert len(a) == 60


def test_window_slides_as_documented(model):
    """keep = T is nanoGPT's crop at every token: compare with a hand-written loop."""
    prompt = model.encode("the cat sat on the mat. the dog")  # 31 tokens > 16: cropped
    got = list(generate_ids(model, prompt, 25, SamplingOptions(temperature=0), np.random.default_rng(0), keep=16))
    toks = list(prompt)
    for _ in range(25):
        toks.append(int(np.argmax(model.forward(toks[-16:])[-1])))
    assert got == toks[len(prompt) :]


def test_long_prompt_is_cropped(model):
    prompt = model.encode(TEXT)  # longer than the context
    assert len(prompt) > model.block_size
    got = list(generate_ids(model, prompt, 3, SamplingOptions(temperature=0), np.random.default_rng(0)))
    expect = int(np.argmax(model.forward(prompt[-16:])[-1]))
    assert got[0] == expect


def test_seeded_generation_is_deterministic(model):
    o = GenerateOptions(max_tokens=30, seed=42, num_samples=3, sampling=SamplingOptions(temperature=1.2, top_k=10))
    run1 = ["".join(g) for g in generate(model, "the ", o)]
    run2 = ["".join(g) for g in generate(model, "the ", o)]
    assert run1 == run2
    assert len(set(run1)) > 1  # the samples differ from each other
    one = GenerateOptions(max_tokens=30, seed=42, num_samples=1, sampling=o.sampling)
    assert ["".join(g) for g in generate(model, "the ", one)] == run1[:1]  # sample 0 does not depend on n
    other = GenerateOptions(max_tokens=30, seed=43, sampling=o.sampling)
    assert ["".join(g) for g in generate(model, "the ", other)] != run1[:1]


def test_generation_text_equals_decode_and_stats(model):
    (g,) = generate(model, "the cat", GenerateOptions(max_tokens=40, seed=1))
    text = "".join(g)
    assert text == g.text == model.tokenizer.decode(g.ids)
    s = g.stats
    assert (s.prompt_tokens, s.generated_tokens, s.stopped_by) == (7, 40, "max_tokens")
    assert 0 < s.context_tokens <= model.block_size
    assert s.context_chars == s.context_tokens  # one character per token for the char tokenizer


def test_stop_string_cuts_the_text(model):
    (g,) = generate(model, "the", GenerateOptions(max_tokens=200, seed=3))
    full = "".join(g)
    stop = full[10:12]
    (h,) = generate(model, "the", GenerateOptions(max_tokens=200, seed=3, stop=(stop, "\x00never")))
    pieces = list(h)
    assert "".join(pieces) == full[: full.index(stop)]
    assert h.stats.stopped_by == "stop"


def test_stop_filter_holds_back_partial_matches():
    from tokcli.model.generate import _StopFilter

    f = _StopFilter(["END"])
    assert f.push("abcE") == ("abc", False)
    assert f.push("N") == ("", False)
    assert f.push("x") == ("ENx", False)
    assert f.push("yEN") == ("y", False)
    assert f.push("Dzz") == ("", True)


def test_byte_level_tokens_stream_whole_characters(tmp_path):
    bpe = tokcli.train("bpe", ["héllo wörld 日本語 " * 20], vocab_size=300)
    m = tiny(bpe, tmp_path / "bpe", std=0.5)
    (g,) = generate(m, "h", GenerateOptions(max_tokens=50, seed=0))
    pieces = list(g)
    assert "".join(pieces) == bpe.decode(g.ids)


def test_load_errors(tmp_path, model):
    with pytest.raises(ModelNotFound, match="unknown model"):
        load_model("no-such-model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match="config.json"):
        load_model(str(tmp_path / "empty"))
    with pytest.raises(UsageError):
        model.forward([])
    with pytest.raises(UsageError):
        model.forward([0] * (model.block_size + 1))


def test_bundled_models_load_when_present():
    from tokcli.files.bundled import model_names as bundled_models

    names = bundled_models()
    if not names:
        pytest.skip("no bundled model has weights yet (tokcli/data/models/*/model.safetensors)")
    for name in names:
        m = load_model(name)
        logits = m.forward(m.encode("The ")[:1] or [0])
        assert logits.shape == (1, m.vocab_size)
        assert np.isfinite(logits).all()
