"""Finding the files of command-line inputs, the same way for every command that reads files.

    a file       read as given: an explicit file is always read (hidden, ignored or not)
    -            standard input
    a stream     a FIFO, a character device, /dev/stdin, a process substitution <(cmd): read as a stream
    a directory  walked: regular files only, sorted; hidden files and directories (.name) are skipped
                 unless `hidden`; .gitignore rules honoured unless `no_ignore`; `exclude` globs applied;
                 symbolic links are not followed; binary files (a NUL byte in the first 8 KiB) skipped
    a glob       expanded like a shell would (`**` crosses directories; a hidden name must be spelt with
                 its dot, as in a shell), then filtered like a walk

.gitignore rules are matched with `pathspec` (git's wildmatch rules): every .gitignore from the top of
the repository (the nearest directory above holding .git) down to the file, and .git/info/exclude; a
deeper file's rules override a shallower one's, and nothing inside an ignored directory comes back.
git itself is never run, so a repository's configuration (core.fsmonitor, hooks) cannot run code.
Not read: the user's global excludes file (core.excludesFile), which only git's config names.
"""

from __future__ import annotations

import errno
import glob as globmod
import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

from tokcli.errors import InputError

GLOB_CHARS = "*?["
SNIFF_BYTES = 8192  # a NUL byte in the first 8 KiB marks a binary file (as git and grep decide)


@dataclass(frozen=True)
class WalkOptions:
    """How directories and globs are walked (the --no-ignore, --hidden and --exclude options)."""

    no_ignore: bool = False  # True: .gitignore rules are not applied
    hidden: bool = False  # True: hidden files and directories are walked too
    exclude: tuple[str, ...] = ()  # gitignore-style globs of files and directories to leave out


@dataclass(frozen=True)
class Source:
    """One input, the same from the command line to the process that reads it: a file path (on Dask workers
    also an fsspec URL), '-' for standard input, a stream (a FIFO, a character device, <(cmd)), or bytes
    already in memory (`data`: a file as a git commit holds it). Read with tokcli.files.text.iter_text."""

    path: str  # the path, '-', or for `data` the name it goes by in messages
    walked: bool = False  # found by walking a directory or a glob: left out, with a warning, when unreadable
    stream: bool = False  # read once, in order (stdin, a FIFO, /dev/stdin, <(cmd))
    size: int | None = None  # its size in bytes, where known (the workers plan tasks by it)
    data: bytes | None = None  # its bytes, when they are in memory rather than in a file

    @property
    def is_stdin(self) -> bool:
        return self.path == "-" and self.data is None

    @property
    def label(self) -> str:
        return "<stdin>" if self.is_stdin else self.path

    def nbytes(self) -> int:
        """Its size in bytes (OSError for a file that cannot be looked at)."""
        if self.size is not None:
            return self.size
        if self.data is not None:
            return len(self.data)
        return os.stat(self.path).st_size


@dataclass
class Walk:
    """What a walk found, and what it left out and why (for warnings and JSON reports)."""

    found: list[Source] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def has_glob(p: str) -> bool:
    return any(c in p for c in GLOB_CHARS)


def classify(path: str) -> str:
    """'file', 'dir', 'stream' (FIFO, character device, socket-less streams) or raise InputError."""
    try:
        st = os.stat(path)  # follows symlinks: /dev/stdin and <(cmd) are links to pipes
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError(f"{path}: a symbolic link to a missing file") from None
        raise InputError(f"{path}: no such file or directory") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InputError(f"{path}: a loop of symbolic links; point the link at a real file") from None
        if e.errno in (errno.EACCES, errno.EPERM):
            raise InputError(f"{path}: permission denied") from None
        raise InputError(f"{path}: cannot be read ({e.strerror})") from None
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
        return "stream"
    raise InputError(f"{path}: not a regular file, directory or stream (a socket or block device); give a text file")


