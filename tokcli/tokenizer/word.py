"""Word tokenizer: the most frequent words, numbers, punctuation marks and whitespace runs, plus <unk>.

The split is Unicode-aware (`WORD_PATTERN`): a word is a run of letters and combining marks with an
optional leading space (" the", so a single space between words costs nothing); Han, Hiragana and
Katakana runs are words of their own, since Japanese and Chinese put no spaces between words; a number
is a run of digits; every other symbol is one token; other whitespace runs are tokens.

Where it is lossy: a word (or whitespace run) not in the vocabulary becomes <unk> and decodes as the
literal "<unk>"; everything in the vocabulary round-trips exactly, whitespace included. Scripts written
without spaces other than Japanese and Chinese (Thai, for one) get phrase-long words, mostly unknown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import regex

from tokcli.errors import UsageError, VocabSizeError

from .char import word_level
from .hf import HFTokenizer
from .patterns import UNK, WORD_PATTERN

DEFAULT_VOCAB = 8000


def split_words(text: str) -> list[str]:
    """The pieces WORD_PATTERN cuts `text` into (the same pieces HF's Split pre-tokenizer makes)."""
    words: list[str] = _word_re().findall(text)
    return words


@cache
def _word_re() -> regex.Pattern[str]:  # compiled on first use: importing regex costs start-up time
    import regex

    return regex.compile(WORD_PATTERN)


def train_word(texts: Iterable[str], *, vocab_size: int | None = None, min_frequency: int = 1) -> HFTokenizer:
    """The `vocab_size - 1` most frequent pieces (ties broken by the piece itself) plus <unk>=0."""
    size = vocab_size or DEFAULT_VOCAB
    if size < 2:
        raise VocabSizeError(size, "cannot work: a word tokenizer needs <unk> and one word")
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_word_re().findall(text))
    words = sorted((w for w, n in counts.items() if n >= min_frequency), key=lambda w: (-counts[w], w))
    if not words:
        raise UsageError("no words to learn: the input is empty (or all below --min-frequency)")
    vocab = {UNK: 0} | {w: i + 1 for i, w in enumerate(words[: size - 1])}
    return HFTokenizer(word_level(vocab, WORD_PATTERN), name="word", kind="word")
