"""Rendering of `compare`, parity and `models`: rich tables with the best value of each column marked,
a bar chart, and json / csv / tsv / markdown documents."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from typing import TYPE_CHECKING, Any

from . import console, is_tty, out

if TYPE_CHECKING:
    from tokcli.analysis.compare import Comparison, Parity
    from tokcli.budget.models import Fit, ModelEntry


@dataclass(frozen=True)
class Col:
    key: str  # field of the row (also the csv/tsv/json name)
    header: str  # short header for tables
    fmt: Callable[[Any], str] = str
    best: str | None = None  # "min" or "max": mark the best value per group; None: no mark
    right: bool = True
    exact_only: bool = False  # the best is chosen among rows that round-trip exactly, where any does


def _num(digits: int) -> Callable[[Any], str]:
    return lambda v: "-" if v is None else f"{v:,.{digits}f}"


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _int(v: Any) -> str:
    return "-" if v is None else f"{v:,}"


COMPARE_COLS = [
    Col("input", "input", right=False),
    Col("tokenizer", "tokenizer", right=False),
    Col("vocab_size", "|V|", _int),
    Col("tokens", "tokens", _int, "min", exact_only=True),
    Col("chars_per_token", "chars/tok", _num(2), "max", exact_only=True),
    Col("bytes_per_token", "bytes/tok", _num(2), "max", exact_only=True),
    Col("unit", "unit", right=False),
    Col("fertility", "fertility", _num(2), "min", exact_only=True),
    Col("continued", "continued", _pct, "min", exact_only=True),
    Col("unk_rate", "unk", _pct, "min"),
    Col("byte_fallback_rate", "byte fb", _pct, "min"),
    Col("exact", "exact", right=False),  # "yes", or "no@N": N is the first character that differs
    Col("utilisation", "vocab used", _pct, "max", exact_only=True),
    Col("renyi", "Rényi 2.5", _num(3), "max", exact_only=True),
    Col("nsl", "NSL", _num(2), "min", exact_only=True),
    Col("mb_per_s", "MB/s", _num(2), "max"),
    Col("load_s", "load s", _num(3), "min"),
]
CHART_METRICS = [c.key for c in COMPARE_COLS if c.fmt is not str] + ["seconds"]


def _best(rows: Sequence[dict[str, Any]], cols: Sequence[Col], group: str | None) -> set[tuple[int, str]]:
    """(row index, column key) of the best value in each column, within each group of rows."""
    marked: set[tuple[int, str]] = set()
    groups: dict[Any, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(r.get(group) if group else None, []).append(i)
    for idx in groups.values():
        if len(idx) < 2:
            continue
        for c in cols:
            pool = [i for i in idx if rows[i].get("round_trip")] if c.exact_only else idx
            vals = [(rows[i][c.key], i) for i in pool or idx if isinstance(rows[i].get(c.key), int | float)]
            if c.best is None or len(vals) < 2 or len({v for v, _ in vals}) < 2:
                continue
            target = (min if c.best == "min" else max)(v for v, _ in vals)
            marked.update((i, c.key) for v, i in vals if v == target)
    return marked


def render(rows: Sequence[dict[str, Any]], cols: Sequence[Col], fmt: str, *, group: str | None = None,
           title: str | None = None, rich: bool = False) -> str | None:  # fmt: skip
    """A table as text in `fmt` (text, csv, tsv, markdown); rich=True prints it instead and returns None."""
    best = _best(rows, cols, group)
    cells = [[c.fmt(r.get(c.key)) for c in cols] for r in rows]
    if fmt in ("csv", "tsv"):
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        keys = list(rows[0]) if rows else [c.key for c in cols]  # every field, not only the shown ones
        w.writerow(keys)
        for r in rows:
            w.writerow(["" if r.get(k) is None else r.get(k) for k in keys])
        return buf.getvalue()
    if rich:
        _rich_tables(rows, cols, cells, best, group, title)
        return None
    marked = [
        [v + "*" if (i, c.key) in best else v for c, v in zip(cols, row, strict=True)] for i, row in enumerate(cells)
    ]
    if fmt == "markdown":
        md = [[f"**{v[:-1]}**" if (i, c.key) in best else v for c, v in zip(cols, row, strict=True)]
              for i, row in enumerate(marked)]  # fmt: skip
        lines = ["| " + " | ".join(md_cell(c.header) for c in cols) + " |"]
        lines.append("|" + "|".join("---:" if c.right else "---" for c in cols) + "|")
        lines += ["| " + " | ".join(md_cell(v) for v in row) + " |" for row in md]
        return (f"**{title}**\n\n" if title else "") + "\n".join(lines) + "\n"
    widths = [max(len(c.header), *(len(row[j]) for row in marked)) for j, c in enumerate(cols)]
    lines = [(title + "\n") if title else ""]
    lines[0] += "  ".join(
        c.header.rjust(w) if c.right else c.header.ljust(w) for c, w in zip(cols, widths, strict=True)
    )
    for row in marked:
        lines.append(
            "  ".join(v.rjust(w) if c.right else v.ljust(w) for c, v, w in zip(cols, row, widths, strict=True))
        )
    return (
        "\n".join(line.rstrip() for line in lines)
        + "\n"
        + ("(* best in its column; compression columns among exact round trips)\n" if best else "")
    )


def md_cell(v: str) -> str:
    """A markdown table cell: `|` escaped (GitHub's rule), newlines as spaces."""
    return v.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _rich_tables(rows: Sequence[dict[str, Any]], cols: Sequence[Col], cells: list[list[str]],
                 best: set[tuple[int, str]], group: str | None, title: str | None) -> None:  # fmt: skip
    """Rich tables on a terminal: one per group (its value as the title), the columns split in two
    tables (each with the first non-group column as the key) when they are wider than the terminal."""
    from rich.table import Table
    from rich.text import Text

    c = console()
    keep = [j for j, col in enumerate(cols) if col.key != group]

    def width(js: list[int]) -> int:
        return sum(max(len(cols[j].header), *(len(row[j]) + 1 for row in cells)) + 3 for j in js) + 1

    sets = [keep]
    if width(keep) > c.width and len(keep) > 2:  # greedy: as many columns per table as fit, key first
        head, sets = keep[:1], []
        for j in keep[1:]:
            if sets and width(sets[-1] + [j]) <= c.width:
                sets[-1].append(j)
            else:
                sets.append(head + [j])
    groups: dict[Any, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(r.get(group) if group else None, []).append(i)
    if title:
        c.print(Text(title, style="italic"))
    for g, idx in groups.items():
        for js in sets:
            t = Table(title=None if g is None else str(g), title_justify="left", title_style="bold")
            for j in js:
                t.add_column(cols[j].header, justify="right" if cols[j].right else "left", no_wrap=True)
            for i in idx:
                t.add_row(*[f"[bold green]{cells[i][j]}*[/]" if (i, cols[j].key) in best else cells[i][j] for j in js])
            c.print(t)
    if best:
        c.print(Text("* best in its column (compression columns among exact round trips)", style="dim"))


def bar_chart(rows: Sequence[dict[str, Any]], metric: str, labels: Sequence[str], width: int = 40) -> str:
    """A horizontal bar chart of one metric, one bar per row, with unicode eighth blocks."""
    vals = [r.get(metric) for r in rows]
    top = max((v for v in vals if isinstance(v, int | float)), default=0) or 1
    lw = max((len(s) for s in labels), default=0)
    lines = [f"{metric}:"]
    for label, v in zip(labels, vals, strict=True):
        if not isinstance(v, int | float):
            lines.append(f"{label.ljust(lw)}  -")
            continue
        eighths = round(max(v, 0) / top * width * 8)
        bar = "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]
        lines.append(f"{label.ljust(lw)}  {bar} {v:,.4g}")
    return "\n".join(lines) + "\n"


def emit(text: str, output: str | None) -> None:
    """A rendered document to stdout, or atomically to a file."""
    if output:
        from tokcli.files.atomic import atomic_write

        atomic_write(output, text)
    else:
        sys.stdout.write(text)


def _fit_dict(f: object) -> dict[str, Any]:  # a ModelFit's fit: a tokcli.budget.models.Fit, or None
    return asdict(f) if is_dataclass(f) and not isinstance(f, type) else {}


def comparison(result: Comparison, fmt: str, *, chart: str | None = None, output: str | None = None) -> None:
    """Render a tokcli.compare.Comparison."""
    rows = [asdict(r) for r in result.rows]
    for r in rows:
        r["exact"] = "yes" if r["round_trip"] else f"no@{r['first_diff']}"
    fits = [{"input": m.input, **_fit_dict(m.fit)} for m in result.fits]
    if fmt == "json":
        doc = {
            "schema": "tokcli-compare/1", "reference": result.reference, "tokenizers": result.tokenizers, "inputs": result.inputs,
            "holdout": result.holdout, "trained_on_chars": result.trained_on, "rows": [asdict(r) for r in result.rows], "models": fits,
            "trained": [{"tokenizer": t.spec.label, "kind": t.spec.kind, "requested_vocab_size": t.requested_vocab_size,
                         "vocab_size": t.vocab_size} for t in getattr(result, "trained", [])],
        }  # fmt: skip
        emit(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", output)
        return
    title = f"reference for NSL: {result.reference}; Rényi efficiency normalised by each tokenizer's |V|"
    if result.holdout:
        title += f"; measured on the held-out last {result.holdout:.0%} of each input"
    tty = output is None and is_tty(sys.stdout) and fmt == "text"
    text = render(rows, COMPARE_COLS, fmt, group="input", title=title, rich=tty)
    parts = [text] if text else []
    if fits and fmt in ("text", "markdown"):
        ft = render([_shown(f) for f in fits], FIT_COLS, fmt, title="context windows", rich=tty)
        parts.append(("\n" + ft) if ft else "")
    if chart:
        if chart not in CHART_METRICS:
            from tokcli.errors import UsageError

            raise UsageError(f"--chart {chart}: not a metric of compare; choose one of {', '.join(CHART_METRICS)}")
        labels = [f"{r['input']}  {r['tokenizer']}" for r in rows]
        parts.append("\n" + bar_chart(rows, chart, labels))
    if parts:
        emit("".join(parts), output)


FIT_COLS = [
    Col("input", "input", right=False),
    Col("model", "model", right=False),
    Col("tokenizer", "counted with", lambda v: v, right=False),
    Col("exact", "count", lambda v: "exact" if v else "estimate", right=False),
    Col("tokens_shown", "tokens"),  # "~N" where the count is an estimate (see _shown)
    Col("limit", "input limit", _int),
    Col("share", "used", _pct),
    Col("fits", "fits", lambda v: "yes" if v else "no", right=False),
    Col("chunks", "chunks", _int),
]


def usd(v: float | None) -> str:
    """A cost in US dollars: cents from a dollar up, else to a millionth of a dollar (trailing zeros dropped)."""
    if v is None:
        return "-"
    if v >= 1:
        return f"${v:,.2f}"
    if 0 < v < 0.000_001:
        return "<$0.000001"
    return "$" + f"{v:.6f}".rstrip("0").rstrip(".")


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    """A Fit's row with its text cells: a `~` before every number that is an estimate."""
    mark = "" if row.get("exact") else "~"

    def money(v: float | None) -> str:
        return "-" if v is None else mark + usd(v)

    return row | {
        "tokens_shown": mark + _int(row.get("tokens")),
        "cost_shown": money(row.get("cost")),
        "input_cost_shown": money(row.get("input_cost", row.get("cost"))),
        "output_cost_shown": "-" if row.get("output_cost") is None else usd(row["output_cost"]),
    }


def fits_table(fits: Sequence[Fit], fmt: str = "text", *, cost: bool = False) -> None:
    """Render tokcli.budget.models.Fit objects (for `count --model`) as a table in `fmt` (text, csv, tsv,
    markdown; count's JSON document holds the fits itself); `cost`: with the input cost column (cached tokens
    at the cached-input price), and where an answer length is given the output cost and the total."""
    rows = [asdict(f) for f in fits]
    cols = FIT_COLS[1:]
    if cost:
        cols = cols + [Col("input_cost_shown", "input cost")]
        if any(f.output_tokens for f in fits):
            cols += [Col("output_cost_shown", "output cost"), Col("cost_shown", "total cost")]
    text = render([_shown(r) for r in rows], cols, fmt, rich=fmt == "text" and is_tty(sys.stdout))
    if text:
        out(text, end="")


def parity(result: Parity, fmt: str, *, chart: str | None = None, output: str | None = None) -> None:
    """Render a tokcli.compare.Parity: one row per language, tokens and premium per tokenizer."""
    by = {(r.language, r.tokenizer): r for r in result.rows}
    rows = []
    for lang in result.languages:
        row: dict[str, Any] = {"language": lang, "file": by[(lang, result.tokenizers[0])].file}
        for t in result.tokenizers:
            row[f"{t} tokens"] = by[(lang, t)].tokens
            row[f"{t} premium"] = by[(lang, t)].premium
        rows.append(row)
    if fmt == "json":
        doc = {
            "schema": "tokcli-parity/1",
            "pivot": result.pivot,
            "tokenizers": result.tokenizers,
            "rows": [asdict(r) for r in result.rows],
        }
        emit(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", output)
        return
    cols = [Col("language", "language", right=False), Col("file", "file", right=False)]
    for t in result.tokenizers:
        cols += [Col(f"{t} tokens", f"{t} tokens", _int), Col(f"{t} premium", f"{t} premium", _num(2))]
    title = f"tokenization premium: tokens relative to {result.pivot} (Petrov et al. 2023)"
    tty = output is None and is_tty(sys.stdout) and fmt == "text"
    text = render(rows, cols, fmt, title=title, rich=tty) or ""
    if chart:
        if chart not in ("premium", "tokens"):
            from tokcli.errors import UsageError

            raise UsageError(f"--chart {chart}: with --parity choose premium or tokens")
        key = f"{result.tokenizers[0]} {chart}"
        text += "\n" + bar_chart(rows, key, [r["language"] for r in rows])
    if text:
        emit(text, output)


MODEL_COLS = [
    Col("name", "model", right=False),
    Col("maker", "maker", lambda v: v or "-", right=False),
    Col("context", "context", _int),
    Col("input_limit", "input limit", _int),
    Col("max_output", "max output", _int),
    Col("tokenizer_shown", "tokenizer", right=False),
    Col("count", "count", right=False),
    Col("calibration_shown", "calibration", right=False),
    Col("error", "error", lambda v: "-" if v is None else v, right=False),
    Col("input_price_per_mtok", "in $/M", lambda v: "-" if v is None else f"{v:g}"),
    Col("cached_input_price_per_mtok", "cached $/M", lambda v: "-" if v is None else f"{v:g}"),
    Col("output_price_per_mtok", "out $/M", lambda v: "-" if v is None else f"{v:g}"),
    Col("source", "source", right=False),
    Col("as_of", "as of", right=False),
    Col("note", "note", right=False),
]


def models(entries: Sequence[ModelEntry], fmt: str, *, output: str | None = None) -> None:
    """Render the models table (tokcli.budget.models.ModelEntry objects): limits, the tokenizer counts are
    made with and whether exactly, prices in USD per million tokens, each with its source and date."""
    rows = []
    for e in entries:
        d = asdict(e)
        d["input_price_per_mtok"] = d.pop("input_price")
        d["output_price_per_mtok"] = d.pop("output_price")
        d["cached_input_price_per_mtok"] = d.pop("cached_input_price")
        d["counting"] = e.counting_tokenizer
        d["count"] = e.count_via
        d["exact"] = e.exact
        cal = e.calibration
        d["proxy"] = None if e.exact else e.proxy
        d["tokenizer_shown"] = e.exact_tokenizer or e.proxy
        d["calibration"] = None if cal is None else cal.to_dict()
        d["calibration_shown"] = "-" if e.exact else "none" if cal is None else cal.summary
        d["error"] = None if e.exact else "unknown (no calibration)" if cal is None else cal.error
        rows.append(d)
    if fmt == "json":
        for d in rows:
            del d["tokenizer_shown"], d["calibration_shown"]
        doc = {"schema": "tokcli-models/1", "models": rows}
        emit(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", output)
        return
    tty = output is None and is_tty(sys.stdout) and fmt == "text"
    text = render(rows, MODEL_COLS, fmt, rich=tty) if rows else ""
    if text:
        emit(text, output)
