"""Finding the files of command-line inputs, the same way for every command that reads files.

    a file       read as given: an explicit file is always read (hidden, ignored or not)
    -            standard input
    a stream     a FIFO, a character device, /dev/stdin, a process substitution <(cmd): read as a stream
    a directory  walked: regular files only, sorted; hidden files and directories (.name) are skipped
                 unless `hidden`; .gitignore rules honoured unless `no_ignore`; `exclude` globs applied;
                 symbolic links are not followed; binary files (a NUL byte in the first 8 KiB) skipped;
                 a subdirectory that cannot be listed is skipped with a warning
    a glob       expanded like a shell would (`**` crosses directories; a hidden name must be spelt with
                 its dot, as in a shell), then filtered like a walk. Symbolic links to directories are
                 followed, each directory at most once (by device and inode): a link loop ends
    a FIFO       read as a stream once a writer has connected; with no writer for TOKCLI_FIFO_WAIT seconds
                 (default 5) it is an error, never a wait without end

Walks and globs are iterative (no depth limit but the system's path length) and every file is read at most
once per run: the same file reached twice (named twice, through a link, a hard link) is counted once,
and where the names differ the second is reported as skipped.

.gitignore rules are matched with `pathspec` (git's wildmatch rules): every .gitignore from the top of
the repository (the nearest directory above holding .git) down to the file, and .git/info/exclude; a
deeper file's rules override a shallower one's, and nothing inside an ignored directory comes back.
git itself is never run, so a repository's configuration (core.fsmonitor, hooks) cannot run code.
Not read: the user's global excludes file (core.excludesFile), which only git's config names. The rules
are in tokcli.files.ignore; opening an input (and waiting on a FIFO) in tokcli.files.opening.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tokcli.errors import InputError, shown

from .ignore import Rules

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
        """Its name in messages, tables and JSON: '<stdin>', else the path with a newline, a control
        character or a byte that is not UTF-8 escaped (`a\\nb.txt`, `c\\xff.txt`): one line, valid UTF-8."""
        return "<stdin>" if self.is_stdin else shown(self.path)

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
            raise InputError(f"{shown(path)}: a symbolic link to a missing file") from None
        raise InputError(f"{shown(path)}: no such file or directory") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InputError(f"{shown(path)}: a loop of symbolic links; point the link at a real file") from None
        raise InputError.from_os(e, path) from None
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
        return "stream"
    raise InputError(
        f"{shown(path)}: not a regular file, directory or stream (a socket or block device); give a text file"
    )


def expand(paths: Sequence[str], options: WalkOptions = WalkOptions()) -> Walk:
    """The inputs `paths` stand for (see the module docstring), in order, each file once (by device and
    inode: the same file by another name is reported in `skipped`)."""
    w = Walk()
    seen: dict[tuple[int, int] | str, str] = {}
    told: set[str] = set()  # the other names already reported

    def add(f: Source) -> None:
        if f.stream:
            w.found.append(f)
            return
        try:
            st = os.stat(f.path)
            key: tuple[int, int] | str = (st.st_dev, st.st_ino)
        except OSError:  # reported when it is read
            key = os.path.abspath(f.path)
        first = seen.get(key)
        if first is None:
            seen[key] = f.path
            w.found.append(f)
        elif os.path.abspath(first) != os.path.abspath(f.path) and os.path.abspath(f.path) not in told:
            told.add(os.path.abspath(f.path))
            w.skipped.append((shown(f.path), f"the same file as {shown(first)}; read once"))

    for p in paths:
        if p == "-":
            add(Source("-", stream=True))
        elif has_glob(p) and not os.path.lexists(p):
            matches = _glob(p, options, w)
            if not matches:
                raise InputError(
                    f"{shown(p)}: no files match (quote a glob so tokcli expands it; `**` crosses directories)"
                )
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


def _listing(directory: str, report: Walk | None, top: bool) -> list[os.DirEntry[str]] | None:
    """The entries of `directory`, sorted by name; None where it cannot be listed (an error for the
    directory named on the command line, a warning for one found inside a walk)."""
    try:
        with os.scandir(directory) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as e:
        if top:
            raise InputError.from_os(e, directory, "list the directory") from None
        if report is not None:
            report.skipped.append((shown(_clean(directory)), f"cannot list the directory ({e.strerror})"))
        return None


def walk_dir(directory: str, options: WalkOptions = WalkOptions(), report: Walk | None = None) -> list[str]:
    """The text files under `directory` (paths joined to it), sorted, as `expand` walks them. Iterative:
    a tree of any depth; symbolic links are not followed."""
    rules = _rules(Path(directory), options)
    out: list[str] = []
    stack = [directory]
    top = True
    while stack:
        dirpath = stack.pop()
        entries = _listing(dirpath, report, top)
        top = False
        if entries is None:
            continue
        subdirs = []
        for entry in entries:
            full = os.path.join(dirpath, entry.name)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if entry.name != ".git" and rules.keep(full, is_dir=True) and not _count_cache(full):
                    subdirs.append(full)
                continue
            if not is_file or not rules.keep(full, is_dir=False):
                continue  # symbolic links, FIFOs, sockets, devices: only named ones are read
            if is_binary_file(full):
                if report is not None:
                    report.skipped.append((shown(_clean(full)), "binary file (a NUL byte in its first 8 KiB)"))
                continue
            out.append(_clean(full))
        stack.extend(reversed(subdirs))
    return sorted(out)


def _matcher(parts: Sequence[str], hidden: bool) -> Any:
    """`step(states, name, is_dir) -> states`: the glob `parts` matched one name at a time (states: the
    indexes of the parts still to match, `**` matching any number of directories)."""
    n = len(parts)

    def close(states: set[int]) -> frozenset[int]:
        out = set(states)
        for i in sorted(states):
            j = i
            while j < n and parts[j] == "**":
                j += 1
                out.add(j)
        return frozenset(out)

    def step(states: frozenset[int], name: str) -> frozenset[int]:
        nxt: set[int] = set()
        dot = name.startswith(".")
        for i in states:
            if i >= n:
                continue
            part = parts[i]
            if part == "**":
                if hidden or not dot:
                    nxt.add(i)
            elif (not dot or hidden or part.startswith(".") or not has_glob(part)) and fnmatch.fnmatchcase(name, part):
                nxt.add(i + 1)
        return close(nxt)

    return close({0}), step


def _count_cache(directory: str) -> bool:
    """Whether `directory` is a tokcli count cache (`--cache DIR` inside the tree walked: not its text)."""
    if not os.path.isfile(os.path.join(directory, "CACHEDIR.TAG")):  # one stat for most directories
        return False
    from .countcache import is_ours

    return is_ours(directory)


def _glob(pattern: str, options: WalkOptions, report: Walk) -> list[str]:
    """The files `pattern` matches, found by an iterative walk from its literal start: symbolic links to
    directories are followed, each directory at most once (by device and inode), so a loop of links ends."""
    parts = Path(pattern).parts
    literal = next((i for i, part in enumerate(parts) if has_glob(part)), len(parts))
    base = str(Path(*parts[:literal])) if literal else "."
    rest = [p for p in parts[literal:]]
    start, step = _matcher(rest, options.hidden)
    # one per glob (.gitignore read once); hidden names were left to the matcher: a wildcard matches one
    # only with --hidden, a part spelt with its dot (or a literal part) always
    rules = _rules(Path(base), replace(options, hidden=True))
    found = []
    try:
        st = os.stat(base)
    except OSError:
        return []
    visited = {(st.st_dev, st.st_ino)}
    stack: list[tuple[str, frozenset[int]]] = [(base, start)]
    while stack:
        dirpath, states = stack.pop()
        entries = _listing(dirpath, report, dirpath is base)  # the glob's own start: an error
        if entries is None:
            continue
        subdirs = []
        for entry in entries:
            nxt = step(states, entry.name)
            if not nxt:
                continue
            full = entry.name if dirpath == "." and not pattern.startswith("./") else os.path.join(dirpath, entry.name)
            try:
                link = entry.is_symlink()
                est = entry.stat()  # follows links
            except OSError:
                continue
            if stat.S_ISDIR(est.st_mode):
                if entry.name == ".git" or nxt == {len(rest)} or (est.st_dev, est.st_ino) in visited:
                    continue
                if _count_cache(full):
                    continue
                visited.add((est.st_dev, est.st_ino))
                subdirs.append((full, nxt))
            elif len(rest) in nxt and not link and stat.S_ISREG(est.st_mode):
                found.append(full)
        stack.extend(reversed(subdirs))
    out = []
    for f in sorted(found):
        if not rules.keep(f, is_dir=False) or any(not rules.keep(str(a), is_dir=True) for a in _dirs_of(f)):
            continue
        if is_binary_file(f):
            report.skipped.append((shown(_clean(f)), "binary file (a NUL byte in its first 8 KiB)"))
            continue
        out.append(_clean(f))
    return out


def _dirs_of(f: str) -> list[Path]:
    """The directories between the current one and a relative path's file (for ignored directories)."""
    parts = Path(f).parts[:-1]
    return [Path(*parts[: i + 1]) for i in range(len(parts)) if parts[i] not in (".", "..")]


