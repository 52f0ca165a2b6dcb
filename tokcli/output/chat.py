"""Rendering of `count --chat`: a row per conversation (per message in JSON), the overhead used and its
source, what was not counted, and how each conversation fits the models given."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from . import emit_json, is_tty, out, warn

if TYPE_CHECKING:
    from tokcli.budget.chat import ConversationCount, Overhead
    from tokcli.budget.models import Fit

SCHEMA = "tokcli-chat/1"


def _overhead(oh: Overhead) -> dict[str, Any]:
    from tokcli.budget.chat import CALLS_SOURCE, TOOLS_SOURCE

    tools = (
        {"method": "num_tokens_for_tools", **asdict(oh.tools), "exact": False, "source": TOOLS_SOURCE}
        if oh.tools is not None
        else {"method": "text only (names, descriptions, properties)", "exact": False, "lower_bound": True}
    )
    images = (
        {"formula": None, "reason": oh.images}
        if isinstance(oh.images, str)
        else {"formula": oh.images.name, "exact": oh.images.exact, "source": oh.images.source}
    )
    return {"family": oh.family, "per_message": oh.per_message, "per_name": oh.per_name, "reply": oh.reply,
            "lower_bound": not oh.known, "source": oh.source, "tools": tools,
            "tool_calls": {"per_call": oh.per_call, "exact": False, "source": CALLS_SOURCE}, "images": images}  # fmt: skip


def document(
    rows: Sequence[ConversationCount], toks: Sequence[tuple[str, Overhead]], fits: Sequence[tuple[str, Fit]]
) -> dict[str, Any]:
    """The JSON document of `count --chat` (schema tokcli-chat/1)."""
    names = [n for n, _ in toks]
    return {
        "schema": SCHEMA,
        "tokenizers": names,
        "overhead": {n: _overhead(oh) for n, oh in toks},
        "conversations": [
            {
                "input": c.label,
                "tokens": c.tokens,
                "estimate": c.estimate,
                "tools": c.tools,
                "not_counted": list(c.not_counted),
                "messages": [
                    {
                        "index": i,
                        "role": m.role,
                        "name": m.name,
                        "tokens": m.tokens,
                        "not_counted": list(m.not_counted),
                        "parts": [asdict(p) for p in m.parts],
                    }
                    for i, m in enumerate(c.messages, 1)
                ],
            }
            for c in rows
        ],  # fmt: skip
        "total": {n: sum(c.tokens[n] for c in rows) for n in names},
        "models": [{"conversation": label, **asdict(f)} for label, f in fits],
    }


def conversations(rows: Sequence[ConversationCount], toks: Sequence[tuple[str, Overhead]], *, fmt: str,
                  fits: Sequence[tuple[str, Fit]] = ()) -> None:  # fmt: skip
    """json (per message), csv / tsv / markdown (a row per conversation), or text: the bare number for one
    conversation under one tokenizer when piped, else a table; `>=` marks a count without a documented
    overhead (a lower bound), `~` one with a part counted by a published estimate (tools, calls, images).
    What was not counted is a warning on stderr in every format."""
    _warn(rows, toks)
    if fmt == "json":
        emit_json(document(rows, toks, fits))
        return
    names = [n for n, _ in toks]

    def mark(n: str, cs: Sequence[Any]) -> str:
        return ">=" if not known[n] else "~" if any(c.estimate.get(n) for c in cs) else ""

    known = {n: oh.known for n, oh in toks}
    records = [{"conversation": c.label, "messages": len(c.messages), **c.tokens} for c in rows]
    if fmt in ("csv", "tsv", "markdown"):
        from .tables import Col, render

        cols = [Col("conversation", "conversation", str, right=False), Col("messages", "messages", str)]
        out(render(records, cols + [Col(n, mark(n, rows) + n, str) for n in names], fmt) or "", end="")
        return
    if len(rows) == 1 and len(names) == 1 and not fits and not is_tty(sys.stdout):
        out(str(rows[0].tokens[names[0]]))  # bare, for scripts: what it is said on stderr
        return
    from . import table

    sep = "," if is_tty(sys.stdout) else ""
    body = [[c.label, str(len(c.messages))] + [mark(n, [c]) + f"{c.tokens[n]:{sep}}" for n in names] for c in rows]
    if len(rows) > 1:
        body.append(["total", str(sum(len(c.messages) for c in rows))]
                    + [mark(n, rows) + f"{sum(c.tokens[n] for c in rows):{sep}}" for n in names])  # fmt: skip
    table(None, ["conversation", "messages", *names], body, right=set(range(1, len(names) + 2)))
    _fits(fits)


def _fits(fits: Sequence[tuple[str, Fit]]) -> None:
    if not fits:
        return
    by_model: dict[str, list[tuple[str, Fit]]] = {}
    for label, f in fits:
        by_model.setdefault(f.model, []).append((label, f))
    out()
    for model, items in by_model.items():
        f0 = items[0][1]
        over = [(label, f) for label, f in items if not f.fits]
        longest = max(items, key=lambda x: x[1].tokens)
        est = "" if f0.exact else "~"
        out(f"{model}: {len(over)} of {len(items)} conversation{'s' if len(items) != 1 else ''} over its input "
            f"budget of {f0.limit:,} tokens; the longest, {longest[0]}: {est}{longest[1].tokens:,} "
            f"({longest[1].share:.1%})")  # fmt: skip


def _warn(rows: Sequence[ConversationCount], toks: Sequence[tuple[str, Overhead]]) -> None:
    for n, oh in toks:
        if not oh.known:
            warn(f"{n}: no documented chat overhead for its models; counted role, content, name, the text of tools "
                 "and calls, and images, a lower bound (>=)")  # fmt: skip
        elif any(c.estimate.get(n) for c in rows):
            warn(f"{n}: tools, tool calls or images counted with published estimates, not OpenAI's own count (~); "
                 "see --format json for the formulas and their sources")  # fmt: skip
    skipped: list[tuple[str, int | None, str]] = [(c.label, None, k) for c in rows for k in c.not_counted]
    skipped += [(c.label, i, k) for c in rows for i, m in enumerate(c.messages, 1) for k in m.not_counted]
    if skipped:
        shown = "; ".join(f"{label}" + (f" message {i}" if i else "") + f": {k}" for label, i, k in skipped[:5])
        warn(f"{len(skipped)} part{'s' if len(skipped) != 1 else ''} sent to the model not counted: "
             f"{shown}{', ...' if len(skipped) > 5 else ''}")  # fmt: skip
