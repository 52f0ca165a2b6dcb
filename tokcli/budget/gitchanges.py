"""The changes tokcli diff reports (`Change`: a file added, deleted, modified or renamed, with its `Version`s)
and rename detection, which pairs deleted and added files as git does (dulwich's RenameDetector, git's 60%
similarity), reading only the blobs it compares and keeping at most RENAME_CACHE_BYTES of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Version:
    """One side of a changed file: its path in the repository (POSIX, from the top), its git object id, and
    how to read its bytes (each call reads them again: a diff never holds every changed file at once)."""

    path: str
    id: str
    read: Callable[[], bytes]
    file: Path | None = None  # a working-tree version: the file on disk (counted from there, as it streams)

    @property
    def data(self) -> bytes:
        return self.read()


@dataclass(frozen=True)
class Change:
    status: str  # "added", "deleted", "modified" or "renamed"
    old: Version | None  # None when added
    new: Version | None  # None when deleted

    @property
    def path(self) -> str:
        return (self.new or self.old).path  # type: ignore[union-attr]


RENAME_CACHE_BYTES = 64 << 20  # blobs rename detection keeps between its comparisons; larger ones are read again


class _Blobs:
    """The object store rename detection reads: trees in memory, each blob read from its Version when asked
    for (kept while they fit in RENAME_CACHE_BYTES), so that the changed files are never all held at once."""

    def __init__(self) -> None:
        from dulwich.object_store import MemoryObjectStore

        self.trees: Any = MemoryObjectStore()
        self.versions: dict[bytes, Version] = {}
        self.cache: dict[bytes, Any] = {}
        self.cached = 0

    def key(self, v: Version) -> Any:
        """A SHA-1 name for the version's content (its git id; SHA-256 ids hashed down to SHA-1)."""
        sha = v.id if len(v.id) == 40 else hashlib.sha1(v.id.encode("ascii")).hexdigest()
        key = sha.encode("ascii")
        self.versions.setdefault(key, v)
        return key

    def __getitem__(self, sha: bytes) -> Any:
        if sha not in self.versions:
            return self.trees[sha]
        if sha in self.cache:
            return self.cache[sha]
        from dulwich.objects import Blob

        blob = Blob.from_string(self.versions[sha].read())
        if self.cached + len(blob.data) <= RENAME_CACHE_BYTES:
            self.cache[sha] = blob
            self.cached += len(blob.data)
        return blob

    def __contains__(self, sha: bytes) -> bool:
        return sha in self.versions or sha in self.trees

    def __getattr__(self, name: str) -> Any:
        return getattr(self.trees, name)


def with_renames(gone: dict[str, tuple[int, Version]], came: dict[str, Version]) -> list[Change]:
    """Changes with renames found as git finds them (dulwich's RenameDetector on the changed files; only
    added and deleted files are read, to compare their contents)."""
    from dulwich.diff_tree import CHANGE_ADD, CHANGE_DELETE, CHANGE_RENAME, RenameDetector
    from dulwich.index import commit_tree

    store: Any = _Blobs()
    old_tree = commit_tree(store.trees, [(p.encode("utf-8"), store.key(v), m) for p, (m, v) in gone.items()])
    new_tree = commit_tree(store.trees, [(p.encode("utf-8"), store.key(v), 0o100644) for p, v in came.items()])
    changes = []
    for c in RenameDetector(store, rewrite_threshold=None).changes_with_renames(old_tree, new_tree):
        old = gone[c.old.path.decode("utf-8")][1] if c.old and c.old.path else None
        new = came[c.new.path.decode("utf-8")] if c.new and c.new.path else None
        if c.type == CHANGE_ADD or (c.type not in (CHANGE_DELETE, CHANGE_RENAME) and old is None):
            changes.append(Change("added", None, new))
        elif c.type == CHANGE_DELETE:
            changes.append(Change("deleted", old, None))
        elif c.type == CHANGE_RENAME:
            changes.append(Change("renamed", old, new))
        elif c.type == "copy":  # a second file from one deleted one: counted as added
            changes.append(Change("added", None, new))
        elif old is not None and new is not None and old.id != new.id:
            changes.append(Change("modified", old, new))
    return sorted(changes, key=lambda c: c.path)
