"""One BLAS thread while generating: token-by-token decoding multiplies one row by small matrices, where
OpenBLAS's threads cost more than they give (and on a busy machine, waking them costs milliseconds a call).

Best effort: numpy's bundled OpenBLAS is found by its file name and its set/get_num_threads symbols;
anything else (Accelerate, MKL, a system BLAS) is left alone and `single_thread()` does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
from collections.abc import Callable, Iterator
from functools import cache

_SYMBOLS = [
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
]


@cache
def _controls() -> tuple[Callable[[int], None], Callable[[], int]] | None:
    try:
        import numpy as np

        root = os.path.dirname(os.path.dirname(np.__file__))
        candidates = []
        for d in (os.path.join(root, "numpy.libs"), os.path.join(os.path.dirname(np.__file__), ".dylibs")):
            candidates += glob.glob(os.path.join(d, "*openblas*"))
        for path in candidates:
            lib = ctypes.CDLL(path)  # already loaded by numpy: the same handle
            for set_name, get_name in _SYMBOLS:
                if hasattr(lib, set_name) and hasattr(lib, get_name):
                    return getattr(lib, set_name), getattr(lib, get_name)
    except (OSError, AttributeError):
        pass
    return None


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run the block with one OpenBLAS thread, then restore the previous count."""
    c = _controls()
    if c is None:
        yield
        return
    set_threads, get_threads = c
    before = get_threads()
    if before == 1:
        yield
        return
    set_threads(1)
    try:
        yield
    finally:
        set_threads(before)
