"""Reading a command's inputs: the files or stdin it was given, a prompt, text given on the command line."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from tokcli.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tokcli.files.walk import WalkOptions


def inputs_or_stdin(inputs: list[str] | None) -> list[str]:
    """The inputs given, or ['-'] when none are given and stdin is piped."""
    if inputs:
        return inputs
    if sys.stdin is not None and not sys.stdin.isatty():
        return ["-"]
    raise UsageError("no input: give a file or directory, or pipe text into stdin")


PROMPT_LIMIT = 16 << 20  # bytes of a prompt read from stdin (TOKCLI_MAX_PROMPT_BYTES)


def prompt_text(prompt: str | None, *, required: bool) -> str:
    """A prompt argument, or stdin for '-' (and when none is given and stdin is piped)."""
    from tokcli.errors import limit_from_env
    from tokcli.files.text import read_text

    if prompt == "-" or (prompt is None and sys.stdin is not None and not sys.stdin.isatty()):
        # only the last context of tokens matters to a model: a stream without end is refused, not held
        most = limit_from_env("TOKCLI_MAX_PROMPT_BYTES", PROMPT_LIMIT)
        return read_text("-", limit=(most, "TOKCLI_MAX_PROMPT_BYTES", "a prompt (a model uses its last context)"))
    if prompt is None:
        if required:
            raise UsageError("no prompt: give some text, or - to read stdin")
        return ""
    return arg_text(prompt, "the prompt", fix="give it in UTF-8 (or pipe a UTF-8 file into stdin with -)")


def arg_text(value: str, what: str, *, errors: str = "strict", fix: str | None = None) -> str:
    """Text given on the command line, as valid Unicode.

    Python decodes argv with surrogateescape: a byte that is not UTF-8 arrives as a lone surrogate
    (U+DC80-U+DCFF), which no tokenizer can encode. errors='strict' refuses it with UsageError naming
    the byte; 'replace' turns the bad bytes into U+FFFD, as reading a file with --errors replace does.
    """
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError as e:
        pos = e.start
    if errors == "replace":
        try:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:  # a surrogate that is no escaped byte (not from argv): replace it alone
            return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)
    bad = value[pos]
    byte = f"byte 0x{ord(bad) - 0xDC00:02X}" if 0xDC80 <= ord(bad) <= 0xDCFF else f"U+{ord(bad):04X}"
    raise UsageError(
        f"{what} is not valid UTF-8 ({byte} at character {pos}); "
        + (fix or "convert it to UTF-8, or pass --errors replace to replace the bad bytes with U+FFFD")
    )


def whole_texts(
    inputs: list[str] | None, text: str | None, *, errors: str, walk: WalkOptions | None = None
) -> list[tuple[str, str]]:
    """(label, text) of --text when given, else of each input (stdin when none is given and it is piped), and
    a warning for each file the walk left out (binary, not UTF-8)."""
    from tokcli.files.text import expand_inputs, read_text

    if text is not None:
        return [("<text>", arg_text(text, "--text", errors=errors))]
    sources = expand_inputs(inputs_or_stdin(inputs), walk)
    from tokcli.output import skipped

    skipped(list(sources.skipped))
    return [(s.label, read_text(s, errors=errors)) for s in sources]


def check_inputs(inputs: Sequence[str], what: str) -> None:
    """Record and chat inputs are files (or - for stdin): a directory is refused, naming the fix."""
    import os

    for p in inputs:
        if p != "-" and os.path.isdir(p):
            raise UsageError(f"{p}: is a directory; {what} reads files: give them (e.g. {p}/*.jsonl)")
