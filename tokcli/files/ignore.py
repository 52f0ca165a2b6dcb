""".gitignore, --exclude and hidden-name rules for the files a walk finds (tokcli.files.walk), and the
repository a path is in.

.gitignore rules are matched with `pathspec` (git's wildmatch rules): every .gitignore from the top of the
repository (the nearest directory above holding .git) down to the file, and .git/info/exclude; a deeper
file's rules override a shallower one's. git itself is never run.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any


def repository_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding .git (a directory, or a file for worktrees)."""
    p = start.resolve()
    for d in (p, *p.parents):
        try:
            os.stat(d / ".git")
        except OSError:  # none, or a directory that cannot be searched: not a repository tokcli can read
            continue
        return d
    return None


class Rules:
    """Hidden, --exclude and .gitignore rules for paths under one walk (each .gitignore read once)."""

    def __init__(self, start: Path, *, hidden: bool, no_ignore: bool, exclude: tuple[str, ...]) -> None:
        self.hidden, self.no_ignore, self.exclude_globs = hidden, no_ignore, exclude
        self.start = start.resolve()
        self.root = repository_root(self.start) or self.start
        self.specs: dict[Path, Any] = {}
        self.chains: dict[str, list[tuple[Path, Any]]] = {}  # a directory -> its chain of rules (_chain)

    @cached_property
    def exclude(self) -> Any:
        import pathspec

        return pathspec.GitIgnoreSpec.from_lines(self.exclude_globs) if self.exclude_globs else None

    def keep(self, path: str, *, is_dir: bool) -> bool:
        name = os.path.basename(path)
        if name.startswith(".") and not self.hidden and name not in (".", ".."):
            return False
        absolute = os.path.abspath(path)
        if self.exclude is not None:
            rel = os.path.relpath(absolute, self.start).replace(os.sep, "/")
            if self.exclude.match_file(rel + "/" if is_dir else rel) or self.exclude.match_file(
                name + "/" if is_dir else name
            ):
                return False
        return self.no_ignore or not self.ignored(absolute, is_dir)

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
