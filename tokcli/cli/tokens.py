"""encode and decode: text to token ids and back, streamed; encode --to writes shards."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from tokcli.errors import UsageError

from .app import app
from .common import (
    DEFAULT_TOKENIZER,
    AddSpecialOpt,
    Errors,
    ErrorsOpt,
    FieldOpt,
    Format,
    FormatOpt,
    InputsArg,
    QuietOpt,
    Special,
    SpecialOpt,
    StrictUnkOpt,
    TokenizerOpt,
)
from .groups import DistOptions, dist_options
from .inputs import arg_text, inputs_or_stdin

if TYPE_CHECKING:
    from tokcli.files.walk import WalkOptions


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
    from tokcli.analysis.spans import parse_ids
    from tokcli.output import finish_line, out

    tok = load(tokenizer)
    if ids:
        parsed = parse_ids(ids, tok)
    elif sys.stdin is not None and not sys.stdin.isatty():
        parsed = stdin_ids(tok)
    else:
        raise UsageError("no ids: give them as arguments or pipe them into stdin")
    text = tok.decode(parsed)
    out(text, end="")
    finish_line(text)  # on a terminal only: the prompt is not glued to text without a final newline


DECODE_LIMIT = 64 << 20  # bytes of ids `decode` reads from stdin (TOKCLI_MAX_DECODE_BYTES): ~10 million ids


def stdin_ids(tok: Any) -> list[int]:
    """The ids piped into `decode`, parsed as they are read (the first word that is not an id stops it) and
    at most TOKCLI_MAX_DECODE_BYTES of them: a stream without end is refused, never held whole."""
    from tokcli.analysis.spans import parse_ids
    from tokcli.errors import InputError, limit_from_env
    from tokcli.files.text import read_blocks, stdin_binary

    most = limit_from_env("TOKCLI_MAX_DECODE_BYTES", DECODE_LIMIT)
    ids: list[int] = []
    seen, tail = 0, b""
    for block in read_blocks(stdin_binary(), "<stdin>"):
        seen += len(block)
        if seen > most:
            raise InputError(
                f"<stdin>: more than {most:,} bytes of ids, the most `decode` reads; decode them in parts "
                "(e.g. with split), or set TOKCLI_MAX_DECODE_BYTES to a larger number of bytes"
            )
        data = tail + block
        cut = 1 + max(data.rfind(c) for c in (b" ", b"\n", b"\t", b"\r", b"\x0b", b"\x0c", b",", b"[", b"]"))
        if cut == 0 and len(data) > 64:  # no separator in 64 bytes: no id is that long; let parse_ids say so
            cut = len(data)
        done, tail = data[:cut], data[cut:]
        ids += parse_ids([done.decode("utf-8", "replace")], tok)
    ids += parse_ids([tail.decode("utf-8", "replace")], tok)
    return ids


def encode_ids(
    inputs: list[str] | None, tokenizer: str, *, text: str | None, tokens: bool, as_json: bool, errors: str,
    strict_unk: bool, special: str, add_special: bool,
) -> None:  # fmt: skip
    """`encode`: a line of ids (or token strings) per input, or of --text; unknown text warned about on stderr
    (with `strict_unk`, refused)."""
    from tokcli import load
    from tokcli import output as o
    from tokcli.files.text import expand_inputs, iter_text
    from tokcli.output.tokens import encoded
    from tokcli.tokenizer.counting import checked_stream
    from tokcli.tokenizer.countresults import UnknownText

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


def encode_to(
    inputs: list[str], tokenizer: str, out: str, dist: DistOptions, *, eot: str | None, special: str,
    add_special: bool, errors: str, quiet: bool, walk: WalkOptions | None = None, field: str | None = None,
) -> None:  # fmt: skip
    """`encode --to DIR`: shards of token ids and their index; a summary on stderr."""
    from tokcli import output as o
    from tokcli.output.dist import TaskProgress
    from tokcli.workers import encode_to as write

    with TaskProgress(f"encoding to {out}", quiet=quiet) as bar:
        done = write(inputs, tokenizer, out, workers=dist.workers, scheduler=dist.scheduler, timeout=dist.timeout, eot=eot,
                     special=special, add_special=add_special, errors=errors, walk=walk,
                     task_bytes=dist.task_bytes, progress=bar.update, field=field)  # fmt: skip
    if done.missing:
        o.warn(f"{done.missing:,} records have no text in {field!r}; they were left out")
    if not quiet:
        kept = f", {done.kept} kept from an earlier run" if done.kept else ""
        n = len(done.index["shards"])
        o.info(f"{done.tokens:,} tokens in {n} shard{'' if n == 1 else 's'} ({done.index['dtype']}{kept}) -> {out}")
