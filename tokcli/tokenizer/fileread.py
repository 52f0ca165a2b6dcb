"""Reading a tokenizer file safely: a regular file (a FIFO would block), no larger than a limit, checked
before anything is parsed.

A tokenizer.json's parse costs about 20 times its size in memory (tokenizers' own tables), so the size is
the cheap check: TOKCLI_MAX_TOKENIZER_BYTES, by default 64 MiB, about twice the largest real tokenizer.json
(Gemma 3's is ~33 MB); sentencepiece .model files are a few MB.
"""

from __future__ import annotations

from pathlib import Path

from tokcli.errors import InputError, TokenizerFileError, limit_from_env
from tokcli.files.capped import FileTooLarge, NotRegularFile, UnreadableFile, read_capped

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
        return read_capped(path, limit, what="a tokenizer file")
    except NotRegularFile:
        raise TokenizerFileError(
            f"{path}: not a regular file; give a tokenizer.json, a .model or a model directory"
        ) from None
    except FileTooLarge as e:
        raise _too_large(path, e.size, limit) from None
    except UnreadableFile as e:
        raise InputError(f"{path}: cannot read it ({e.reason}); give a readable tokenizer file") from None


def _too_large(path: str | Path, size: int, limit: int) -> TokenizerFileError:
    return TokenizerFileError(
        f"{path}: {_size(size)} is more than the {_size(limit)} tokcli reads as a tokenizer ({ENV}; the largest "
        f"real tokenizer.json files are ~35 MB); if you trust the file, raise the limit: {ENV}={size}"
    )


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"
