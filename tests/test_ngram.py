"""Interpolated modified Kneser-Ney: distributions sum to 1, and the numpy tables agree with a plain
dictionary implementation written straight from Chen & Goodman's formulas."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokcli.errors import UsageError
from tokcli.lm.ngram import KneserNey


def reference_prob(train: list[int], V: int, order: int, history: list[int], w: int) -> float:
    """P(w | history) by the textbook recursion over Python dicts (slow; tiny texts only)."""
    counts = [Counter(tuple(train[i : i + k]) for i in range(len(train) - k + 1)) for k in range(order + 1)]
    # continuation counts: distinct left extensions of each k-gram
    cont: list[Counter] = [Counter() for _ in range(order + 1)]
    for k in range(1, order):
        for g in counts[k + 1]:
            cont[k][g[1:]] += 1

    def discounts(cnt: Counter) -> tuple[float, float, float]:
        n = Counter(v for v in cnt.values() if v > 0)
        Y = n[1] / (n[1] + 2 * n[2]) if n[1] + 2 * n[2] else 0.5
        out = []
        for k in (1, 2, 3):
            d = k - (k + 1) * Y * n[k + 1] / n[k] if n[k] else Y
            out.append(min(max(d, 0.05), k))
        return tuple(out)

    def D(c: float, ds: tuple[float, float, float]) -> float:
        return 0.0 if c == 0 else ds[min(int(c), 3) - 1]

    def p(k: int, h: tuple[int, ...]) -> float:
        if k == 0:
            return 1.0 / V
        cnt = counts[k] if k == order else cont[k]
        ds = discounts(cnt)
        lower = p(k - 1, h)
        if k > 1 and len(h) < k - 1:
            return lower
        ctx = h[len(h) - (k - 1) :] if k > 1 else ()
        children = defaultdict(float)
        for g, c in cnt.items():
            if g[:-1] == ctx:
                children[g[-1]] = c
        total = sum(children.values())
        if total == 0:
            return lower
        gamma = sum(D(c, ds) for c in children.values()) / total
        c = children.get(w, 0.0)
        return max(c - D(c, ds), 0.0) / total + gamma * lower

    h = tuple(history[-(order - 1) :]) if order > 1 else ()
    return p(order, h)


TEXT = [0, 1, 2, 0, 1, 3, 0, 1, 2, 2, 4, 0, 1, 2, 0, 3, 3, 1, 2, 0, 1, 2, 4, 4, 0]


@pytest.mark.parametrize("order", range(1, 7))
def test_agrees_with_dictionary_reference(order):
    V = 7  # tokens 5 and 6 never occur in training
    m = KneserNey.train(TEXT, V, max_order=6)
    for ctx in ([], [0], [0, 1], [2, 0, 1], [3, 3, 1, 2, 0], [6, 5], [1, 2, 6], [4, 4, 0, 1, 2]):
        dist = m.distribution(ctx, order)
        for w in range(V):
            assert dist[w] == pytest.approx(reference_prob(TEXT, V, order, ctx, w), abs=1e-12), (ctx, w)


@pytest.mark.parametrize("order", range(1, 7))
def test_distribution_sums_to_one_for_seen_and_unseen_contexts(order):
    rng = np.random.default_rng(0)
    V = 50
    train = rng.integers(0, 30, size=5000) % rng.integers(1, 30, size=5000)  # skewed; 30..49 never seen
    m = KneserNey.train(train, V)
    contexts = [[], list(train[100:105]), list(train[-5:]), [49, 48, 47, 46, 45], [1, 2, 49], [0] * 5]
    for ctx in contexts:
        dist = m.distribution(ctx, order)
        assert dist.shape == (V,)
        assert dist.sum() == pytest.approx(1.0, abs=1e-12)
        assert (dist > 0).all()  # unseen tokens too, through the uniform floor


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=60),
    st.lists(st.integers(0, 7), max_size=6),
    st.integers(1, 6),
)
def test_sums_to_one_on_any_text(train, ctx, order):
    m = KneserNey.train(train, 8)
    assert m.distribution(ctx, min(order, m.max_order)).sum() == pytest.approx(1.0, abs=1e-12)


def test_logprobs_match_distribution_and_are_deterministic():
    V = 7
    m = KneserNey.train(TEXT, V)
    test = [0, 1, 2, 6, 0, 1, 3, 3, 5, 2]
    for order in (1, 3, 6):
        lp = m.logprobs(test, order)
        assert len(lp) == len(test) - 1  # the first token has no context and is not scored
        for i in range(1, len(test)):
            assert lp[i - 1] == pytest.approx(np.log(m.distribution(test[:i], order)[test[i]]), abs=1e-12)
        assert np.array_equal(lp, KneserNey.train(TEXT, V).logprobs(test, order))


def test_unigram_known_answer():
    # "aab": counts a=2, b=1; n1=1, n2=1 -> Y = 1/3, D1 = 1 - 2Y*1 = 1/3, D2 = 2 - 3Y*0/1 = 2 (clamped)
    m = KneserNey.train([0, 0, 1], 3, max_order=1)
    d1, d2 = 1 - 2 / 3, 2.0
    gamma = (d1 + d2) / 3
    expected = [(2 - d2) / 3 + gamma / 3, (1 - d1) / 3 + gamma / 3, gamma / 3]
    assert m.distribution([], 1) == pytest.approx(expected, abs=1e-12)


def test_higher_orders_fit_a_repetitive_text_better():
    text = [0, 1, 2, 0, 3, 4] * 200  # after 0 comes 1 or 3: a bigram cannot tell, a trigram can
    m = KneserNey.train(text, 10)
    bits = [-m.logprobs(text, k).mean() for k in (1, 2, 3)]
    assert bits[0] > bits[1] > bits[2]


def test_bad_orders_and_ids():
    with pytest.raises(UsageError):
        KneserNey.train([0, 1], 3, max_order=7)
    with pytest.raises(UsageError):
        KneserNey.train([0, 3], 3)
    with pytest.raises(UsageError):
        KneserNey.train([], 3)
    m = KneserNey.train([0, 1, 2], 3, max_order=2)
    with pytest.raises(UsageError):
        m.logprobs([0, 1], 3)


def test_text_shorter_than_the_order():
    m = KneserNey.train([0, 1], 3, max_order=6)
    assert m.max_order == 2
    assert m.distribution([0], 2).sum() == pytest.approx(1.0)