def expand(paths: Sequence[str], options: WalkOptions = WalkOptions()) -> Walk:
    """The inputs `paths` stand for (see the module docstring), in order, each once."""
    w = Walk()
    seen: set[str] = set()

    def add(f: Source) -> None:
        key = f.path if f.path == "-" else os.path.abspath(f.path)
        if f.stream or key not in seen:
            seen.add(key)
            w.found.append(f)

    for p in paths:
        if p == "-":
            add(Source("-", stream=True))
        elif has_glob(p) and not os.path.lexists(p):
            matches = _glob(p, options, w)
            if not matches:
                raise InputError(f"{p}: no files match (quote a glob so tokcli expands it; `**` crosses directories)")
            for m in matches:
                add(Source(m, walked=True))
        else:
            kind = classify(p)
            if kind == "dir":
                for f in walk_dir(p, options, w):
                    add(Source(f, walked=True))
            else:
                add(Source(p, stream=kind == "stream"))
    return w


def walk_dir(directory: str, options: WalkOptions = WalkOptions(), report: Walk | None = None) -> list[str]:
    """The text files under `directory` (paths joined to it), sorted, as `expand` walks them."""
    rules = _Rules(Path(directory), options)
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(directory):
        keep = []
        for d in sorted(dirnames):
            full = os.path.join(dirpath, d)
            if d == ".git" or os.path.islink(full) or not rules.keep(full, is_dir=True) or _count_cache(full):
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if not rules.keep(full, is_dir=False):
                continue
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue  # symbolic links, FIFOs, sockets, devices: only named ones are read
            if is_binary_file(full):
                if report is not None:
                    report.skipped.append((_clean(full), "binary file (a NUL byte in its first 8 KiB)"))
                continue
            out.append(_clean(full))
    return sorted(out)


def _count_cache(directory: str) -> bool:
    """Whether `directory` is a tokcli count cache (`--cache DIR` inside the tree walked: not its text)."""
    if not os.path.isfile(os.path.join(directory, "CACHEDIR.TAG")):  # one stat for most directories
        return False
    from .countcache import is_ours

    return is_ours(directory)


def _glob(pattern: str, options: WalkOptions, report: Walk) -> list[str]:
    hidden_named = any(part.startswith(".") and part not in (".", "..") for part in Path(pattern).parts)
    if sys.version_info >= (3, 11):
        found = globmod.glob(pattern, recursive=True, include_hidden=options.hidden or hidden_named)
    else:  # Python 3.10's glob never expands a wildcard to a hidden name
        found = globmod.glob(pattern, recursive=True)
    parts = Path(pattern).parts
    literal = next((i for i, part in enumerate(parts) if has_glob(part)), len(parts))
    rules = _Rules(Path(*parts[:literal]) if literal else Path("."), options)  # one per glob: .gitignore read once
    out = []
    for f in sorted(found):
        if ".git" in Path(f).parts or os.path.islink(f) or not os.path.isfile(f):
            continue
        if not rules.keep(f, is_dir=False) or any(not rules.keep(str(a), is_dir=True) for a in _dirs_of(f)):
            continue
        if is_binary_file(f):
            report.skipped.append((_clean(f), "binary file (a NUL byte in its first 8 KiB)"))
            continue
        out.append(_clean(f))
    return out


def _dirs_of(f: str) -> list[Path]:
    """The directories between the current one and a relative path's file (for ignored directories)."""
    parts = Path(f).parts[:-1]
    return [Path(*parts[: i + 1]) for i in range(len(parts)) if parts[i] not in (".", "..")]


def _clean(p: str) -> str:
    return p[2:] if p.startswith("./") else p


def is_binary_file(path: str | Path) -> bool:
    try:
        with open(path, "rb") as f:
            return b"\x00" in f.read(SNIFF_BYTES)
    except OSError:
        return False  # reported when it is read


