"""Rendering of `count --field` (per-record statistics, a histogram of record lengths on a terminal, the
records over a model's window) and of `chunk --field` (JSON lines carrying the record id)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import console, emit_json, info, is_tty, out, warn
from .chunks import SCHEMA as CHUNK_SCHEMA

if TYPE_CHECKING:
    from tokcli.analysis.chunking import Piece
    from tokcli.analysis.records import Missing, RecordReport

SCHEMA = "tokcli-records/1"
SHOWN_IDS = 5  # record ids named in a warning on stderr


def _stat_rows(report: RecordReport) -> list[dict[str, Any]]:
    rows = []
    for name in report.tokenizers:
        ln = report.lengths[name]
        mean = ln.mean
        rows.append({"tokenizer": name, "records": ln.records, "total": ln.total,
                     "mean": None if mean is None else round(mean, 2),
                     **{f"p{p}": ln.percentile(p) for p in (50, 90, 99)}, "max": ln.max})  # fmt: skip
    return rows


def document(report: RecordReport) -> dict[str, Any]:
    """The JSON document of `count --field` (schema tokcli-records/1)."""
    return {
        "schema": SCHEMA,
        "field": report.field,
        "records": report.records,
        "inputs": [
            {"input": i.input, "records": i.records, "chars": i.chars, "tokens": i.tokens} for i in report.inputs
        ],  # fmt: skip
        "statistics": _stat_rows(report),
        "histograms": {
            name: [{"low": lo, "high": hi, "records": n} for lo, hi, n in report.lengths[name].histogram()]
            for name in report.tokenizers
        },
        "without_text": {
            "records": report.missing.records,
            "examples": [{"input": i, "id": rid, "problem": p} for i, rid, p in report.missing.examples],
            "more": report.missing.records > len(report.missing.examples),
        },
        "models": [
            {
                "model": w.model,
                "tokenizer": w.tokenizer,
                "exact": w.exact,
                "limit": w.limit,
                "records_over": w.records,
                "ids": w.ids,
                "more": w.more,
            }
            for w in report.exceeding
        ],  # fmt: skip
    }


def records(report: RecordReport, *, fmt: str) -> None:
    """The statistics per tokenizer: json (the whole report), csv / tsv / markdown (one row per
    tokenizer), or text: a table, the records over each model's window and, on a terminal, a histogram
    of record lengths per tokenizer. Records without text are a warning on stderr in every format."""
    _warn_missing(report)
    if fmt == "json":
        emit_json(document(report))
        return
    rows = _stat_rows(report)
    from .tables import Col, render

    tty = is_tty(sys.stdout)
    num = _num if tty or fmt == "markdown" else _plain  # plain numbers for pipes, as count's table
    cols = [Col("tokenizer", "tokenizer", str, right=False)] + [
        Col(k, k, num) for k in ("records", "total", "mean", "p50", "p90", "p99", "max")
    ]
    if fmt in ("csv", "tsv", "markdown"):
        out(render(rows, cols, fmt) or "", end="")
        return
    title = f"tokens per record of {report.field!r} ({report.records:,} records)"
    text = render(rows, cols, "text", title=title, rich=tty)
    if text:
        out(text, end="")
    for w in report.exceeding:
        est = "" if w.exact else "~"
        out(f"{w.model}: {w.records:,} of {report.lengths[w.tokenizer].records:,} records over its input budget "
            f"of {w.limit:,} tokens ({est}{w.tokenizer})")  # fmt: skip
    if tty:
        for name in report.tokenizers:
            histogram(name, report.lengths[name].histogram())


def _num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}"
    return f"{v:,}"


def _plain(v: Any) -> str:
    return "-" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))


def histogram(name: str, bins: list[tuple[int, int, int]], width: int = 40) -> None:
    """A bar per bin of record lengths (rich, on a terminal)."""
    if not bins:
        return
    from rich.table import Table

    top = max(n for _, _, n in bins) or 1
    t = Table(title=f"record lengths, {name} tokens", title_justify="left", box=None, show_header=False)
    t.add_column("tokens", justify="right")
    t.add_column("records", justify="right")
    t.add_column("")
    for lo, hi, n in bins:
        bar = "█" * max(1 if n else 0, round(n / top * width))
        t.add_row(f"{lo:,}-{hi - 1:,}" if hi - lo > 1 else f"{lo:,}", f"{n:,}", f"[cyan]{bar}[/cyan]")
    console().print(t)


def _warn_missing(report: RecordReport) -> None:
    m = report.missing
    if not m.records:
        return
    shown = "; ".join(f"{i}:{rid}: {p}" for i, rid, p in m.examples[:SHOWN_IDS])
    more = ", ..." if m.records > SHOWN_IDS else ""
    warn(f"{m.records:,} of {report.records:,} records have no text in {report.field!r}, left out of the "
         f"statistics ({shown}{more})")  # fmt: skip


def record_pieces(stream: Iterable[tuple[str, int, Piece]], missing: Missing) -> None:
    """`chunk --field`: one JSON object per piece, {"schema", "id", "piece", "text", "tokens", "start", "end"},
    start and end being character offsets into the record's text; a summary on stderr."""
    n = tokens = 0
    for rid, k, p in stream:
        n += 1
        tokens += p.tokens
        line = {
            "schema": CHUNK_SCHEMA,
            "id": rid,
            "piece": k,
            "text": p.text,
            "tokens": p.tokens,
            "start": p.start,
            "end": p.end,
        }
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    if missing.records:
        shown = "; ".join(f"{rid}: {p}" for _, rid, p in missing.examples[:SHOWN_IDS])
        which = "1 record has" if missing.records == 1 else f"{missing.records:,} records have"
        warn(f"{which} no text, so no pieces ({shown}"
             f"{', ...' if missing.records > SHOWN_IDS else ''})")  # fmt: skip
    info(f"{n} piece{'s' if n != 1 else ''}, {tokens:,} tokens")
