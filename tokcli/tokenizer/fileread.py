"""Reading a tokenizer file safely: a regular file (a FIFO would block), no larger than a limit, checked
before anything is parsed.

A tokenizer.json's parse costs about 20 times its size in memory (tokenizers' own tables), so the size is
the cheap check: TOKCLI_MAX_TOKENIZER_BYTES, by default 64 MiB, about twice the largest real tokenizer.json
(Gemma 3's is ~33 MB); sentencepiece .model files are a few MB.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tokcli.errors import InputError, TokenizerFileError, limit_from_env

ENV = "TOKCLI_MAX_TOKENIZER_BYTES"
DEFAULT_MAX_BYTES = 64 << 20


def max_tokenizer_bytes() -> int:
    """The size limit: TOKCLI_MAX_TOKENIZER_BYTES (a positive integer) or 64 MiB."""
    return limit_from_env(ENV, DEFAULT_MAX_BYTES)


def read_tokenizer_file(path: str | Path) -> bytes:
    """The bytes of tokenizer file `path`. Raises InputError (unreadable) or TokenizerFileError (not a
    regular file, or larger than the limit) before reading more than the limit."""
    limit = max_tokenizer_bytes()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # opening a FIFO this way does not wait for a writer
    except OSError as e:
        raise InputError(f"{path}: cannot read it ({e.strerror or e}); give a readable tokenizer file") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
        os.close(fd)
        if not stat.S_ISREG(st.st_mode):
            raise TokenizerFileError(
                f"{path}: not a regular file; give a tokenizer.json, a .model or a model directory"
            )
        raise _too_large(path, st.st_size, limit)
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise InputError(f"{path}: cannot read it ({e.strerror or e}); give a readable tokenizer file") from None
    if len(data) > limit:  # it grew since fstat
        raise _too_large(path, len(data), limit)
    return data


def _too_large(path: str | Path, size: int, limit: int) -> TokenizerFileError:
    return TokenizerFileError(
        f"{path}: {_size(size)} is more than the {_size(limit)} tokcli reads as a tokenizer ({ENV}; the largest "
        f"real tokenizer.json files are ~35 MB); if you trust the file, raise the limit: {ENV}={size}"
    )


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"
