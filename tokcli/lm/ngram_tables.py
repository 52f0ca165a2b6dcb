"""The n-gram ladder a bundled model ships: Kneser-Ney tables for the unigram, the bigram and the best
n-gram, built from the model's training text with the model's tokenizer, stored compactly beside it.

    tokcli/data/models/NAME/ngrams.npz     (numpy's zip of arrays, no pickle)

What is stored. A KneserNey model (tokcli.lm.ngram) of order N uses raw counts at level N and
continuation counts below it, so the unigram, the bigram and the N-gram together need raw counts at
levels 1, 2 and N and continuation counts at levels 1..N-1. For each level k the file holds its k-grams
as (suffix id, first token) -- the key scheme of KneserNey, key = suffix id x V + first token, with the
suffix ids delta-encoded -- and for each kind of count used there: the counts (0 where pruned), the totals
c(h.) of every context (a level k-1 gram) and the three discounts. N is the order with the best bits per
character on the held-out part of the training texts (the last 10% of each, as `lm train` holds out);
the tables themselves are counted on the first 90%, the text the Transformer was trained on.

Pruning. To fit a size budget, n-grams of level 2 and up with a count below a threshold are dropped
(count-cutoff pruning, threshold raised from 1 until the file fits). A dropped n-gram's discounted
mass goes to its context's back-off weight, gamma'(h) = (sum over kept w of D(c(hw)) + c(h.) - sum over
kept w of c(hw)) / c(h.), so every distribution still sums to 1 and a dropped n-gram is predicted by its
lower order; with nothing dropped gamma' is Kneser-Ney's gamma exactly. Every kept n-gram's prefix and
suffix are kept too (lookups walk them). The file's meta records the threshold and the held-out score of
each stored order before and after pruning.

Not handled: vocabularies above 2^32 tokens; orders other than 1, 2 and the best are not stored (asking
for one is a UsageError naming those that are).
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tokcli.errors import ModelFileError, UsageError
from tokcli.files.atomic import atomic_write

from .ngram import MAX_ORDER, KneserNey, _discount, _lookup, _Order, _Stats

FORMAT = "tokcli-ngrams v1"
FILENAME = "ngrams.npz"
DEFAULT_BUDGET = 2_000_000  # bytes per model, at most
MAX_FILE_BYTES = 64 << 20  # refuse to read anything larger (a bundled file is ~2 MB)


@dataclass
class NgramTables:
    """A loaded ladder: the KneserNey model (only orders 1, 2 and `best` answer) and the file's meta."""

    lm: KneserNey
    best: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def orders(self) -> list[int]:
        return sorted({1, min(2, self.best), self.best})


# -- building -------------------------------------------------------------------------------------------
def needed(best: int) -> dict[int, set[str]]:
    """For each level, the kinds of count the unigram, the bigram and the `best`-gram use."""
    out: dict[int, set[str]] = {k: set() for k in range(1, best + 1)}
    for order in {1, min(2, best), best}:
        out[order].add("raw")
        for k in range(1, order):
            out[k].add("cont")
    return out


def _prefix_ids(lm: KneserNey) -> list[np.ndarray]:
    """For each level k, the id (in level k-1) of each k-gram's first k-1 tokens (its context)."""
    V = np.int64(lm.vocab_size)
    out = [np.zeros(len(lm.orders[0].keys), dtype=np.int64)]  # level 1: the empty context, id 0
    for k in range(2, len(lm.orders) + 1):
        keys = lm.orders[k - 1].keys
        suffix, first = keys // V, keys % V
        q = out[k - 2][suffix] * V + first  # the prefix's key: (its own prefix's id, first token)
        pre = _lookup(lm.orders[k - 2].keys, q)
        assert (pre >= 0).all(), "the prefix of a seen n-gram is always seen"
        out.append(pre)
    return out


