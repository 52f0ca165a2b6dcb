"""Everything the user sees goes through here; the only package that imports rich.

stdout carries data, stderr carries talk. Colour, tables and progress bars only on a terminal;
NO_COLOR is honoured, FORCE_COLOR forces colour.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def is_tty(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def color_enabled(stream: TextIO | None = None) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return is_tty(stream)


# how many times stdout met characters its encoding cannot write (guard_stdout)
_escaped = [0]
_UNICODE = frozenset({"utf-8", "utf-16", "utf-32", "gb18030", "utf-8-sig"})


def _json_escape(e: UnicodeError) -> tuple[str, int]:
    """A codec error handler: what the encoding cannot write becomes \\uXXXX (a surrogate pair past U+FFFF),
    which is also what JSON's own escapes are, so a JSON document stays valid and loses nothing."""
    if not isinstance(e, UnicodeEncodeError):
        raise e
    _escaped[0] += 1
    parts = []
    for ch in e.object[e.start : e.end]:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            parts.append(f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}")
        else:
            parts.append(f"\\u{cp:04x}")
    return "".join(parts), e.end


def guard_stdout() -> Callable[[], None]:
    """When stdout's encoding cannot write every character (PYTHONIOENCODING=ascii, a C or Latin-1 locale),
    write what it cannot as \\uXXXX escapes instead of failing (Python's stderr already escapes). Returns
    what to call at the end: it restores the stream and says once on stderr that characters were escaped."""
    stream = sys.stdout
    try:
        name = codecs.lookup(stream.encoding or "utf-8").name
    except (LookupError, AttributeError):
        return lambda: None
    if name in _UNICODE or not isinstance(stream, io.TextIOWrapper) or stream.errors != "strict":
        return lambda: None
    codecs.register_error("tokcli-json-escape", _json_escape)
    _escaped[0] = 0
    try:
        stream.reconfigure(errors="tokcli-json-escape")
    except (OSError, ValueError):
        return lambda: None

    def done() -> None:
        try:
            stream.reconfigure(errors="strict")
            if _escaped[0]:
                warn(f"stdout's encoding ({stream.encoding}) cannot write some characters: they are written as "
                     "\\uXXXX escapes (JSON stays valid); set PYTHONIOENCODING=utf-8 to get the characters")  # fmt: skip
                sys.stderr.flush()
        except (OSError, ValueError):
            pass

    return done


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, stderr=stderr, highlight=False, force_terminal=color_enabled(stream) or None,
                   no_color=not color_enabled(stream), soft_wrap=not is_tty(stream))  # fmt: skip


def out(text: str = "", end: str = "\n") -> None:
    """A line of data on stdout."""
    sys.stdout.write(text + end)


def finish_line(last: str) -> None:
    """After data that did not end in a newline: on a terminal, end the line on stderr, so the shell's
    prompt is not glued to it (stdout keeps exactly the data)."""
    if last and not last.endswith("\n") and is_tty(sys.stdout):
        sys.stdout.flush()
        sys.stderr.write("\n")


def info(text: str) -> None:
    """Talk on stderr (notes, summaries)."""
    sys.stderr.write(text + "\n")


def warn(text: str) -> None:
    sys.stderr.write(f"warning: {text}\n")


def skipped(items: list[tuple[str, str]]) -> None:
    """One warning line per input a walk found but could not read as text (binary, not UTF-8)."""
    for path, reason in items:
        warn(f"skipped {path}: {reason}")


def emit_json(obj: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def table(title: str | None, columns: list[str], rows: list[list[Any]], *, right: set[int] | None = None) -> None:
    """A table on stdout: rich on a terminal, tab-separated lines (with a header) when piped."""
    if is_tty(sys.stdout):
        from rich.table import Table

        t = Table(title=title, title_justify="left")
        for i, c in enumerate(columns):
            t.add_column(c, justify="right" if right and i in right else "left")
        for r in rows:
            t.add_row(*[str(x) for x in r])
        console().print(t)
    else:
        out("\t".join(columns))
        for r in rows:
            out("\t".join(str(x) for x in r))


class Progress:
    """A progress bar on stderr, only when stderr is a terminal and not quiet; otherwise silent."""

    def __init__(self, description: str, total: float | None = None, *, quiet: bool = False) -> None:
        self.enabled = not quiet and is_tty(sys.stderr)
        self._p: Any = None
        self.description = description
        self.total = total

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RP

            self._p = RP(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
                         TimeElapsedColumn(), console=console(stderr=True), transient=True)  # fmt: skip
            self._p.__enter__()
            self._task = self._p.add_task(self.description, total=self.total, status="")
        return self

    def update(self, completed: float | None = None, status: str = "") -> None:
        if self._p is not None:
            self._p.update(self._task, completed=completed, status=status)

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)
