"""What changed between a commit and the working tree, read with dulwich (a pure-Python git library).

git itself is never run, and dulwich is used only to read objects and refs: no hook, core.fsmonitor,
filter (clean, smudge, textconv), credential helper or any other command a repository's configuration
names can run. Stored blobs are compared as stored (no smudge filter, no line-ending conversion), working
files as they are on disk.

    tree_diff(["origin/main", "prompts/"])   # REF's tree against the working tree, under prompts/

The files compared are those a walk of PATHS finds (tokcli.files.walk: .gitignore, --hidden, --exclude; a file
named is always compared), in the working tree and, by the same rules, in REF's tree; untracked files a
walk finds count as added. Renames are found by dulwich's rename detection (git's 60% similarity).

The repository, its refs and its objects are read by tokcli.budget.gitrepo (dulwich, git never run).

Not compared, and reported: binary files (a NUL byte in the first 8 KiB, on either side), symbolic links,
submodules and nested repositories, paths that are not UTF-8; a file or directory named on the command
line that is one of these is an error. A stored blob larger than TOKCLI_MAX_BLOB_BYTES (64 MiB) is an
error before it is read, and so is a working file that changed and is larger.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from tokcli.errors import InputError
from tokcli.files.walk import SNIFF_BYTES, WalkOptions, expand, has_glob, keeper

from .gitchanges import Change, Version, with_renames
from .gitrepo import (
    Base,
    git_hash,
    missing_object,
    open_repository,
    read_blob,
    read_working,
    resolve_base,
    split_args,
    working_head,
)
from .gittree import tree_entries

__all__ = ["Base", "Change", "TreeDiff", "Version", "open_repository", "tree_diff"]

_LINK, _GITLINK = 0o120000, 0o160000
_SUBMODULE = "a submodule or nested repository: not compared (run tokcli diff inside it)"


@dataclass
class TreeDiff:
    root: Path  # the top of the working tree
    base: Base
    changes: list[Change]
    unchanged: list[str] = field(default_factory=list)  # paths of files the same on both sides
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why it was not compared)
    uncounted: list[str] = field(default_factory=list)  # changed files in `skipped` that could not be counted


# -- the two sides ------------------------------------------------------------------------------------


def _norm(p: str | Path) -> Path:
    """An absolute path with the links of its directories resolved (not a link it is itself)."""
    full = Path(os.path.abspath(p))
    return full if full == Path(full.anchor) else full.parent.resolve() / full.name


@dataclass
class _Selection:
    """The files PATHS select on both sides: repository paths, and whether each was named."""

    root: Path
    paths: Sequence[str]
    options: WalkOptions
    new: dict[str, tuple[Path, bool]] = field(default_factory=dict)  # path -> (file, walked)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    _tests: list[Callable[[Path], bool | None]] = field(default_factory=list)  # None: not selected
    _unmatched: dict[int, str] = field(default_factory=dict)  # test -> the error if REF has nothing there either

    def rel(self, p: str | Path) -> str:
        full = _norm(p)
        try:
            return full.relative_to(self.root).as_posix()
        except ValueError:
            raise InputError(f"{p}: outside the repository at {self.root}; give paths inside it") from None

    def build(self) -> None:
        for p in self.paths or [str(self.root)]:
            glob = has_glob(p) and not os.path.lexists(p)
            if not glob:
                self.rel(p)  # outside the repository: an error
            if os.path.islink(p):
                raise InputError(f"{p}: a symbolic link; tokcli diff compares regular files (git stores the link)")
            if not glob and os.path.isdir(p) and p != str(self.root) and (Path(p) / ".git").exists():
                raise InputError(f"{p}: {_SUBMODULE}")
            if glob or os.path.exists(p):
                try:
                    walk = expand([p], self.options)
                except InputError as e:  # a glob that matches nothing here: REF may have files it matches
                    if not glob:
                        raise
                    self._unmatched[len(self._tests)] = str(e)
                    self._tests.append(self._test(p, glob))
                    continue
                self.skipped += [(self.rel(s), why) for s, why in walk.skipped]
                for f in walk.found:
                    if f.stream:
                        raise InputError(f"{f.path}: not a regular file; tokcli diff compares files in a repository")
                    self.new.setdefault(self.rel(f.path), (_norm(f.path), f.walked))
            if not glob and not os.path.exists(p):
                self._unmatched[len(self._tests)] = f"{p}: no such file or directory, here or in REF"
            self._tests.append(self._test(p, glob))

    def _test(self, p: str, glob: bool) -> Callable[[Path], bool | None]:
        """For REF's files: None when `p` does not select the file, else whether the file was named."""
        if glob:
            import pathspec

            parts = Path(p).parts
            literal = next(i for i, part in enumerate(parts) if has_glob(part))
            start = _norm(Path(*parts[:literal]) if literal else Path("."))
            spec = pathspec.GitIgnoreSpec.from_lines(["/" + Path(*parts[literal:]).as_posix()])
            keep = keeper(str(start), self.options)
            hidden_ok = self.options.hidden or any(part.startswith(".") for part in parts[literal:])

            def by_glob(f: Path) -> bool | None:
                try:
                    rel = f.relative_to(start)
                except ValueError:
                    return None
                if not spec.match_file(rel.as_posix()):
                    return None
                if not hidden_ok and any(part.startswith(".") for part in rel.parts):
                    return None
                return False if keep(str(f)) else None

            return by_glob
        target = _norm(p)
        keep = keeper(str(target), self.options) if not os.path.isfile(p) else None

        def by_path(f: Path) -> bool | None:
            if f == target:
                return True
            if target not in f.parents:
                return None
            return False if keep is None or keep(str(f)) else None

        return by_path

    def selects(self, path: str) -> bool | None:
        """For a file of REF's tree: None when no PATH selects it, else whether it was named."""
        f = self.root / path
        verdicts = [t(f) for t in self._tests]
        for i, v in enumerate(verdicts):
            if v is not None:
                self._unmatched.pop(i, None)
        return None if all(v is None for v in verdicts) else any(v for v in verdicts)

    def check_found(self, ref: str) -> None:
        """After REF's files were selected: a PATH that matched nothing on either side is an error."""
        for error in self._unmatched.values():
            raise InputError(error.replace("REF", ref))


