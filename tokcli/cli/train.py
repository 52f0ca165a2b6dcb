"""train: a char, word, bpe or unigram tokenizer from text, saved atomically."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from .app import app
from .common import Errors, ErrorsOpt, QuietOpt


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
            "--vocab-size",
            "-v",
            help="Vocabulary size, at most: a text that supports fewer tokens gives fewer, with a warning "
            "(char: all characters seen; word, bpe, unigram: 8000).",
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

    train_tokenizer(kind.value, inputs, output, vocab_size=vocab_size, min_frequency=min_frequency,
                    backend=backend.value, character_coverage=character_coverage, holdout=holdout,
                    errors=errors.value, quiet=quiet)  # fmt: skip


def train_tokenizer(
    kind: str, inputs: list[str], output: str, *, vocab_size: int | None, min_frequency: int | None, backend: str,
    character_coverage: float, holdout: float, errors: str, quiet: bool,
) -> None:  # fmt: skip
    """`train`: a tokenizer of `kind` trained on the inputs (less the held-out part of each), saved atomically."""
    import sys

    from tokcli import output as o
    from tokcli.files.text import expand_inputs, training_texts
    from tokcli.tokenizer.training import check_output_path, vocab_shortfall
    from tokcli.tokenizer.training import train as train_on

    check_output_path(output, kind, backend)  # before reading: training can take minutes
    texts = training_texts(expand_inputs(inputs), holdout=holdout, errors=errors)
    with o.Progress(f"training {kind}", quiet=quiet) as bar:
        bar.update(status="reading and counting")
        tok = train_on(
            kind, texts, vocab_size=vocab_size, min_frequency=min_frequency, backend=backend,
            character_coverage=character_coverage, show_progress=not quiet and o.is_tty(sys.stderr),
        )  # fmt: skip
    tok.save(output)
    if short := vocab_shortfall(tok):
        asked = f"--vocab-size {vocab_size}" if vocab_size is not None else f"the default --vocab-size ({short[0]})"
        o.warn(shortfall(asked, kind, *short))
    if not quiet:
        o.info(f"trained {kind} tokenizer: {tok.vocab_size} tokens -> {output}")


def shortfall(asked: str, kind: str, requested: int, actual: int) -> str:
    """The warning for a trained vocabulary smaller than asked for (see training.vocab_shortfall)."""
    return f"{asked} is more than the text supports: trained {kind} with {actual:,} tokens, not {requested:,}"
