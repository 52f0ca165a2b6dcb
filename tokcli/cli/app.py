"""The Typer app and the one place where errors become exit codes. The command modules register on `app`.

Exit codes: 0 ok (also when the reader of stdout went away); 1 a check failed (budget exceeded); 2 usage
or input error (also a full disk, a closed stdout, or an OS error on a named path the user can fix:
permission denied, a read-only file system, a loop of links, a name too long); 3 internal error (a bug: rerun with TOKCLI_DEBUG=1 for
the traceback); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
"""

from __future__ import annotations

import copy
import errno
import os
import signal
import sys
import threading

import typer

from tokcli import __version__
from tokcli.errors import InputError, TokcliError, is_input_os_error
from tokcli.output import guard_stdout

from . import fastparams
from .argv import refuse_repeated

fastparams.install()  # plain values without pydantic: ~90 ms of start-up (issue #6)

app = typer.Typer(
    name="tokcli",
    help="Train, load, inspect, compare and budget LLM tokenizers; see what a small Transformer does with tokens.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish
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


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(argv))


class _Terminated(BaseException):
    """Raised by the SIGTERM handler `run` installs: not an Exception, so nothing on the way swallows it,
    while every `except BaseException` / `finally` on the way (temporary files) still cleans up."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _install_sigterm() -> object:
    """Make SIGTERM unwind like Ctrl-C; the handler it replaces, or None where it installed nothing.

    Only from the main thread, and only over the default action: a parent that ignores SIGTERM, or a
    program embedding `run` with its own handler, keeps it.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return None
        return signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):  # pragma: no cover - no signals here
        return None


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status (what `main` exits with).

    Ctrl-C returns 130 and SIGTERM 143 (128 + the signal), both quietly and after the temporary files of
    unfinished outputs are removed; a closed stdout (`tokcli encode big.txt | head -1`) ends quietly with
    0; a full disk on stdout, or a stdout closed from the start (`>&-`), is one `error:` line and 2.
    """
    _fill_closed_std_fds()
    previous = _install_sigterm()
    restore = guard_stdout()  # stdout that cannot write every character escapes them (PYTHONIOENCODING=ascii)
    try:
        return _run(argv)
    except _Terminated:  # SIGTERM outside the command itself (start-up, error reporting)
        return 143
    finally:
        restore()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)  # type: ignore[arg-type]


def _fill_closed_std_fds() -> None:
    """Put /dev/null where a parent closed stdin or stderr (`<&-`, `2>&-`), and a descriptor that refuses
    writes where it closed stdout (`>&-`); sys.stdin stays None (no input, as before).

    Else the next file tokcli opens takes the closed number: its own messages, or a library's, would be
    written into an output file, and Python's sys.stderr is None, which turns the first message into a
    crash with the wrong exit status. Talk on a closed stderr is dropped; data for a closed stdout is an
    error (EBADF on the first write, reported as such), never silently lost with exit 0.
    """
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_RDONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        try:
            new = os.open(os.devnull, mode)
        except OSError:  # pragma: no cover - no /dev/null
            continue
        if new != fd:
            os.dup2(new, fd)
            os.close(new)
        if fd:  # sys.stdin stays None: a closed stdin is no input, not an empty one
            setattr(sys, ("stdout", "stderr")[fd - 1], open(fd, "w", encoding="utf-8", closefd=False))  # noqa: SIM115


def _run(argv: list[str] | None) -> int:
    debug = os.environ.get("TOKCLI_DEBUG") == "1"
    streams = sys.stdout, sys.stderr
    try:
        try:
            args = sys.argv[1:] if argv is None else argv
            if args == ["--version"]:  # before typer builds every command
                sys.stdout.write(f"tokcli {__version__}\n")
                sys.stdout.flush()
                return 0
            command = typer.main.get_command(_only_named(args))  # Typer's documented way to its click command
            refuse_repeated(command, args)
            rv = command.main(args=args, prog_name="tokcli", standalone_mode=False)
        except SystemExit as e:
            # typer (as click) turns EPIPE into exit 1, which the README keeps for "a check failed";
            # it is the only SystemExit raised inside an OSError handler: take it back as what it is
            ctx = e.__context__
            if isinstance(ctx, OSError) and ctx.errno == errno.EPIPE:
                sys.stdout, sys.stderr = streams  # undo its PacifyFlushWrapper
                raise ctx from None
            raise
        sys.stdout.flush()  # here, not at exit, so that a closed pipe or a full disk is handled below
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
        ctx = getattr(e, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        _stderr(f"error: {e.format_message()}{hint}")
        return e.exit_code
    except (KeyboardInterrupt, typer.Abort):
        if debug:
            raise
        _stderr("")
        return 130
    except _Terminated:
        if debug:
            raise
        return 143
    except BrokenPipeError:
        # the reader went away (`tokcli encode big.txt | head -1`): stop quietly, with 0 as the README says
        _drop_stdout()
        return 0
    except OSError as e:
        if e.errno == errno.EBADF and e.filename is None and _closed_stdout():
            _drop_stdout()
            _stderr("error: cannot write to stdout: it is closed; give the command somewhere to write (e.g. > file)")
            return 2
        if is_input_os_error(e):  # a path the user can fix (permission, read-only, a loop...): not a bug
            if debug:
                raise
            _stderr(f"error: {InputError.from_os(e, action='use it')}")
            return 2
        if e.errno not in _FULL or e.filename is not None:  # not a write to stdout: a bug, below
            if debug:
                raise
            return _internal(e)
        if debug:
            raise
        _drop_stdout()
        _stderr(f"error: cannot write to stdout: {e.strerror}; free some space, or write elsewhere")
        return 2
    except Exception as e:  # a bug: one line, the traceback behind TOKCLI_DEBUG=1
        if debug:
            raise
        return _internal(e)
    except BaseException as e:  # a Rust panic in tokenizers or splintr: a BaseException, not an Exception
        if debug or type(e).__name__ != "PanicException":
            raise
        first = (str(e).splitlines() or ["no message"])[0][:200]
        _stderr(f"error: the tokenizer failed on this input ({first}); check the tokenizer file, or use another -t")
        return 2


# what a write to a full disk (or a broken device) raises; file outputs turn theirs into InputError
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


def _internal(e: Exception) -> int:
    _stderr(f"error: internal error: {type(e).__name__}: {e} (rerun with TOKCLI_DEBUG=1 and report it)")
    return 3


def _closed_stdout() -> bool:
    """Whether stdout is the write-refusing stand-in `_fill_closed_std_fds` put where it was closed."""
    try:
        import fcntl

        return fcntl.fcntl(1, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
    except ImportError:  # pragma: no cover - Windows
        return False
    except OSError:
        return True


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so that the data still buffered is not written again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


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
    except (OSError, ValueError, AttributeError):  # a closed or missing stderr: nowhere to say it
        pass
