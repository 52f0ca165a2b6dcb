"""Option types and helpers shared by the command modules: every option is defined once, here."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tokcli.errors import UsageError
from tokcli.tokenizer import DEFAULT_TOKENIZER

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tokcli.files.walk import WalkOptions

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


def complete_tokenizer(incomplete: str) -> list[str]:
    """Shell completion of tokenizer names (bundled, tiktoken encodings and example models)."""
    from tokcli.tokenizer.registry import known_names

    return [n for n in known_names() if n.startswith(incomplete)]


def complete_model(incomplete: str) -> list[str]:
    """Shell completion of `tokcli models` names."""
    from tokcli.budget.models import load_models

    try:
        return [n for n in load_models() if n.startswith(incomplete)]
    except Exception:  # a broken config must not break the shell
        return []


def complete_lm(incomplete: str) -> list[str]:
    """Shell completion of the bundled language models."""
    from tokcli.files.bundled import model_names

    return [n for n in model_names() if n.startswith(incomplete)]


def resolve_tokenizer(name: str) -> str:
    """The tokenizer spec for a `-t NAME`: NAME itself where the registry loads it (a tokenizer, an encoding,
    a model name tiktoken or a vendor knows, a path), else the tokenizer of the model NAME in `tokcli models`:
    its exact one, or its proxy with a warning on stderr that counts are estimates. A name neither knows
    gets the registry's own error, and so does a name whose extra is missing (the error names the pip
    command; `-m NAME` counts it with its proxy instead). (The registry cannot ask the model table: tokenizer sits below budget.)"""
    from tokcli.errors import TokcliError, TokenizerNotFound
    from tokcli.tokenizer.registry import load

    if "/" in name or name.endswith((".json", ".model")) or name.startswith("."):
        return name  # a path: the registry's alone
    try:
        load(name)  # cached: the command's own load of it costs nothing more
        return name
    except TokenizerNotFound as e:  # a missing extra stays an error: -t asks for that tokenizer exactly
        missing = e
    from tokcli.budget.models import get_model

    try:
        entry = get_model(name)
    except TokcliError:
        raise missing from None
    if not entry.exact:
        from tokcli.output import warn

        why = entry.note or entry.count_via
        warn(f"{entry.name}: counting with {entry.counting_tokenizer}, an estimate (~) of its tokens ({why})")
    return entry.counting_tokenizer


def _resolve_opt(ctx: typer.Context, value: Any) -> Any:
    """Typer callback of -t: model names from `tokcli models` become their tokenizer (resolve_tokenizer)."""
    if ctx.resilient_parsing or value is None:
        return value
    if isinstance(value, list | tuple):
        return list(dict.fromkeys(resolve_tokenizer(v) for v in value))  # two models' one proxy: one column
    return resolve_tokenizer(value)


TokenizerOpt = Annotated[
    str,
    typer.Option(
        "-t", "--tokenizer", autocompletion=complete_tokenizer, callback=_resolve_opt,
        help="A tokenizer: bundled (en, char, word, bpe, ja-char), a tiktoken encoding (cl100k_base, o200k_base, ...), "
        "a model name (gpt-4o, or any model `tokcli models` lists: a private tokenizer is estimated with a proxy), "
        "or a path to a tokenizer.json or .model file.",
    ),
]  # fmt: skip
TokenizersOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-t", "--tokenizer", autocompletion=complete_tokenizer, callback=_resolve_opt,
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
        "--format", "-f", help="table (rich on a terminal, aligned text when piped), json, csv, tsv or markdown."
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


def inputs_or_stdin(inputs: list[str] | None) -> list[str]:
    """The inputs given, or ['-'] when none are given and stdin is piped."""
    if inputs:
        return inputs
    if sys.stdin is not None and not sys.stdin.isatty():
        return ["-"]
    raise UsageError("no input: give a file or directory, or pipe text into stdin")


def prompt_text(prompt: str | None, *, required: bool) -> str:
    """A prompt argument, or stdin for '-' (and when none is given and stdin is piped)."""
    from tokcli.files.text import read_text

    if prompt == "-" or (prompt is None and sys.stdin is not None and not sys.stdin.isatty()):
        return read_text("-")
    if prompt is None:
        if required:
            raise UsageError("no prompt: give some text, or - to read stdin")
        return ""
    return arg_text(prompt, "the prompt", fix="give it in UTF-8 (or pipe a UTF-8 file into stdin with -)")


def arg_text(value: str, what: str, *, errors: str = "strict", fix: str | None = None) -> str:
    """Text given on the command line, as valid Unicode.

    Python decodes argv with surrogateescape: a byte that is not UTF-8 arrives as a lone surrogate
    (U+DC80-U+DCFF), which no tokenizer can encode. errors='strict' refuses it with UsageError naming
    the byte; 'replace' turns the bad bytes into U+FFFD, as reading a file with --errors replace does.
    """
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError as e:
        pos = e.start
    if errors == "replace":
        try:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:  # a surrogate that is no escaped byte (not from argv): replace it alone
            return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)
    bad = value[pos]
    byte = f"byte 0x{ord(bad) - 0xDC00:02X}" if 0xDC80 <= ord(bad) <= 0xDCFF else f"U+{ord(bad):04X}"
    raise UsageError(
        f"{what} is not valid UTF-8 ({byte} at character {pos}); "
        + (fix or "convert it to UTF-8, or pass --errors replace to replace the bad bytes with U+FFFD")
    )


# -- the sampling options, shared by generate and next --------------------------------------------------
_SAMPLING: dict[str, tuple[Any, Any]] = {  # parameter -> (annotation, default); temperature's default is per command
    "temperature": (
        Annotated[float, typer.Option("--temperature", help="Divide the logits by this; 0 = greedy (always the most likely token).")],
        None,
    ),
    "top_k": (Annotated[int, typer.Option("--top-k", help="Keep only the k most likely tokens; 0 = off.")], 0),
    "top_p": (
        Annotated[float, typer.Option("--top-p", help="Keep the most likely tokens until their probability reaches p, in (0, 1]; 1 = off.")],
        1.0,
    ),
    "min_p": (
        Annotated[float, typer.Option("--min-p", help="Drop tokens less likely than min-p x the most likely one, in [0, 1]; 0 = off.")],
        0.0,
    ),
    "repetition_penalty": (
        Annotated[float, typer.Option("--repetition-penalty", help="> 1 makes tokens already in the context less likely (CTRL's rule); 1 = off.")],
        1.0,
    ),
}  # fmt: skip


def sampling_options(*, temperature: float) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the sampling options: it declares `sampling` and receives a SamplingOptions."""

    def build(values: dict[str, Any]) -> Any:
        from tokcli.model.sampling import SamplingOptions

        return SamplingOptions(**values)

    params = {
        name: (ann, temperature if name == "temperature" else default) for name, (ann, default) in _SAMPLING.items()
    }
    return option_group("sampling", params, build)


