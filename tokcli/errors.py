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