def _old_files(repo: Any, base: Base, sel: _Selection) -> dict[str, tuple[int, str, bool]]:
    """REF's files that PATHS select: path -> (mode, blob id, named); links and submodules are skipped."""
    ref = base.spec or base.how
    try:
        tree = repo[base.commit.encode("ascii")].tree
        entries = tree_entries(repo, tree, ref)
    except KeyError:
        raise missing_object(repo, base.commit, ref) from None
    old = {}
    for e in entries:
        try:
            path = e.path.decode("utf-8")
        except UnicodeDecodeError:
            sel.skipped.append(
                (e.path.decode("utf-8", "replace"), f"a path that is not UTF-8 (in {ref}): not compared")
            )
            continue
        named = sel.selects(path)
        if named is None:
            continue
        if e.mode in (_LINK, _GITLINK):
            kind = "a symbolic link" if e.mode == _LINK else _SUBMODULE
            if named:
                raise InputError(f"{path}: {kind} in {ref}; tokcli diff compares regular files")
            if e.mode == _LINK:
                kind += f" in {ref}: not compared"
            sel.skipped.append((path + ("/" if e.mode == _GITLINK else ""), kind))
            continue
        old[path] = (e.mode, e.sha.decode("ascii"), named)
    return old


def _submodule_of(root: Path, file: Path, cache: dict[Path, Path | None]) -> Path | None:
    """The nested repository (a directory below `root` holding .git) that `file` lies in, if any."""
    d = file.parent
    found = None
    chain = []
    while d != root and root in d.parents:
        if d in cache:
            found = found or cache[d]
            break
        chain.append(d)
        if found is None and (d / ".git").exists():
            found = d  # the innermost; an outer one, if any, is found through the cache or further up
        d = d.parent
    for c in chain:
        cache[c] = found if found is not None and (c == found or found in c.parents) else None
    return found


# -- the diff -----------------------------------------------------------------------------------------


