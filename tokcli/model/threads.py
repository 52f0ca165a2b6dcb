"""One BLAS thread while the numpy model runs: token-by-token decoding multiplies one row by small matrices,
where BLAS threads cost more than they give (and on a busy machine, waking them costs milliseconds a call).

threadpoolctl finds the BLAS numpy loaded (OpenBLAS, MKL, BLIS, ...) and sets its threads for the block
only; the previous count comes back after it. The controller is built once: finding the libraries walks
the process's loaded objects.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cache
from typing import Any


@cache
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run the block with one BLAS thread, then restore the previous count."""
    with _controller().limit(limits=1, user_api="blas"):
        yield
