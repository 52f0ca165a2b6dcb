"""What `show` does once its tokenizers and texts are in hand (no command of its own): with one tokenizer and
text format, each text's token spans (coloured on a terminal, bracketed when piped); else the tokenizations
side by side, as rows, JSON or an HTML page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .common import Format

if TYPE_CHECKING:
    from tokcli.tokenizer.base import Tokenizer


def show_texts(
    toks: Sequence[Tokenizer], texts: list[tuple[str, str]], *, ids: bool, html: str | None, fmt: Format
) -> None:
    """Each (label, text) of `texts` under `toks`, in the view the options choose."""
    if len(toks) == 1 and html is None and fmt is Format.text:
        from tokcli.analysis.counting import token_spans
        from tokcli.output.tokens import spans

        for _, t in texts:
            spans(token_spans(toks[0], t), show_ids=ids)
        return
    from tokcli.analysis.sidebyside import side_by_side
    from tokcli.output import sidebyside as out_sbs

    out_sbs.views([(label, side_by_side(toks, t)) for label, t in texts], fmt.value, html=html)
