"""tokcli's configuration: [tool.tokcli] in pyproject.toml and the user's config.toml, read and checked
against one schema before anything uses them.

    [tool.tokcli]                            # pyproject.toml; the user config has the same keys
    tokenizer = "o200k_base"                 # default tokenizer of the budgets below
    margin = "10%"                           # default safety margin on estimated counts (0% to 100%)
    cache = ".tokcli-cache"                  # the count cache's directory (relative to this file; see countcache)
    [[tool.tokcli.budget]]                   # any number of budgets (pyproject.toml only)
    paths = ["prompts/**/*.md", "docs/"]     # globs (or directories) relative to pyproject.toml
    max-tokens = 4000                        # and/or: model = "gpt-4o", reserve = 2000
    tokenizer = "cl100k_base"
    total = false                            # the limit applies to all matching files together
    allow-empty = false                      # true: a budget that matches no file passes
    chat = false                             # true: the files are chat conversations (tokcli.budget.chat)
    margin = "5%"                            # this budget's margin on estimated counts
    [tool.tokcli.models.NAME]                # add or override a model: context, input-limit, max-output,
    context = 32000                          # tokenizer, proxy, source, as-of, note, input-price, output-price, cached-input-price
    input-price = 0.5                        # USD per million tokens

Every problem is an InputError naming the file and the key path (`tool.tokcli.budget[2].max-tokens`).
Keys may be spelt with - or _.

Limits, so that a hostile file is refused in a moment (each its own error): the file is at most 1 MiB and a
regular file; arrays and tables nest at most a few hundred levels (tomllib's recursion); an integer has
at most MAX_INT (a number of tokens, not of digits); at most MAX_ENTRIES budgets, models or globs; values
are quoted in messages shortened.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from tokcli.errors import InputError
from tokcli.files.capped import FileTooLarge, NotRegularFile, UnreadableFile, read_capped

MAX_CONFIG_BYTES = 1 << 20  # a configuration file larger than 1 MiB is refused, not parsed
MAX_INT = 10**12  # tokens, prices' integers aside: far above any context window, far below Python's limits
MAX_ENTRIES = 1000  # budgets, models, globs of one budget


class ConfigError(InputError):
    """A configuration value of the wrong type or out of range; the message names the key path."""


Check = Callable[[Any, str], Any]


def _show(v: Any) -> str:
    """repr of a value, shortened: a message never carries a megabyte string or a deeply nested array."""
    import reprlib

    r = reprlib.Repr()
    r.maxlevel, r.maxstring, r.maxother, r.maxlist, r.maxdict = 3, 60, 60, 6, 6
    return r.repr(v)


def _type_name(v: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "a table"}.get(type(v), type(v).__name__)  # fmt: skip


def string(v: Any, where: str) -> str:
    if not isinstance(v, str):
        raise ConfigError(f"{where} must be a string, not {_type_name(v)} ({_show(v)})")
    return v


def boolean(v: Any, where: str) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{where} must be true or false, not {_type_name(v)} ({_show(v)})")
    return v


def positive(v: Any, where: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise ConfigError(f"{where} must be a positive integer, not {_show(v)}")
    return _bounded(v, where)


def non_negative(v: Any, where: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ConfigError(f"{where} must be an integer >= 0, not {_show(v)}")
    return _bounded(v, where)


def _bounded(v: int, where: str) -> int:
    if v > MAX_INT:
        raise ConfigError(f"{where} must be at most {MAX_INT:,} (a number of tokens), not {_show(v)}")
    return v


def _few(v: Any, where: str, what: str) -> None:
    if len(v) > MAX_ENTRIES:
        raise ConfigError(f"{where}: {len(v):,} {what}; at most {MAX_ENTRIES:,} are read")


def globs(v: Any, where: str) -> list[str]:
    """A glob or a list of globs, each one that compiles (e.g. not the range [z-a])."""
    items = [v] if isinstance(v, str) else v
    if not isinstance(items, list) or not items or not all(isinstance(p, str) and p for p in items):
        raise ConfigError(f'{where} must be a glob or a non-empty list of globs, e.g. ["docs/**/*.md"], not {_show(v)}')
    _few(items, where, "globs")
    import pathspec

    for p in items:
        try:
            pathspec.GitIgnoreSpec.from_lines([p])
        except Exception as e:  # pathspec raises several kinds for a bad pattern
            raise ConfigError(f"{where}: {_show(p)} is not a valid glob ({e})") from None
    return items


def table(fields: Mapping[str, Check], *, required: tuple[str, ...] = ()) -> Check:
    """A checker for a table with these keys (spelt with - or _); unknown keys are errors."""

    def check(v: Any, where: str) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise ConfigError(f"{where or 'the file'} must be a table, not {_type_name(v)} ({_show(v)})")
        out = {}
        for key, value in v.items():
            k = key.replace("_", "-")
            if k not in fields:
                raise ConfigError(f"{where or 'the file'}: unknown key {_show(key)}; the keys are {', '.join(fields)}")
            out[k] = fields[k](value, f"{where}.{key}" if where else key)
        for k in required:
            if k not in out:
                raise ConfigError(f"{where}: give {k}")
        return out

    return check


def array_of(item: Check) -> Check:
    def check(v: Any, where: str) -> list[Any]:
        if not isinstance(v, list):
            raise ConfigError(f"{where} must be an array of tables ([[...]]), not {_type_name(v)} ({_show(v)})")
        _few(v, where, "entries")
        return [item(x, f"{where}[{i + 1}]") for i, x in enumerate(v)]

    return check


def table_of(item: Check) -> Check:
    def check(v: Any, where: str) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise ConfigError(f"{where} must be a table, not {_type_name(v)} ({_show(v)})")
        _few(v, where, "entries")
        return {name: item(x, f"{where}.{name}" if where else name) for name, x in v.items()}

    return check


def price(v: Any, where: str) -> float:
    """A price in USD per million tokens: a number >= 0 (finite)."""
    if not isinstance(v, int | float) or isinstance(v, bool) or not (0 <= v < float("inf")):
        raise ConfigError(f"{where} must be a price in USD per million tokens (a number >= 0), not {_show(v)}")
    return float(v)


def margin_value(v: Any) -> Fraction:
    """A safety margin for estimated counts, "10%" -> 1/10: a percentage from 0% to 100%. Raises ValueError
    saying what to give instead."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", v) if isinstance(v, str) else None
    if m is None or Fraction(m[1]) > 100:
        raise ValueError(f'{v!r} is not a margin: give a percentage from 0% to 100%, e.g. "10%"')
    return Fraction(m[1]) / 100


