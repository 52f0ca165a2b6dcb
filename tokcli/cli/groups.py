"""Options that several commands share as a group: a command declares one parameter (sampling, walk, dist)
and receives the options built into one value (option_group appends them to the command's signature)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

import typer

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
        del command.__wrapped__  # Typer must see the new signature, not fn's
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
