"""Each sampling filter on hand-made distributions, the documented order, and the draw."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokcli.errors import UsageError
from tokcli.model.sampling import (
    SamplingOptions,
    apply_repetition_penalty,
    draw,
    filter_logits,
    min_p_mask,
    sample,
    softmax64,
    top_k_mask,
    top_p_mask,
)

P = np.array([0.05, 0.4, 0.1, 0.3, 0.15])  # ranks: 1 (0.4), 3 (0.3), 4 (0.15), 2 (0.1), 0 (0.05)
LOGITS = np.log(P).astype(np.float32)


def kept(mask: np.ndarray) -> list[int]:
    return [int(i) for i in np.flatnonzero(mask)]


def test_top_k():
    assert kept(top_k_mask(P, 1)) == [1]
    assert kept(top_k_mask(P, 2)) == [1, 3]
    assert kept(top_k_mask(P, 0)) == [0, 1, 2, 3, 4]  # off
    assert kept(top_k_mask(P, 99)) == [0, 1, 2, 3, 4]
    assert kept(top_k_mask(np.array([0.3, 0.3, 0.3, 0.1]), 2)) == [0, 1, 2]  # ties with the k-th stay, as HF


def test_top_p():
    assert kept(top_p_mask(P, 0.4)) == [1]  # 0.4 alone reaches 0.4
    assert kept(top_p_mask(P, 0.41)) == [1, 3]
    assert kept(top_p_mask(P, 0.7)) == [1, 3]
    assert kept(top_p_mask(P, 0.71)) == [1, 3, 4]
    assert kept(top_p_mask(P, 0.01)) == [1]  # always at least one
    assert kept(top_p_mask(P, 1.0)) == [0, 1, 2, 3, 4]


def test_min_p():
    assert kept(min_p_mask(P, 0.5)) == [1, 3]  # >= 0.2
    assert sorted(kept(min_p_mask(P, 0.25))) == [1, 2, 3, 4]
    assert kept(min_p_mask(P, 1.0)) == [1]
    assert kept(min_p_mask(P, 0.0)) == [0, 1, 2, 3, 4]


def test_repetition_penalty_ctrl_rule():
    x = np.array([2.0, -2.0, 1.0, 0.0])
    out = apply_repetition_penalty(x, [0, 1, 1], 2.0)
    np.testing.assert_allclose(out, [1.0, -4.0, 1.0, 0.0])  # each seen token once, whatever its count
    np.testing.assert_allclose(apply_repetition_penalty(x, [0], 1.0), x)


def test_temperature_zero_is_greedy_without_division():
    with np.errstate(all="raise"):
        f = filter_logits(LOGITS, SamplingOptions(temperature=0))
    assert kept(f.keep) == [1]
    assert f.sample_probs[1] == 1.0
    rng = np.random.default_rng(0)
    assert all(sample(LOGITS, SamplingOptions(temperature=0), rng) == 1 for _ in range(5))


def test_temperature_reshapes_the_distribution():
    sharp = filter_logits(LOGITS, SamplingOptions(temperature=0.5)).sample_probs
    flat = filter_logits(LOGITS, SamplingOptions(temperature=2.0)).sample_probs
    one = filter_logits(LOGITS, SamplingOptions(temperature=1.0)).sample_probs
    np.testing.assert_allclose(one, P, rtol=1e-6)
    np.testing.assert_allclose(sharp, P**2 / (P**2).sum(), rtol=1e-5)
    assert sharp[1] > one[1] > flat[1]


def test_filters_apply_in_the_documented_order():
    """temperature, then top-k, then top-p on the renormalised survivors, then min-p."""
    # top-k 3 leaves [0.4, 0.3, 0.15]/0.85 = [0.47, 0.35, 0.18]; top-p 0.8 then keeps 1 and 3 (0.47 < 0.8 <= 0.82)
    f = filter_logits(LOGITS, SamplingOptions(top_k=3, top_p=0.8))
    assert kept(f.keep) == [1, 3]
    np.testing.assert_allclose(f.sample_probs[[1, 3]], [0.4 / 0.7, 0.3 / 0.7], rtol=1e-6)
    # without top-k first, top-p 0.8 keeps 1, 3, 4 (0.4 + 0.3 = 0.7 < 0.8)
    assert kept(filter_logits(LOGITS, SamplingOptions(top_p=0.8)).keep) == [1, 3, 4]
    # temperature before top-p: at T = 0.5 the probabilities are [.0075 .5333 .0333 .3 .075]; 0.8 needs 1 and 3
    assert kept(filter_logits(LOGITS, SamplingOptions(temperature=0.5, top_p=0.8)).keep) == [1, 3]
    # min-p after top-p: relative to the top survivor
    f = filter_logits(LOGITS, SamplingOptions(top_p=0.9, min_p=0.5))
    assert kept(f.keep) == [1, 3]
    # the model's own probabilities are reported at temperature 1, untouched by the filters
    np.testing.assert_allclose(f.probs, P, rtol=1e-6)


def test_repetition_penalty_comes_first():
    x = np.array([3.0, 2.9, -1.0], dtype=np.float32)
    assert sample(x, SamplingOptions(temperature=0), np.random.default_rng(0)) == 0
    assert sample(x, SamplingOptions(temperature=0, repetition_penalty=1.5), np.random.default_rng(0), [0]) == 1


@pytest.mark.parametrize(
    "kw",
    [
        {"temperature": -0.1},
        {"temperature": float("nan")},
        {"top_k": -1},
        {"top_p": 0.0},
        {"top_p": 1.5},
        {"min_p": -0.1},
        {"min_p": 1.1},
        {"repetition_penalty": 0.0},
    ],
)
def test_out_of_range_values_are_usage_errors(kw):
    with pytest.raises(UsageError):
        SamplingOptions(**kw)


def test_draw_is_inverse_cdf():
    probs = np.array([0.0, 0.25, 0.0, 0.75])

    class Fixed:
        def __init__(self, u):
            self.u = u

        def random(self):
            return self.u

    assert draw(probs, Fixed(0.0)) == 1
    assert draw(probs, Fixed(0.2499)) == 1
    assert draw(probs, Fixed(0.25)) == 3
    assert draw(probs, Fixed(0.999999999)) == 3
    assert draw(np.array([0.5, 0.5, 0.0]), Fixed(1.0 - 1e-17)) == 1  # never a token with probability 0


def test_draw_frequencies_follow_the_distribution():
    rng = np.random.default_rng(1)
    counts = np.bincount([draw(P, rng) for _ in range(4000)], minlength=5) / 4000
    np.testing.assert_allclose(counts, P, atol=0.03)


def test_same_seed_same_draws():
    a = [sample(LOGITS, SamplingOptions(top_k=4), np.random.default_rng(5)) for _ in range(3)]
    rng1, rng2 = np.random.default_rng(9), np.random.default_rng(9)
    assert [sample(LOGITS, SamplingOptions(), rng1) for _ in range(50)] == [
        sample(LOGITS, SamplingOptions(), rng2) for _ in range(50)
    ]
    assert len(set(a)) == 1


@settings(max_examples=60, deadline=None)
@given(
    logits=st.lists(st.floats(-20, 20), min_size=1, max_size=30),
    temperature=st.sampled_from([0.0, 0.3, 1.0, 2.5]),
    top_k=st.integers(0, 40),
    top_p=st.floats(0.01, 1.0),
    min_p=st.floats(0.0, 1.0),
)
def test_filters_always_leave_a_proper_distribution(logits, temperature, top_k, top_p, min_p):
    x = np.array(logits, dtype=np.float32)
    f = filter_logits(x, SamplingOptions(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p))
    assert f.keep.sum() >= 1
    p = softmax64(x / temperature) if temperature else (x == x.max()).astype(float)
    assert f.keep[p == p.max()].any()  # a most likely token always survives
    assert abs(f.sample_probs.sum() - 1.0) < 1e-9
    assert np.all(f.sample_probs[~f.keep] == 0)
    assert abs(softmax64(x).sum() - 1.0) < 1e-9
