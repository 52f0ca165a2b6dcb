"""tokcli: train, load, inspect, compare and budget LLM tokenizers.

    >>> import tokcli
    >>> tok = tokcli.load("cl100k_base")          # or "gpt-4o", "bpe", "path/to/tokenizer.json", "x.model"
    >>> tok.encode("hello world")
    [15339, 1917]
    >>> tok.count("hello world"), tok.decode([15339, 1917])
    (2, 'hello world')
    >>> from tokcli.files.bundled import corpora_dir     # the sample texts: corpora/ in a checkout
    >>> bpe = tokcli.train("bpe", tokcli.read([str(corpora_dir())]), vocab_size=1000)
    >>> bpe.decode(bpe.encode("Grüße, 世界 👋"))     # byte-level BPE: exact for any text
    'Grüße, 世界 👋'
    >>> bpe.save("bpe.json")                        # doctest: +SKIP

Everything heavy (tokenizers, tiktoken, sentencepiece, numpy) is imported on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from .errors import TokcliError

if TYPE_CHECKING:
    from tokcli.tokenizer.base import Tokenizer

__version__ = "0.1.0"
__all__ = ["Tokenizer", "TokcliError", "load", "train", "read", "count", "__version__"]


def load(spec: str) -> Tokenizer:
    """A tokenizer by name or path: bundled (en, char, word, bpe, ja-char), tiktoken encoding, model name, file."""
    from tokcli.tokenizer.registry import load as _load

    return _load(spec)


def train(kind: str, texts: Iterable[str], **options: object) -> Tokenizer:
    """Train a char, word, bpe or unigram tokenizer on texts; see tokcli.tokenizer.training.train for options."""
    from tokcli.tokenizer.training import train as _train

    return _train(kind, texts, **options)  # type: ignore[arg-type]


def read(paths: Iterable[str], *, errors: str = "strict") -> Iterator[str]:
    """The text of files, directories (recursively) or '-' (stdin), as a stream of chunks."""
    from .files.text import expand_inputs, iter_text

    for source in expand_inputs(paths):
        yield from iter_text(source, errors=errors)


def count(text: str, tokenizer: str | None = None) -> int:
    """Number of tokens of `text` under a tokenizer name or path (default: cl100k_base, DEFAULT_TOKENIZER)."""
    from .tokenizer import DEFAULT_TOKENIZER

    return load(tokenizer or DEFAULT_TOKENIZER).count(text)


def __getattr__(name: str) -> object:
    if name == "Tokenizer":
        from tokcli.tokenizer.base import Tokenizer

        return Tokenizer
    raise AttributeError(name)
