"""The count cache on the command line: --cache DIR, --no-cache and --cache-max on count, check and diff
(`cache_options`, `counting_cache`), and `tokcli cache clear [DIR]`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from .app import app
from .groups import option_group


@dataclass(frozen=True)
class CacheOptions:
    directory: str | None = None
    off: bool = False
    max_bytes: str | None = None


_CACHE: dict[str, tuple[Any, Any]] = {
    "cache": (
        Annotated[str | None, typer.Option("--cache", metavar="DIR", help="Keep counts in this directory and reuse them for unchanged files in later runs (default: TOKCLI_CACHE_DIR, or cache in [tool.tokcli]).")],
        None,
    ),
    "no_cache": (
        Annotated[bool, typer.Option("--no-cache", help="Use no count cache, even one TOKCLI_CACHE_DIR or the configuration names.")],
        False,
    ),
    "cache_max": (
        Annotated[str | None, typer.Option("--cache-max", metavar="BYTES", help="Keep the count cache under this size (256M, 1G; default: TOKCLI_CACHE_MAX_BYTES, else 256M): the least recently used counts go first.")],
        None,
    ),
}  # fmt: skip


def cache_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command --cache, --no-cache and --cache-max: it declares `cache` and receives CacheOptions."""
    return option_group("cache", _CACHE, lambda v: CacheOptions(v["cache"], v["no_cache"], v["cache_max"]))(fn)


@contextmanager
def counting_cache(options: CacheOptions) -> Iterator[None]:
    """Every count inside goes through the count cache the options (or the environment, or the
    configuration) name, if any; its warnings are said once it is closed."""
    from tokcli.files.countcache import CountCache, configured
    from tokcli.tokenizer.counting import caching

    where = configured(options.directory, off=options.off, max_bytes=options.max_bytes)
    if where is None:
        yield
        return
    from tokcli.output import warn

    cache = CountCache.open(*where)
    try:
        with caching(cache):
            yield
    finally:
        cache.close()
        for w in cache.warnings:
            warn(w)


cache_app = typer.Typer(help="The count cache (--cache DIR): clear it.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("clear")
def clear(
    directory: Annotated[
        str | None,
        typer.Argument(
            metavar="[DIR]",
            help="The cache directory (default: TOKCLI_CACHE_DIR, or cache in [tool.tokcli]).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Delete a count cache: only the files tokcli made there (it checks its marker, CACHEDIR.TAG, first);
    the directory too when nothing else is left in it."""
    from tokcli.errors import UsageError
    from tokcli.files.countcache import clear as remove
    from tokcli.files.countcache import configured
    from tokcli.output import info

    where = configured(directory)
    if where is None:
        raise UsageError("no count cache named: give its directory (tokcli cache clear DIR) or set TOKCLI_CACHE_DIR")
    removed = remove(where[0])
    info(f"cleared the count cache {where[0]} ({len(removed)} file{'' if len(removed) == 1 else 's'} deleted)")