def tree_diff(args: Sequence[str] = (), options: WalkOptions = WalkOptions(), *, start: Path | None = None) -> TreeDiff:
    """The changed files between REF (args[0] when it names a commit; else the default, see resolve_base)
    and the working tree, under the PATHS of `args`, with both versions of each."""
    repo = open_repository(start)
    from dulwich import errors as de
    from dulwich.refs import SymrefLoop

    corrupt = (zlib.error, de.ChecksumMismatch, de.WrongObjectException, de.ApplyDeltaError, de.FileFormatException,
               de.ObjectMissing, de.MissingCommitError)  # fmt: skip
    try:
        spec, paths = split_args(repo, args)
        base = resolve_base(repo, spec)
        root = Path(repo.path).resolve()
        sel = _Selection(root, paths, options)
        sel.build()
        old = _old_files(repo, base, sel)
        sel.check_found(base.spec or base.how)
        return _compare(repo, base, sel, old)
    except corrupt as e:
        raise InputError(f"{repo.path}: a damaged git object ({type(e).__name__}: {e}); run `git fsck`") from None
    except SymrefLoop:
        raise InputError(f"{repo.path}: its symbolic refs point at each other in a loop (HEAD -> ... -> the "
                         "same ref again); fix HEAD or the branch files under .git/refs") from None  # fmt: skip
    finally:
        repo.close()


def _compare(repo: Any, base: Base, sel: _Selection, old: dict[str, tuple[int, str, bool]]) -> TreeDiff:
    """The changes, each version a reader of its bytes: nothing is held here but paths and object ids (a
    REF's blob is read once to look for a NUL byte, then let go; it is read again when it is counted)."""
    ref = base.spec or base.how
    result = TreeDiff(sel.root, base, [], skipped=sel.skipped)
    gone: dict[str, tuple[int, Version]] = {}  # REF's versions of changed files
    came: dict[str, Version] = {}  # the working tree's
    submodules: dict[Path, Path | None] = {}
    reported: set[Path] = set()
    walked_out = {p for p, _ in sel.skipped}
    for path in sorted(set(old) | set(sel.new)):
        if path in sel.new:
            file, walked = sel.new[path]
            sub = _submodule_of(sel.root, file, submodules)
            if sub is not None:
                if not walked:
                    raise InputError(f"{path}: in {sub.relative_to(sel.root).as_posix()}/, {_SUBMODULE}")
                name = sub.relative_to(sel.root).as_posix() + "/"
                if sub not in reported and (name, _SUBMODULE) not in result.skipped:  # once, if REF has it too
                    reported.add(sub)
                    result.skipped.append((name, _SUBMODULE))
                continue
            sha = git_hash(repo, file)
            if path in old and sha == old[path][1]:
                result.unchanged.append(path)
                continue
            if b"\0" in working_head(path, file, SNIFF_BYTES):
                result.skipped.append((path, "binary file (a NUL byte in its first 8 KiB)"))
                result.uncounted.append(path)
                continue
            if path in old:
                mode, old_sha, _named = old[path]
                if b"\0" in read_blob(repo, path, old_sha, ref)[:SNIFF_BYTES]:
                    result.skipped.append((path, f"binary file in {ref}"))
                    result.uncounted.append(path)
                    continue
                gone[path] = (mode, _blob(repo, path, old_sha, ref))
            came[path] = Version(path, sha, partial(read_working, path, file), file)
        elif path in walked_out:  # on disk, but the walk left it out (binary): reported once, by the walk
            if _changed_on_disk(repo, sel.root / path, old[path][1]):
                result.uncounted.append(path)
            continue
        else:
            mode, sha, _named = old[path]
            if b"\0" in read_blob(repo, path, sha, ref)[:SNIFF_BYTES]:
                result.skipped.append((path, f"binary file in {ref}"))
                result.uncounted.append(path)
                continue
            gone[path] = (mode, _blob(repo, path, sha, ref))
    for path in walked_out - set(old):  # a binary file the walk found that REF does not have: added
        if os.path.isfile(sel.root / path) and not os.path.islink(sel.root / path):
            result.uncounted.append(path)
    result.changes = with_renames(gone, came)
    return result


def _blob(repo: Any, path: str, sha: str, ref: str) -> Version:
    return Version(path, sha, partial(read_blob, repo, path, sha, ref))


def _changed_on_disk(repo: Any, file: Path, sha: str) -> bool:
    try:
        return git_hash(repo, file) != sha
    except OSError:
        return True
