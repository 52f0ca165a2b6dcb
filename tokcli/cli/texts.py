"""The texts a command reads whole (`show`, `why`): --text, or each input (files, directories walked, - for
stdin) with its label."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .common import arg_text, inputs_or_stdin

if TYPE_CHECKING:
    from tokcli.walk import WalkOptions


def whole_texts(
    inputs: list[str] | None, text: str | None, *, errors: str, walk: WalkOptions | None = None
) -> list[tuple[str, str]]:
    """(label, text) of --text when given, else of each input (stdin when none is given and it is piped), and
    a warning for each file the walk left out (binary, not UTF-8)."""
    from tokcli.textio import expand_inputs, read_text

    if text is not None:
        return [("<text>", arg_text(text, "--text", errors=errors))]
    sources = expand_inputs(inputs_or_stdin(inputs), walk)
    from tokcli.output import skipped

    skipped(list(sources.skipped))
    return [(s.label, read_text(s, errors=errors)) for s in sources]
