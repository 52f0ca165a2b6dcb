"""Interpolated modified Kneser-Ney n-gram models over token ids: the baseline `tokcli lm eval` compares
the Transformer with, in the same unit (bits per character).

The smoothing is Chen & Goodman's *interpolated modified Kneser-Ney* (1998, section 3): three discounts
per order, D1 for n-grams seen once, D2 twice, D3+ three times or more, estimated from the count-of-counts
n_k of that order as  Y = n1 / (n1 + 2 n2),  D_k = k - (k + 1) Y n_{k+1} / n_k.

    P_N(w | h) = max(c(hw) - D(c(hw)), 0) / c(h.)  +  gamma(h) P_{N-1}(w | h')
    gamma(h)   = (D1 N1(h.) + D2 N2(h.) + D3+ N3+(h.)) / c(h.)

where h' is h without its oldest token, c(h.) = sum over w of c(hw), and N_k(h.) counts the words seen
after h exactly k times (3+: three or more). The highest order uses raw counts; every lower order uses
continuation counts, c(hw) = the number of distinct tokens seen just before hw. Below the unigram is the
uniform distribution over the whole vocabulary, so a token never seen in training still gets a non-zero
probability, and every P_N(. | h) sums to 1 over the vocabulary. A context never seen in training (or
one whose counts are all zero) passes its lower order through unchanged: P_N(w | h) = P_{N-1}(w | h').

Not handled: no sentence or document boundaries (the text is one stream of tokens, as the Transformer
sees it), no pruning, no out-of-vocabulary token (ids are assumed < vocab_size). The first tokens of a
text, with fewer than N - 1 tokens before them, are predicted from the context they have.

Everything is numpy: an n-gram of order k is numbered by the sorted unique int64 keys
`key = id(its last k - 1 tokens) * V + its first token`, so counting is `np.unique` and lookups are
`np.searchsorted`; about a second per order for a million tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tokcli.errors import UsageError

MAX_ORDER = 6
LN2 = float(np.log(2.0))


@dataclass(frozen=True)
class _Stats:
    """The statistics of one order for one kind of count (raw or continuation)."""

    count: np.ndarray  # [n_k] the count of each k-gram (raw, or its number of distinct left extensions)
    total: np.ndarray  # [n_{k-1}] c(h.): the sum of `count` over the k-grams that extend context h
    gamma_mass: np.ndarray  # [n_{k-1}] D1 N1(h.) + D2 N2(h.) + D3+ N3+(h.)
    discounts: tuple[float, float, float]  # D1, D2, D3+


@dataclass(frozen=True)
class _Order:
    keys: np.ndarray  # [n_k] sorted unique keys of the k-grams seen in training
    raw: _Stats
    cont: _Stats | None  # None for the highest order trained (it is never a lower order)


@dataclass
class KneserNey:
    """Interpolated modified Kneser-Ney models of every order 1..max_order, trained once on one stream.

    `logprobs(ids, order)` and `distribution(context, order)` use the model of the given order, whose top
    level takes raw counts and whose lower levels take continuation counts.
    """

    vocab_size: int
    max_order: int
    n_train: int
    orders: list[_Order] = field(repr=False)  # orders[k - 1] for k = 1..max_order
    answers: tuple[int, ...] = ()  # the orders it can score; () = all of 1..max_order (see ngram_tables)

    # -- training ------------------------------------------------------------------------------------
    @classmethod
    def train(cls, ids: np.ndarray | list[int], vocab_size: int, max_order: int = MAX_ORDER) -> KneserNey:
        if not 1 <= max_order <= MAX_ORDER:
            raise UsageError(f"n-gram order {max_order}: choose 1 to {MAX_ORDER}")
        toks = np.asarray(ids, dtype=np.int64)
        if toks.ndim != 1 or len(toks) == 0:
            raise UsageError("the n-gram baseline needs a non-empty training text")
        if toks.min() < 0 or toks.max() >= vocab_size:
            raise UsageError(f"token ids must lie in 0..{vocab_size - 1} for a vocabulary of {vocab_size}")
        V = np.int64(vocab_size)
        n = len(toks)
        # ends[k][j]: id of the k-gram ending at position k - 1 + j (j = 0 .. n - k)
        keys_by_order: list[np.ndarray] = []
        ends: list[np.ndarray] = []
        prev = np.zeros(n, dtype=np.int64)  # the id of the empty 0-gram ending at each position
        for k in range(1, max_order + 1):
            if n < k:
                break
            # the k-gram ending at i is (tokens[i - k + 1], the (k-1)-gram ending at i)
            key = prev[k - 1 :] * V + toks[: n - k + 1] if k > 1 else toks.copy()
            uniq, inv = np.unique(key, return_inverse=True)
            keys_by_order.append(uniq)
            ends.append(inv.astype(np.int64))
            prev = np.empty(n, dtype=np.int64)
            prev[k - 1 :] = inv
        max_order = min(max_order, len(keys_by_order))

        orders: list[_Order] = []
        for k in range(1, max_order + 1):
            keys = keys_by_order[k - 1]
            nk = len(keys)
            raw_count = np.bincount(ends[k - 1], minlength=nk)
            # the context of each k-gram: the (k-1)-gram made of its first k-1 tokens
            if k == 1:
                parent, n_ctx = np.zeros(nk, dtype=np.int64), 1
            else:
                # the k-gram ending at i has as context the (k-1)-gram ending at i - 1
                parent = np.empty(nk, dtype=np.int64)
                parent[ends[k - 1]] = ends[k - 2][: n - k + 1]
                n_ctx = len(keys_by_order[k - 2])
            raw = _stats(raw_count, parent, n_ctx)
            cont = None
            if k < max_order:
                # continuation count: distinct (k+1)-grams whose last k tokens are this k-gram
                suffix = keys_by_order[k] // V
                cont = _stats(np.bincount(suffix, minlength=nk), parent, n_ctx)
            orders.append(_Order(keys=keys, raw=raw, cont=cont))
        return cls(vocab_size=int(vocab_size), max_order=max_order, n_train=n, orders=orders)

    # -- scoring ---------------------------------------------------------------------------------------
    def probs(self, history: np.ndarray, targets: np.ndarray, order: int) -> np.ndarray:
        """P(targets[m] | history[m]) under the model of `order`, as float64 [M].

        history: [M, H] token ids, the most recent last; -1 marks a position before the start of the text.
        """
        order = self._check_order(order)
        H = np.asarray(history, dtype=np.int64)
        w = np.asarray(targets, dtype=np.int64)
        M = len(w)
        if H.ndim != 2 or H.shape[0] != M:
            raise ValueError("history must be [M, H] with one row per target")
        V = np.int64(self.vocab_size)
        p = np.full(M, 1.0 / self.vocab_size)  # level 0: uniform over the vocabulary
        ctx = np.zeros(M, dtype=np.int64)  # id of the context (k-1)-gram; level 1's is the empty 0-gram
        gram = _lookup(self.orders[0].keys, w)  # id of the k-gram (context + target), -1 when unseen
        for k in range(1, order + 1):
            lvl = self.orders[k - 1]
            st = lvl.raw if k == order else lvl.cont
            assert st is not None
            if k > 1:
                tok = H[:, -(k - 1)] if H.shape[1] >= k - 1 else np.full(M, -1, dtype=np.int64)
                prev_keys = self.orders[k - 2].keys  # order 1's keys are the tokens: 0 * V + tok
                ctx = _extend(prev_keys, ctx, tok, V)  # (tok, the previous context)
                gram = _extend(lvl.keys, gram, tok, V)
            seen = ctx >= 0
            total = np.zeros(M)
            total[seen] = st.total[ctx[seen]]
            live = total > 0  # a context with no counts passes the lower order through
            c = np.zeros(M)
            has = live & (gram >= 0)
            c[has] = st.count[gram[has]]
            d = _discount(c, st.discounts)
            p_new = p.copy()
            t = total[live]
            p_new[live] = np.maximum(c[live] - d[live], 0.0) / t + st.gamma_mass[ctx[live]] / t * p[live]
            p = p_new
        return p

    def logprobs(self, ids: np.ndarray | list[int], order: int, *, start: int = 1) -> np.ndarray:
        """Natural-log probabilities of ids[start:], each given the tokens before it, as float64."""
        order = self._check_order(order)
        toks = np.asarray(ids, dtype=np.int64)
        n = len(toks)
        h = max(order - 1, 0)
        padded = np.concatenate([np.full(h, -1, dtype=np.int64), toks])
        # row m: the h tokens before position start + m
        pos = np.arange(start, n)
        history = np.stack([padded[pos + j] for j in range(h)], axis=1) if h else np.zeros((len(pos), 0), np.int64)
        logp: np.ndarray = np.log(self.probs(history, toks[start:], order))
        return logp

    def distribution(self, context: list[int] | np.ndarray, order: int) -> np.ndarray:
        """P(w | context) for every w in the vocabulary (float64 [V]); it sums to 1."""
        order = self._check_order(order)
        ctx = np.asarray(context, dtype=np.int64)[-(order - 1) :] if order > 1 else np.zeros(0, np.int64)
        V = self.vocab_size
        history = np.broadcast_to(ctx, (V, len(ctx)))
        return self.probs(history, np.arange(V, dtype=np.int64), order)

    def _check_order(self, order: int) -> int:
        if not 1 <= order <= self.max_order:
            raise UsageError(f"n-gram order {order}: this model was trained up to order {self.max_order}")
        if self.answers and order not in self.answers:
            raise UsageError(f"n-gram order {order}: these tables hold orders {', '.join(map(str, self.answers))}")
        return order


def _stats(count: np.ndarray, parent: np.ndarray, n_ctx: int) -> _Stats:
    count = count.astype(np.float64)
    D = _estimate_discounts(count)
    total = np.bincount(parent, weights=count, minlength=n_ctx)
    gamma_mass = np.bincount(parent, weights=_discount(count, D) * (count > 0), minlength=n_ctx)
    return _Stats(count=count, total=total, gamma_mass=gamma_mass, discounts=D)


def _estimate_discounts(count: np.ndarray) -> tuple[float, float, float]:
    """Chen & Goodman's D1, D2, D3+ from the count-of-counts, clamped to (0, k] for tiny texts."""
    c = count[count > 0].astype(np.int64)
    n = np.bincount(c, minlength=5)[:5].astype(np.float64)  # n[k]: how many have count exactly k
    Y = n[1] / (n[1] + 2 * n[2]) if n[1] + 2 * n[2] > 0 else 0.5
    out = []
    for k in (1, 2, 3):
        d = k - (k + 1) * Y * n[k + 1] / n[k] if n[k] > 0 else Y
        out.append(float(min(max(d, 0.05), k)))  # never 0: the lower order must keep some mass
    return out[0], out[1], out[2]


