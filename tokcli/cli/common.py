"""The options shared by the command modules: every option is defined once, here (its type, its completion,
its help). Helpers that read the inputs are in inputs.py; options that come as a group (sampling, walk, dist)
in groups.py."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import typer

from tokcli.tokenizer import DEFAULT_TOKENIZER

__all__ = ["DEFAULT_TOKENIZER"]


class Errors(str, Enum):
    strict = "strict"
    replace = "replace"  # type: ignore[assignment]  # the member shadows str.replace, as the option's value must read


class Format(str, Enum):
    text = "text"
    json = "json"


class Special(str, Enum):
    text = "text"
    allow = "allow"


class TableFormat(str, Enum):
    text = "text"
    json = "json"
    csv = "csv"
    tsv = "tsv"
    markdown = "markdown"
    table = "table"  # what the help has long called text: read as text (the option's callback)


def complete_tokenizer(incomplete: str) -> list[str]:
    """Shell completion of tokenizer names (bundled, tiktoken encodings and example models)."""
    from tokcli.tokenizer.registry import known_names

    return [n for n in known_names() if n.startswith(incomplete)]


def complete_model(incomplete: str) -> list[str]:
    """Shell completion of `tokcli models` names."""
    from tokcli.budget.models import load_models

    try:
        return [n for n in load_models() if n.startswith(incomplete)]
    except Exception:  # a broken config must not break the shell
        return []


def complete_lm(incomplete: str) -> list[str]:
    """Shell completion of the bundled language models."""
    from tokcli.files.bundled import model_names

    return [n for n in model_names() if n.startswith(incomplete)]


def resolve_tokenizer(name: str) -> str:
    """The tokenizer spec for a `-t NAME`: NAME itself where the registry loads it (a tokenizer, an encoding,
    a model name tiktoken or a vendor knows, a path), else the tokenizer of the model NAME in `tokcli models`:
    its exact one, or its proxy with a warning on stderr that counts are estimates. A name neither knows
    gets the registry's own error, and so does a name whose extra is missing (the error names the pip
    command; `-m NAME` counts it with its proxy instead). (The registry cannot ask the model table: tokenizer sits below budget.)"""
    from tokcli.errors import TokcliError, TokenizerNotFound
    from tokcli.tokenizer.registry import load

    if "/" in name or name.endswith((".json", ".model")) or name.startswith("."):
        return name  # a path: the registry's alone
    try:
        load(name)  # cached: the command's own load of it costs nothing more
        return name
    except TokenizerNotFound as e:  # a missing extra stays an error: -t asks for that tokenizer exactly
        missing = e
    from tokcli.budget.models import get_model

    try:
        entry = get_model(name)
    except TokcliError:
        raise missing from None
    if not entry.exact:
        from tokcli.output import warn

        why = entry.note or entry.count_via
        warn(f"{entry.name}: counting with {entry.counting_tokenizer}, an estimate (~) of its tokens ({why})")
    return entry.counting_tokenizer


def _resolve_opt(ctx: typer.Context, value: Any) -> Any:
    """Typer callback of -t: model names from `tokcli models` become their tokenizer (resolve_tokenizer)."""
    if ctx.resilient_parsing or value is None:
        return value
    if isinstance(value, list | tuple):
        return list(dict.fromkeys(resolve_tokenizer(v) for v in value))  # two models' one proxy: one column
    return resolve_tokenizer(value)


TokenizerOpt = Annotated[
    str,
    typer.Option(
        "-t", "--tokenizer", autocompletion=complete_tokenizer, callback=_resolve_opt,
        help="A tokenizer: bundled (en, char, word, bpe, ja-char), a tiktoken encoding (cl100k_base, o200k_base, ...), "
        "a model name (gpt-4o, or any model `tokcli models` lists: a private tokenizer is estimated with a proxy), "
        "or a path to a tokenizer.json or .model file.",
    ),
]  # fmt: skip
TokenizersOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-t", "--tokenizer", autocompletion=complete_tokenizer, callback=_resolve_opt,
        help="A tokenizer (name or path), or a model from `tokcli models`; repeat to compare several.",
    ),
]  # fmt: skip
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
        "--format",
        "-f",
        help="text, or table (the same: rich on a terminal, aligned text when piped), json, csv, tsv or markdown.",
        callback=lambda v: TableFormat.text if v is TableFormat.table else v,
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]
StrictUnkOpt = Annotated[
    bool,
    typer.Option(
        "--strict-unk",
        help="Text the tokenizer does not know (it would become its unknown token, <unk>) is an error, "
        "not a warning. Only tokenizers with an unknown token (char, word, ja-char, some HF and "
        "sentencepiece files) can lose text.",
    ),
]
SpecialOpt = Annotated[
    Special,
    typer.Option(
        "--special",
        help="A special token's string in the input (<|endoftext|>, <s>, ...): text encodes it as the characters "
        "it is (the default, for every tokenizer); allow encodes it as the one special token it names.",
    ),
]
AddSpecialOpt = Annotated[
    bool,
    typer.Option(
        "--add-special",
        help="Also add what the model adds around each input (BOS/EOS: an HF tokenizer's post-processor, "
        "a sentencepiece model's <s>, Llama 3's <|begin_of_text|>; nothing for OpenAI's encodings).",
    ),
]
OutputOpt = Annotated[
    str | None, typer.Option("--output", "-o", help="Write to this file (atomically) instead of stdout.")
]
MaxTokensOpt = Annotated[int, typer.Option("--max-tokens", "-n", help="At most this many tokens.", min=1)]
ModelsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--model", "-m", autocompletion=complete_model,
        help="A model from `tokcli models`: show the share of its context window used, whether it fits and "
        "how many chunks it takes. Repeatable.",
    ),
]  # fmt: skip
FieldOpt = Annotated[
    str | None,
    typer.Option(
        "--field", metavar="NAME",
        help="Read the inputs as datasets: this field of every record of a .jsonl file (also .jsonl.gz, "
        ".jsonl.zst) or this column of a .parquet file; a dotted path reaches nested objects (meta.text).",
    ),
]  # fmt: skip
IdFieldOpt = Annotated[
    str | None,
    typer.Option(
        "--id-field", metavar="NAME",
        help="With --field: name records by this field (default: the line number in JSONL, the row number in Parquet).",
    ),
]  # fmt: skip
LMOpt = Annotated[
    str,
    typer.Option(
        "-m",
        "--model",
        autocompletion=complete_lm,
        help="A bundled model (en, char, word, bpe, ja-char) or a model directory.",
    ),
]
