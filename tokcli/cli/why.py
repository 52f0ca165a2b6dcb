"""show and why: where a text's tokens fall (boundaries, side by side, the HTML page) and where they go
(per script or character class), under one or more tokenizers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from tokcli.errors import UsageError

from .app import app
from .common import (
    DEFAULT_TOKENIZER,
    AddSpecialOpt,
    Errors,
    ErrorsOpt,
    Format,
    FormatOpt,
    InputsArg,
    Special,
    SpecialOpt,
    TableFormat,
    TableFormatOpt,
    TokenizersOpt,
)
from .groups import walk_options
from .inputs import whole_texts

if TYPE_CHECKING:
    from tokcli.files.walk import WalkOptions
    from tokcli.tokenizer.base import Tokenizer

# The most characters `show` (and `why --show`) displays: its views hold several objects per character and
# token (about 700 bytes a character with one tokenizer), so past this a text is refused rather than
# taking gigabytes. Divided among the tokenizers shown side by side. TOKCLI_MAX_SHOW_CHARS raises it.
MAX_SHOW_CHARS = 1 << 20


def check_show_size(texts: list[tuple[str, str]], n_tokenizers: int, what: str) -> None:
    """UsageError when the texts are more than `what` displays (see MAX_SHOW_CHARS)."""
    from tokcli.errors import limit_from_env

    total = sum(len(t) for _, t in texts)
    limit = limit_from_env("TOKCLI_MAX_SHOW_CHARS", MAX_SHOW_CHARS, "characters")
    most = limit // max(1, n_tokenizers)
    if total > most:
        per = f" ({limit:,} shared by {n_tokenizers} tokenizers)" if n_tokenizers > 1 else ""
        raise UsageError(
            f"{what} displays at most {most:,} characters{per}, and the input has {total:,}; show a part of it "
            "(e.g. `tokcli chunk` or --text), use `tokcli count` or `tokcli why` for the whole, or set "
            "TOKCLI_MAX_SHOW_CHARS higher"
        )


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

    toks = [load(t).with_special(special.value, add_special) for t in tokenizer or [DEFAULT_TOKENIZER]]
    texts = whole_texts(inputs, text, errors=errors.value)
    check_show_size(texts, len(toks), "show")
    show_texts(toks, texts, ids=ids, html=html, fmt=format)


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

    if show and format is not TableFormat.text:
        raise UsageError("--show colours the text on a terminal: drop it, or use --format text")
    toks = [load(t) for t in tokenizer or [DEFAULT_TOKENIZER]]
    texts = whole_texts(inputs, text, errors=errors.value, walk=walk)
    if show:
        check_show_size(texts, len(toks), "why --show")
    result = explain(toks, texts, keep_char_costs=show)
    if show:
        ow.show(result)
    ow.why(result.to_dict(top), format.value)
    if result.runs_capped:
        from tokcli.analysis.why import MAX_RUNS
        from tokcli.output import info

        info(f"note: more than {MAX_RUNS:,} distinct runs: the costliest runs are ranked among the first "
             f"{MAX_RUNS:,} seen (the class table counts every character)")  # fmt: skip


def show_texts(
    toks: Sequence[Tokenizer], texts: list[tuple[str, str]], *, ids: bool, html: str | None, fmt: Format
) -> None:
    """Each (label, text) of `texts` under `toks`, in the view the options choose."""
    if len(toks) == 1 and html is None and fmt is Format.text:
        from tokcli.analysis.spans import token_spans
        from tokcli.output.tokens import spans

        for _, t in texts:
            spans(token_spans(toks[0], t), show_ids=ids)
        return
    from tokcli.analysis.sidebyside import side_by_side
    from tokcli.output import sidebyside as out_sbs

    out_sbs.views([(label, side_by_side(toks, t)) for label, t in texts], fmt.value, html=html)