def _clean(p: str) -> str:
    return p[2:] if p.startswith("./") else p


def _rules(start: Path, options: WalkOptions) -> Rules:
    """The hidden, --exclude and .gitignore rules of a walk from `start` (see tokcli.files.ignore)."""
    return Rules(start, hidden=options.hidden, no_ignore=options.no_ignore, exclude=options.exclude)


def is_binary_file(path: str | Path) -> bool:
    try:
        with open(path, "rb") as f:
            return b"\x00" in f.read(SNIFF_BYTES)
    except OSError:
        return False  # reported when it is read


def keeper(start: str, options: WalkOptions = WalkOptions()) -> Any:
    """A test `keep(path) -> bool`: whether a walk of directory `start` would keep the file at `path` (under
    `start`, whether it exists or not): the hidden, --exclude and .gitignore rules applied to the file and to
    each directory on its way from `start`. For files that are no longer on disk (`tokcli diff` walks a
    commit's tree as a walk of the working tree would)."""
    rules = _rules(Path(start), options)

    def keep(path: str) -> bool:
        rel = Path(os.path.relpath(os.path.abspath(path), rules.start))
        dirs = [rules.start.joinpath(*rel.parts[: i + 1]) for i in range(len(rel.parts) - 1)]
        return all(rules.keep(str(d), is_dir=True) for d in dirs) and rules.keep(path, is_dir=False)

    return keep
