"""OpenAI's encodings through tiktoken, offline: `tiktoken_encoding(name)` builds tiktoken's Encoding, and
`TiktokenEncoding` is the Tokenizer over it (splintr-rs encodes where it gives the same ids: tokenizer/engine.py).

Their files are found, verified and read by tokcli.tokenizer.tiktokenfiles (bundled, cached, embedded in
splintr, or downloaded with a timeout; never when TOKCLI_OFFLINE=1). tokcli builds these `tiktoken.Encoding`s
itself and changes nothing in tiktoken: a program that imports tokcli keeps tiktoken's own loader, cache and
registry for its own tiktoken calls.
"""

from __future__ import annotations

import functools
import itertools
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .base import Tokenizer

if TYPE_CHECKING:
    import numpy as np
    import tiktoken

ENCODINGS = ("o200k_base", "o200k_harmony", "cl100k_base", "p50k_base", "r50k_base", "gpt2")

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


@functools.cache
def openai_source(name: str) -> Any:
    """An engine.VocabSource for OpenAI encoding `name` when splintr may encode it (engine.PROVEN), else None:
    the official file's bytes and pattern straight from tiktoken's constructor, the reference encoding
    (`tiktoken_encoding(name)`) built only when asked for. One per name and process."""
    from .engine import PROVEN, VocabSource
    from .tiktokenfiles import constructor_spec, official_file

    if name not in PROVEN:
        return None
    spec = constructor_spec(name)
    if spec is None or not spec.get("sha256"):
        return None
    return VocabSource(
        name=name,
        pattern=spec["pat_str"],
        file=functools.partial(official_file, name, spec["path"], spec["sha256"]),
        build=functools.partial(tiktoken_encoding, name),
        sha256=spec["sha256"],
        # OpenAI numbers its special tokens after every rank: the last of them is the last id
        n_vocab=max(spec["special_tokens"].values()) + 1 if spec["special_tokens"] else None,
    )


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

            from .tiktokenfiles import constructors, embedded_spec

            ctor = constructors().get(name)
            spec = embedded_spec(name) if ctor is not None else None
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
