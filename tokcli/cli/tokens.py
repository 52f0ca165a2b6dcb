"""train, encode, decode, count, show: the everyday tokenizer commands."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from tokcli.errors import UsageError

from . import app
from .common import (
    DEFAULT_TOKENIZER,
    AddSpecialOpt,
    DistOptions,
    Errors,
    ErrorsOpt,
    FieldOpt,
    Format,
    FormatOpt,
    IdFieldOpt,
    InputsArg,
    ModelsOpt,
    QuietOpt,
    Special,
    SpecialOpt,
    StrictUnkOpt,
    TableFormat,
    TableFormatOpt,
    TokenizerOpt,
    TokenizersOpt,
    dist_options,
    inputs_or_stdin,
    walk_options,
)

if TYPE_CHECKING:
    from tokcli.walk import WalkOptions


class Kind(str, Enum):
    char = "char"
    word = "word"
    bpe = "bpe"
    unigram = "unigram"


class Backend(str, Enum):
    hf = "hf"
    sentencepiece = "sentencepiece"


@app.command()
def train(
    kind: Annotated[Kind, typer.Argument(help="char, word, bpe or unigram.")],
    inputs: Annotated[
        list[str], typer.Argument(help="Files, directories (recursively, text files only) or - for stdin.")
    ],
    output: Annotated[
        str, typer.Option("-o", "--output", help="Where to write the tokenizer (.json, or .model for sentencepiece).")
    ],
    vocab_size: Annotated[
        int | None,
        typer.Option(
            "--vocab-size", "-v", help="Vocabulary size (char: all characters seen; word, bpe, unigram: 8000)."
        ),
    ] = None,
    min_frequency: Annotated[
        int | None,
        typer.Option("--min-frequency", help="Ignore characters, words or pairs seen fewer times (hf backend)."),
    ] = None,
    backend: Annotated[
        Backend, typer.Option("--backend", help="bpe only: hf (tokenizers, tokenizer.json) or sentencepiece (.model).")
    ] = Backend.hf,
    character_coverage: Annotated[
        float,
        typer.Option(
            "--character-coverage",
            help="sentencepiece: share of characters the vocabulary covers; the rest fall back to bytes.",
        ),
    ] = 0.9995,
    holdout: Annotated[
        float,
        typer.Option(
            "--holdout",
            help="Train on all but the last FRACTION of each input (the split `tokcli lm train` validates on).",
        ),
    ] = 0.0,
    errors: ErrorsOpt = Errors.strict,
    quiet: QuietOpt = False,
) -> None:
    """Train a tokenizer on text and save it atomically.

    char: every character seen (or the most frequent N) plus <unk>. word: a Unicode-aware split into words,
    numbers, punctuation and whitespace; the N most frequent plus <unk>; lossy only where a word or
    whitespace run is unknown (it decodes as "<unk>"). bpe: byte-level BPE with GPT-4o's pre-tokenization
    regex, exact for any text. unigram (and bpe --backend sentencepiece): sentencepiece with byte fallback,
    exact for any text.
    """
    from .training import train_tokenizer

    train_tokenizer(kind.value, inputs, output, vocab_size=vocab_size, min_frequency=min_frequency,
                    backend=backend.value, character_coverage=character_coverage, holdout=holdout,
                    errors=errors.value, quiet=quiet)  # fmt: skip


@app.command()
@dist_options
def encode(
    inputs: InputsArg = None,
    tokenizer: TokenizerOpt = DEFAULT_TOKENIZER,
    tokens: Annotated[
        bool, typer.Option("--tokens", help="Token strings instead of ids, one per line (\\n, \\t escaped).")
    ] = False,
    text: Annotated[str | None, typer.Option("--text", help="Encode this text instead of reading inputs.")] = None,
    format: FormatOpt = Format.text,
    errors: ErrorsOpt = Errors.strict,
    strict_unk: StrictUnkOpt = False,
    special: SpecialOpt = Special.text,
    add_special: AddSpecialOpt = False,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="DIR",
            help="Write the ids as binary shards (uint16/uint32, numpy.memmap-readable) "
            "and an index.json into DIR, as nanoGPT's prepare.py does; a rerun resumes.",
        ),
    ] = None,
    eot: Annotated[
        str | None,
        typer.Option(
            "--eot",
            metavar="TOKEN",
            help="With --to: append this token (an id, or a special token such as <|endoftext|>) after each input.",
        ),
    ] = None,
    quiet: QuietOpt = False,
    field: FieldOpt = None,
    *,
    dist: DistOptions,
) -> None:
    """Encode text to token ids (a line of space-separated ids per input).

    Streams: a long file is encoded a segment at a time, with exactly the ids of encoding it whole
    (sentencepiece unigram models: each segment's own best segmentation, which may split a word
    differently where two ways score the same). Text the tokenizer does not know (it becomes <unk>) is
    reported on stderr, or with --strict-unk is an error.
    With --to DIR, shards for training (`tokcli lm train DIR`), with --workers N encoded in parallel;
    with --field, each record of JSONL or Parquet files is a document.
    """
    from .encoding import encode_ids, encode_shards

    dist = dist.on(inputs or ["-"]) if to is not None else dist  # DASK_SCHEDULER_ADDRESS: with --to only
    if to is not None or eot is not None or dist.active or field is not None:
        return encode_shards(inputs, tokenizer, to, dist, tokens=tokens, text=text, as_json=format is Format.json,
                             strict_unk=strict_unk, eot=eot, special=special.value, add_special=add_special,
                             errors=errors.value, quiet=quiet, field=field)  # fmt: skip
    encode_ids(inputs, tokenizer, text=text, tokens=tokens, as_json=format is Format.json, errors=errors.value,
               strict_unk=strict_unk, special=special.value, add_special=add_special)  # fmt: skip


@app.command()
def decode(
    ids: Annotated[
        list[str] | None, typer.Argument(help="Token ids; read from stdin when none are given.", show_default=False)
    ] = None,
    tokenizer: TokenizerOpt = DEFAULT_TOKENIZER,
) -> None:
    """Decode token ids (space- or comma-separated, or a JSON list) back to text."""
    import sys

    from tokcli import load
    from tokcli.analysis.counting import parse_ids
    from tokcli.output import finish_line, out

    tok = load(tokenizer)
    words = ids if ids else ([sys.stdin.read()] if not sys.stdin.isatty() else None)
    if words is None:
        raise UsageError("no ids: give them as arguments or pipe them into stdin")
    text = tok.decode(parse_ids(words, tok))
    out(text, end="")
    finish_line(text)  # on a terminal only: the prompt is not glued to text without a final newline


@app.command()
@dist_options
@walk_options
def count(
    inputs: InputsArg = None,
    tokenizer: TokenizersOpt = None,
    model: ModelsOpt = None,
    reserve: Annotated[int, typer.Option("--reserve", help="Tokens kept free for the answer (with --model).")] = 0,
    cost: Annotated[
        bool,
        typer.Option(
            "--cost", help="With --model: also show the input cost of the total at the model's input price (USD)."
        ),
    ] = False,
    format: TableFormatOpt = TableFormat.text,
    errors: ErrorsOpt = Errors.strict,
    strict_unk: StrictUnkOpt = False,
    special: SpecialOpt = Special.text,
    add_special: AddSpecialOpt = False,
    field: FieldOpt = None,
    id_field: IdFieldOpt = None,
    chat: Annotated[
        bool,
        typer.Option(
            "--chat",
            help="Read the inputs as chat conversations (OpenAI's format: a JSON object with a messages array, or "
            "JSONL with one per line) and count what the model is sent, per-message overhead included.",
        ),
    ] = False,
    *,
    walk: WalkOptions,
    dist: DistOptions,
) -> None:
    """Count tokens per input and in total, under one or more tokenizers side by side.

    With one input and one tokenizer and stdout not a terminal it prints the bare number, so
    `n=$(tokcli count -t gpt-4o file.txt)` works in scripts. Counting streams in bounded memory.
    Text a tokenizer does not know (it becomes <unk>) is reported on stderr, or with --strict-unk is
    an error.
    With --model, the total is also counted with each model's own tokenizer (or its stated proxy,
    marked as an estimate, ~) and set against its context window; --cost adds its input cost.
    With --field, per-record statistics of datasets (and with --model the records over its window);
    with --chat, conversations with their per-message overhead (see the README).
    With --workers N or --scheduler, files are counted in parallel by Dask workers, with the same totals.
    """
    if field or chat or id_field:
        from .records import count_field_or_chat

        return count_field_or_chat(inputs, tokenizer, model or [], field=field, id_field=id_field, chat=chat,
                                   reserve=reserve, cost=cost, strict_unk=strict_unk, fmt=format.value,
                                   errors=errors.value, special=special.value, add_special=add_special,
                                   dist=dist)  # fmt: skip
    from .counting import count_files

    count_files(inputs_or_stdin(inputs), tokenizer, model or [], reserve=reserve, cost=cost, fmt=format,
                errors=errors.value, strict_unk=strict_unk, special=special.value, add_special=add_special,
                walk=walk, dist=dist.on(inputs or ["-"]))  # fmt: skip


@app.command()
def show(
    inputs: InputsArg = None,
    tokenizer: TokenizersOpt = None,
    text: Annotated[str | None, typer.Option("--text", help="Show this text instead of reading inputs.")] = None,
    ids: Annotated[bool, typer.Option("--ids", help="Also show each token's id (one tokenizer).")] = False,
    html: Annotated[
        str | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Write a self-contained offline page instead: the text coloured by token under each "
            "tokenizer side by side, counts on top, ids on hover.",
        ),
    ] = None,
    format: FormatOpt = Format.text,
    errors: ErrorsOpt = Errors.strict,
    special: SpecialOpt = Special.text,
    add_special: AddSpecialOpt = False,
) -> None:
    """Show the text with its token boundaries: coloured alternately on a terminal, [bracketed] when piped.

    Byte-level tokens that only together make up a character are shown as one span with all their ids.
    With two or more -t, the tokenizations are aligned by character: a row per tokenizer with | at its
    boundaries and ^ under the boundaries they do not share. --format json gives every span's character
    offsets and ids.

    Example: tokcli show -t cl100k_base -t o200k_base --text "吾輩は猫である。"
    """
    from tokcli import load

    from .showing import show_texts
    from .texts import whole_texts

    toks = [load(t).with_special(special.value, add_special) for t in tokenizer or [DEFAULT_TOKENIZER]]
    show_texts(toks, whole_texts(inputs, text, errors=errors.value), ids=ids, html=html, fmt=format)
