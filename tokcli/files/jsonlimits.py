"""The limits on what is read as JSON, each an InputError naming FILE:LINE, never a crash or a heap of
memory: the longest JSONL line read (TOKCLI_MAX_LINE_BYTES), JSON nested too deeply (TOKCLI_MAX_JSON_DEPTH)
or holding too many values (TOKCLI_MAX_JSON_VALUES) refused before parsing, integers of more digits than
Python reads, lone surrogate escapes (see `loads`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from tokcli.errors import InputError, limit_from_env

MAX_LINE_BYTES = 64 << 20  # the longest JSONL line read: 64 MiB (TOKCLI_MAX_LINE_BYTES changes it)


def max_line_bytes() -> int:
    """TOKCLI_MAX_LINE_BYTES, else MAX_LINE_BYTES."""
    return limit_from_env("TOKCLI_MAX_LINE_BYTES", MAX_LINE_BYTES)


MAX_JSON_DEPTH = 100  # objects and lists nested at most this deep (TOKCLI_MAX_JSON_DEPTH)
MAX_JSON_VALUES = 1_000_000  # values (items, members) in one JSON line or document (TOKCLI_MAX_JSON_VALUES)
INT_DIGITS = 4300  # Python's own limit on the digits of an integer read from text
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _big_int(digits: str) -> int:
    if len(digits.lstrip("-")) > INT_DIGITS:
        raise _TooBig(len(digits.lstrip("-")))
    return int(digits)


class _TooBig(Exception):
    def __init__(self, digits: int) -> None:
        self.digits = digits


def loads(text: str, where: str, *, errors: str = "strict", fix: str = "fix or remove the line") -> Any:
    """A JSON value read with limits, each an InputError naming `where` (FILE:LINE), never a crash or a
    heap of memory:

    - objects and lists nested deeper than TOKCLI_MAX_JSON_DEPTH (100) are refused before parsing;
    - more than TOKCLI_MAX_JSON_VALUES (1,000,000) values (items of lists, members of objects) are refused
      before parsing (a line of millions of tiny values takes far more memory than its bytes);
    - an integer of more than 4,300 digits is refused (Python reads no longer ones);
    - a lone surrogate escape (`"\\ud800"`: no Unicode character) is refused, or with errors='replace'
      becomes U+FFFD.
    """
    try:
        return decode(text, where, errors=errors, fix=fix)
    except json.JSONDecodeError as e:
        raise InputError(f"{where}: not JSON ({e.msg} at column {e.colno}); {fix}") from None


def decode(text: str, where: str, *, errors: str = "strict", fix: str = "fix or remove the line") -> Any:
    """`loads`, except that text that is not JSON raises json.JSONDecodeError (for a caller that reads
    several values on its own when it finds them)."""
    _check_shape(text, where)
    try:
        value = json.loads(text, parse_int=_big_int)
    except RecursionError:
        raise InputError(f"{where}: not JSON tokcli can read (nested too deeply); {fix}") from None
    except _TooBig as e:
        raise InputError(
            f"{where}: a number of {e.digits:,} digits, more than the {INT_DIGITS:,} tokcli reads; {fix}"
        ) from None
    if _SURROGATE_ESCAPE.search(text):
        value = _surrogates(value, where, errors)
    return value


def _check_shape(text: str, where: str) -> None:
    """Refuse JSON nested too deeply or with too many values, from the brackets and separators outside
    its strings (cheap: only a text with many of them is looked at closely)."""
    depth_most = limit_from_env("TOKCLI_MAX_JSON_DEPTH", MAX_JSON_DEPTH, unit="levels", most=10_000)
    values_most = limit_from_env("TOKCLI_MAX_JSON_VALUES", MAX_JSON_VALUES, unit="values")
    opens = text.count("[") + text.count("{")
    if opens <= depth_most and text.count(",") + opens <= values_most:
        return
    skeleton = _STRING.sub("", text) if '"' in text else text
    values = skeleton.count(",") + skeleton.count("[") + skeleton.count("{")
    if values > values_most:
        raise InputError(
            f"{where}: more than {values_most:,} JSON values; split the record (or set TOKCLI_MAX_JSON_VALUES higher)"
        )
    depth = most = 0
    for m in re.finditer(r"[\[\]{}]", skeleton):
        if m.group() in "[{":
            depth += 1
            if depth > most:
                most = depth
                if most > depth_most:
                    raise InputError(
                        f"{where}: JSON nested more than {depth_most} levels deep; flatten it "
                        "(or set TOKCLI_MAX_JSON_DEPTH higher)"
                    )
        else:
            depth -= 1


def _surrogates(value: Any, where: str, errors: str) -> Any:
    """`value` with its lone surrogates (in strings and keys) refused, or with errors='replace' replaced by
    U+FFFD. Iterative: the depth is bounded, but not by the recursion limit."""

    def fix(s: str) -> str:
        if not _SURROGATE.search(s):
            return s
        if errors != "replace":
            bad = _SURROGATE.search(s).group()  # type: ignore[union-attr]
            raise InputError(
                f"{where}: a lone surrogate escape (\\u{ord(bad):04x}) in a string, no Unicode character; "
                "fix the line, or pass --errors replace to read it as U+FFFD"
            )
        return _SURROGATE.sub("\ufffd", s)

    if isinstance(value, str):
        return fix(value)
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            for i, x in enumerate(v):
                if isinstance(x, str):
                    v[i] = fix(x)
                elif isinstance(x, dict | list):
                    stack.append(x)
        elif isinstance(v, dict):
            for k in list(v):
                x = v[k]
                if isinstance(x, str):
                    x = fix(x)
                elif isinstance(x, dict | list):
                    stack.append(x)
                k2 = fix(k)
                if k2 != k:
                    del v[k]
                v[k2] = x
    return value
