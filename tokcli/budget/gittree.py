"""Bounded reading of a repository's history and trees for tokcli diff: at most MAX_OBJECTS objects visited
and TOKCLI_GIT_TIMEOUT seconds (`Budget`), trees at most MAX_TREE_DEPTH deep (`tree_entries`), each limit its
own error, so that a huge history or a tree bomb is refused instead of walked for hours.
"""

from __future__ import annotations

import stat
import time
from typing import Any

from tokcli.errors import InputError, limit_from_env

MAX_OBJECTS = 1_000_000  # commits and tree entries visited by one diff (merge base, tree walk): about 150 MB
MAX_TREE_DEPTH = 1024  # nested directories in a tree (git's core.maxTreeDepth is 4096; real trees are far less)
TIMEOUT_ENV = "TOKCLI_GIT_TIMEOUT"
DEFAULT_TIMEOUT = 120  # seconds for reading history and trees


class Budget:
    """How much history and tree one diff may read: MAX_OBJECTS objects, TOKCLI_GIT_TIMEOUT seconds."""

    def __init__(self) -> None:
        self.seconds = limit_from_env(TIMEOUT_ENV, DEFAULT_TIMEOUT, "seconds")
        self.deadline = time.monotonic() + self.seconds
        self.objects = 0

    def spend(self, what: str) -> None:
        self.objects += 1
        if self.objects > MAX_OBJECTS:
            raise InputError(f"reading {what}: more than {MAX_OBJECTS:,} git objects; give a REF closer to HEAD, "
                             "or PATHS to compare less")  # fmt: skip
        if not self.objects % 256 and time.monotonic() > self.deadline:
            raise InputError(f"reading {what}: more than {self.seconds} s ({TIMEOUT_ENV}); give a REF closer to "
                             f"HEAD, PATHS to compare less, or raise the limit: {TIMEOUT_ENV}={self.seconds * 4}")  # fmt: skip


class CountingRepo:
    """`repo` as find_merge_base reads it (object_store[id], parents_provider()), each commit read spent
    from `budget`, so that a merge base over a huge history stops at the limit instead of filling memory."""

    def __init__(self, repo: Any, budget: Budget) -> None:
        self._repo, self._budget = repo, budget

    @property
    def object_store(self) -> CountingRepo:
        return self

    def __getitem__(self, sha: bytes) -> Any:
        self._budget.spend("the history for the merge base")
        return self._repo.object_store[sha]

    def parents_provider(self) -> Any:
        return self._repo.parents_provider()


def tree_entries(repo: Any, tree: bytes, ref: str) -> list[Any]:
    """Every (path, mode, id) of `tree` below its subtrees, as dulwich's iter_tree_contents gives them, but
    bounded: at most MAX_TREE_DEPTH directories deep and MAX_OBJECTS entries, within the time budget, each
    distinct tree read once (a tree that repeats a subtree thousands of times is not read thousands of
    times), so that a tree bomb is refused instead of walked for hours."""
    from dulwich.objects import Tree, TreeEntry

    budget = Budget()
    what = f"the tree of {ref}"
    seen: dict[bytes, list[tuple[bytes, int, Any]]] = {}
    out: list[Any] = []
    stack: list[tuple[bytes, Any, int]] = [(b"", tree, 0)]
    while stack:
        prefix, sha, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            raise InputError(f"{prefix.decode('utf-8', 'replace')[:200]}...: directories in {ref} nested more than "
                             f"{MAX_TREE_DEPTH} deep; the repository is damaged or hostile")  # fmt: skip
        if sha not in seen:
            obj = repo.object_store[sha]
            if not isinstance(obj, Tree):
                raise InputError(f"{prefix.decode('utf-8', 'replace') or '/'}: not a tree in {ref}; run `git fsck`")
            seen[sha] = [(e.path, e.mode, e.sha) for e in obj.iteritems()]
            budget.spend(what)
        for name, mode, child in seen[sha]:
            budget.spend(what)
            path = prefix + b"/" + name if prefix else name
            if stat.S_ISDIR(mode):
                stack.append((path, child, depth + 1))
            else:
                out.append(TreeEntry(path, mode, child))
    out.reverse()
    return out
