"""Opening a named input to read its bytes: a one-line error for a path that is missing, unreadable or a
directory, and a named FIFO waited on for a writer at most TOKCLI_FIFO_WAIT seconds, never without end.
"""

from __future__ import annotations

import io
import os
import stat
import time
from typing import Any, BinaryIO

from tokcli.errors import InputError, limit_from_env, shown

FIFO_WAIT = 5  # seconds a named FIFO is waited on for a writer (TOKCLI_FIFO_WAIT changes it)


def open_file(path: str, *, directory: str = "") -> BinaryIO:
    """Open a named input to read its bytes; a missing, unreadable or directory path is a one-line error
    (`directory`: what to give instead, said when the path is a directory). A named FIFO (not an anonymous
    pipe such as /dev/stdin or <(cmd)) is waited on for a writer at most TOKCLI_FIFO_WAIT seconds."""
    try:
        if _named_fifo(path):
            return _open_fifo(path)
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{shown(path)}: no such file or directory") from None
    except IsADirectoryError:
        raise InputError(f"{shown(path)}: is a directory" + (f"; give {directory}" if directory else "")) from None
    except OSError as e:
        raise InputError.from_os(e, path) from None


def _named_fifo(path: str) -> bool:
    """Whether `path` leads to a FIFO on a file system (not a pipe of a process: /dev/stdin, <(cmd))."""
    try:
        if not stat.S_ISFIFO(os.stat(path).st_mode):
            return False
        real = os.path.realpath(path)
        return stat.S_ISFIFO(os.lstat(real).st_mode)  # /proc/self/fd/N -> "pipe:[...]": not a real path
    except OSError:
        return False


def _open_fifo(path: str) -> BinaryIO:
    """A FIFO opened without blocking, then read as a stream once a writer is there: data in it, or a
    writer holding it open (a read says EAGAIN). With neither for TOKCLI_FIFO_WAIT seconds: an error
    (a writer that connects and leaves without writing a byte in that time is taken for no writer)."""
    wait = limit_from_env("TOKCLI_FIFO_WAIT", FIFO_WAIT, unit="seconds", most=24 * 3600)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        deadline = time.monotonic() + wait
        first, writer = b"", False
        while not writer:
            try:
                first = os.read(fd, 65536)
                writer = bool(first)
            except BlockingIOError:  # a writer is connected, with nothing written yet
                writer = True
            if writer or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        if not writer:
            raise InputError(
                f"{shown(path)}: a FIFO with no writer (waited {wait} s); start the program that writes to it "
                "first, or set TOKCLI_FIFO_WAIT to wait longer"
            )
        os.set_blocking(fd, True)
        raw = os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise
    return io.BufferedReader(_Prefixed(first, raw))


class _Prefixed(io.RawIOBase):
    """A raw reader that gives `head` first, then reads `raw`."""

    def __init__(self, head: bytes, raw: Any) -> None:
        super().__init__()
        self.head, self.raw = head, raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        return int(self.raw.readinto(buffer) or 0)

    def close(self) -> None:
        self.raw.close()
        super().close()

    def fileno(self) -> int:
        return int(self.raw.fileno())