# -- how inputs are walked, shared by every command that reads files -------------------------------------
_WALK: dict[str, tuple[Any, Any]] = {
    "no_ignore": (Annotated[bool, typer.Option("--no-ignore", help="Also read files that .gitignore rules leave out.")], False),
    "hidden": (Annotated[bool, typer.Option("--hidden", help="Also walk hidden files and directories (.name).")], False),
    "exclude": (
        Annotated[list[str] | None, typer.Option("--exclude", metavar="GLOB", help="Leave out files and directories matching this gitignore-style glob; repeatable.")],
        None,
    ),
}  # fmt: skip


def walk_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command --no-ignore, --hidden and --exclude: it declares `walk` and receives a WalkOptions."""

    def build(values: dict[str, Any]) -> Any:
        from tokcli.files.walk import WalkOptions

        return WalkOptions(values["no_ignore"], values["hidden"], tuple(values["exclude"] or ()))

    return option_group("walk", _WALK, build)(fn)


def option_group(
    name: str, params: dict[str, tuple[Any, Any]], build: Callable[[dict[str, Any]], Any]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Options defined once for several commands: each command declares one parameter `name` and receives
    `build(values)`. The options are appended to the command's signature (Typer reads `__signature__`)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn)  # annotations are strings (PEP 563); `name`'s is for type checkers only
        own = [p.replace(annotation=eval(p.annotation, fn.__globals__) if isinstance(p.annotation, str) else p.annotation)
               for p in sig.parameters.values() if p.name != name]  # fmt: skip
        extra = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, annotation=ann, default=default)
                 for k, (ann, default) in params.items()]  # fmt: skip

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            values = {k: kwargs.pop(k) for k in params}
            return fn(**kwargs, **{name: build(values)})

        command.__signature__ = sig.replace(parameters=own + extra)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in own + extra}
        del command.__wrapped__  # type: ignore[attr-defined]  # Typer must see the new signature, not fn's
        return command

    return decorate


# -- where a run's tasks go: local worker processes or a Dask cluster (tokcli.workers) ---------------------
_DIST: dict[str, tuple[Any, Any]] = {
    "workers": (
        Annotated[int | None, typer.Option("--workers", metavar="N", help="Run on N local worker processes (a Dask LocalCluster; the [dask] extra). Totals are those of one process.")],
        None,
    ),
    "scheduler": (
        Annotated[str | None, typer.Option("--scheduler", metavar="ADDRESS", help="Run on the Dask cluster at ADDRESS (tcp://host:8786; default: DASK_SCHEDULER_ADDRESS when the inputs are files); inputs may be fsspec URLs (s3://...) its workers can read.")],
        None,
    ),
    "task_bytes": (
        Annotated[int, typer.Option("--task-bytes", metavar="BYTES", help="With --workers, --scheduler or --to: the bytes of text one task reads (long files are cut at safe points).")],
        64 << 20,
    ),
    "timeout": (
        Annotated[float, typer.Option("--timeout", metavar="SECONDS", help="With --scheduler: how long to wait for it to answer, and for a worker to join it; in (0, 3600].")],
        5.0,
    ),
}  # fmt: skip


@dataclass(frozen=True)
class DistOptions:
    """--workers, --scheduler, --task-bytes: where a run's tasks go, and how big they are."""

    workers: int | None = None
    scheduler: str | None = None
    task_bytes: int = 64 << 20
    env_scheduler: str | None = None  # DASK_SCHEDULER_ADDRESS, used by `on`
    timeout: float = 5.0  # --timeout: seconds to connect to --scheduler and to find a worker there

    @property
    def active(self) -> bool:
        return self.workers is not None or bool(self.scheduler)

    def on(self, inputs: list[str]) -> DistOptions:
        """These options for `inputs`: DASK_SCHEDULER_ADDRESS counts where neither --workers nor --scheduler is
        given and the inputs are files (stdin cannot be sent to workers: `echo hi | tokcli count` stays local)."""
        if self.workers is not None or self.scheduler or not self.env_scheduler or "-" in inputs:
            return replace(self, env_scheduler=None)
        return replace(self, scheduler=self.env_scheduler, env_scheduler=None)


