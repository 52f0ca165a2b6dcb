"""`train(kind, texts)`: one entry point over the four kinds and two backends."""

from __future__ import annotations

from collections.abc import Iterable

from tokcli.errors import UsageError

from .base import Tokenizer

KINDS = ("char", "word", "bpe", "unigram")
BACKENDS = ("hf", "sentencepiece")


def train(
    kind: str,
    texts: Iterable[str],
    *,
    vocab_size: int | None = None,
    min_frequency: int | None = None,
    backend: str = "hf",
    character_coverage: float = 0.9995,
    show_progress: bool = False,
) -> Tokenizer:
    """Train a tokenizer of `kind` on an iterable of texts (whole documents or chunks of a stream).

    char, word and bpe (backend 'hf') give HF tokenizer.json tokenizers; unigram, and bpe with backend
    'sentencepiece', give sentencepiece models. The same texts and options give byte-identical files.
    """
    if kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r}: choose one of {', '.join(KINDS)}")
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if vocab_size is not None and vocab_size < 1:
        raise UsageError(f"--vocab-size {vocab_size} cannot work: it must be positive")
    if kind == "unigram" or (kind == "bpe" and backend == "sentencepiece"):
        if min_frequency is not None:
            raise UsageError("--min-frequency applies to the hf backend only")
        from .spm import train_spm

        return train_spm(
            texts,
            model_type=kind,
            vocab_size=vocab_size,
            character_coverage=character_coverage,
            show_progress=show_progress,
        )
    if backend == "sentencepiece":
        raise UsageError(f"--backend sentencepiece trains bpe and unigram only, not {kind}")
    if kind == "char":
        from .char import train_char

        return train_char(texts, vocab_size=vocab_size, min_frequency=min_frequency or 1)
    if kind == "word":
        from .word import train_word

        return train_word(texts, vocab_size=vocab_size, min_frequency=min_frequency or 1)
    from .bpe import train_bpe

    return train_bpe(texts, vocab_size=vocab_size, min_frequency=min_frequency or 2, show_progress=show_progress)


def default_filename(kind: str, backend: str = "hf") -> str:
    return "tokenizer.model" if kind == "unigram" or backend == "sentencepiece" else "tokenizer.json"
