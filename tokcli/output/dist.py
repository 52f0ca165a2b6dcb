"""The progress display of distributed runs (tokcli.workers): files and bytes done of all, and throughput."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from . import console, is_tty

if TYPE_CHECKING:
    from tokcli.workers.count import Progress


class TaskProgress:
    """A bar on stderr, only on a terminal and when not quiet: `update(progress)` takes a tokcli.workers.Progress."""

    def __init__(self, description: str, *, quiet: bool = False) -> None:
        self.enabled = not quiet and is_tty(sys.stderr)
        self.description = description
        self._p: Any = None
        self._task: Any = None

    def __enter__(self) -> TaskProgress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TransferSpeedColumn,
            )

            self._p = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[files]}"),
                               DownloadColumn(), TransferSpeedColumn(), TimeElapsedColumn(),
                               console=console(stderr=True), transient=True)  # fmt: skip
            self._p.__enter__()
        return self

    def update(self, progress: Progress) -> None:
        if self._p is None:
            return
        files = f"{progress.files_done}/{progress.files} files"
        if self._task is None:
            self._task = self._p.add_task(self.description, total=progress.nbytes, files=files)
        self._p.update(self._task, completed=progress.bytes_done, files=files)

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)