def margin(v: Any, where: str) -> Fraction:
    try:
        return margin_value(v)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None


MODEL = table({
    "context": positive, "input-limit": positive, "max-output": positive, "tokenizer": string, "proxy": string,
    "source": string, "as-of": string, "note": string, "input-price": price, "output-price": price,
    "cached-input-price": price,
})  # fmt: skip
BUDGET = table({
    "paths": globs, "path": globs, "max-tokens": positive, "model": string, "reserve": non_negative,
    "tokenizer": string, "total": boolean, "allow-empty": boolean, "chat": boolean, "margin": margin,
})  # fmt: skip
TOOL = table({
    "tokenizer": string, "margin": margin, "cache": string, "budget": array_of(BUDGET), "models": table_of(MODEL),
})  # fmt: skip
USER = table({"tokenizer": string, "cache": string, "models": table_of(MODEL)})


def read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    try:
        data = read_capped(path, MAX_CONFIG_BYTES, what="a TOML configuration file")
    except NotRegularFile:
        raise InputError(f"{path}: not a regular file") from None
    except UnreadableFile as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):  # nothing there: said as Path.is_file() saw it
            raise InputError(f"{path}: not a regular file") from None
        raise InputError(f"{path}: cannot read ({e.reason})") from None
    except FileTooLarge:
        raise InputError(
            f"{path}: larger than {MAX_CONFIG_BYTES >> 20} MiB; is it really a configuration file?"
        ) from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: not valid TOML ({e}); fix the file or remove it") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not valid UTF-8; TOML files are UTF-8") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise InputError(f"{path}: arrays or tables nested too deeply (hundreds of levels) to read") from None
    except ValueError as e:  # an integer of thousands of digits: Python's int limit, not a TOMLDecodeError
        what = "an integer of thousands of digits" if "digits" in str(e) else f"a value tokcli cannot read ({e})"
        raise InputError(f"{path}: {what}; fix the file or remove it") from None


def user_config_path() -> Path:
    """$TOKCLI_CONFIG, else ~/.config/tokcli/config.toml (the file need not exist)."""
    env = os.environ.get("TOKCLI_CONFIG")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tokcli" / "config.toml"


def user_config() -> tuple[Path, dict[str, Any]]:
    """(the user config path, its checked contents or {} when there is none)."""
    path = user_config_path()
    if not path.exists():
        return path, {}
    return path, _checked(USER, read_toml(path), "", path)


def find_pyproject(start: str | Path | None = None) -> Path | None:
    """The nearest pyproject.toml from `start` (default: the current directory) upward, or None."""
    d = Path(start or Path.cwd()).resolve()
    for p in [d, *d.parents]:
        if (p / "pyproject.toml").is_file():
            return p / "pyproject.toml"
    return None


def pyproject_tool(start: str | Path | None = None) -> tuple[Path | None, dict[str, Any]]:
    """(the pyproject.toml found, its checked [tool.tokcli] table or {})."""
    path = find_pyproject(start)
    if path is None:
        return None, {}
    doc = read_toml(path)
    tool = doc.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(
            f"{path}: tool must be a table ([tool.NAME] sections), not {_type_name(tool)} ({_show(tool)})"
        )
    if "tokcli" not in tool:
        return path, {}
    return path, _checked(TOOL, tool["tokcli"], "tool.tokcli", path)


def _checked(check: Check, value: Any, where: str, path: Path) -> dict[str, Any]:
    try:
        table: dict[str, Any] = check(value, where)
        return table
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
