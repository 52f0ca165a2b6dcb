"""Rendering of `why`: the per-class table (tokenizers side by side), the costliest runs, the coloured text."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from . import color_enabled, console, emit_json, info, is_tty, out, warn
from .tables import Col, render

if TYPE_CHECKING:
    from tokcli.analysis.why import Why

# tokens per character -> style: the 16 standard colours (the same codes at every colour depth)
SCALE = [(0.25, "black on green"), (0.5, "black on cyan"), (1.0, "black on yellow"), (float("inf"), "white on red")]


def _num(d: int) -> Any:
    return lambda v: "-" if v is None else f"{v:,.{d}f}"


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def visible(s: str) -> str:
    return s.replace(" ", "␣").replace("\u3000", "□").replace("\t", "⇥").replace("\n", "↵").replace("\r", "\\r")


def _wide(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Col]]:
    """One row per class (and a total), a tokens and a chars/token column per tokenizer."""
    names = [t["name"] for t in doc["tokenizers"]]
    by = {(t["name"], c["class"]): c for t in doc["tokenizers"] for c in t["classes"]}
    present = list(dict.fromkeys(c["class"] for t in doc["tokenizers"] for c in t["classes"]))
    rows = []
    for cls in present:
        chars = next(by[(n, cls)]["chars"] for n in names if (n, cls) in by)
        row: dict[str, Any] = {
            "class": cls,
            "chars": chars,
            "char_share": chars / doc["chars"] if doc["chars"] else None,
        }
        for n in names:
            c = by.get((n, cls), {})
            row[f"{n} tokens"], row[f"{n} chars/token"] = c.get("tokens"), c.get("chars_per_token")
        rows.append(row)
    total: dict[str, Any] = {"class": "total", "chars": doc["chars"], "char_share": 1.0 if doc["chars"] else None}
    for t in doc["tokenizers"]:
        total[f"{t['name']} tokens"], total[f"{t['name']} chars/token"] = t["tokens"], t["chars_per_token"]
    rows.append(total)
    cols = [Col("class", "class", right=False), Col("chars", "chars", _num(0)), Col("char_share", "share", _pct)]
    for n in names:
        cols += [Col(f"{n} tokens", f"{n} tokens", _num(1)), Col(f"{n} chars/token", "chars/token", _num(2))]
    return rows, cols


def _long(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per tokenizer and class: what csv and tsv give."""
    return [
        {"tokenizer": t["name"], **c} for t in doc["tokenizers"]
        for c in [*t["classes"], {"class": "total", "chars": doc["chars"], "tokens": t["tokens"],
                                  "chars_per_token": t["chars_per_token"], "share_of_tokens": 1.0}]
    ]  # fmt: skip


RUN_COLS = [
    Col("run", "run", right=False),
    Col("class", "class", right=False),
    Col("count", "count", _num(0)),
    Col("chars", "chars", _num(0)),
    Col("tokens", "tokens", _num(1)),
    Col("tokens_per_char", "tokens/char", _num(2)),
]


def why(doc: dict[str, Any], fmt: str) -> None:
    """The class table, then (text and markdown) each tokenizer's costliest runs."""
    if fmt == "json":
        emit_json(doc)
        return
    if fmt in ("csv", "tsv"):
        out(render(_long(doc), [Col(k, k) for k in _long(doc)[0]], fmt) or "", end="")
        return
    rows, cols = _wide(doc)
    rich = fmt == "text" and is_tty(sys.stdout)
    n = len(doc["inputs"])
    title = f"{doc['chars']:,} characters in {n} input{'s' if n != 1 else ''}: tokens per character class"
    table = render(rows, cols, fmt, title=title, rich=rich)
    if table is not None:
        out(table, end="")
    for t in doc["tokenizers"]:
        runs = [{**r, "run": visible(r["run"])} for r in t["expensive"]]
        if not runs:
            continue
        title = f"costliest runs under {t['name']} (most tokens per character)"
        if not rich:
            out()
        table = render(runs, RUN_COLS, fmt, title=title, rich=rich)
        if table is not None:
            out(table, end="")
    if fmt == "text":
        info(f"note: {doc['rule']}")


def show(result: Why) -> None:
    """The text coloured by tokens per character, once per tokenizer (a terminal that shows colour only)."""
    if not color_enabled(sys.stdout):
        warn("--show colours the text on a terminal; stdout is not one (or NO_COLOR is set): FORCE_COLOR=1 forces it")
        return
    from rich.text import Text

    c = console()
    for t in result.tokenizers:
        c.print(Text(f"{t.name}: each character coloured by its tokens per character", style="bold"))
        for (_label, text), costs in zip(result.texts, t.char_costs, strict=True):
            line = Text()
            start = 0
            styles = [_style(float(x)) for x in costs]
            for i in range(1, len(text) + 1):
                if i == len(text) or styles[i] != styles[start]:
                    line.append(text[start:i], style=styles[start])
                    start = i
            c.print(line, end="" if text.endswith("\n") else "\n")
    legend = Text("tokens per character: ")
    low = 0.0
    for hi, style in SCALE:
        legend.append(f" ≤{hi:g} " if hi != float("inf") else f" >{low:g} ", style=style)
        legend.append(" ")
        low = hi
    c.print(legend)


def _style(x: float) -> str:
    return next(style for hi, style in SCALE if x <= hi)
