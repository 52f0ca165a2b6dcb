"""The fast exact engine for tiktoken-format vocabularies: splintr-rs, where tests here prove it exact.

Which engine encodes what:

- cl100k_base, o200k_base: splintr-rs (pinned in pyproject.toml), built from the very bytes of the official
  .tiktoken file (sha256 checked) that tiktoken would parse, with splintr's spelling of OpenAI's split
  pattern (its regex engine has no possessive quantifiers). tests/test_engine.py proves the ids identical
  to tiktoken's `encode_ordinary` on every shared corpus and on 20,000 random strings for both. Loaded by
  name, batches without "<|" go to splintr's pre-parsed embedded encoder instead (`Embedded`: faster to
  build; its vocabulary is proven identical to the official file's, and it is tested the same way).
- llama3, llama4 (llama-models' tokenizer.model files): splintr-rs with the vendor's own pattern string,
  built from the file's bytes when its sha256 is the one the identity tests ran on (else from the ranks
  tiktoken parsed). tests/test_engine.py proves the ids identical to tiktoken on the same file, which
  tests/test_vendors.py proves identical to llama-models' own tokenizer code.
- every other tiktoken-format encoding (p50k_base, r50k_base, gpt2, qwen, tekken): tiktoken, the reference.
- `TOKCLI_ENGINE=reference` forces tiktoken for all; so does a splintr that cannot be imported.

Counting and encoding with splintr never build the `tiktoken.Encoding` (a second copy of the vocabulary,
0.3-0.8 s to parse): a `VocabSource` names the file and builds the reference encoding only when a verb
needs it (decode, token bytes, special tokens) or when splintr is not used.

splintr is given no special tokens, so every call has encode_ordinary semantics: a literal `<|endoftext|>`
in the input is the text it is.

Offline vocabularies: splintr embeds cl100k_base and o200k_base. Their identity with the official files is
proven once, not on every run: EMBEDDED_SHA256 records, per splintr version, the sha256 of the .tiktoken file
rebuilt from each embedded vocabulary, and tests/test_engine.py rebuilds and hashes it, compares every
rank/bytes pair with tiktoken's parse of the official file, and checks that the pinned splintr's digests are
recorded and equal to the official ones (OFFICIAL_SHA256, which tiktoken's constructors name). At run time a
recorded digest equal to the one tiktoken's constructor expects is trusted: the embedded encoder is used as
it is, and `embedded_ranks` reads the ranks without rebuilding the file to hash it. For a splintr version
with no record, the file is rebuilt and hashed on each use (about 0.4 s) and accepted only when its sha256 is
the official one.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tokcli.errors import UsageError

# encodings whose ids splintr reproduces exactly (tests/test_engine.py): name -> splintr's pattern constant
PROVEN = {
    "cl100k_base": "CL100K_BASE_PATTERN",
    "o200k_base": "O200K_BASE_PATTERN",
    "llama3": "LLAMA3_PATTERN",  # the very string of llama_models/llama3/tokenizer.py's pat_str
    "llama4": "O200K_BASE_PATTERN",  # the very string of llama_models/llama4/tokenizer.py's O200K_PATTERN
    "o200k_harmony": "O200K_BASE_PATTERN",  # tiktoken's o200k_harmony: o200k_base's file and pattern
}
EMBEDDED = ("cl100k_base", "o200k_base")  # vocabularies splintr embeds, checked against the official file
# the sha256 tiktoken's constructors expect of the official files (tests/test_engine.py checks them against
# tiktoken_ext.openai_public and the files themselves)
OFFICIAL_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}
# per splintr version: the sha256 of the .tiktoken file rebuilt from each embedded vocabulary (`embedded_file`),
# as tests/test_engine.py computes it on that version; a test fails when the installed splintr has no record
EMBEDDED_SHA256 = {
    "0.22.0": {
        "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    },
}
SAME_FILE = {"o200k_harmony": "o200k_base"}  # encodings whose ranks are another's official file (same sha256)
EMBEDDED_TESTED = tuple(EMBEDDED_SHA256)  # splintr versions whose embedded encoders tests/test_engine.py ran on
SPECIAL_START = "<|"  # how every special token splintr's embedded encoders know begins
# vendor files splintr may parse itself: the sha256 of the file the identity tests ran on (llama-models 0.3.0);
# another file goes through tiktoken's parse first (splintr is then built from the ranks tiktoken read)
VENDOR_FILES = {
    "llama3": "82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55",
    "llama4": "d0bdbaf59b0762c8c807617e2d8ea51420eb1b1de266df2495be755c8e0ed6ed",
}

_lock = threading.Lock()
_ordinary_lock = threading.Lock()  # Embedded.ordinary: its file() may build a VocabSource's encoding
_built: dict[int, tuple[Any, Any]] = {}  # id(tiktoken.Encoding or VocabSource) -> (that object, its splintr)


@dataclass(eq=False)
class VocabSource:
    """A tiktoken-format vocabulary before anything parses it: enough to build either engine from it.

    `file()` gives the file's bytes (already checked: the sha256 an OpenAI constructor names, or the file a
    vendor ships), `sha256` the hash that `file()` is known to have (None: not known), `pattern` the split
    pattern the reference uses, `build()` the reference `tiktoken.Encoding` of that very file and pattern.
    """

    name: str
    pattern: str
    file: Callable[[], bytes]
    build: Callable[[], Any]  # the reference tiktoken.Encoding; `encoding()` calls it once
    sha256: str | None = None
    n_vocab: int | None = None  # the reference's n_vocab where known without parsing the file
    _encoding: Any = None
    _building: threading.Lock = field(default_factory=threading.Lock)

    def encoding(self) -> Any:
        """The reference `tiktoken.Encoding`, built on first call (shared by every tokenizer of this source)."""
        if self._encoding is None:
            with self._building:
                if self._encoding is None:
                    self._encoding = self.build()
        return self._encoding


def engine_choice() -> str:
    """'auto' (splintr where proven, else tiktoken) or 'reference' (tiktoken), from TOKCLI_ENGINE."""
    raw = os.environ.get("TOKCLI_ENGINE", "").strip().lower()
    if raw in ("", "auto", "splintr"):
        return "auto"
    if raw in ("reference", "tiktoken"):
        return "reference"
    raise UsageError(f"TOKCLI_ENGINE={raw!r}: set it to 'reference' to force tiktoken, or unset it")


def available() -> bool:
    """Whether splintr may be used at all: TOKCLI_ENGINE allows it and it imports."""
    return engine_choice() == "auto" and _splintr() is not None


def _splintr() -> Any:
    try:
        import splintr
    except ImportError:
        return None
    return splintr


def tiktoken_file(ranks: dict[bytes, int]) -> bytes:
    """The .tiktoken file for `ranks`: one `base64 rank` line per token, by rank, as OpenAI's files are."""
    b64 = base64.b64encode
    items: Any = ranks.items()
    ordered = all(a < b for a, b in itertools.pairwise(ranks.values()))
    if not ordered:  # tiktoken's parse keeps the file's order, which is by rank: sorting is rarely needed
        items = sorted(items, key=lambda kv: kv[1])
    return b"".join([b64(tok) + b" %d\n" % rank for tok, rank in items])


