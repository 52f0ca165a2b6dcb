"""What `encode` does once its options are parsed (no command of its own): ids or token strings of each input
on stdout, or with --to (and --eot, --field, --workers, --scheduler) binary shards written by tokcli.dist."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokcli.errors import UsageError

from .common import arg_text, inputs_or_stdin

if TYPE_CHECKING:
    from .common import DistOptions


def encode_ids(
    inputs: list[str] | None, tokenizer: str, *, text: str | None, tokens: bool, as_json: bool, errors: str,
    strict_unk: bool, special: str, add_special: bool,
) -> None:  # fmt: skip
    """`encode`: a line of ids (or token strings) per input, or of --text; unknown text warned about on stderr
    (with `strict_unk`, refused)."""
    from tokcli import load
    from tokcli import output as o
    from tokcli.analysis.counting import UnknownText, checked_stream
    from tokcli.output.tokens import encoded
    from tokcli.textio import expand_inputs, iter_text

    tok = load(tokenizer).with_special(special, add_special)
    streams = [("<text>", [arg_text(text, "--text", errors=errors)])] if text is not None else [
        (s.label, iter_text(s, errors=errors)) for s in expand_inputs(inputs_or_stdin(inputs))
    ]  # fmt: skip
    unknown = UnknownText.of(tok)
    encoded(tok, [(label, checked_stream(tok, chunks, unknown, strict=strict_unk, label=label))
                  for label, chunks in streams], tokens=tokens, as_json=as_json)  # fmt: skip
    if unknown:
        o.warn(unknown.describe())


def encode_shards(
    inputs: list[str] | None, tokenizer: str, to: str | None, dist: DistOptions, *, tokens: bool, text: str | None,
    as_json: bool, strict_unk: bool, eot: str | None, special: str, add_special: bool, errors: str, quiet: bool,
    field: str | None,
) -> None:  # fmt: skip
    """`encode --to DIR`: the options that do not go with shards refused, then the shards written."""
    from .dist import encode_to

    refuse_for_shards(to=to, tokens=tokens, text=text, json=as_json, strict_unk=strict_unk)
    encode_to(inputs_or_stdin(inputs), tokenizer, str(to), dist, eot=eot, special=special, add_special=add_special,
              errors=errors, quiet=quiet, field=field)  # fmt: skip


def refuse_for_shards(*, to: str | None, **given: object) -> None:
    """UsageError for encode options that do not go with --to (and --to missing where shards are asked for)."""
    if to is None:
        raise UsageError("--eot, --field, --workers and --scheduler write shards: give --to DIR")
    for name, value in given.items():
        if value:
            raise UsageError(f"--{name.replace('_', '-')} does not go with --to (shards hold ids only)")
