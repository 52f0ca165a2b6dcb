"""Rendering of `tokcli check`: a human summary, JSON (schema below), GitHub annotations, JUnit XML.

JSON schema "tokcli-check/1" (stable: fields are only ever added):

    {"schema": "tokcli-check/1", "ok": bool, "warnings": [str],
     "budgets": [{"tokenizer": str, "exact": bool, "ok": bool,
                  "budget": {"limit": int, "scope": "file" | "total", "max_tokens": int | null,
                             "model": str | null, "reserve": int, "paths": [str], "origin": str,
                             "chat": bool, "margin_pct": float},
                  "files": [{"path": str, "tokens": int | null, "limit": int | null,
                             "status": "ok" | "over" | "counted" | "error",
                             "counted": int (only where a margin was added: the count before it),
                             "reason": str (only with "error")}],
                  "total": {"tokens": int, "limit": int | null, "status": "ok" | "over" | "error"}}],
     "failed": [{"path": str, "reason": str}]}

A file's limit is null and its status "counted" in a total budget, whose limit is on "total". With a safety
margin on an estimate ("margin_pct" > 0 and "exact": false) "tokens" is the count times (1 + margin), rounded
up, the figure set against the limit; "counted" is the count before it.
A file the budget covers that could not be counted has status "error", tokens null and its "reason"; it
fails the budget (its "ok" and the total's status say so), and is listed once in "failed".
In a chat budget ("chat": true) each row is a conversation: its path is FILE, or FILE:LINE in a JSONL file.
"""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any

from . import console, is_tty

if TYPE_CHECKING:
    from tokcli.budget.check import BudgetResult, CheckReport, FileResult

SCHEMA = "tokcli-check/1"


def to_json(report: CheckReport) -> dict[str, Any]:
    budgets = []
    for r in report.results:
        b = r.budget
        budgets.append(
            {
                "tokenizer": b.tokenizer, "exact": b.exact, "ok": r.ok,
                "budget": {"limit": b.limit, "scope": "total" if b.total else "file", "max_tokens": b.max_tokens,
                           "model": b.model, "reserve": b.reserve, "paths": list(b.paths), "origin": b.origin,
                           "chat": b.chat, "margin_pct": float(b.applied_margin * 100)},
                "files": [_file(f) for f in r.files],
                "total": {"tokens": r.tokens, "limit": b.limit if b.total else None, "status": _status(r)},
            }
        )  # fmt: skip
    skipped = [{"path": path, "reason": reason} for path, reason in report.skipped]
    return {
        "schema": SCHEMA,
        "ok": report.ok,
        "warnings": list(report.warnings),
        "skipped": skipped,
        "budgets": budgets,
        "failed": [{"path": path, "reason": reason} for path, reason in report.failed],
    }


def _status(r: BudgetResult) -> str:
    """A budget's verdict: "over" its limit (a file, or the total), else "error" when a file was not counted."""
    over = r.tokens > r.budget.limit if r.budget.total else bool(r.over)
    return "over" if over else ("error" if r.failed else "ok")


def _file(f: FileResult) -> dict[str, Any]:
    row: dict[str, Any] = {"path": f.path, "tokens": f.tokens, "limit": f.limit, "status": f.status}
    if f.counted is not None:
        row["counted"] = f.counted
    if f.reason is not None:
        row["reason"] = f.reason
    return row


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def github(report: CheckReport) -> str:
    """GitHub Actions workflow commands: an ::error per file (or total) over budget, a ::notice summary."""
    lines = [f"::warning::{_escape_data(w)}" for w in report.warnings]
    for r in report.results:
        b = r.budget
        est = "" if b.exact else ", an estimate"
        if b.total and not r.ok:
            msg = f"{r.tokens:,} tokens in {len(r.files)} files, over the total limit of {b.limit:,} by {r.tokens - b.limit:,} ({b.tokenizer}{est})"  # noqa: E501
            lines.append(f"::error title=token budget::{_escape_data(msg)}")
        for f in r.over:
            limit = b.limit if f.limit is None else f.limit  # a file's row has no limit of its own in a total budget
            n = f.tokens or 0
            msg = f"{n:,} tokens, over the limit of {limit:,} by {n - limit:,} ({b.tokenizer}{est})"
            where = f"file={_escape_prop(f.path)}"
            if b.chat and (m := re.fullmatch(r"(.+):([0-9]+)", f.path)):  # a conversation: FILE:LINE
                where = f"file={_escape_prop(m[1])},line={m[2]}"
            lines.append(f"::error {where},title=token budget::{_escape_data(msg)}")
    for path, why in report.failed:
        msg = f"not counted, so not within the budget: {why}"
        lines.append(f"::error file={_escape_prop(path)},title=token budget::{_escape_data(msg)}")
    lines.append(f"::notice title=token budget::{_escape_data(report.summary())}")
    return "\n".join(lines) + "\n"