def dist_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command --workers, --scheduler and --task-bytes: it declares `dist` and receives a DistOptions."""

    def build(values: dict[str, Any]) -> Any:
        import os

        env = os.environ.get("DASK_SCHEDULER_ADDRESS") or None
        if values["scheduler"] or values["timeout"] != 5.0:
            from tokcli.workers.runner import check_address, check_timeout

            check_timeout(values["timeout"])  # at parse time, before any input is read
            if values["scheduler"]:
                check_address(values["scheduler"])
        return DistOptions(values["workers"], values["scheduler"], values["task_bytes"], env, values["timeout"])

    return option_group("dist", _DIST, build)(fn)


def whole_texts(
    inputs: list[str] | None, text: str | None, *, errors: str, walk: WalkOptions | None = None
) -> list[tuple[str, str]]:
    """(label, text) of --text when given, else of each input (stdin when none is given and it is piped), and
    a warning for each file the walk left out (binary, not UTF-8)."""
    from tokcli.files.text import expand_inputs, read_text

    if text is not None:
        return [("<text>", arg_text(text, "--text", errors=errors))]
    sources = expand_inputs(inputs_or_stdin(inputs), walk)
    from tokcli.output import skipped

    skipped(list(sources.skipped))
    return [(s.label, read_text(s, errors=errors)) for s in sources]


def check_inputs(inputs: Sequence[str], what: str) -> None:
    """Record and chat inputs are files (or - for stdin): a directory is refused, naming the fix."""
    import os

    for p in inputs:
        if p != "-" and os.path.isdir(p):
            raise UsageError(f"{p}: is a directory; {what} reads files: give them (e.g. {p}/*.jsonl)")
