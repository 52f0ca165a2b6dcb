"""Downloading a file with one deadline for the whole transfer and a cap on its size.

urllib's `timeout` bounds each socket operation, not the download: a server or proxy that sends one byte
every few seconds keeps `urlopen(...).read()` going for ever. `download` runs the request in a worker
thread and waits for it `timeout_total` seconds in all (name lookup, connecting, the response headers and
the body); the worker reads at most 64 KiB at a time (`read1`: whatever one receive brings, never waiting
to fill a buffer), checks between reads that the deadline has not passed and that no more than
`max_bytes` came (a Content-Length over the cap is refused before the body is read). A worker left behind
at the deadline stops at its next read: each socket operation times out after `timeout_total` too.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tokcli.errors import TokcliError

CHUNK = 64 * 1024


class DownloadError(TokcliError):
    """A download that failed, timed out or was larger than allowed (exit 2)."""


def download(url: str, *, timeout_total: float, max_bytes: int) -> bytes:
    """The body of `url`, fetched within `timeout_total` seconds in all and at most `max_bytes` long.

    Proxies are urllib's (the http_proxy/https_proxy environment). Raises DownloadError.
    """
    if not timeout_total > 0 or max_bytes <= 0:
        raise ValueError(f"download needs timeout_total > 0 and max_bytes > 0, not {timeout_total}, {max_bytes}")
    deadline = time.monotonic() + timeout_total
    stop = threading.Event()
    progress = {"received": 0}
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["data"] = _fetch(url, timeout_total, max_bytes, deadline, stop, progress)
        except BaseException as e:  # handed to the caller's thread
            outcome["error"] = e

    worker = threading.Thread(target=work, name="tokcli-download", daemon=True)
    worker.start()
    worker.join(timeout_total)
    if worker.is_alive() or isinstance(outcome.get("error"), _Deadline):
        stop.set()
        raise DownloadError(
            f"{url}: not complete after {timeout_total:g} s ({progress['received']} bytes received); "
            "the network or a proxy is too slow"
        )
    if (error := outcome.get("error")) is not None:
        if isinstance(error, DownloadError):
            raise error
        raise DownloadError(f"{url}: {error}") from None
    data: bytes = outcome["data"]
    return data


class _Deadline(Exception):
    pass


def _fetch(
    url: str, timeout: float, max_bytes: int, deadline: float, stop: threading.Event, progress: dict[str, int]
) -> bytes:
    import urllib.request

    too_large = f"{url}: larger than the {max_bytes} bytes allowed"
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (the caller's URL)
        length = (resp.headers.get("Content-Length") or "").strip()
        if length.isdigit() and int(length) > max_bytes:
            raise DownloadError(f"{too_large} (it has {int(length)})")
        parts = []
        while True:
            if stop.is_set() or time.monotonic() > deadline:
                raise _Deadline
            chunk = resp.read1(CHUNK)
            if not chunk:
                break
            progress["received"] += len(chunk)
            if progress["received"] > max_bytes:
                raise DownloadError(too_large)
            parts.append(chunk)
    return b"".join(parts)
