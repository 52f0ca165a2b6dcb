"""Tokenizers: one base class (`base.Tokenizer`), a registry of names (`registry.load`), one module per kind.

    base.py        the verbs every tokenizer has, and streaming in exact segments
    patterns.py    every pre-tokenizer regex and shared constant, DEFAULT_TOKENIZER too (a leaf: imports nothing of tokcli)
    registry.py    names and paths -> tokenizers, lazily
    hf.py          any HF tokenizer.json (char, word and bpe are kinds of it)
    char.py, word.py, bpe.py    training tokcli's own kinds (saved as tokenizer.json)
    spm.py         sentencepiece models: unigram, and bpe with --backend sentencepiece
    pretrained.py  OpenAI's encodings through tiktoken, offline (tiktokenfiles.py finds and verifies their files)
    training.py    train(kind, texts): one entry point over the kinds and backends
    fastbpe.py, fastchar.py     the same ids as `tokenizers`, faster, for tokcli's own bpe and char

This package imports nothing of tokcli's model, lm, analysis, budget, output or cli (import-linter checks it).
"""

from __future__ import annotations

from .base import Tokenizer
from .patterns import DEFAULT_TOKENIZER  # a leaf, so that registry can import it too without a loop

__all__ = ["DEFAULT_TOKENIZER", "Tokenizer", "load"]


def load(spec: str) -> Tokenizer:
    """The tokenizer a name or path stands for (see tokcli.tokenizer.registry)."""
    from .registry import load as _load

    return _load(spec)