def _no_ranks(*args: Any, **kwargs: Any) -> dict[bytes, int]:
    return {}


def official_pattern(name: str) -> str | None:
    """tiktoken's own split pattern for OpenAI encoding `name`, read from its constructor without any file."""
    from tiktoken_ext import openai_public

    ctor = openai_public.ENCODING_CONSTRUCTORS.get(name)
    if ctor is None:
        return None
    scope = dict(vars(openai_public), load_tiktoken_bpe=_no_ranks, data_gym_to_mergeable_bpe_ranks=_no_ranks)
    for f in openai_public.ENCODING_CONSTRUCTORS.values():  # o200k_harmony calls o200k_base: its copy too
        scope[f.__name__] = types.FunctionType(f.__code__, scope, f.__name__, f.__defaults__, f.__closure__)
    try:
        # a copy of the constructor that looks its globals up in `scope`: tiktoken_ext itself is left alone
        params = types.FunctionType(ctor.__code__, scope, ctor.__name__, ctor.__defaults__, ctor.__closure__)()
        pattern: str = params["pat_str"]
        return pattern
    except Exception:
        return None


def reference_pattern(name: str) -> str | None:
    """The pattern the reference encoder of `name` uses: tiktoken's for OpenAI's, the vendor's for the others."""
    if name in ("llama3", "llama4"):
        from .patterns import LLAMA3_PATTERN, LLAMA4_PATTERN

        return LLAMA3_PATTERN if name == "llama3" else LLAMA4_PATTERN
    return official_pattern(name)


