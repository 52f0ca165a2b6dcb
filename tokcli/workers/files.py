"""Where a distributed run reads and writes: local paths, or fsspec URLs (memory://, s3://, gs://, ...)
where the matching fsspec package is installed. Workers read files themselves, so a path must be one
every worker can reach: a shared filesystem, or object storage."""

from __future__ import annotations

import os
from typing import IO, Any

from tokcli.errors import BackendMissing, InputError, UsageError
from tokcli.files.atomic import atomic_write
from tokcli.files.opening import open_file
from tokcli.files.walk import Source, WalkOptions

DASK_EXTRA = 'pip install "tokcli[dask]"'


def is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _fs(url: str) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError:
        raise BackendMissing(f"{url}: reading URLs needs fsspec: {DASK_EXTRA}") from None
    try:
        return fsspec.core.url_to_fs(url)  # type: ignore[no-any-return]
    except (ImportError, ValueError) as e:  # the protocol's package (s3fs, gcsfs) is not installed
        raise BackendMissing(f"{url}: {e}") from None


def expand(paths: list[str], walk: WalkOptions | None = None) -> tuple[list[Source], list[tuple[str, str]]]:
    """(the files to read, each with its size, what the walk skipped): local paths as every command walks them (tokcli.files.walk),
    URLs expanded as globs (a URL naming a directory: every file under it)."""
    from tokcli.files.text import expand_inputs

    local = [p for p in paths if not is_url(p)]
    for p in local:
        if p == "-":
            raise UsageError("--workers and --scheduler read files: stdin cannot be shared with workers; give files")
    files: list[Source] = []
    skipped: list[tuple[str, str]] = []
    if local:
        sources = expand_inputs(local, walk)
        skipped += sources.skipped
        for s in sources:
            if s.stream:
                raise UsageError(f"{s.path}: a stream is read once, by one process; give regular files to --workers")
            files.append(Source(s.path, walked=s.walked, size=os.path.getsize(s.path)))
    for url in (p for p in paths if is_url(p)):
        fs, root = _fs(url)
        if fs.isdir(root):
            found = sorted(fs.find(root))
        elif any(c in root for c in "*?["):
            found = sorted(fs.glob(root))
        else:
            found = [root] if fs.exists(root) else []
        if not found:
            raise InputError(f"{url}: no such file (nothing matches)")
        for f in found:
            files.append(Source(fs.unstrip_protocol(f), walked=f != root, size=int(fs.size(f))))
    return files, skipped


def open_binary(path: str) -> IO[bytes]:
    if is_url(path):
        fs, p = _fs(path)
        try:
            return fs.open(p, "rb")  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
    return open_file(path)


def join(directory: str, name: str) -> str:
    return directory.rstrip("/") + "/" + name if is_url(directory) else os.path.join(directory, name)


def write_bytes(path: str, data: bytes) -> None:
    """Write a file whole: atomically for a local path (tokcli.files.atomic); an object store's put is whole."""
    if not is_url(path):
        atomic_write(path, data)
        return
    fs, p = _fs(path)
    tmp = p + ".tmp"
    with fs.open(tmp, "wb") as f:
        f.write(data)
    fs.mv(tmp, p)


DIGEST_CHUNK = 1 << 20


def digest(path: str, start: int = 0, stop: int | None = None) -> str:
    """'sha256:<hex>' of bytes [start, stop) of a file (stop None: to its end): what `encode --to` records
    of each input it read, and checks again before it keeps a shard on a rerun. InputError when unreadable."""
    import hashlib

    h = hashlib.sha256()
    try:
        with open_binary(path) as f:
            f.seek(start)
            left = None if stop is None else stop - start
            while left is None or left > 0:
                block = f.read(DIGEST_CHUNK if left is None else min(DIGEST_CHUNK, left))
                if not block:
                    break
                h.update(block)
                if left is not None:
                    left -= len(block)
    except OSError as e:
        raise InputError(f"{path}: cannot read it ({e.strerror or e})") from None
    return "sha256:" + h.hexdigest()


def read_bytes(path: str) -> bytes | None:
    """The bytes of a file, None when there is none."""
    if is_url(path):
        fs, p = _fs(path)
        return bytes(fs.cat_file(p)) if fs.exists(p) else None
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def size(path: str) -> int | None:
    """The size of a file, None when there is none."""
    if is_url(path):
        fs, p = _fs(path)
        return int(fs.size(p)) if fs.exists(p) else None
    return os.path.getsize(path) if os.path.isfile(path) else None


def make_dir(path: str) -> list[str]:
    """Create the output directory (its parent must exist); the names already in it."""
    if is_url(path):
        fs, p = _fs(path)
        if fs.exists(p):
            return [os.path.basename(x.rstrip("/")) for x in fs.ls(p, detail=False)]
        fs.makedirs(p, exist_ok=True)
        return []
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{path}: exists and is not a directory; give a new or empty directory for the shards")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise InputError(f"{path}: directory {parent} does not exist; create it first")
    os.makedirs(path, exist_ok=True)
    return sorted(os.listdir(path))
