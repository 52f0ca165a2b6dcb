"""Writing outputs atomically: a complete new file or the old one, never a partial one."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from tokcli.errors import InputError, UsageError

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
    target = Path(os.path.realpath(given)) if given.is_symlink() else given
    via = f"{given} (a link to {target})" if target != given else str(given)
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:  # a loop of links, a component that is not a directory, no permission
        raise InputError(f"{via}: cannot write it: {e.strerror}; give a path to a regular file") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        raise UsageError(f"{via}: is {kind}; give a path to a regular file")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"{via}: directory {directory} does not exist; create it first")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise InputError(f"{via}: cannot write it: {e.strerror}{_hint(e, directory)}") from None
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
            raise InputError(f"{via}: cannot write it: {e.strerror}{_hint(e, directory)}") from None
        raise


def _hint(e: OSError, directory: Path) -> str:
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"; check that {directory} is writable, or write elsewhere"
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"; free some space on the disk of {directory}, or write elsewhere"
    return ""
