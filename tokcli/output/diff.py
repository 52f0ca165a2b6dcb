"""Rendering of `tokcli diff`: a table (rich on a terminal, aligned text when piped), JSON, markdown (for
$GITHUB_STEP_SUMMARY and pull-request comments) and GitHub annotations.

JSON schema "tokcli-diff/1" (stable: fields are only ever added):

    {"schema": "tokcli-diff/1", "ok": bool,
     "base": {"ref": str | null, "commit": str, "description": str},
     "tokenizers": [str],
     "limits": {"max_growth": int | null, "max_growth_percent": float | null, "scope": "file" | "total"},
     "files": [{"path": str, "old_path": str | null,
                "status": "added" | "deleted" | "modified" | "renamed",
                "tokens": {TOKENIZER: COUNT}, "over": {TOKENIZER: [str]}}],
     "unchanged": {"files": int, "tokens": {TOKENIZER: int}},
     "total": {"files": int, "tokens": {TOKENIZER: COUNT}, "over": {TOKENIZER: [str]}},
     "skipped": [{"path": str, "reason": str}],
     "failed": [{"path": str, "reason": str}],
     "budgets": [...] | null}

COUNT is {"before": int | null, "after": int | null, "change": int, "percent": float | null}: before is
null for an added file, after for a deleted one, percent (of before, two decimals) where there is no base.
"over" lists the limits a file (or the total) exceeds under each tokenizer; "budgets" holds the budgets of
[tool.tokcli] that cover a changed file, as `tokcli check --format json` writes them (schema tokcli-check/1).
"failed" lists the changed files a growth limit covers that could not be counted (binary, not UTF-8, a
stretch too long to cut): each fails the limit ("ok" is false); without a limit they are only "skipped".
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from . import console, is_tty

if TYPE_CHECKING:
    from tokcli.budget.diff import Count, DiffReport, FileDiff

SCHEMA = "tokcli-diff/1"


def _count(c: Count) -> dict[str, Any]:
    pct = c.percent
    return {"before": c.before, "after": c.after, "change": c.change, "percent": None if pct is None else round(pct, 2)}


def to_json(report: DiffReport) -> dict[str, Any]:
    from .budget import to_json as budgets_json

    lim = report.limits
    return {
        "schema": SCHEMA,
        "ok": report.ok,
        "base": {"ref": report.base.spec, "commit": report.base.commit, "description": report.base.how},
        "tokenizers": list(report.tokenizers),
        "limits": {"max_growth": lim.max_growth, "max_growth_percent": lim.max_growth_percent,
                   "scope": "total" if lim.total else "file"},
        "files": [{"path": f.path, "old_path": f.old_path, "status": f.status,
                   "tokens": {n: _count(c) for n, c in f.tokens.items()}, "over": f.over} for f in report.files],
        "unchanged": {"files": report.unchanged, "tokens": dict(report.unchanged_tokens)},
        "total": {"files": len(report.files) + report.unchanged, "tokens": {n: _count(c) for n, c in report.total.items()},
                  "over": report.total_over},
        "skipped": [{"path": path, "reason": reason} for path, reason in report.skipped],
        "failed": [{"path": path, "reason": reason} for path, reason in report.failed],
        "budgets": budgets_json(report.budgets)["budgets"] if report.budgets is not None else None,
    }  # fmt: skip


# -- the table ----------------------------------------------------------------------------------------


def _num(n: int | None, commas: bool) -> str:
    return "-" if n is None else (f"{n:,}" if commas else str(n))


def _change(n: int, commas: bool) -> str:
    return f"{n:+,}" if commas else f"{n:+d}"


def _pct(c: Count) -> str:
    if c.before is None:
        return "new"
    return "-" if c.percent is None else f"{c.percent:+.1f}%"


def _name(f: FileDiff) -> str:
    return f"{f.old_path} -> {f.path}" if f.old_path else f.path


def _head(report: DiffReport) -> str:
    b = report.base
    where = b.how if b.spec is None else (b.spec if b.how == b.spec else f"{b.spec}, {b.how}")
    return f"the working tree against {b.commit[:12]} ({where}), tokens of {', '.join(report.tokenizers)}"


def _rows(report: DiffReport, commas: bool) -> tuple[list[str], list[list[str]], list[int]]:
    """(headers, rows with the total last, indices of the rows over a limit)."""
    many = len(report.tokenizers) > 1
    heads = ["status", "file"]
    for n in report.tokenizers:
        heads += [f"{n} before" if many else "before", "after", "change", "%"]
    rows, over = [], []
    for i, f in enumerate(report.files):
        row = [f.status, _name(f)]
        for n in report.tokenizers:
            c = f.tokens[n]
            row += [_num(c.before, commas), _num(c.after, commas), _change(c.change, commas), _pct(c)]
        rows.append(row + (["OVER"] if f.over else []))
        if f.over:
            over.append(i)
    total = ["total", f"{len(report.files)} changed, {report.unchanged} unchanged"]
    for n in report.tokenizers:
        c = report.total[n]
        total += [_num(c.before, commas), _num(c.after, commas), _change(c.change, commas), _pct(c)]
    rows.append(total + (["OVER"] if report.total_over else []))
    if report.total_over:
        over.append(len(rows) - 1)
    return heads, rows, over


def _over_lines(report: DiffReport) -> list[str]:
    lines = []
    for f in report.over:
        lines += [f"over the limit: {_name(f)}: {n}: {'; '.join(why)}" for n, why in f.over.items()]
    lines += [f"over the limit: the total: {n}: {'; '.join(why)}" for n, why in report.total_over.items()]
    lines += [f"not counted, so over the limit: {path}: {why}" for path, why in report.failed]
    return lines


def text(report: DiffReport) -> str:
    """Aligned plain text: a line naming the base, the table, what went over, the budgets."""
    from .budget import text as budget_text

    heads, rows, _ = _rows(report, commas=False)
    widths = [max(len(r[j]) for r in [heads, *rows] if j < len(r)) for j in range(len(heads))]

    def fmt(r: list[str]) -> str:
        return "  ".join(
            (c.ljust(widths[j]) if j < 2 else c.rjust(widths[j])) if j < len(widths) else c for j, c in enumerate(r)
        ).rstrip()

    lines = [_head(report), fmt(heads), *(fmt(r) for r in rows), *_over_lines(report)]
    doc = "\n".join(lines) + "\n"
    if report.budgets is not None:
        doc += "\n" + budget_text(report.budgets)
    return doc


def _rich(report: DiffReport) -> None:
    from rich.table import Table

    from .budget import text as budget_text

    heads, rows, over = _rows(report, commas=True)
    t = Table(title=_head(report), title_justify="left")
    for j, h in enumerate(heads):
        t.add_column(h, justify="left" if j < 2 else "right")
    if any(len(r) > len(heads) for r in rows):
        t.add_column("")
    for i, r in enumerate(rows):
        t.add_row(
            *r,
            style="bold red" if i in over else ("bold" if i == len(rows) - 1 else None),
            end_section=i == len(rows) - 2,
        )
    c = console()
    c.print(t)
    for line in _over_lines(report):
        c.print(line, style="red", markup=False)
    if report.budgets is not None:
        c.print()
        for line in budget_text(report.budgets).splitlines():
            c.print(line, style="bold red" if line.lstrip().startswith(("OVER", "FAIL")) else None, markup=False)


# -- markdown and GitHub annotations ------------------------------------------------------------------


def markdown(report: DiffReport) -> str:
    """A section for $GITHUB_STEP_SUMMARY or a pull-request comment."""
    from .tables import md_cell

    heads, rows, over = _rows(report, commas=True)
    b = report.base
    title = f"### Token diff against `{b.spec or b.how}`"
    note = f"The working tree against `{b.commit[:12]}` ({b.how}), counted with {', '.join(f'`{n}`' for n in report.tokenizers)}."
    lines = [title, "", note, ""]
    lines.append("| " + " | ".join(md_cell(h) for h in heads) + " |")
    lines.append("|" + "|".join("---" if j < 2 else "---:" for j in range(len(heads))) + "|")
    for i, r in enumerate(rows):
        cells = [md_cell(c) for c in r[: len(heads)]]
        cells[1] = f"`{cells[1]}`" if i < len(rows) - 1 else cells[1]
        if i == len(rows) - 1:
            cells = [f"**{c}**" for c in cells]
        if i in over:
            cells[0] = f"❌ {cells[0]}"
        lines.append("| " + " | ".join(cells) + " |")
    if report.over or report.total_over:
        lines += ["", "**Over the growth limit:**", ""]
        lines += [f"- `{md_cell(_name(f))}`: {n}: {'; '.join(why)}" for f in report.over for n, why in f.over.items()]
        lines += [f"- the total: {n}: {'; '.join(why)}" for n, why in report.total_over.items()]
    if report.failed:
        lines += ["", "**Not counted, so not within the growth limit:**", ""]
        lines += [f"- `{md_cell(p)}`: {md_cell(r)}" for p, r in report.failed]
    if report.skipped:
        lines += ["", f"Not compared: {', '.join(f'`{md_cell(p)}` ({md_cell(r)})' for p, r in report.skipped)}."]
    if report.budgets is not None:
        lines += [
            "",
            f"**Budgets** ([tool.tokcli]): {'within' if report.budgets.ok else 'over'}: {report.budgets.summary()}.",
        ]
    return "\n".join(lines) + "\n"


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def _describe(c: Count, name: str) -> str:
    pct = "" if c.percent is None else f", {c.percent:+.1f}%"
    return f"{name}: {_num(c.before, True)} -> {_num(c.after, True)} tokens ({c.change:+,}{pct})"


def github(report: DiffReport) -> str:
    """GitHub Actions workflow commands: an ::error on each file over a growth limit (and for the total), a
    ::notice on each other changed file whose count moved, the budgets' annotations, a ::notice summary."""
    from .budget import github as budget_github

    lines = []
    for f in report.files:
        what = "; ".join(_describe(c, n) for n, c in f.tokens.items())
        where = "" if f.status == "deleted" else f"file={_escape_prop(f.path)},"
        if f.over:
            why = "; ".join(f"{n}: {'; '.join(w)}" for n, w in f.over.items())
            lines.append(f"::error {where}title=token growth::{_escape_data(f'{what}: over the limit: {why}')}")
        elif any(c.change for c in f.tokens.values()):
            lines.append(f"::notice {where}title=token diff::{_escape_data(f'{f.status}: {what}')}")
    if report.total_over:
        what = "; ".join(_describe(c, n) for n, c in report.total.items())
        why = "; ".join(f"{n}: {'; '.join(w)}" for n, w in report.total_over.items())
        lines.append(f"::error title=token growth::{_escape_data(f'total {what}: over the limit: {why}')}")
    for path, why in report.failed:
        msg = f"not counted, so not within the growth limit: {why}"
        lines.append(f"::error file={_escape_prop(path)},title=token growth::{_escape_data(msg)}")
    if report.budgets is not None:
        lines += budget_github(report.budgets).splitlines()[:-1]  # its summary is part of ours
    lines.append(f"::notice title=token diff::{_escape_data(report.summary())}")
    return "\n".join(lines) + "\n"


def render(report: DiffReport, fmt: str, output: str | None = None) -> None:
    from .tables import emit

    if fmt == "json":
        doc = json.dumps(to_json(report), ensure_ascii=False, indent=2) + "\n"
    elif fmt == "markdown":
        doc = markdown(report)
    elif fmt == "github":
        doc = github(report)
    elif output is None and is_tty(sys.stdout):
        _rich(report)
        return
    else:
        doc = text(report)
    emit(doc, output)
