"""The repository tokcli diff reads, with dulwich (a pure-Python git library): opening it, naming its commits
(REF, the default base), and reading its objects within a size limit.

git itself is never run, and dulwich is used only to read objects and refs: no hook, core.fsmonitor,
filter (clean, smudge, textconv), credential helper or any other command a repository's configuration
names can run. A stored blob larger than TOKCLI_MAX_BLOB_BYTES (64 MiB) is an error before it is read
(its size comes from the object's header), and so is a working file that changed and is larger.

A repository is data tokcli did not write, so before dulwich opens it the files it would read are checked
(tokcli.budget.gitsafety.vet_control_dir), and walking its history is bounded (tokcli.budget.gittree.Budget).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokcli.errors import BackendMissing, InputError, UsageError, limit_from_env
from tokcli.files.ignore import repository_root
from tokcli.files.walk import has_glob

from .gitsafety import vet_control_dir
from .gittree import Budget, CountingRepo

MAX_BLOB_ENV = "TOKCLI_MAX_BLOB_BYTES"
DEFAULT_MAX_BLOB_BYTES = 64 << 20
DEFAULT_BRANCHES = ("origin/HEAD", "main", "origin/main", "master", "origin/master")  # tried in this order


@dataclass(frozen=True)
class Base:
    """The commit the working tree is compared with."""

    spec: str | None  # REF as given; None for the default
    commit: str  # its full id (hex)
    how: str  # e.g. "origin/main", "the merge base of HEAD and origin/main"


def max_blob_bytes() -> int:
    """The size limit of a file read whole: TOKCLI_MAX_BLOB_BYTES (a positive integer) or 64 MiB."""
    return limit_from_env(MAX_BLOB_ENV, DEFAULT_MAX_BLOB_BYTES)


def _too_large(path: str, size: int, where: str) -> InputError:
    return InputError(
        f"{path}: {size:,} bytes {where}, more than the {max_blob_bytes():,} tokcli diff reads whole "
        f"({MAX_BLOB_ENV}); leave it out with --exclude {path}, or raise the limit: {MAX_BLOB_ENV}={size}"
    )


# -- the repository and the base commit --------------------------------------------------------------


def _dulwich() -> None:
    try:
        import dulwich  # noqa: F401
    except ImportError:
        raise BackendMissing('tokcli diff needs dulwich to read git repositories: pip install "tokcli[git]"') from None


def open_repository(start: Path | None = None) -> Any:
    """The repository whose working tree holds `start` (default: the current directory)."""
    _dulwich()
    from dulwich.repo import Repo

    here = (start or Path.cwd()).resolve()
    root = repository_root(here)
    if root is None:
        raise InputError(f"{here}: not inside a git repository; run tokcli diff in a clone (or `git init` one)")
    vet_control_dir(root)
    try:
        repo = Repo(str(root))
    except Exception as e:  # NotGitRepository, a corrupt config or .git file, ...
        raise InputError(f"{root}: not a git repository dulwich can read ({type(e).__name__}: {e})") from None
    control = Path(repo.controldir())
    if not (control / "objects").is_dir() or not (control / "HEAD").is_file():
        repo.close()
        raise InputError(f"{root}: not a git repository dulwich can read (no {control}/objects or HEAD)")
    if repo.bare or Path(repo.path).resolve() != root:
        repo.close()
        raise InputError(f"{root}: its core.worktree points elsewhere; tokcli diff compares the tree it sits in")
    # no loose object larger than this is inflated, whatever the repository's core.bigFileThreshold says
    repo.object_store.loose_object_size_limit = max(max_blob_bytes(), DEFAULT_MAX_BLOB_BYTES)
    return repo


def _commit(repo: Any, spec: str, hint: str = "") -> Any:
    """The commit `spec` names (a branch, tag, remote branch, id, HEAD~2, ...), or an InputError."""
    from dulwich.objects import Commit, Tag
    from dulwich.objectspec import parse_commit, parse_object

    bad = spec.startswith(("-", "/")) or ".." in spec or ":" in spec or any(c in spec for c in " \\?*[\t\n\r\x7f")
    if bad or any(ord(c) < 32 for c in spec):
        raise UsageError(f"{spec!r} is not a ref or commit; give a branch, tag or commit such as origin/main or HEAD~1")
    try:
        if any(op in spec for op in ("~", "^", "@{")):
            obj = parse_object(repo, spec)
            while isinstance(obj, Tag):
                obj = repo[obj.object[1]]
            if not isinstance(obj, Commit):
                raise ValueError(f"{spec} is not a commit")
            return obj
        return parse_commit(repo, spec)
    except (KeyError, ValueError, NotImplementedError):
        shallow = (
            " (this is a shallow clone: fetch it, e.g. actions/checkout with fetch-depth: 0)"
            if repo.get_shallow()
            else ""
        )
        raise InputError(f"{spec}: no such ref or commit in {repo.path}; try `git branch -a`{shallow}{hint}") from None


def _merge_base(repo: Any, a: Any, b: Any, b_name: str, budget: Budget | None = None) -> str:
    from dulwich.graph import find_merge_base

    try:
        # CountingRepo has the two things find_merge_base reads of a BaseRepo (duck-typed, not a subclass)
        found = find_merge_base(CountingRepo(repo, budget or Budget()), [a.id, b.id])  # type: ignore[arg-type]
    except KeyError:
        found = []
    if found:
        return str(found[0].decode("ascii"))
    if repo.get_shallow():
        raise InputError(
            f"HEAD and {b_name} have no common commit in this shallow clone; fetch the history "
            "(actions/checkout with fetch-depth: 0, or `git fetch --unshallow`), or give a REF to compare with"
        )
    raise InputError(f"HEAD and {b_name} share no history; give the REF to compare with")


def resolve_base(repo: Any, spec: str | None) -> Base:
    """REF as given (REF... for its merge base with HEAD), or by default the merge base of HEAD with the
    default branch (origin/HEAD, else main, else master; local, else origin's), or HEAD when there is none."""
    from dulwich.objectspec import parse_commit

    try:
        head = parse_commit(repo, "HEAD")
    except (KeyError, ValueError):
        raise InputError(f"{repo.path}: HEAD has no commit yet; commit something first, or give a REF") from None
    if spec is not None and spec.endswith("...") and len(spec) > 3:
        name = spec[:-3]
        base = _commit(repo, name)
        return Base(spec, _merge_base(repo, head, base, name), f"the merge base of HEAD and {name}")
    if spec is not None:
        return Base(spec, str(_commit(repo, spec).id.decode("ascii")), spec)
    for name in DEFAULT_BRANCHES:
        try:
            branch = parse_commit(repo, f"refs/remotes/{name}" if name.startswith("origin/") else f"refs/heads/{name}")
        except (KeyError, ValueError):
            continue
        return Base(None, _merge_base(repo, head, branch, name), f"the merge base of HEAD and {name}")
    return Base(None, str(head.id.decode("ascii")), "HEAD (no default branch: origin/HEAD, main or master)")


def is_ref(repo: Any, arg: str) -> bool:
    """Whether `arg` names a commit (REF, not a path): `tokcli diff [REF] [PATHS...]`."""
    try:
        if arg.endswith("...") and len(arg) > 3:
            arg = arg[:-3]
        _commit(repo, arg)
        return True
    except (InputError, UsageError):
        return False


def split_args(repo: Any, args: Sequence[str]) -> tuple[str | None, list[str]]:
    """(REF or None, PATHS): the first argument is REF when it names a commit, else a path; a name that is
    both is an error that says how to tell them apart."""
    if not args:
        return None, []
    first, rest = args[0], list(args[1:])
    ref = not first.startswith(("./", "../")) and is_ref(repo, first)
    path = os.path.lexists(first) or has_glob(first) or first.startswith(("./", "../"))
    if ref and path:
        raise UsageError(
            f"{first}: both a ref and a path; write refs/heads/{first} (or the commit id) for the ref, "
            f"./{first} for the path"
        )
    if ref:
        return first, rest
    if not path:
        _commit(repo, first, hint=f" (a path deleted since: write ./{first})")  # neither: the ref's error
    return None, list(args)


# -- objects: hashing a working file, sizing and reading a stored blob ----------------------------------


def git_hash(repo: Any, path: Path) -> str:
    h = repo.object_format.hash_func() if hasattr(repo, "object_format") else hashlib.sha1()
    size = os.stat(path).st_size
    h.update(b"blob %d\0" % size)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return str(h.hexdigest())


def working_head(path: str, file: Path, n: int) -> bytes:
    """The first `n` bytes of a changed working file, once its size is known to be within the limit."""
    try:
        with open(file, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_blob_bytes():
                raise _too_large(path, size, "in the working tree")
            return f.read(n)
    except OSError as e:
        raise InputError(f"{path}: cannot read it ({e.strerror})") from None


def read_working(path: str, file: Path) -> bytes:
    try:
        with open(file, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_blob_bytes():
                raise _too_large(path, size, "in the working tree")
            return f.read(max_blob_bytes() + 1)
    except OSError as e:
        raise InputError(f"{path}: cannot read it ({e.strerror})") from None


def blob_size(store: Any, sha: str) -> int:
    """The size of a stored blob, read from its object header without inflating the rest (loose objects
    and packs; KeyError when the object is not there)."""
    path = os.path.join(store.path, sha[:2], sha[2:])
    if os.path.isfile(path):
        with open(path, "rb") as f:
            head = zlib.decompressobj().decompress(f.read(512), 64)
        kind, _, rest = head.partition(b" ")
        return int(rest.split(b"\0", 1)[0])
    for pack in store.packs:
        try:
            offset = pack.index.object_offset(sha.encode("ascii"))
        except KeyError:
            continue
        with open(pack.data.path, "rb") as f:
            f.seek(offset)
            return _packed_size(f.read(4096), store.object_format.oid_length)
    for alternate in getattr(store, "alternates", []):
        try:
            return blob_size(alternate, sha)
        except (KeyError, AttributeError):
            continue
    raise KeyError(sha)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, pos


def _packed_size(entry: bytes, oid_length: int) -> int:
    """The object size a pack entry holds: its header's for a whole object, else the delta's target size."""
    b = entry[0]
    kind, size, shift, pos = (b >> 4) & 7, b & 0x0F, 4, 1
    while b & 0x80:
        b = entry[pos]
        pos += 1
        size |= (b & 0x7F) << shift
        shift += 7
    if kind not in (6, 7):  # OFS_DELTA, REF_DELTA
        return size
    if kind == 6:
        while entry[pos] & 0x80:
            pos += 1
        pos += 1
    else:
        pos += oid_length
    delta = zlib.decompressobj().decompress(entry[pos:], 32)
    _base, at = _varint(delta, 0)
    return _varint(delta, at)[0]


def read_blob(repo: Any, path: str, sha: str, ref: str) -> bytes:
    store = repo.object_store
    try:
        size = blob_size(store, sha)
    except KeyError:
        size = None  # not found by header: the store's own lookup says why
    except (OSError, zlib.error, ValueError, IndexError):
        raise InputError(f"{path}: the object {sha[:12]} of {ref} is corrupt; run `git fsck`") from None
    if size is not None and size > max_blob_bytes():
        raise _too_large(path, size, f"in {ref}")
    try:
        data = bytes(store[sha.encode("ascii")].as_raw_string())
    except KeyError:
        raise missing_object(repo, sha, ref) from None
    except Exception as e:  # zlib errors, a loose object over the limit, a broken pack
        raise InputError(f"{path}: cannot read the object {sha[:12]} of {ref} ({type(e).__name__}: {e})") from None
    if len(data) > max_blob_bytes():
        raise _too_large(path, len(data), f"in {ref}")
    return data


def missing_object(repo: Any, sha: str, ref: str) -> InputError:
    how = "this is a shallow clone: fetch more history (fetch-depth: 0)" if repo.get_shallow() else "run `git fsck`"
    return InputError(f"the object {sha[:12]} of {ref} is missing from {repo.path}; {how}")