def splintr_for_source(source: VocabSource) -> Any:
    """A splintr.Tokenizer built from `source`'s file bytes, giving exactly the reference's ids, or None.

    None where `splintr_for` would give None (reference forced, name not proven, splintr missing), where the
    source's pattern is not the reference's, or where the file's bytes are not the ones the identity tests
    covered (an OpenAI file checked against its official sha256, a vendor file with the sha256 in
    VENDOR_FILES): the caller then builds the reference encoding and may still call `splintr_for` on it.
    """
    if engine_choice() == "reference" or source.name not in PROVEN:
        return None
    hit = _built.get(id(source))
    if hit is not None and hit[0] is source:
        return hit[1]
    splintr = _splintr()
    if splintr is None or source.pattern != reference_pattern(source.name):
        return None
    data: bytes | None = None  # None: the embedded vocabulary is the file's (recorded digest), read it later
    if source.name in VENDOR_FILES:
        data = source.file()
        if hashlib.sha256(data).hexdigest() != VENDOR_FILES[source.name]:
            return None
    elif source.sha256 is None:
        return None
    elif not recorded_embedded(source.name, source.sha256):
        data = source.file()
    pattern = getattr(splintr, PROVEN[source.name])
    with _lock:
        hit = _built.get(id(source))
        if hit is not None and hit[0] is source:
            return hit[1]
        tok: Any
        if data is None:
            embedded = splintr.Tokenizer.from_pretrained(SAME_FILE.get(source.name, source.name))
            tok = Embedded(embedded, source.file, pattern)
        else:
            tok = splintr.Tokenizer.from_bytes(data, pattern, {})
        _built[id(source)] = (source, tok)
    return tok


def _embedding_splintr(name: str, expected_sha256: str | None) -> Any:
    """splintr, where it embeds vocabulary `name` and there is an official file's digest to hold it to; else None."""
    if name not in EMBEDDED or not expected_sha256:
        return None
    return _splintr()


def recorded_embedded(name: str, expected_sha256: str | None) -> bool:
    """Whether the installed splintr's embedded vocabulary `name` is recorded (EMBEDDED_SHA256, proven by
    tests/test_engine.py) as rebuilding to the file whose sha256 is `expected_sha256`: then it is that file's
    vocabulary, and nothing needs rebuilding or hashing at run time."""
    name = SAME_FILE.get(name, name)
    splintr = _embedding_splintr(name, expected_sha256)
    if splintr is None:
        return False
    return EMBEDDED_SHA256.get(getattr(splintr, "__version__", ""), {}).get(name) == expected_sha256


class Embedded:
    """splintr's embedded encoder of an OpenAI encoding, giving `encode_ordinary`'s ids: it comes pre-parsed
    (0.03-0.05 s against 0.1-0.2 s to parse the file), and it is given a batch only when no text of it holds
    "<|", since it matches special tokens and every special token it knows (its agent tokens included)
    starts with "<|" (tests/test_engine.py checks both). Other batches, decoding and token bytes go to a
    tokenizer built from the official file's bytes (`file()`, read or rebuilt only then) with no special
    tokens, built when first needed."""

    def __init__(self, embedded: Any, file: Callable[[], bytes], pattern: str) -> None:
        self.embedded = embedded
        self._file: Callable[[], bytes] | None = file
        self._pattern = pattern
        self._ordinary: Any = None

    @property
    def ordinary(self) -> Any:
        if self._ordinary is None:
            with _ordinary_lock:
                if self._ordinary is None and self._file is not None:
                    import splintr

                    self._ordinary = splintr.Tokenizer.from_bytes(self._file(), self._pattern, {})
                    self._file = None
        return self._ordinary

    def _for(self, texts: list[str]) -> Any:
        return self.ordinary if any(SPECIAL_START in t for t in texts) else self.embedded

    def encode_batch_flat(self, texts: list[str]) -> tuple[bytes, bytes]:
        flat: tuple[bytes, bytes] = self._for(texts).encode_batch_flat(texts)
        return flat

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        batch: list[list[int]] = self._for(texts).encode_batch(texts)
        return batch

    def encode_ordinary(self, text: str) -> list[int]:
        ids: list[int] = self._for([text]).encode_ordinary(text)
        return ids

    def decode_bytes(self, ids: list[int]) -> bytes:
        data: bytes = self.ordinary.decode_bytes(ids)
        return data

    def decode_token_bytes(self, token_id: int) -> bytes:
        data: bytes = self.ordinary.decode_token_bytes(token_id)
        return data