def junit(report: CheckReport) -> str:
    """JUnit XML: one testsuite per budget, one testcase per file (or one for the total)."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="tokcli check")
    for i, r in enumerate(report.results):
        b = r.budget
        name = f"token budget {i + 1}: {b.limit:,} tokens {'in total' if b.total else ('per conversation' if b.chat else 'per file')} ({b.tokenizer})"
        cases = [(f.path, f.tokens, b.limit if f.limit is None else f.limit, f.status in ("over", "error"), f.reason)
                 for f in r.files] if not b.total else [
            ("total: " + ", ".join(f.path for f in r.files), r.tokens, b.limit, not r.ok, None)
        ] + [(f.path, None, b.limit, True, f.reason) for f in r.failed]  # fmt: skip
        suite = ET.SubElement(
            root, "testsuite", name=name, tests=str(len(cases)), failures=str(sum(c[3] for c in cases))
        )
        for path, tokens, limit, failed, why in cases:
            case = ET.SubElement(suite, "testcase", classname="tokcli.check", name=path)
            if why is not None:
                msg = f"not counted: {why}"
                ET.SubElement(case, "failure", message=msg, type="NotCounted").text = msg
                continue
            ET.SubElement(case, "system-out").text = f"{tokens} tokens, limit {limit}"
            if failed and tokens is not None:
                msg = f"{tokens} tokens, over the limit of {limit} by {tokens - limit}"
                ET.SubElement(case, "failure", message=msg, type="TokenBudgetExceeded").text = msg
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def text(report: CheckReport) -> str:
    """One line per file: status, tokens / limit, path; a total line per total budget."""
    lines = []
    for r in report.results:
        b = r.budget
        est = "" if b.exact else f"; counted with {b.tokenizer}, an estimate"
        if b.applied_margin:
            est += f", +{float(b.applied_margin * 100):g}% safety margin"
        head = f"{b.limit:,} tokens {'in total' if b.total else ('per conversation' if b.chat else 'per file')}"
        lines.append(f"budget: {head} ({b.model or b.tokenizer}{est})")
        approx = "" if b.exact else "~"  # an estimate: every count is marked
        for f in r.files:
            if f.status == "error":
                lines.append(f"  FAIL {'-':>9} {'':<11} {f.path}: not counted ({f.reason})")
                continue
            mark = {"over": "OVER", "ok": "ok"}.get(f.status, "")
            limit = f"/ {f.limit:,}" if f.limit is not None else ""
            lines.append(f"  {mark:<4} {approx + f'{f.tokens:,}':>9} {limit:<11} {f.path}")
        if b.total:
            lines.append(f"  {'ok' if r.ok else 'OVER':<4} {approx + f'{r.tokens:,}':>9} / {b.limit:<9,} total")
    return "\n".join(lines) + "\n"


def table(report: CheckReport, fmt: str) -> str:
    """One row per file and budget: csv, tsv or markdown."""
    from .tables import Col, render

    rows = [
        {"path": f.path, "tokens": f.tokens, "limit": f.limit if f.limit is not None else r.budget.limit,
         "scope": "total" if r.budget.total else "file", "status": f.status, "tokenizer": r.budget.tokenizer,
         "budget": r.budget.origin, "reason": f.reason}
        for r in report.results for f in r.files
    ]  # fmt: skip
    cols = [Col(k, k, lambda v: "" if v is None else str(v), right=k in ("tokens", "limit")) for k in
            ("path", "tokens", "limit", "scope", "status", "tokenizer", "budget", "reason")]  # fmt: skip
    return render(rows, cols, fmt) or ""


def render(report: CheckReport, fmt: str, output: str | None = None) -> None:
    from .tables import emit

    if fmt == "json":
        doc = json.dumps(to_json(report), ensure_ascii=False, indent=2) + "\n"
    elif fmt in ("csv", "tsv", "markdown"):
        doc = table(report, fmt)
    elif fmt == "github":
        doc = github(report)
    elif fmt == "junit":
        doc = junit(report)
    else:
        doc = text(report)
        if output is None and is_tty(sys.stdout):
            c = console()
            for line in doc.splitlines():
                style = "bold red" if line.lstrip().startswith(("OVER", "FAIL")) else None
                c.print(line, style=style, markup=False)
            return
    emit(doc, output)
