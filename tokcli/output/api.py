"""Rendering of `count --api`: the vendor's count of each input under each model (schema tokcli-count-api/1)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from . import emit_json, is_tty, out

SCHEMA = "tokcli-count-api/1"


@dataclass(frozen=True)
class ApiCount:
    input: str
    model: str
    tokens: int
    exact: bool  # True: the vendor's own count; False: the local estimate --api-auto fell back to
    counted_by: str  # "api", or the tokenizer of the local estimate


def api_counts(rows: Sequence[ApiCount], *, fmt: str) -> None:
    """json, or text: the bare number for one input and one model when piped (a fallback to the local
    estimate is said on stderr), else a table (`~` marks a local estimate)."""
    if fmt == "json":
        emit_json({"schema": SCHEMA, "counts": [asdict(r) for r in rows]})
        return
    if len(rows) == 1 and not is_tty(sys.stdout):
        out(str(rows[0].tokens))
        return
    from . import table

    sep = "," if is_tty(sys.stdout) else ""
    table(None, ["input", "model", "tokens", "counted by"],
          [[r.input, r.model, ("" if r.exact else "~") + f"{r.tokens:{sep}}", r.counted_by] for r in rows],
          right={2})  # fmt: skip
