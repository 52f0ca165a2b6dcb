"""why: where a text's tokens go, per script or character class, under one or more tokenizers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tokcli.errors import UsageError

from . import app
from .common import (
    DEFAULT_TOKENIZER,
    Errors,
    ErrorsOpt,
    InputsArg,
    TableFormat,
    TableFormatOpt,
    TokenizersOpt,
    walk_options,
)

if TYPE_CHECKING:
    from tokcli.walk import WalkOptions


@app.command()
@walk_options
def why(
    inputs: InputsArg = None,
    tokenizer: TokenizersOpt = None,
    text: Annotated[str | None, typer.Option("--text", help="Explain this text instead of reading inputs.")] = None,
    top: Annotated[int, typer.Option("--top", "-n", help="Costliest runs shown per tokenizer.", min=0)] = 10,
    show: Annotated[
        bool, typer.Option("--show", help="Also print the text coloured by tokens per character (on a terminal).")
    ] = False,
    format: TableFormatOpt = TableFormat.text,
    errors: ErrorsOpt = Errors.strict,
    *,
    walk: WalkOptions,
) -> None:
    """Where the tokens go: characters, tokens and characters per token per script or character class.

    Classes: Han, Hiragana, Katakana, Latin, digits, indentation, whitespace, punctuation (and symbols),
    emoji, other. Each token counts 1, shared among the characters it covers (a character split over
    byte tokens in proportion to its bytes), so the classes' tokens sum exactly to the total. Then the
    costliest runs (a word, a run of kanji or kana, an emoji, an indentation): most tokens per character.
    csv and tsv give the class table, one row per tokenizer and class.

    Example: tokcli why -t cl100k_base -t o200k_base novel_ja.txt
    """
    from tokcli import load
    from tokcli.analysis.why import why as explain
    from tokcli.output import why as ow

    from .texts import whole_texts

    if show and format is not TableFormat.text:
        raise UsageError("--show colours the text on a terminal: drop it, or use --format text")
    toks = [load(t) for t in tokenizer or [DEFAULT_TOKENIZER]]
    texts = whole_texts(inputs, text, errors=errors.value, walk=walk)
    result = explain(toks, texts, keep_char_costs=show)
    if show:
        ow.show(result)
    ow.why(result.to_dict(top), format.value)
