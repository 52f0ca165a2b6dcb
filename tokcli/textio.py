"""Reading text inputs (files, directories, stdin) strictly as UTF-8, in chunks; writing outputs atomically."""

from __future__ import annotations

import codecs
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, UsageError

CHUNK_BYTES = 1 << 20  # 1 MiB read at a time
SNIFF_BYTES = 8192  # a NUL byte in the first 8 KiB marks a binary file (as git and grep decide)
SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", "venv", ".tox", ".mypy_cache"}


@dataclass(frozen=True)
class Source:
    """One text input: a file path, or '-' for standard input."""

    path: str

    @property
    def is_stdin(self) -> bool:
        return self.path == "-"

    @property
    def label(self) -> str:
        return "<stdin>" if self.is_stdin else self.path


def is_binary_file(path: Path) -> bool:
    with open(path, "rb") as f:
        return b"\x00" in f.read(SNIFF_BYTES)


def expand_inputs(paths: Iterable[str]) -> list[Source]:
    """Files as given, directories walked recursively (text files only, sorted), '-' for stdin."""
    sources: list[Source] = []
    for p in paths:
        if p == "-":
            sources.append(Source("-"))
            continue
        path = Path(p)
        if path.is_dir():
            found = [Source(str(f)) for f in walk_text_files(path)]
            if not found:
                raise InputError(f"{p}: directory has no text files; give a directory with UTF-8 text")
            sources.extend(found)
        elif path.is_file():
            sources.append(Source(str(path)))
        elif path.exists():
            raise InputError(f"{p}: not a regular file or directory")
        else:
            raise InputError(f"{p}: no such file or directory")
    return sources


def walk_text_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            f = Path(dirpath) / name
            if f.is_file() and not name.startswith(".") and not is_binary_file(f):
                yield f


def _open_binary(source: Source):
    if source.is_stdin:
        return sys.stdin.buffer
    try:
        return open(source.path, "rb")
    except FileNotFoundError:
        raise InputError(f"{source.path}: no such file or directory") from None
    except IsADirectoryError:
        raise InputError(f"{source.path}: is a directory") from None
    except PermissionError:
        raise InputError(f"{source.path}: permission denied") from None


def iter_text(source: Source, *, errors: str = "strict", chunk_bytes: int = CHUNK_BYTES) -> Iterator[str]:
    """Yield the text of `source` in chunks of about `chunk_bytes` bytes, decoded as UTF-8.

    errors='strict' raises InputError naming the file and the byte offset of the first bad byte;
    'replace' substitutes U+FFFD. A NUL byte in the first 8 KiB is reported as a binary file.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors=errors)
    f = _open_binary(source)
    offset = 0
    try:
        while True:
            block = f.read(chunk_bytes)
            if offset == 0 and errors == "strict" and b"\x00" in block[:SNIFF_BYTES]:
                nul = block.index(b"\x00")
                raise InputError(
                    f"{source.label}: looks like a binary file (NUL byte at offset {nul}); "
                    "give a text file, or --errors replace to read it anyway"
                )
            final = not block
            try:
                text = decoder.decode(block, final=final)
            except UnicodeDecodeError as e:
                pending = len(decoder.getstate()[0]) if not final else 0
                raise InputError(
                    f"{source.label}: not valid UTF-8 at byte {offset - pending + e.start}; "
                    "convert it to UTF-8, or pass --errors replace to go on"
                ) from None
            offset += len(block)
            if text:
                yield text
            if final:
                return
    finally:
        if not source.is_stdin:
            f.close()


def read_text(source: Source | str, *, errors: str = "strict") -> str:
    """The whole text of one input."""
    if isinstance(source, str):
        source = Source(source)
    return "".join(iter_text(source, errors=errors))


def split_holdout(text: str, fraction: float) -> tuple[str, str]:
    """(first part, last `fraction` of the characters): the train/validation split nanoGPT makes."""
    n = int(len(text) * (1 - fraction))
    return text[:n], text[n:]


def training_texts(sources: Sequence[Source], *, holdout: float = 0.0, errors: str = "strict") -> Iterator[str]:
    """The text of each source as a stream of chunks, or with `holdout` all but its last fraction (what
    `tokcli lm train` and `compare --train` hold out)."""
    if not 0 <= holdout < 1:
        raise UsageError(f"--holdout {holdout} must be in [0, 1)")
    return _training_texts(sources, holdout, errors)


def _training_texts(sources: Sequence[Source], holdout: float, errors: str) -> Iterator[str]:
    for s in sources:
        if holdout:
            yield split_holdout(read_text(s, errors=errors), holdout)[0]
        else:
            yield from iter_text(s, errors=errors)


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`.

    An interrupted write never leaves a partial file at `path`, and an existing file survives until the
    new one is complete.
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"{path}: directory {directory} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the mode open() would
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
