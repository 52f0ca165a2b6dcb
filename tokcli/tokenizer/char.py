"""Character tokenizer: one token per Unicode code point seen in training, plus <unk>.

Saved as an HF tokenizer.json (WordLevel model, a Split pre-tokenizer isolating every code point, Fuse
decoder), so `tokenizers.Tokenizer.from_file` loads it. Round trip is exact for every character seen in
training; an unseen character becomes <unk> and decodes as the literal text "<unk>". It does not handle
grapheme clusters: an emoji with a skin-tone modifier is two tokens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tokcli.errors import UsageError, VocabSizeError

from .hf import HFTokenizer
from .patterns import CHAR_PATTERN, UNK

if TYPE_CHECKING:
    from tokenizers import Tokenizer


def train_char(texts: Iterable[str], *, vocab_size: int | None = None, min_frequency: int = 1) -> HFTokenizer:
    """All characters seen (or the `vocab_size - 1` most frequent), ids in code-point order after <unk>=0."""
    if vocab_size is not None and vocab_size < 2:  # before reading: the input may be large
        raise VocabSizeError(vocab_size, "cannot work: a char tokenizer needs <unk> and one character")
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(text)
    chars = [c for c, n in counts.items() if n >= min_frequency]
    if vocab_size is not None and len(chars) > vocab_size - 1:
        chars = sorted(chars, key=lambda c: (-counts[c], c))[: vocab_size - 1]
    if not chars:
        raise UsageError("no characters to learn: the input is empty (or all below --min-frequency)")
    vocab = {UNK: 0} | {c: i + 1 for i, c in enumerate(sorted(chars))}
    return HFTokenizer(word_level(vocab, CHAR_PATTERN), name="char", kind="char")


def word_level(vocab: dict[str, int], pattern: str) -> Tokenizer:
    """A WordLevel tokenizers.Tokenizer: pre-tokenize with `pattern`, look each piece up, Fuse to decode."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return tok
