"""Option types and helpers shared by the command modules."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from ..errors import UsageError


class Errors(str, Enum):
    strict = "strict"
    replace = "replace"


class Format(str, Enum):
    text = "text"
    json = "json"


TokenizerOpt = Annotated[
    str,
    typer.Option(
        "-t", "--tokenizer",
        help="A tokenizer: bundled (char, word, bpe), a tiktoken encoding (cl100k_base, o200k_base, ...), "
        "a model name (gpt-4o, ...), or a path to a tokenizer.json or .model file.",
    ),
]  # fmt: skip
TokenizersOpt = Annotated[
    list[str] | None,
    typer.Option("-t", "--tokenizer", help="A tokenizer (name or path); repeat to compare several."),
]
InputsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Files or directories to read, or - for stdin (the default when stdin is piped).", show_default=False
    ),
]
ErrorsOpt = Annotated[
    Errors,
    typer.Option(
        "--errors", help="On bytes that are not UTF-8: strict stops with an error, replace goes on with U+FFFD."
    ),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="text for people, json for programs.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]


def inputs_or_stdin(inputs: list[str] | None) -> list[str]:
    """The inputs given, or ['-'] when none are given and stdin is piped."""
    if inputs:
        return inputs
    if sys.stdin is not None and not sys.stdin.isatty():
        return ["-"]
    raise UsageError("no input: give a file or directory, or pipe text into stdin")
