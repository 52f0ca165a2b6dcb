"""The command line: a thin Typer layer over the library. Errors are turned into exit codes here, once.

Exit codes: 0 ok; 1 a check failed (budget exceeded); 2 usage or input error; 3 internal error (a bug:
rerun with TOKCLI_DEBUG=1 for the traceback); 130 interrupted.
"""

from __future__ import annotations

import copy
import os
import sys

import typer

from tokcli import __version__
from tokcli.errors import TokcliError

from . import fastparams

fastparams.install()  # plain values without pydantic: ~90 ms of start-up (issue #6)

app = typer.Typer(
    name="tokcli",
    help="Train, load, inspect, compare and budget LLM tokenizers; see what a small Transformer does with tokens.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"tokcli {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Train, load, inspect, compare and budget LLM tokenizers."""


# one module per command family; importing a module registers its commands
# (in this order: `tokcli --help` lists commands as they were registered)
from . import compare as _compare  # noqa: E402,F401,I001
from . import budget as _budget  # noqa: E402,F401
from . import model as _model  # noqa: E402,F401
from . import lm as _lm  # noqa: E402,F401
from . import tokens as _tokens  # noqa: E402,F401


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(argv))


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status (what `main` exits with)."""
    debug = os.environ.get("TOKCLI_DEBUG") == "1"
    if (sys.argv[1:] if argv is None else argv) == ["--version"]:  # before typer builds every command
        sys.stdout.write(f"tokcli {__version__}\n")
        return 0
    try:
        rv = _only_named(sys.argv[1:] if argv is None else argv)(args=argv, prog_name="tokcli", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except TokcliError as e:
        if debug:
            raise
        _stderr(f"error: {e}")
        return e.exit_code
    except typer.TyperException as e:  # typer's (click's) usage errors
        if debug:
            raise
        if type(e).__name__ == "NoArgsIsHelpError":  # bare `tokcli` or `tokcli lm`: help on stdout
            sys.stdout.write(e.format_message() + "\n")
            return 0
        hint = f" (see {e.ctx.command_path} --help)" if getattr(e, "ctx", None) else ""
        _stderr(f"error: {e.format_message()}{hint}")
        return e.exit_code
    except (KeyboardInterrupt, typer.Abort):
        if debug:
            raise
        _stderr("")
        return 130
    except BrokenPipeError:
        # the reader went away (`tokcli encode big.txt | head -1`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as e:  # a bug: one line, the traceback behind TOKCLI_DEBUG=1
        if debug:
            raise
        _stderr(f"error: internal error: {type(e).__name__}: {e} (rerun with TOKCLI_DEBUG=1 and report it)")
        return 3


def _only_named(args: list[str]) -> typer.Typer:
    """`app` with only the command that args[0] names, when it names one.

    Typer builds the click object of every command on each call (about 25 ms of start-up for the ones
    not run); with the root callback kept it stays a group, so usage, help and errors read the same.
    """
    if not args or args[0].startswith("-"):
        return app
    cmds = [c for c in app.registered_commands if (c.name or c.callback.__name__.replace("_", "-")) == args[0]]  # type: ignore[union-attr]
    groups = [g for g in app.registered_groups if g.name == args[0]]
    if len(cmds) + len(groups) != 1:
        return app
    only = copy.copy(app)
    only.registered_commands, only.registered_groups = cmds, groups
    return only


def _stderr(line: str) -> None:
    try:
        sys.stderr.write(line + "\n" if line else "")
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        pass
