"""Option types and helpers shared by the command modules: every option is defined once, here."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

import typer

from tokcli.errors import UsageError
from tokcli.tokenizer.registry import DEFAULT_TOKENIZER

__all__ = ["DEFAULT_TOKENIZER"]


class Errors(str, Enum):
    strict = "strict"
    replace = "replace"


class Format(str, Enum):
    text = "text"
    json = "json"


class TableFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    tsv = "tsv"
    markdown = "markdown"


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
InputArg = Annotated[str | None, typer.Argument(help="A file, or - for stdin (the default when piped).")]
ErrorsOpt = Annotated[
    Errors,
    typer.Option(
        "--errors", help="On bytes that are not UTF-8: strict stops with an error, replace goes on with U+FFFD."
    ),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="text for people, json for programs.")]
TableFormatOpt = Annotated[
    TableFormat,
    typer.Option(
        "--format", "-f", help="table (rich on a terminal, aligned text when piped), json, csv, tsv or markdown."
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]
OutputOpt = Annotated[
    str | None, typer.Option("--output", "-o", help="Write to this file (atomically) instead of stdout.")
]
MaxTokensOpt = Annotated[int, typer.Option("--max-tokens", "-n", help="At most this many tokens.", min=1)]
ModelsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--model", "-m",
        help="A model from `tokcli models`: show the share of its context window used, whether it fits and "
        "how many chunks it takes. Repeatable.",
    ),
]  # fmt: skip
LMOpt = Annotated[
    str, typer.Option("-m", "--model", help="A bundled model (char, word, bpe, ja-char) or a model directory.")
]


def inputs_or_stdin(inputs: list[str] | None) -> list[str]:
    """The inputs given, or ['-'] when none are given and stdin is piped."""
    if inputs:
        return inputs
    if sys.stdin is not None and not sys.stdin.isatty():
        return ["-"]
    raise UsageError("no input: give a file or directory, or pipe text into stdin")


def prompt_text(prompt: str | None, *, required: bool) -> str:
    """A prompt argument, or stdin for '-' (and when none is given and stdin is piped)."""
    from tokcli.textio import read_text

    if prompt == "-" or (prompt is None and sys.stdin is not None and not sys.stdin.isatty()):
        return read_text("-")
    if prompt is None:
        if required:
            raise UsageError("no prompt: give some text, or - to read stdin")
        return ""
    return prompt


# -- the sampling options, shared by generate and next --------------------------------------------------
_SAMPLING: dict[str, tuple[Any, Any]] = {  # parameter -> (annotation, default); temperature's default is per command
    "temperature": (
        Annotated[float, typer.Option("--temperature", help="Divide the logits by this; 0 = greedy (always the most likely token).")],
        None,
    ),
    "top_k": (Annotated[int, typer.Option("--top-k", help="Keep only the k most likely tokens; 0 = off.")], 0),
    "top_p": (
        Annotated[float, typer.Option("--top-p", help="Keep the most likely tokens until their probability reaches p, in (0, 1]; 1 = off.")],
        1.0,
    ),
    "min_p": (
        Annotated[float, typer.Option("--min-p", help="Drop tokens less likely than min-p x the most likely one, in [0, 1]; 0 = off.")],
        0.0,
    ),
    "repetition_penalty": (
        Annotated[float, typer.Option("--repetition-penalty", help="> 1 makes tokens already in the context less likely (CTRL's rule); 1 = off.")],
        1.0,
    ),
}  # fmt: skip


def sampling_options(*, temperature: float) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the sampling options: it declares `sampling` and receives a SamplingOptions.

    The options are appended to the command's signature (Typer reads `__signature__`), so their names,
    help and order are defined once, here, for every command that samples.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn)  # annotations are strings (PEP 563); `sampling`'s is for type checkers only
        own = [p.replace(annotation=eval(p.annotation, fn.__globals__) if isinstance(p.annotation, str) else p.annotation)
               for p in sig.parameters.values() if p.name != "sampling"]  # fmt: skip
        extra = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=ann,
                              default=temperature if name == "temperature" else default)
            for name, (ann, default) in _SAMPLING.items()
        ]  # fmt: skip

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            from tokcli.model.sampling import SamplingOptions

            sampling = SamplingOptions(**{name: kwargs.pop(name) for name in _SAMPLING})
            return fn(**kwargs, sampling=sampling)

        command.__signature__ = sig.replace(parameters=own + extra)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in own + extra}
        del command.__wrapped__  # Typer must see the new signature, not fn's
        return command

    return decorate