def _discount(c: np.ndarray, D: tuple[float, float, float]) -> np.ndarray:
    return np.where(c >= 3, D[2], np.where(c == 2, D[1], np.where(c == 1, D[0], 0.0)))


def _lookup(keys: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The index of each q in the sorted unique `keys`, or -1; q < 0 is never found."""
    if len(keys) == 0:  # a level pruned empty (tokcli.lm.ngram_tables)
        return np.full(np.shape(q), -1, dtype=np.int64)
    pos = np.searchsorted(keys, q)
    pos_c = np.minimum(pos, len(keys) - 1)
    found = (q >= 0) & (pos < len(keys)) & (keys[pos_c] == q)
    return np.where(found, pos_c, -1)


def _extend(keys: np.ndarray, suffix_id: np.ndarray, first: np.ndarray, V: np.int64) -> np.ndarray:
    """The id of the gram (first, suffix) from its suffix's id and its first token; -1 when unseen."""
    ok = (suffix_id >= 0) & (first >= 0)
    q = np.where(ok, suffix_id * V + np.where(first >= 0, first, 0), -1)
    return _lookup(keys, q)


@dataclass(frozen=True)
class NgramResult:
    """One n-gram model's score on the evaluated tokens, in the units `tokcli lm eval` reports."""

    order: int
    nats_per_token: float
    bits_per_char: float
    bits_per_byte: float
    perplexity: float
    tokens: int  # tokens scored
    seconds: float = 0.0  # time to score them
