"""Rendering of `chunk` (JSON lines, or numbered files) and `truncate` (the text, and a note on stderr)."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from . import finish_line, info

if TYPE_CHECKING:
    from tokcli.analysis.chunking import Piece, Truncator

# every line of chunk's JSON lines carries the schema (a header line would break `one line = one piece`)
SCHEMA = "tokcli-chunk/1"


def pieces(stream: Iterable[Piece], *, out_dir: str | None = None) -> None:
    """One JSON object per piece on stdout ({"schema": "tokcli-chunk/1", "text", "tokens", "start", "end"}), or
    each piece's text in DIR/00001.txt, DIR/00002.txt, ...

    With `out_dir`, all or nothing: the pieces go to a hidden temporary directory inside DIR
    (DIR/.tokcli-chunks.XXXX/) and are moved in only once the last one is written. Then the numbered
    pieces of an earlier run (regular files named like 00001.txt: five or more digits, .txt) that the
    new set does not replace are removed, so DIR holds exactly the new set; any other file in DIR is
    left alone. On an error, Ctrl-C or SIGTERM the temporary directory is removed and DIR is as before.
    """
    if out_dir is None:
        n, tokens = 0, 0
        for n, p in enumerate(stream, 1):  # noqa: B007
            tokens += p.tokens
            line = {"schema": SCHEMA, "text": p.text, "tokens": p.tokens, "start": p.start, "end": p.end}
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    else:
        n, tokens = _to_dir(stream, Path(out_dir))
    info(f"{n} piece{'s' if n != 1 else ''}, {tokens:,} tokens" + (f" -> {out_dir}/" if out_dir else ""))


PIECE = re.compile(r"[0-9]{5,}\.txt")  # the names pieces() gives: 00001.txt, ..., 123456.txt


def _to_dir(stream: Iterable[Piece], d: Path) -> tuple[int, int]:
    from tokcli.errors import InputError, UsageError

    if not d.is_dir():
        raise InputError(f"--out-dir {d}: not a directory; create it first")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".tokcli-chunks.", dir=d))
    except OSError as e:
        raise InputError(f"--out-dir {d}: cannot write in it: {e.strerror}") from None
    try:
        n, tokens = 0, 0
        try:
            for n, p in enumerate(stream, 1):  # noqa: B007
                tokens += p.tokens
                with open(tmp / f"{n:05d}.txt", "wb") as f:
                    f.write(p.text.encode("utf-8"))
                    f.flush()
                    os.fsync(f.fileno())
        except OSError as e:
            raise InputError(f"--out-dir {d}: cannot write the pieces: {e.strerror}") from None
        new = sorted(os.listdir(tmp))
        # what the new set would replace, and what an earlier run left, must be plain files
        old = [name for name in os.listdir(d) if PIECE.fullmatch(name)]
        for name in sorted(set(new) | set(old)):
            try:
                st = os.lstat(d / name)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(st.st_mode):
                raise UsageError(
                    f"--out-dir {d}: {name} is not a regular file, so not a piece tokcli wrote; "
                    "move it away or choose another directory"
                )
        for name in new:
            os.replace(tmp / name, d / name)
        for name in sorted(set(old) - set(new)):
            os.unlink(d / name)
    except OSError as e:
        raise InputError(f"--out-dir {d}: cannot move the pieces in: {e.strerror}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return n, tokens


def truncated(t: Truncator, parts: Iterable[str]) -> None:
    """The kept text on stdout as it comes; whether anything was cut on stderr."""
    last = ""
    for part in parts:
        sys.stdout.write(part)
        last = part or last
    sys.stdout.flush()
    finish_line(last)
    end = "last" if t.from_end else "first"
    if t.cut:
        of = f" of {t.total:,}" if t.total is not None else ""
        info(f"truncated: kept the {end} {t.kept:,}{of} tokens")
    else:
        info(f"not truncated: {t.kept:,} tokens, within {t.n:,}")
