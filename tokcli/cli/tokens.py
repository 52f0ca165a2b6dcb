"""train, encode, decode, count, show: the everyday tokenizer commands."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from . import app
from .common import ErrorsOpt, Errors, QuietOpt


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
    inputs: Annotated[list[str], typer.Argument(help="Files, directories (recursively, text files only) or - for stdin.")],
    output: Annotated[str, typer.Option("-o", "--output", help="Where to write the tokenizer (.json, or .model for sentencepiece).")],
    vocab_size: Annotated[int | None, typer.Option("--vocab-size", "-v", help="Vocabulary size (char: all characters seen; word, bpe, unigram: 8000).")] = None,
    min_frequency: Annotated[int | None, typer.Option("--min-frequency", help="Ignore characters, words or pairs seen fewer times (hf backend).")] = None,
    backend: Annotated[Backend, typer.Option("--backend", help="bpe only: hf (tokenizers, tokenizer.json) or sentencepiece (.model).")] = Backend.hf,
    character_coverage: Annotated[float, typer.Option("--character-coverage", help="sentencepiece: share of characters the vocabulary covers; the rest fall back to bytes.")] = 0.9995,
    holdout: Annotated[float, typer.Option("--holdout", help="Train on all but the last FRACTION of each input (the split `tokcli lm train` validates on).")] = 0.0,
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
    from .. import output as o
    from ..errors import UsageError
    from ..textio import expand_inputs, iter_text, read_text, split_holdout
    from ..training import train as train_tokenizer

    if not 0 <= holdout < 1:
        raise UsageError(f"--holdout {holdout} must be in [0, 1)")
    sources = expand_inputs(inputs)

    def texts():
        for s in sources:
            if holdout:
                yield split_holdout(read_text(s, errors=errors.value), holdout)[0]
            else:
                yield from iter_text(s, errors=errors.value)

    show = not quiet and o.is_tty(__import__("sys").stderr)
    with o.Progress(f"training {kind.value}", quiet=quiet) as bar:
        bar.update(status="reading and counting")
        tok = train_tokenizer(
            kind.value, texts(), vocab_size=vocab_size, min_frequency=min_frequency, backend=backend.value,
            character_coverage=character_coverage, show_progress=show,
        )  # fmt: skip
    tok.save(output)
    if not quiet:
        o.info(f"trained {kind.value} tokenizer: {tok.vocab_size} tokens -> {output}")
