"""Rendering for encode, count and show."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from . import color_enabled, console, emit_json, is_tty, out, table

if TYPE_CHECKING:
    from tokcli.analysis.spans import Span
    from tokcli.budget.models import Fit
    from tokcli.tokenizer.base import Tokenizer
    from tokcli.tokenizer.countresults import InputCount

# alternating backgrounds, as OpenAI's tokenizer page colours tokens. The 16 standard colours, each with
# a foreground that reads on it: rich writes them as the same codes at every colour depth, where hex
# colours fall to one grey on a 16-colour terminal (TERM=xterm, linux) and the boundaries vanish.
_STYLES = ["white on blue", "black on yellow", "white on magenta", "black on cyan", "black on green"]


def escape_token(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def encoded(tok: Tokenizer, streams: Sequence[tuple[str, Iterable[Sequence[int]]]], *, tokens: bool,
            as_json: bool) -> None:  # fmt: skip
    """Ids of each (label, segments of ids) stream: a line of ids per input, a token per line with
    `tokens`, or one JSON document. Text output is written as the segments are encoded."""
    if as_json:
        docs = []
        for label, segments in streams:
            ids = [i for seg in segments for i in seg]
            doc: dict[str, Any] = {"input": label, "ids": ids}
            if tokens:
                doc["tokens"] = [tok.id_to_token(i) for i in ids]
            docs.append(doc)
        emit_json({"schema": "tokcli-encode/1", "tokenizer": tok.name, "inputs": docs})
        return
    for _, segments in streams:
        first = True
        for seg in segments:
            if tokens:
                for i in seg:
                    out(escape_token(tok.id_to_token(i)))
            elif seg:
                out(("" if first else " ") + " ".join(map(str, seg)), end="")
                first = False
        if not tokens:
            out()


def counts(rows: Sequence[InputCount], names: Sequence[str], *, fmt: str, bare: bool, fits: Sequence[Fit] = (),
           cost: bool = False, skipped: Sequence[tuple[str, str]] = ()) -> None:  # fmt: skip
    """The count table: text (rich on a terminal, plain numbers piped, the bare number for one input and
    one tokenizer), json (with skipped inputs and model fits), or csv / tsv / markdown (one row per input)."""
    if fmt == "json":
        from dataclasses import asdict

        total = {n: sum(r.tokens[n] for r in rows) for n in names}
        doc = {
            "schema": "tokcli-count/1",
            "tokenizers": list(names),
            "inputs": [{"input": r.input, "chars": r.chars, "bytes": r.bytes, "tokens": r.tokens} for r in rows],
            "total": {"chars": sum(r.chars for r in rows), "bytes": sum(r.bytes for r in rows), "tokens": total},
            "skipped": [{"path": path, "reason": reason} for path, reason in skipped],
        }  # fmt: skip
        if fits:
            doc["models"] = [asdict(f) for f in fits]
        emit_json(doc)
        return
    if fmt in ("csv", "tsv", "markdown"):
        from .tables import Col, render

        records = [{"input": r.input, "chars": r.chars, "bytes": r.bytes, **r.tokens} for r in rows]
        cols = [Col(k, k, str, right=k != "input") for k in ("input", "chars", "bytes", *names)]
        out(render(records, cols, fmt) or "", end="")
        return
    if bare:
        out(str(rows[0].tokens[names[0]]))
        return
    body = [[r.input, f"{r.chars:,}"] + [f"{r.tokens[n]:,}" for n in names] for r in rows]
    if len(rows) > 1:
        body.append(
            ["total", f"{sum(r.chars for r in rows):,}"] + [f"{sum(r.tokens[n] for r in rows):,}" for n in names]
        )
    if not is_tty(sys.stdout):  # plain numbers for pipes
        body = [[c.replace(",", "") for c in row] for row in body]
    table(None, ["input", "chars", *names], body, right=set(range(1, len(names) + 2)))
    if fits:
        from .tables import fits_table

        out()
        fits_table(fits, cost=cost)


def spans(spans_: Sequence[Span], *, show_ids: bool) -> None:
    """Token boundaries: coloured on a terminal that shows colour, [bracketed] otherwise (piped, NO_COLOR,
    or a terminal without colours such as TERM=dumb)."""
    c = console() if color_enabled(sys.stdout) else None
    if c is not None and c.color_system is not None:
        from rich.text import Text

        t = Text()
        for k, sp in enumerate(spans_):
            t.append(sp.text, style=_STYLES[k % len(_STYLES)])
        c.print(t, end="\n" if not spans_ or not spans_[-1].text.endswith("\n") else "")
        if show_ids:
            c.print(" ".join(",".join(map(str, sp.ids)) for sp in spans_), style="dim")
        return
    parts = []
    for sp in spans_:
        label = escape_token(sp.text)
        parts.append(f"[{label}|{','.join(map(str, sp.ids))}]" if show_ids else f"[{label}]")
    out("".join(parts))
