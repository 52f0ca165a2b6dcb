"""Writing outputs atomically: a complete new file or the old one, never a partial one."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from tokcli.errors import InputError, UsageError, shown

_KINDS = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
]


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`.

    An interrupted write never leaves a partial file at `path`, and an existing file survives until the
    new one is complete; the temporary file is removed on any error, Ctrl-C or SIGTERM.

    What `path` may be:

    - missing: a new file is made, with the mode open() would give it (0666 less the umask);
    - a regular file: it is replaced, and the new file keeps its mode (and, where allowed, its owner);
    - a symbolic link: it is followed (through any chain of links) and its final target is replaced
      atomically as above; the link itself stays. A dangling link is written through when the directory
      its target would be in exists, else it is an error;
    - anything else (a directory, a FIFO, a character or block device such as /dev/null, a socket) is
      a `UsageError`: nothing is written, nothing is replaced.
    """
    given = Path(path)
    try:
        target = Path(os.path.realpath(given)) if stat.S_ISLNK(os.lstat(given).st_mode) else given
    except FileNotFoundError:
        target = given
    except OSError as e:  # a directory on the way that cannot be searched, a name too long
        raise _error(e, shown(given), directory_of(given)) from None
    via = f"{shown(given)} (a link to {shown(target)})" if target != given else shown(given)
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:  # a loop of links, a component that is not a directory, no permission
        raise _error(e, via, directory_of(target)) from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        raise UsageError(f"{via}: is {kind}; give a path to a regular file")
    directory = directory_of(target)
    try:
        dst = os.stat(directory)
    except FileNotFoundError:
        raise InputError(f"{via}: directory {shown(directory)} does not exist; create it first") from None
    except OSError as e:
        raise _error(e, via, directory) from None
    if not stat.S_ISDIR(dst.st_mode):
        raise InputError(f"{via}: {shown(directory)} is not a directory; give a path in a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise _error(e, via, directory) from None
    try:
        with os.fdopen(fd, "wb") as f:
            if st is None:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(f.fileno(), 0o666 & ~umask)  # mkstemp makes 0600; give the mode open() would
            else:
                if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                    try:
                        os.fchown(f.fileno(), st.st_uid, st.st_gid)  # root writing over another user's file
                    except OSError:
                        pass
                os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode))  # the file it replaces keeps its mode
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise _error(e, via, directory) from None
        raise


def directory_of(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def _error(e: OSError, via: str, directory: Path) -> InputError:
    """The one-line error of a failed write of `via` into `directory`: what the OS said, and what to do."""
    if e.errno in (errno.EACCES, errno.EPERM):
        return InputError(
            f"{via}: cannot write it ({e.strerror}); check that {shown(directory)} exists and is writable "
            "(and the directories above it searchable), or write elsewhere"
        )
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return InputError(
            f"{via}: cannot write it ({e.strerror}); free some space on the disk of {shown(directory)}, "
            "or write elsewhere"
        )
    return InputError.from_os(e, via, "write it")
