"""The hostile-repository pre-checks tokcli diff makes before dulwich opens a repository (`vet_control_dir`).

A repository is data tokcli did not write, so the files dulwich would read are checked first: .git (a
directory, or a `gitdir:` file), HEAD, config, packed-refs, shallow, the alternates and every loose ref must be
regular files (a FIFO would block dulwich's read forever) within a size limit (dulwich reads them whole), HEAD
and each loose ref must hold an object id or `ref: refs/...`, and refs/ may hold at most MAX_REFS entries.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from tokcli.errors import InputError

# what a repository may hold before tokcli refuses it (see the module docstring)
REF_BYTES = 4096  # HEAD, a loose ref, the .git file of a worktree
CONTROL_FILES = {"config": 1 << 20, "packed-refs": 64 << 20, "shallow": 16 << 20, "commondir": REF_BYTES,
                 "objects/info/alternates": 64 << 10, "info/grafts": 16 << 20}  # fmt: skip
MAX_REFS = 100_000  # entries under refs/
MAX_REF_DEPTH = 32  # directories under refs/
_REFTABLE_STUB = b"this repository uses the reftable format\n"  # refs/heads of a reftable repository
_REF_VALUE = re.compile(rb"(?:[0-9a-f]{40}|[0-9a-f]{64}|ref: refs/[^\0\s]+)\n?")


def _small_file(path: Path, limit: int, what: str) -> bytes | None:
    """The bytes of `path` if it is there: a regular file of at most `limit` bytes, read without blocking."""
    from tokcli.files.capped import FileTooLarge, NotRegularFile, UnreadableFile, read_capped

    if not os.path.lexists(path):
        return None
    try:
        return read_capped(path, limit, what=what)
    except NotRegularFile:
        raise InputError(f"{path}: not a regular file (a FIFO, a device or a directory); a repository's "
                         f"{what} must be a file, so tokcli diff does not read this repository") from None  # fmt: skip
    except FileTooLarge as e:
        raise InputError(f"{path}: {e.size:,} bytes, more than the {limit:,} tokcli reads as a repository's "
                         f"{what}; is the repository damaged?") from None  # fmt: skip
    except UnreadableFile as e:
        raise InputError(f"{path}: cannot read the repository's {what} ({e.reason})") from None


def vet_control_dir(root: Path) -> Path:
    """Check what dulwich would read of the repository at `root` (see the module docstring); its control
    directory (.git, or where a `gitdir:` file points), or an InputError naming the file at fault."""
    dotgit = root / ".git"
    control = dotgit
    if not dotgit.is_dir():
        data = _small_file(dotgit, REF_BYTES, ".git file")
        text = (data or b"").decode("utf-8", "replace").strip()
        if not text.startswith("gitdir: "):
            raise InputError(f"{dotgit}: neither a directory nor a `gitdir: PATH` file; not a repository tokcli reads")
        control = (root / text[len("gitdir: ") :]).resolve()
    dirs = [control]
    common = _small_file(control / "commondir", REF_BYTES, "commondir file")
    if common is not None:
        dirs.append((control / common.decode("utf-8", "replace").strip()).resolve())
    head = _small_file(control / "HEAD", REF_BYTES, "HEAD")
    if head is not None and not _REF_VALUE.fullmatch(head):
        raise InputError(f"{control / 'HEAD'}: holds {head[:40]!r}, neither an object id nor `ref: refs/...`; "
                         "the repository is damaged")  # fmt: skip
    for d in dirs:
        for name, limit in CONTROL_FILES.items():
            _small_file(d / name, limit, name)
        _vet_refs(d / "refs")
    return control


def _vet_refs(refs: Path) -> None:
    """Every loose ref under `refs` (a directory or absent): a small regular file holding an id or a symref."""
    if not os.path.lexists(refs):
        return
    if not refs.is_dir():
        raise InputError(f"{refs}: not a directory; the repository is damaged")
    seen = 0
    stack = [(refs, 0)]
    while stack:
        d, depth = stack.pop()
        if depth > MAX_REF_DEPTH:
            raise InputError(f"{d}: refs nested more than {MAX_REF_DEPTH} directories deep; the repository is damaged")
        try:
            entries = list(os.scandir(d))
        except OSError as err:
            raise InputError(f"{d}: cannot list the repository's refs ({err.strerror})") from None
        seen += len(entries)
        if seen > MAX_REFS:
            raise InputError(f"{refs}: more than {MAX_REFS:,} refs; tokcli diff does not read a repository this large")
        for entry in entries:
            try:
                mode = os.stat(entry.path).st_mode
            except OSError:  # a dangling link: dulwich skips what it cannot read as a ref
                mode = 0
            if stat.S_ISDIR(mode):
                stack.append((Path(entry.path), depth + 1))
                continue
            value = _small_file(Path(entry.path), REF_BYTES, "ref")
            if (
                value is not None
                and not _REF_VALUE.fullmatch(value)
                and not entry.name.endswith(".lock")
                and value != _REFTABLE_STUB
            ):
                raise InputError(f"{entry.path}: holds {value[:40]!r}, neither an object id nor `ref: refs/...`; "
                                 "the repository is damaged")  # fmt: skip
