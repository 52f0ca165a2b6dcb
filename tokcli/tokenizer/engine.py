"""The fast exact engine for tiktoken-format vocabularies: splintr-rs, where tests here prove it exact.

Which engine encodes what:

- cl100k_base, o200k_base: splintr-rs (pinned in pyproject.toml), built from the very ranks of the
  `tiktoken.Encoding` tokcli loaded, with splintr's spelling of OpenAI's split pattern (its regex engine has
  no possessive quantifiers). tests/test_engine.py proves the ids identical to tiktoken's
  `encode_ordinary` on every shared corpus and on 20,000 random strings for both.
- every other tiktoken-format encoding (p50k_base, r50k_base, gpt2, vendor files): tiktoken, the reference.
- `TOKCLI_ENGINE=reference` forces tiktoken for all; so does a splintr that cannot be imported.

splintr is given no special tokens, so every call has encode_ordinary semantics: a literal `<|endoftext|>`
in the input is the text it is.

Offline vocabularies: splintr embeds cl100k_base and o200k_base. `embedded_ranks` rebuilds the official
.tiktoken file from the embedded vocabulary and accepts it only when its sha256 is the one tiktoken's
constructor expects for the official file (tests/test_engine.py also compares every rank/bytes pair with
tiktoken's parse of the official file).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import threading
import types
from typing import Any

from tokcli.errors import UsageError

# encodings whose ids splintr reproduces exactly (tests/test_engine.py): name -> splintr's pattern constant
PROVEN = {"cl100k_base": "CL100K_BASE_PATTERN", "o200k_base": "O200K_BASE_PATTERN"}
EMBEDDED = ("cl100k_base", "o200k_base")  # vocabularies splintr embeds, checked against the official file

_lock = threading.Lock()
_built: dict[int, tuple[Any, Any]] = {}  # id(tiktoken.Encoding) -> (that encoding, its splintr.Tokenizer)


def engine_choice() -> str:
    """'auto' (splintr where proven, else tiktoken) or 'reference' (tiktoken), from TOKCLI_ENGINE."""
    raw = os.environ.get("TOKCLI_ENGINE", "").strip().lower()
    if raw in ("", "auto", "splintr"):
        return "auto"
    if raw in ("reference", "tiktoken"):
        return "reference"
    raise UsageError(f"TOKCLI_ENGINE={raw!r}: set it to 'reference' to force tiktoken, or unset it")


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
    try:
        # a copy of the constructor that looks its globals up in `scope`: tiktoken_ext itself is left alone
        return types.FunctionType(ctor.__code__, scope, ctor.__name__, ctor.__defaults__, ctor.__closure__)()["pat_str"]
    except Exception:
        return None


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
    if not isinstance(ranks, dict) or getattr(enc, "_pat_str", None) != official_pattern(name):
        return None
    with _lock:
        hit = _built.get(id(enc))
        if hit is not None and hit[0] is enc:
            return hit[1]
        tok = splintr.Tokenizer.from_bytes(tiktoken_file(ranks), getattr(splintr, PROVEN[name]), {})
        _built[id(enc)] = (enc, tok)
    return tok


def embedded_ranks(name: str, expected_sha256: str | None) -> dict[bytes, int] | None:
    """splintr's embedded vocabulary for `name` as tiktoken ranks, or None.

    None unless `name` is in EMBEDDED, splintr imports, and the .tiktoken file rebuilt from the embedded
    vocabulary has exactly `expected_sha256`, the official file's (so it is byte-identical to it).
    """
    if name not in EMBEDDED or not expected_sha256:
        return None
    splintr = _splintr()
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
    if hashlib.sha256(tiktoken_file(ranks)).hexdigest() != expected_sha256:
        return None
    return ranks