def repository_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding .git (a directory, or a file for worktrees)."""
    p = start.resolve()
    for d in (p, *p.parents):
        if (d / ".git").exists():
            return d
    return None


class _Rules:
    """Hidden, --exclude and .gitignore rules for paths under one walk (each .gitignore read once)."""

    def __init__(self, start: Path, options: WalkOptions) -> None:
        self.options = options
        self.start = start.resolve()
        self.root = repository_root(self.start) or self.start
        self.specs: dict[Path, Any] = {}
        self.chains: dict[str, list[tuple[Path, Any]]] = {}  # a directory -> its chain of rules (_chain)

    @cached_property
    def exclude(self) -> Any:
        import pathspec

        return pathspec.GitIgnoreSpec.from_lines(self.options.exclude) if self.options.exclude else None

    def keep(self, path: str, *, is_dir: bool) -> bool:
        name = os.path.basename(path)
        if name.startswith(".") and not self.options.hidden and name not in (".", ".."):
            return False
        absolute = os.path.abspath(path)
        if self.exclude is not None:
            rel = os.path.relpath(absolute, self.start).replace(os.sep, "/")
            if self.exclude.match_file(rel + "/" if is_dir else rel) or self.exclude.match_file(
                name + "/" if is_dir else name
            ):
                return False
        return self.options.no_ignore or not self.ignored(absolute, is_dir)

    def ignored(self, path: str, is_dir: bool) -> bool:
        """Whether the .gitignore files (and .git/info/exclude) from the root down to `path`'s directory
        ignore the absolute `path`: the last rule that matches decides."""
        parent = os.path.dirname(path)
        chain = self.chains.get(parent)
        if chain is None:
            chain = self.chains[parent] = self._chain(Path(parent))
        verdict = False
        for base, spec in chain:  # only the directories with rules: none in most trees
            sub = Path(path).relative_to(base).as_posix() + ("/" if is_dir else "")
            result = spec.check_file(sub)
            if result.include is not None:
                verdict = result.include
        return verdict

    def _chain(self, directory: Path) -> list[tuple[Path, Any]]:
        """The directories from the root down to `directory` that have rules, with their rules."""
        try:
            rel = directory.relative_to(self.root)
        except ValueError:
            return []
        chain = []
        base = self.root
        for part in ("", *rel.parts):
            base = base / part if part else base
            spec = self._spec(base)
            if spec is not None:
                chain.append((base, spec))
        return chain

    def _spec(self, directory: Path) -> Any:
        if directory not in self.specs:
            lines: list[str] = []
            if directory == self.root:
                lines += _read_lines(directory / ".git" / "info" / "exclude")
            lines += _read_lines(directory / ".gitignore")
            if lines:
                import pathspec

                self.specs[directory] = pathspec.GitIgnoreSpec.from_lines(lines)
            else:
                self.specs[directory] = None
        return self.specs[directory]


def _read_lines(path: Path) -> list[str]:
    try:
        if not path.is_file():
            return []
        with open(path, "rb") as f:
            data = f.read(1 << 20)  # a .gitignore larger than 1 MiB is read in part
        return data.decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def keeper(start: str, options: WalkOptions = WalkOptions()) -> Any:
    """A test `keep(path) -> bool`: whether a walk of directory `start` would keep the file at `path` (under
    `start`, whether it exists or not): the hidden, --exclude and .gitignore rules applied to the file and to
    each directory on its way from `start`. For files that are no longer on disk (`tokcli diff` walks a
    commit's tree as a walk of the working tree would)."""
    rules = _Rules(Path(start), options)

    def keep(path: str) -> bool:
        rel = Path(os.path.relpath(os.path.abspath(path), rules.start))
        dirs = [rules.start.joinpath(*rel.parts[: i + 1]) for i in range(len(rel.parts) - 1)]
        return all(rules.keep(str(d), is_dir=True) for d in dirs) and rules.keep(path, is_dir=False)

    return keep


def open_file(path: str, *, directory: str = "") -> BinaryIO:
    """Open a named input to read its bytes; a missing, unreadable or directory path is a one-line error
    (`directory`: what to give instead, said when the path is a directory)."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or directory") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory" + (f"; give {directory}" if directory else "")) from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
