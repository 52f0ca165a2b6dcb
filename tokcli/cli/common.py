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
    """Shell completion of tokenizer names: every name the registry answers (tokenizers, models, aliases)."""
    from tokcli.tokenizer.registry import known_names

    return [n for n in known_names() if n.startswith(incomplete)]


def complete_model(incomplete: str) -> list[str]:
    """Shell completion of `tokcli models` names and their aliases."""
    from tokcli.tokenizer.models import load_models, names

    try:
        return [n for n in names(load_models()) if n.startswith(incomplete)]
    except Exception:  # a broken config must not break the shell
        return []


def complete_lm(incomplete: str) -> list[str]:
    """Shell completion of the bundled language models."""
    from tokcli.files.bundled import model_names

    return [n for n in model_names() if n.startswith(incomplete)]


def resolve_tokenizer(name: str) -> str:
    """The name a `-t NAME` stands for, as the registry spells it (tokcli.tokenizer.registry.resolve: the
    same table `tokcli.load`, `-m` and the budgets read). Where it counts with a proxy (a private tokenizer),
    its note goes to stderr: "NAME: counting with PROXY, an estimate (~) ...". An unknown name is the
    registry's TokenizerNotFound; a vendor tokenizer whose extra is missing is BackendMissing naming the pip
    command (-t asks for that tokenizer; `-m NAME` estimates its window with the proxy instead)."""
    from tokcli.tokenizer.registry import resolve

    r = resolve(name)
    if r.vendor is not None and not r.exact:
        r.load()  # raises BackendMissing, naming the extra
    if r.note:
        from tokcli.output import warn

        warn(r.note)
    return r.name


def resolve_opt(ctx: typer.Context, value: Any) -> Any:
    """Typer callback of -t: each name resolved (resolve_tokenizer). Two names of one tokenizer stay two
    columns, each under its own name; only the same name given twice is counted once."""
    if ctx.resilient_parsing or value is None:
        return value
    if isinstance(value, list | tuple):
        return list(dict.fromkeys(resolve_tokenizer(v) for v in value))
    return resolve_tokenizer(value)


TokenizerOpt = Annotated[
    str,
    typer.Option(
        "-t", "--tokenizer", autocompletion=complete_tokenizer, callback=resolve_opt,
        help="A tokenizer: bundled (en, char, word, bpe, ja-char), a tiktoken encoding (cl100k_base, o200k_base, ...), "
        "a model name (gpt-4o, or any model `tokcli models` lists: a private tokenizer is estimated with a proxy), "
        "or a path to a tokenizer.json or .model file.",
    ),
]  # fmt: skip
TokenizersOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-t", "--tokenizer", autocompletion=complete_tokenizer, callback=resolve_opt,
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
