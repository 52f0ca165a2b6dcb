"""Typed errors. The library raises these; `tokcli.cli` turns them into one `error:` line and an exit code.

Exit codes: 0 ok, 1 a check failed (a budget was exceeded), 2 usage or input error, 130 interrupted.
"""

from __future__ import annotations


class TokcliError(Exception):
    """Base of every error tokcli reports to a user. The message says what to do about it."""

    exit_code = 2


class UsageError(TokcliError):
    """An option or argument that cannot work (vocabulary too small, temperature < 0, ...)."""


class VocabSizeError(UsageError):
    """A vocabulary size that cannot work. The message names the option it was given with: `--vocab-size N`
    by default; `about()` names another (compare's `--train KIND:N`). `why` may name the option's own spelling
    as "{option}"."""

    def __init__(self, size: int, why: str, *, subject: str | None = None, option: str = "--vocab-size") -> None:
        self.size, self.why = size, why
        or_coverage = " or lower --character-coverage" if option == "--vocab-size" else ""
        super().__init__(f"{subject or f'{option} {size}'} {why.format(option=option, or_coverage=or_coverage)}")

    def about(self, subject: str, option: str) -> VocabSizeError:
        """The same error, naming `subject` (e.g. "--train bpe:100") and, in its advice, `option`."""
        return VocabSizeError(self.size, self.why, subject=subject, option=option)


class InputError(TokcliError):
    """A file or stream that cannot be read as text: missing, binary, not UTF-8, empty directory."""

    @classmethod
    def from_os(cls, e: OSError, path: object = None, action: str = "read it") -> InputError:
        """The one way an OS error on a path becomes a message: `PATH: cannot ACTION (STRERROR); HOW TO FIX`
        (the path shown with its odd characters escaped; `path` defaults to the error's own filename)."""
        import errno

        path = e.filename if path is None else path
        what = e.strerror or errno.errorcode.get(e.errno or 0, "") or str(e)
        fix = _OS_FIX.get(e.errno or 0, "check the path, or use another")
        where = shown(path) if path is not None else "a file"
        return cls(f"{where}: cannot {action} ({what}); {fix}")


class UncutTooLong(InputError):
    """A stretch of text with no cut point between tokens, longer than tokcli encodes (TOKCLI_MAX_UNCUT_CHARS)."""

    def about(self, label: str) -> UncutTooLong:
        """The same error, naming the input it was found in."""
        return UncutTooLong(f"{label}: {self}")


class TokenizerNotFound(TokcliError):
    """A tokenizer name or path that resolves to nothing; the message lists what exists."""


class TokenizerFileError(TokcliError):
    """A tokenizer or model file that exists but is corrupt or of an unknown format."""


class ModelNotFound(TokcliError):
    """A model name or directory that resolves to nothing; the message lists the bundled models."""


class ModelFileError(TokcliError):
    """A model directory whose config, weights or tokenizer are missing, corrupt or do not fit together."""


class EncodingUnavailable(TokcliError):
    """A tiktoken encoding file that is not cached and could not be downloaded."""


class BackendMissing(TokcliError):
    """An optional dependency (an extra) is not installed; the message names the extra."""


class VendorApiError(TokcliError):
    """A vendor's token-counting endpoint (`count --api`) could not answer: no key, the network, a rate limit,
    a refusal. The message says which and what to do."""


class CheckFailed(TokcliError):
    """A budget check found something over its limit (exit 1)."""

    exit_code = 1


LIMIT_MOST = 1 << 40  # the largest value a limit read from the environment may take (1 Ti)


def limit_from_env(name: str, default: int, unit: str = "bytes", most: int = LIMIT_MOST) -> int:
    """A size limit the user may set in the environment variable `name` (a positive integer up to `most`,
    by default 2**40), else `default`; anything else there is a usage error that says what to write."""
    import os

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"{name}={raw!r}: give a positive number of {unit}, e.g. {name}={default * 2}")
    if len(raw) > 30 or int(raw) > most:
        shown = raw if len(raw) <= 30 else raw[:27] + "..."
        raise UsageError(f"{name}={shown}: give at most {most} {unit}, e.g. {name}={default * 2}")
    return int(raw)


def _os_fixes() -> dict[int, str]:
    import errno as E

    perm = "check its permissions and those of the directories above it, or use another path"
    space = "free some space, or write elsewhere"
    fixes = {
        E.EACCES: perm, E.EPERM: perm, E.EROFS: "the file system is read-only; write elsewhere",
        E.ENOSPC: space, E.EDQUOT: space, E.EFBIG: "the file is too large for this file system; write elsewhere",
        E.ELOOP: "point the link at a real file",
        E.ENAMETOOLONG: "use a shorter path (or a relative one)",
        E.EISDIR: "give a path to a file, not a directory",
        E.ENOTDIR: "a part of the path is not a directory; check the path",
        E.ENOENT: "check the path", E.ENXIO: "no device or reader behind it; check the path",
        E.ETXTBSY: "the file is busy; try again, or use another path",
        E.EMFILE: "too many open files; raise the limit (ulimit -n) or give fewer inputs",
        E.ENFILE: "too many open files; raise the limit (ulimit -n) or give fewer inputs",
    }  # fmt: skip
    return fixes


_OS_FIX = _os_fixes()
OS_INPUT_ERRNOS = frozenset(_OS_FIX)  # the OS errors on a named path that are the user's to fix (exit 2)


def is_input_os_error(e: BaseException) -> bool:
    """Whether `e` is an OSError about a named path that the user can fix (permission, read-only, no
    space, a loop of links, a name too long, a directory for a file...): reported as input errors, exit 2.
    Others (no filename, an errno not in OS_INPUT_ERRNOS) stay visible as bugs."""
    return isinstance(e, OSError) and e.filename is not None and e.errno in OS_INPUT_ERRNOS


def shown(path: object) -> str:
    """A path as messages and tables print it: bytes that are not UTF-8 (kept by Python as lone surrogates)
    as \\xNN, control characters (a newline in a name) escaped as Python writes them; others as they are."""
    import os

    s = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    if s.isprintable():
        return s
    out = []
    for ch in s:
        if "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1] if ch != "\\" else ch)
    return "".join(out)
