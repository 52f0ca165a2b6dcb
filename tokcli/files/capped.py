"""Reading a file tokcli parses whole (a tokenizer, a model's config.json, a TOML configuration) or whose
header it checks (model.safetensors): a regular file, within a size limit checked before anything is read.

    data = read_capped(path, 16 << 20, what="a model config")     # bytes, at most the limit
    with open_regular(path, what="a safetensors file") as f: ...  # the checks, then your own reads

The path is opened non-blocking, so a FIFO put where a file was expected does not wait for a writer; what
was opened is then checked with fstat (a directory, a FIFO or a device is refused), so nothing can be
swapped in between the check and the read. Symbolic links are followed: the file they point to is checked.
The size limit is checked from fstat before reading, and the read stops after limit + 1 bytes, so a file
that grows after the check is refused too, never read whole.

Errors are InputErrors of three kinds, each with what a caller needs to word its own message:
NotRegularFile, FileTooLarge (size, limit) and UnreadableFile (reason, errno).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from tokcli.errors import InputError

# non-blocking: opening a FIFO does not wait for a writer (regular files ignore the flag); binary on Windows
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


class CappedReadError(InputError):
    """A file that read_capped or open_regular refused; `path` is the path as given."""

    def __init__(self, message: str, path: str | Path) -> None:
        super().__init__(message)
        self.path = path


class NotRegularFile(CappedReadError):
    """The path names a directory, a FIFO, a socket or a device, not a regular file."""


class FileTooLarge(CappedReadError):
    """The file is larger than the limit: `size` is its size from fstat, or limit + 1 when it grew later."""

    def __init__(self, message: str, path: str | Path, size: int, limit: int) -> None:
        super().__init__(message, path)
        self.size = size
        self.limit = limit


class UnreadableFile(CappedReadError):
    """Opening or reading failed: missing, permission denied, an I/O error. `reason` is the OS's words."""

    def __init__(self, message: str, path: str | Path, reason: str, errno: int | None) -> None:
        super().__init__(message, path)
        self.reason = reason
        self.errno = errno


def open_regular(path: str | Path, limit: int | None = None, *, what: str) -> BinaryIO:
    """`path` opened for reading in binary, once it is known to be a regular file no larger than `limit`
    bytes (None: any size). `what` names the file in messages ("a tokenizer file"). The caller closes it.
    Raises NotRegularFile, FileTooLarge or UnreadableFile."""
    fd, _ = _open_checked(path, limit, what)
    return os.fdopen(fd, "rb")


def read_capped(path: str | Path, limit: int, *, what: str) -> bytes:
    """The bytes of regular file `path`, if it holds at most `limit` bytes; never more than limit + 1 bytes
    are read, even when the file grows after the size check. Raises NotRegularFile, FileTooLarge (with
    `size`) or UnreadableFile."""
    fd, size = _open_checked(path, limit, what)  # size <= limit
    try:
        data = _read_at_most(fd, size + 1)  # one byte more than fstat saw tells whether it grew since
        if len(data) > size:
            data += _read_at_most(fd, limit + 1 - len(data))  # grown: read on, up to limit + 1 in all
    except OSError as e:
        raise _unreadable(path, e, what) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _too_large(path, len(data), limit, what)
    return data


def _open_checked(path: str | Path, limit: int | None, what: str) -> tuple[int, int]:
    """(a descriptor of `path`, opened non-blocking and checked with fstat, its size then)."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError as e:
        raise _unreadable(path, e, what) from None
    try:
        st = os.fstat(fd)
    except OSError as e:
        os.close(fd)
        raise _unreadable(path, e, what) from None
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegularFile(f"{path}: not a regular file; give {what}", path)
    if limit is not None and st.st_size > limit:
        os.close(fd)
        raise _too_large(path, st.st_size, limit, what)
    return fd, st.st_size


def _read_at_most(fd: int, n: int) -> bytes:
    """Up to `n` bytes from `fd`, fewer only at the end of the file (a read may return less than asked)."""
    chunks = []
    while n > 0 and (chunk := os.read(fd, min(n, 1 << 24))):  # os.read allocates all it is asked for
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _unreadable(path: str | Path, e: OSError, what: str) -> UnreadableFile:
    reason = e.strerror or str(e)
    return UnreadableFile(f"{path}: cannot read it ({reason}); give {what}", path, reason, e.errno)


def _too_large(path: str | Path, size: int, limit: int, what: str) -> FileTooLarge:
    return FileTooLarge(
        f"{path}: {size} bytes is more than the {limit} bytes tokcli reads as {what}", path, size, limit
    )
