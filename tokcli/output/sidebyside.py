"""`show -t A -t B`: tokenizations aligned by character, a row per tokenizer, ^ under differing boundaries.

Each line of the text is a block: one row per tokenizer with `|` at its token boundaries, and a row of
marks with `^` under each boundary that not every tokenizer has. Every row gives a boundary column to each
offset where any tokenizer has one, so the rows stay aligned; wide (East Asian) characters take two columns,
combining marks none; a newline shows as ↵, a tab as ⇥, other control characters as their \\x escape.
"""

from __future__ import annotations

import sys
import unicodedata
from typing import TYPE_CHECKING, Any

from . import console, emit_json, info, is_tty, out

if TYPE_CHECKING:
    from tokcli.analysis.sidebyside import SideBySide

PIPE_WIDTH = 100  # columns of a block when stdout is not a terminal


def visible(ch: str) -> str:
    if ch == "\n":
        return "↵"
    if ch == "\t":
        return "⇥"
    if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\u200d":
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
    return ch


def width(s: str) -> int:
    """Terminal columns of `s`: East Asian wide and fullwidth characters take two, combining marks none."""
    w = 0
    for ch in s:
        if unicodedata.combining(ch) or ch == "\u200d" or unicodedata.category(ch) == "Mn":
            continue
        w += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return w


def _blocks(text: str, bounds_of: list[set[int]], union: set[int], differ: set[int], cols: int) -> list[list[str]]:
    """Rows (one per tokenizer, then the marks) of each block: a line of the text, wrapped at `cols`."""
    blocks: list[list[str]] = []
    rows = [""] * (len(bounds_of) + 1)
    used = 0

    def flush() -> None:
        nonlocal rows, used
        blocks.append([r.rstrip() for r in rows])
        rows, used = [""] * (len(bounds_of) + 1), 0

    for i, ch in enumerate(text):
        cell = visible(ch)
        w = width(cell)
        slot = 1 if i in union and i > 0 else 0
        if used and used + slot + w > cols:
            flush()
        if slot:
            for r, b in enumerate(bounds_of):
                rows[r] += "|" if i in b else " "
            rows[-1] += "^" if i in differ else " "
        for r in range(len(bounds_of)):
            rows[r] += cell
        rows[-1] += " " * w
        used += slot + w
        if ch == "\n":
            flush()
    if used:
        flush()
    return blocks


def aligned(sbs: SideBySide, *, label: str | None = None) -> None:
    """The aligned rows of one text (a SideBySide), with a header line per tokenizer."""
    names = [t.name for t in sbs.tokenizations]
    pad = max(len(n) for n in names) + 2
    chars = len(sbs.text)
    if label is not None:
        out(f"== {label}")
    for t in sbs.tokenizations:
        cpt = f"{chars / t.tokens:.2f}" if t.tokens else "-"
        out(f"{t.name}: {t.tokens:,} tokens, {cpt} chars/token")
    cols = (console().width if is_tty(sys.stdout) else PIPE_WIDTH) - pad
    bounds = [t.boundaries() for t in sbs.tokenizations]
    differ = set(sbs.differing())
    for rows in _blocks(sbs.text, bounds, set().union(*bounds), differ, max(cols, 20)):
        for name, row in zip(names + [""], rows, strict=True):
            out((name.ljust(pad) + row).rstrip())
    n = len(sbs.all_boundaries())
    info(f"{len(differ)} of {n} token boundaries differ (marked ^)" if n else "no token boundaries")


def aligned_json(docs: list[dict[str, Any]]) -> None:
    emit_json({"schema": "tokcli-show/1", "inputs": docs})


def views(items: list[tuple[str, SideBySide]], fmt: str, *, html: str | None = None) -> None:
    """Several tokenizations of each text (label, SideBySide): the page to `html`, else JSON or the rows."""
    if html is not None:
        from .show_html import write_html

        write_html(items, html)
        info(f"wrote {html}")
    elif fmt == "json":
        aligned_json([v.to_dict(label) for label, v in items])
    else:
        for label, v in items:
            aligned(v, label=label if len(items) > 1 else None)