def compact(lm: KneserNey, best: int, min_count: int = 1) -> dict[str, np.ndarray]:
    """The arrays of the file for orders 1, 2 and `best`, with n-grams of level >= 2 whose count is below
    `min_count` dropped (see the module docstring)."""
    if not 1 <= best <= lm.max_order:
        raise UsageError(f"n-gram order {best}: the model was trained up to order {lm.max_order}")
    V = np.int64(lm.vocab_size)
    need = needed(best)
    prefix = _prefix_ids(lm)
    keep_count: dict[tuple[int, str], np.ndarray] = {}
    keep: list[np.ndarray] = []
    for k in range(1, best + 1):
        lvl = lm.orders[k - 1]
        mask = np.zeros(len(lvl.keys), dtype=bool)
        for kind in need[k]:
            st = _stats_of(lvl, kind)
            kc = st.count >= (min_count if k >= 2 else 1)
            keep_count[(k, kind)] = kc
            mask |= kc
        keep.append(mask)
    for k in range(best, 1, -1):  # closure: a kept n-gram's suffix and prefix stay
        keys = lm.orders[k - 1].keys[keep[k - 1]]
        keep[k - 2][keys // V] = True
        keep[k - 2][prefix[k - 1][keep[k - 1]]] = True
    arrays: dict[str, np.ndarray] = {}
    new_id: list[np.ndarray] = []
    for k in range(1, best + 1):
        lvl, m = lm.orders[k - 1], keep[k - 1]
        new_id.append(np.cumsum(m) - 1)
        keys = lvl.keys[m]
        suffix = keys // V if k == 1 else new_id[k - 2][keys // V]
        arrays[f"suffix_delta{k}"] = np.diff(suffix, prepend=0).astype(np.uint32)
        arrays[f"first{k}"] = (keys % V).astype(_id_dtype(lm.vocab_size))
        for kind in sorted(need[k]):
            st = _stats_of(lvl, kind)
            count = np.where(keep_count[(k, kind)], st.count, 0)[m]
            total = st.total if k == 1 else st.total[keep[k - 2]]
            arrays[f"{kind}_count{k}"] = _uint(count)
            arrays[f"{kind}_total{k}"] = _uint(total)
            arrays[f"{kind}_discounts{k}"] = np.asarray(st.discounts, dtype=np.float64)
    return arrays


def _stats_of(lvl: _Order, kind: str) -> _Stats:
    st = lvl.raw if kind == "raw" else lvl.cont
    assert st is not None
    return st


def _id_dtype(vocab_size: int) -> type:
    return np.uint16 if vocab_size <= 1 << 16 else np.uint32


def _uint(a: np.ndarray) -> np.ndarray:
    a = np.rint(a).astype(np.int64)
    return a.astype(np.uint16 if a.size == 0 or a.max() < 1 << 16 else np.uint32)


def from_arrays(arrays: dict[str, np.ndarray], vocab_size: int, best: int) -> KneserNey:
    """The KneserNey model the arrays describe (orders 1, 2 and `best` answer; see the module docstring)."""
    V = np.int64(vocab_size)
    need = needed(best)
    orders: list[_Order] = []
    n_prev = 1
    for k in range(1, best + 1):
        suffix = np.cumsum(arrays[f"suffix_delta{k}"].astype(np.int64))
        first = arrays[f"first{k}"].astype(np.int64)
        keys = suffix * V + first
        if len(keys) and (np.any(np.diff(keys) <= 0) or first.max() >= V or (k > 1 and suffix.max() >= n_prev)):
            raise ModelFileError(f"n-gram tables: level {k} is not a sorted table of known n-grams")
        stats: dict[str, _Stats] = {}
        for kind in need[k]:
            count = arrays[f"{kind}_count{k}"].astype(np.float64)
            total = arrays[f"{kind}_total{k}"].astype(np.float64)
            D = tuple(float(d) for d in arrays[f"{kind}_discounts{k}"])
            if len(count) != len(keys) or len(total) != n_prev or len(D) != 3:
                raise ModelFileError(f"n-gram tables: level {k} {kind} counts do not match its n-grams")
            parent = _parent_ids(keys, orders, V, k)
            kept_sum = np.bincount(parent, weights=count, minlength=n_prev)
            gamma = np.bincount(parent, weights=_discount(count, D) * (count > 0), minlength=n_prev)
            gamma = gamma + np.maximum(total - kept_sum, 0.0)  # the mass of what was pruned backs off
            stats[kind] = _Stats(count=count, total=total, gamma_mass=gamma, discounts=(D[0], D[1], D[2]))
        empty = _Stats(np.zeros(len(keys)), np.zeros(n_prev), np.zeros(n_prev), (0.5, 1.0, 1.5))
        orders.append(_Order(keys=keys, raw=stats.get("raw", empty), cont=stats.get("cont")))
        n_prev = len(keys)
    answers = tuple(sorted({1, min(2, best), best}))
    return KneserNey(vocab_size=int(vocab_size), max_order=best, n_train=0, orders=orders, answers=answers)


def _parent_ids(keys: np.ndarray, orders: list[_Order], V: np.int64, k: int) -> np.ndarray:
    """The id in level k-1 of each k-gram's context (its first k-1 tokens)."""
    if k == 1:
        return np.zeros(len(keys), dtype=np.int64)
    # the context's key is (the id of the suffix's context, first token): walk the suffix's chain
    suffix, first = keys // V, keys % V
    chain = _parent_ids(orders[k - 2].keys, orders, V, k - 1)[suffix]
    parent = _lookup(orders[k - 2].keys, chain * V + first)
    if (parent < 0).any():
        raise ModelFileError(f"n-gram tables: a level {k} n-gram's context is missing")
    return parent


def build(
    tokenizer: Any,
    texts: Sequence[str],
    *,
    val_fraction: float = 0.1,
    max_order: int = MAX_ORDER,
    budget: int = DEFAULT_BUDGET,
    on_step: Any = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and meta of a ladder for `tokenizer`, from the texts the model was trained on.

    The best order is the one with the lowest bits per character on the held-out last `val_fraction` of
    each text; the tables are counted on the first part and pruned until the file fits `budget` bytes."""
    from tokcli.files.text import split_holdout

    from .evaluate import ngram_baselines, text_stats

    say = on_step or (lambda s: None)
    parts = [split_holdout(t, val_fraction) for t in texts]
    train, val = "".join(p[0] for p in parts), "".join(p[1] for p in parts)
    t0 = time.perf_counter()
    train_ids = np.asarray(tokenizer.encode(train), dtype=np.int64)
    val_ids = np.asarray(tokenizer.encode(val), dtype=np.int64)
    if len(train_ids) < 2 or len(val_ids) < 2:
        raise UsageError("the training texts are too short to build n-gram tables (give the model's corpus)")
    stats = text_stats(val, tokenizer, val_ids)
    say(f"{len(train_ids):,} training tokens, {len(val_ids):,} held-out tokens ({time.perf_counter() - t0:.1f}s)")
    full = ngram_baselines(train_ids, val_ids, tokenizer.vocab_size, stats, max_order=max_order)
    best = min(full, key=lambda r: r.bits_per_char).order
    say("held-out bits/char: " + ", ".join(f"{r.order}-gram {r.bits_per_char:.3f}" for r in full) + f"; best {best}")
    lm = KneserNey.train(train_ids, tokenizer.vocab_size, max_order=best)
    min_count = 1
    while True:
        arrays = compact(lm, best, min_count)
        size = len(to_bytes(arrays, {}))
        say(f"min count {min_count}: {size:,} bytes")
        if size <= budget:
            break
        min_count += 1 if min_count < 4 else min_count // 2
    pruned = from_arrays(arrays, tokenizer.vocab_size, best)
    orders = sorted({1, min(2, best), best})
    held_out = {
        str(o): {
            "bits_per_char": full[o - 1].bits_per_char,
            "bits_per_char_pruned": float(-pruned.logprobs(val_ids, o).mean() * stats.tokens / stats.chars / np.log(2)),
        }
        for o in orders
    }
    meta = {
        "format": FORMAT,
        "vocab_size": tokenizer.vocab_size,
        "best_order": best,
        "orders": orders,
        "min_count": min_count,
        "train_tokens": int(len(train_ids)),
        "held_out_tokens": int(len(val_ids)),
        "val_fraction": val_fraction,
        "held_out": held_out,
        "all_orders_bits_per_char": {str(r.order): r.bits_per_char for r in full},
    }
    return arrays, meta


# -- the file -------------------------------------------------------------------------------------------
def to_bytes(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    meta_arr = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    members: dict[str, Any] = {"meta": meta_arr, **arrays}
    np.savez_compressed(buf, **members)
    return buf.getvalue()


def save(path: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write the file atomically."""
    atomic_write(path, to_bytes(arrays, meta))


def tables_path(model_dir: Path | None) -> Path | None:
    """The n-gram file of a model directory, or None."""
    if model_dir is None:
        return None
    p = Path(model_dir) / FILENAME
    return p if p.is_file() else None


MAX_UNPACKED_BYTES = 256 << 20  # the arrays unpacked, at most (a bundled file's are ~6 MB)
_MEMBER = re.compile(r"[a-z_]{1,40}\d{0,2}\.npy")


def _check_zip(path: Path) -> None:
    """Check an .npz from its zip directory and each member's .npy header, before anything is unpacked: a
    zip (not a zip: BadZipFile), members named as `save` names them, meta.npy among them, at most
    MAX_UNPACKED_BYTES unpacked in all (a zip bomb is refused unread), and each array no larger than its
    member (a header that claims a billion rows would make numpy allocate them first)."""
    import zipfile

    fix = "rebuild it with scripts/build_ngrams.py"
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            if len(infos) > 200 or "meta.npy" not in names or not all(_MEMBER.fullmatch(n) for n in names):
                raise ModelFileError(f"{path}: not a tokcli n-gram file (members {names[:5]}...); {fix}")
            unpacked = sum(i.file_size for i in infos)
            if unpacked > MAX_UNPACKED_BYTES:
                raise ModelFileError(
                    f"{path}: its arrays unpack to {unpacked:,} bytes, more than the {MAX_UNPACKED_BYTES:,} an "
                    f"n-gram file may hold; {fix}"
                )
            for info in infos:
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise ModelFileError(f"{path}: {info.filename} is compressed in a way tokcli does not read; {fix}")
                with z.open(info) as f:
                    fmt: Any = np.lib.format
                    version = fmt.read_magic(f)
                    read: Any = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
                    if read is None:
                        raise ModelFileError(f"{path}: {info.filename} is .npy version {version}; {fix}")
                    shape, _, dtype = read(f, max_header_size=10_000)
                    if dtype.hasobject or int(np.prod(shape, dtype=object)) * dtype.itemsize > info.file_size:
                        raise ModelFileError(f"{path}: {info.filename} claims more data than it holds; {fix}")
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as e:
        raise ModelFileError(f"{path}: not a tokcli n-gram file ({e}); {fix}") from None


def load(path: str | Path, vocab_size: int) -> NgramTables:
    """Read a file written by `save`, checked against the model's vocabulary. Raises ModelFileError."""
    path = Path(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ModelFileError(f"{path}: {path.stat().st_size:,} bytes is too large for n-gram tables")
    _check_zip(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as e:
        raise ModelFileError(
            f"{path}: not a tokcli n-gram file ({e}); rebuild it with scripts/build_ngrams.py"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: format {meta.get('format') if isinstance(meta, dict) else None!r}, "
                             f"expected {FORMAT!r}; rebuild it with scripts/build_ngrams.py")  # fmt: skip
    if meta.get("vocab_size") != vocab_size:
        raise ModelFileError(f"{path}: built for {meta.get('vocab_size')} tokens, the model has {vocab_size}; "
                             "rebuild it with scripts/build_ngrams.py")  # fmt: skip
    best = meta.get("best_order")
    if not isinstance(best, int) or not 1 <= best <= MAX_ORDER:
        raise ModelFileError(f"{path}: best_order {best!r} is not 1..{MAX_ORDER}")
    try:
        lm = from_arrays(arrays, vocab_size, best)
    except KeyError as e:
        raise ModelFileError(f"{path}: no array {e}; rebuild it with scripts/build_ngrams.py") from None
    return NgramTables(lm=replace(lm, n_train=int(meta.get("train_tokens", 0))), best=best, meta=meta)
