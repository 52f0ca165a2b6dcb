"""What a count depends on, as one short digest: the key of a tokenizer in the count cache.

`cache_fingerprint(tok, errors)` digests what decides a count and nothing else, from what each kind of
tokenizer already records, without building its tables where it can:

    tiktoken-format encodings   the sha256 of the .tiktoken file (recorded by the constructor, checked when
                                read), the split pattern; else the ranks themselves (tokcli.files.shards'
                                vocabulary fingerprint) and the pattern
    tokenizer.json              the whole file as the `tokenizers` library writes it back (vocabulary, merges,
                                normalizer, pre-tokenizer, post-processor)
    sentencepiece               the model's serialized proto
    splintr's own vocabularies  the name of the embedded vocabulary and the splintr version
    a special-token policy      the policy and the special tokens, over the inner tokenizer's digest

with tokcli's version and the engines' versions (an upgrade starts afresh), the cut pattern counting streams
by, and how the text was decoded (`errors`). A tokenizer of another kind has no fingerprint (None): its
counts are not cached. Computed once per tokenizer object (it is kept on the object).
"""

from __future__ import annotations

import hashlib
from typing import Any

from .base import Tokenizer, WithSpecial

SCHEMA = "tokcli-count-cache/1"


def _version(module: str) -> str:
    """The version of an engine's module (its `__version__`: importlib.metadata takes ~0.05 s a look-up)."""
    import importlib

    try:
        return str(getattr(importlib.import_module(module), "__version__", "-"))
    except ImportError:
        return "-"


def _definition(tok: Tokenizer) -> list[str] | None:
    """The strings that define `tok`'s ids for any text, or None when tokcli cannot say them."""
    from .hf import HFTokenizer
    from .pretrained import TiktokenEncoding
    from .splintrvocab import SplintrVocab
    from .spm import SentencePiece

    kind = f"{type(tok).__module__}.{type(tok).__qualname__}"
    if isinstance(tok, WithSpecial):
        inner = _definition(tok.inner)
        if inner is None:
            return None
        specials = sorted(tok.inner.special_tokens().items()) if tok.special != "text" or tok.add_special else []
        return [kind, tok.special, str(tok.add_special), repr(specials), repr(tok.inner.added_around()), *inner]
    if isinstance(tok, TiktokenEncoding):
        versions = f"splintr {_version('splintr')} tiktoken {_version('tiktoken')}"
        source: Any = tok._source
        if source is not None:
            digest = source.sha256 or hashlib.sha256(source.file()).hexdigest()
            return [kind, versions, "file", digest, source.pattern, str(source.n_vocab), str(tok.bos_token)]
        from tokcli.files.shards import fingerprint

        enc = tok.enc
        return [kind, versions, "ranks", fingerprint(tok), enc._pat_str, str(tok.bos_token)]
    if isinstance(tok, HFTokenizer):
        text: str = tok.tok.to_str()
        return [kind, f"tokenizers {_version('tokenizers')}", hashlib.sha256(text.encode()).hexdigest()]
    if isinstance(tok, SentencePiece):
        digest = hashlib.sha256(tok.proto).hexdigest()
        return [kind, f"sentencepiece {_version('sentencepiece')}", digest]
    if isinstance(tok, SplintrVocab):
        return [kind, f"splintr {_version('splintr')}", tok.key, repr(tok.spec)]
    return None


def cache_fingerprint(tok: Tokenizer, errors: str = "strict") -> str | None:
    """The count cache's key for `tok` reading text decoded with `errors` (None: not cacheable)."""
    memo: dict[str, str | None] | None = getattr(tok, "_cache_fingerprints", None)
    if memo is None:
        memo = {}
        try:
            tok._cache_fingerprints = memo  # type: ignore[attr-defined]
        except AttributeError:
            pass
    if errors not in memo:
        parts = _definition(tok)
        if parts is None:
            memo[errors] = None
        else:
            from tokcli import __version__

            h = hashlib.sha256()
            for p in [SCHEMA, __version__, errors, str(tok.cut_pattern), type(tok).__name__, *parts]:
                h.update(p.encode("utf-8", "surrogatepass") + b"\0")
            memo[errors] = h.hexdigest()[:32]
    return memo[errors]
