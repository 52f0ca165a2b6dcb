"""Rendering of `chunk` (JSON lines, or numbered files) and `truncate` (the text, and a note on stderr)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import info


def pieces(stream: Iterable[Any], *, out_dir: str | None = None) -> None:
    """One JSON object per piece on stdout, or each piece's text in DIR/00001.txt, ... (written atomically)."""
    from tokcli.textio import atomic_write

    if out_dir is not None:
        d = Path(out_dir)
        if not d.is_dir():
            from tokcli.errors import InputError

            raise InputError(f"--out-dir {out_dir}: not a directory; create it first")
    n, tokens = 0, 0
    for n, p in enumerate(stream, 1):  # noqa: B007
        tokens += p.tokens
        if out_dir is None:
            line = {"text": p.text, "tokens": p.tokens, "start": p.start, "end": p.end}
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            atomic_write(Path(out_dir) / f"{n:05d}.txt", p.text)
    info(f"{n} piece{'s' if n != 1 else ''}, {tokens:,} tokens" + (f" -> {out_dir}/" if out_dir else ""))


def truncated(t: Any, parts: Iterable[str]) -> None:
    """The kept text on stdout as it comes; whether anything was cut on stderr."""
    for part in parts:
        sys.stdout.write(part)
    sys.stdout.flush()
    end = "last" if t.from_end else "first"
    if t.cut:
        of = f" of {t.total:,}" if t.total is not None else ""
        info(f"truncated: kept the {end} {t.kept:,}{of} tokens")
    else:
        info(f"not truncated: {t.kept:,} tokens, within {t.n:,}")