def splintr_for(enc: Any) -> Any:
    """A splintr.Tokenizer giving exactly `enc.encode_ordinary`'s ids, or None where that is not proven.

    Only for the encodings in PROVEN, with tiktoken's official pattern, when TOKCLI_ENGINE is not
    'reference' and splintr imports; built from `enc`'s own ranks, so the vocabulary is the same by
    construction. Built once per encoding object.
    """
    if engine_choice() == "reference":
        return None
    name = getattr(enc, "name", None)
    if name not in PROVEN:
        return None
    hit = _built.get(id(enc))
    if hit is not None and hit[0] is enc:
        return hit[1]
    splintr = _splintr()
    if splintr is None:
        return None
    ranks = getattr(enc, "_mergeable_ranks", None)
    if not isinstance(ranks, dict) or getattr(enc, "_pat_str", None) != reference_pattern(name):
        return None
    with _lock:
        hit = _built.get(id(enc))
        if hit is not None and hit[0] is enc:
            return hit[1]
        tok = splintr.Tokenizer.from_bytes(tiktoken_file(ranks), getattr(splintr, PROVEN[name]), {})
        _built[id(enc)] = (enc, tok)
    return tok


def embedded_file(name: str, expected_sha256: str | None) -> bytes | None:
    """The official .tiktoken file of `name` rebuilt from splintr's embedded vocabulary, or None: only where
    `name` is in EMBEDDED, splintr imports, and the rebuilt file has exactly `expected_sha256` (hashing the
    rebuilt bytes costs a few ms; rebuilding them, about 0.3 s, happens only when a caller needs the file)."""
    ranks = _embedded_ranks(name, expected_sha256)
    if ranks is None:
        return None
    data = tiktoken_file(ranks)
    return data if hashlib.sha256(data).hexdigest() == expected_sha256 else None


def embedded_ranks(name: str, expected_sha256: str | None) -> dict[bytes, int] | None:
    """splintr's embedded vocabulary for `name` as tiktoken ranks, or None.

    None unless `name` is in EMBEDDED, splintr imports, and the embedded vocabulary is the file whose sha256
    is `expected_sha256`, the official file's: by the digest recorded for this splintr version
    (`recorded_embedded`), else by rebuilding the .tiktoken file from it and hashing that.
    """
    ranks = _embedded_ranks(name, expected_sha256)
    if ranks is None or recorded_embedded(name, expected_sha256):
        return ranks
    return ranks if hashlib.sha256(tiktoken_file(ranks)).hexdigest() == expected_sha256 else None


def _embedded_ranks(name: str, expected_sha256: str | None) -> dict[bytes, int] | None:
    """splintr's embedded vocabulary `name` (or the one whose file `name` shares, SAME_FILE) as tiktoken
    ranks (its special tokens and holes left out), unchecked; None where there is none."""
    name = SAME_FILE.get(name, name)
    splintr = _embedding_splintr(name, expected_sha256)
    if splintr is None:
        return None
    try:
        emb = splintr.Tokenizer.from_pretrained(name)
        special = set(emb.special_tokens().values())
        ranks: dict[bytes, int] = {}
        for i in range(splintr.base_vocab_size(name)):
            if i in special:
                continue
            try:
                ranks[emb.decode_token_bytes(i)] = i
            except ValueError:  # a hole in the ids (o200k_base has one before <|endoftext|>)
                continue
    except Exception:
        return None
    return ranks
