"""Running tasks: in this process, on a local Dask cluster of worker processes (`--workers N`), or on an
existing Dask cluster (`--scheduler ADDRESS`, or a `distributed.Client` given to the Python API).

Dask does the scheduling, the retries and the recovery from a worker that dies: its tasks go to another
worker (a LocalCluster's nanny also restarts the dead one), up to `retries` times for a task that raises
and distributed's `allowed-failures` (default 3) for one whose worker died under it.

What Dask cannot recompute is the data scattered to the workers (the tokenizers every task uses): when
every worker holding it has died, the scheduler cancels the tasks that need it. Those tasks are then
submitted again, after the data is scattered again, up to LOST_RETRIES times each; a task whose workers
keep dying (Dask's KilledWorker: out of memory, say), or that stays lost, ends the run with one clear
error (WorkersFailed), never an internal one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any

from tokcli.errors import BackendMissing, InputError, TokcliError, UsageError

from .files import DASK_EXTRA
from .plan import Task

RETRIES = 2  # a task that raises (not an input error: those are returned) is tried this many more times
TIMEOUT = 5.0  # seconds to connect to a --scheduler and to find a worker there (--timeout)
# what --scheduler takes (a bare host:port is tcp; inproc:// is a cluster in this process, for the Python API and
# tests); tls:// and ucx:// need settings tokcli has none for
SCHEMES = ("tcp://", "inproc://")
LOST_RETRIES = 3  # a task cancelled because what it needs was lost with its workers is submitted again this often


class WorkersFailed(TokcliError):
    """The Dask workers kept dying under a task (or lost what it needs) beyond the retries: exit 2."""


@dataclass(frozen=True)
class Where:
    """Where tasks run: in this process (the default), on `workers` local processes, on the cluster at
    `scheduler`, or through a `client` the caller made."""

    workers: int | None = None
    scheduler: str | None = None
    client: Any = None
    retries: int = RETRIES
    timeout: float | None = None  # None: TIMEOUT

    @property
    def distributed(self) -> bool:
        return self.workers is not None or bool(self.scheduler) or self.client is not None

    def check(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise UsageError(f"--workers {self.workers}: give 1 or more worker processes")
        most = max_workers()
        if self.workers is not None and self.workers > most:
            raise UsageError(
                f"--workers {self.workers}: this machine has {os.cpu_count()} cores; give at most {most} (each worker "
                "is a process of about 250 MB), or run on a cluster with --scheduler"
            )
        if self.workers and self.scheduler:
            raise UsageError("--workers starts a local cluster, --scheduler uses an existing one: give one of them")
        if self.scheduler:
            check_address(self.scheduler)
        if self.timeout is not None:
            check_timeout(self.timeout)


def check_address(address: str) -> None:
    """UsageError unless `address` is one tokcli can connect to: tcp://HOST:PORT or HOST:PORT."""
    scheme = address.split("://", 1)[0] + "://" if "://" in address else ""
    if scheme and scheme not in SCHEMES:
        raise UsageError(
            f"--scheduler {address}: tokcli connects to Dask schedulers over tcp only; give tcp://HOST:PORT "
            f"({scheme} needs security or UCX settings tokcli does not take)"
        )
    if scheme == "inproc://":
        return
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(
            f"--scheduler {address}: give the scheduler's address as tcp://HOST:PORT (tcp://10.0.0.1:8786)"
        )


def check_timeout(seconds: float) -> None:
    if not 0 < seconds <= 3600:  # NaN too
        raise UsageError(f"--timeout {seconds}: give a number of seconds in (0, 3600]")


def max_workers() -> int:
    """The most local worker processes --workers starts: 4 per core (tokenizing is CPU-bound)."""
    return 4 * (os.cpu_count() or 1)


def _distributed(option: str) -> Any:
    try:
        import distributed
    except ImportError:
        raise BackendMissing(f"{option} needs dask: {DASK_EXTRA}") from None
    return distributed


def run(
    fn: Callable[..., Any],
    tasks: Sequence[Task],
    where: Where,
    on_result: Callable[[Task, Any], None] | None = None,
    **shared: Any,
) -> list[Any]:
    """`fn(task, **shared)` for every task, results in the order of `tasks`; `on_result` is called as each finishes
    (in the order they finish) and may raise to stop the run (the remaining tasks are cancelled)."""
    where.check()
    results: list[Any] = [None] * len(tasks)
    if not where.distributed:
        for k, t in enumerate(tasks):
            results[k] = r = fn(t, **shared)
            if on_result:
                on_result(t, r)
        return results
    client, close = _client(where)
    futures: list[Any] = []
    try:
        dist = _distributed("--workers")
        # objects (tokenizer files, windows) go to every worker once; scattered in a list, a list stays one object
        sent = _scatter(client, shared)
        futures = client.map(fn, list(tasks), retries=where.retries, pure=False, **sent)
        by_key = {f.key: k for k, f in enumerate(futures)}
        lost = [0] * len(tasks)
        pending = dist.as_completed(futures)
        for fut in pending:
            k = by_key[fut.key]
            t = tasks[k]
            try:
                r = fut.result()
            except dist.KilledWorker:
                raise WorkersFailed(f"{_describe(t)}: the Dask workers running it kept dying (Dask gave up after "
                                    "its allowed-failures); give them more memory, or a smaller --task-bytes"
                                    ) from None  # fmt: skip
            except CancelledError:  # what it needs was lost with the workers that held it
                lost[k] += 1
                if lost[k] > LOST_RETRIES:
                    raise WorkersFailed(f"{_describe(t)}: lost {lost[k]} times with the Dask workers that held what "
                                        "it needs; check that the workers stay up (their logs say why they died)") from None  # fmt: skip
                if any(getattr(f, "status", "finished") != "finished" for f in _futures_of(sent)):
                    sent = _scatter_again(client, shared, t)
                again = client.submit(fn, t, retries=where.retries, pure=False, **sent)
                by_key[again.key] = k
                futures.append(again)
                pending.add(again)
                continue
            results[k] = r
            if on_result:
                on_result(t, r)
        return results
    finally:
        if futures:
            client.cancel(futures)
        close()


