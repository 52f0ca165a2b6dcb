"""`attention --words`: where one word looks, a line per layer (heads averaged), and the same against a
second text (`--contrast`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import emit_json, info, out
from .lm import CAUSAL_NOTE

if TYPE_CHECKING:
    from tokcli.model.words import Contrast, ContrastRow, WordAttention

SAME_PREFIX_NOTE = (
    "the two texts are the same up to and including {word!r}: a causal model has not seen what follows, so "
    "its attention from {word!r} cannot differ (the encoder of the classic figure sees the whole sentence); "
    "compare a later word, e.g. --token {later!r}"
)


def words_doc(wa: WordAttention, contrast: Contrast | None = None) -> dict[str, Any]:
    """The JSON document: the word view, the causal-model note, and the contrast where there is one."""
    doc = {"schema": "tokcli-attention-words/1", "text": wa.text, **wa.to_dict(), "note": CAUSAL_NOTE}
    if contrast is not None:
        doc["contrast"] = {"text": contrast.second.text, **contrast.second.to_dict(), **contrast.to_dict()}
    return doc


def _line(names: list[str], ws: Any, top: int) -> str:
    order = sorted(range(len(ws)), key=lambda j: -ws[j])[:top]
    return ", ".join(f"{names[j]} {ws[j]:.2f}" for j in order)


def words(wa: WordAttention, *, top: int) -> None:
    """One line per layer: the chosen word's `top` most attended words, heads averaged; then all layers."""
    k, hm = wa.index, wa.head_mean()
    g = wa.groups[k]
    names = wa.names()
    heads = wa.weights.shape[1]
    out(
        f"word {k} {wa.word!r} (token{'s' if len(g) > 1 else ''} {g[0]}{f'-{g[-1]}' if len(g) > 1 else ''}) "
        f"attends to the {k + 1} words up to it; weights averaged over {heads} heads, each row sums to 1"
    )
    for li, ws in enumerate(hm):
        out(f"layer {li}: {wa.word} → {_line(names, ws, top)}")
    out(f"all layers: {wa.word} → {_line(names, hm.mean(axis=0), top)}")


def _label(r: ContrastRow, na: list[str], nb: list[str]) -> str:
    """A contrast row's word: the same in both texts, or first/second where they differ."""
    if r.a is not None and (r.b is None or na[r.a] == nb[r.b]):
        return na[r.a]
    if r.b is not None:
        return nb[r.b] if r.a is None else f"{na[r.a]}/{nb[r.b]}"
    return ""  # no row lacks a word in both texts


def contrast(c: Contrast, *, top: int) -> None:
    """The chosen word's weights in the first text against the second, per layer: the largest changes."""
    a, b = c.first, c.second
    na, nb = a.names(), b.names()
    label = [_label(r, na, nb) for r in c.rows
    ]  # fmt: skip
    out(f"{a.word!r} in the first text against {b.word!r} in the second (--contrast): first → second (change)")
    layers = len(a.weights)
    for li in [*range(layers), None]:
        cells = []
        for lab, r in zip(label, c.rows, strict=True):
            wa_ = _mean(r.weights_a, li)
            wb_ = _mean(r.weights_b, li)
            change = (wb_ or 0.0) - (wa_ or 0.0)
            text = f"{lab} {_w(wa_)}→{_w(wb_)}" + (f" ({change:+.2f})" if wa_ is not None and wb_ is not None else "")
            cells.append((abs(change), text))
        cells.sort(key=lambda x: -x[0])
        head = f"layer {li}" if li is not None else "all layers"
        out(f"{head}: " + ", ".join(t for _, t in cells[:top]))
    if c.same_prefix:
        later = next((w for w in a.words[a.index + 1 :] if w not in b.words), a.words[-1])
        info("note: " + SAME_PREFIX_NOTE.format(word=a.word, later=later))


def _mean(ws: list[float], li: int | None) -> float | None:
    if not ws:
        return None
    return ws[li] if li is not None else sum(ws) / len(ws)


def _w(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def emit(doc: dict[str, Any]) -> None:
    emit_json(doc)