def _scatter(client: Any, shared: dict[str, Any]) -> dict[str, Any]:
    """`shared` with each object (tokenizer specs, windows) scattered to every worker once: scattered in a
    list, a list stays one object; plain values travel with each task."""
    return {k: v if v is None or isinstance(v, str | int | float) else client.scatter([v], broadcast=True, hash=False)[0]
            for k, v in shared.items()}  # fmt: skip


RECOVER_TIMEOUT = 120.0  # seconds to wait for a worker to come back (a nanny restarting one) before giving up


def _scatter_again(client: Any, shared: dict[str, Any], t: Task) -> dict[str, Any]:
    """`_scatter` after the workers that held the shared objects died: first wait for a worker to be back (a
    LocalCluster's nanny restarts them, slowly on a loaded machine); none within RECOVER_TIMEOUT is WorkersFailed."""
    try:
        client.wait_for_workers(1, timeout=RECOVER_TIMEOUT)
        return _scatter(client, shared)
    except (TimeoutError, OSError) as e:
        raise WorkersFailed(f"{_describe(t)}: its Dask workers died and none came back within {RECOVER_TIMEOUT:g} s "
                            f"({type(e).__name__}); check that the workers stay up (their logs say why they died)"
                            ) from None  # fmt: skip


def _futures_of(sent: dict[str, Any]) -> list[Any]:
    return [v for v in sent.values() if hasattr(v, "key") and hasattr(v, "status")]


def _describe(task: Any) -> str:
    """A task as a user can find it: its first file and byte range, and how many more pieces it holds."""
    pieces = getattr(task, "pieces", None)
    if not pieces:
        return f"task {getattr(task, 'index', '?')}"
    p = pieces[0]
    where = f"{p.path} (bytes {p.start:,}-{p.stop:,})" if p.stop is not None else p.path
    more = f" and {len(pieces) - 1} more piece{'s' * (len(pieces) > 2)}" if len(pieces) > 1 else ""
    return f"task {task.index}: {where}{more}"


def _client(where: Where) -> tuple[Any, Callable[[], None]]:
    """(a client, how to close what was opened here): the caller's client is left open."""
    if where.client is not None:
        return where.client, lambda: None
    dist = _distributed("--scheduler" if where.scheduler else "--workers")
    if where.scheduler:
        timeout = TIMEOUT if where.timeout is None else where.timeout
        fix = "start one with `dask scheduler`, or give --workers N for a local cluster"
        if not where.scheduler.startswith("inproc://"):
            _probe(where.scheduler, timeout, fix)
        try:
            client = dist.Client(where.scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError, ValueError) as e:
            raise InputError(f"--scheduler {where.scheduler}: cannot connect ({e}); {fix}") from None
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError) as e:
            client.close()
            raise InputError(
                f"--scheduler {where.scheduler}: no worker joined it within {timeout:g} s ({type(e).__name__}); "
                "start workers with `dask worker ADDRESS`, or raise --timeout"
            ) from None
        return client, client.close
    cluster = local_cluster(where.workers or 1)
    client = dist.Client(cluster)

    def close() -> None:
        client.close()
        cluster.close()

    return client, close


def _probe(address: str, timeout: float, fix: str) -> None:
    """Connect to `address` and wait for the first bytes: a Dask scheduler speaks first (its handshake), so
    a socket that accepts and stays silent, or one that never accepts, is refused within `timeout` seconds
    (distributed's Client would wait on such a one forever)."""
    import socket

    host, _, port = address.removeprefix("tcp://").rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as s:
            s.settimeout(timeout)
            if not s.recv(1):
                raise InputError(
                    f"--scheduler {address}: it closed the connection without a word; is it a Dask scheduler? {fix}"
                )
    except TimeoutError:
        raise InputError(
            f"--scheduler {address}: no answer within {timeout:g} s (is it a Dask scheduler?); {fix}, or raise --timeout"
        ) from None
    except OSError as e:
        raise InputError(f"--scheduler {address}: cannot connect ({e.strerror or e}); {fix}") from None


def local_cluster(workers: int, **kwargs: Any) -> Any:
    """A LocalCluster of `workers` processes x 1 thread, without Dask's MALLOC_TRIM_THRESHOLD_=65536 in the
    workers' environment: glibc returning freed memory that eagerly makes tokenizing ~35% slower (measured
    on this project's 2-core machine: 1.19-1.38 s against 0.88-0.99 s for the same tasks in one process),
    and a counting worker holds no data between tasks. Dask's own log lines are silenced (a worker's heartbeat
    racing the shutdown logs a traceback): a failed task reaches the caller as its error, not as a log line."""
    import dask

    dist = _distributed("--workers")
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return dist.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                                 silence_logs=logging.CRITICAL, **kwargs)  # fmt: skip
