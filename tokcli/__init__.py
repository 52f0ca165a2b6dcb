"""tokcli: train, load, inspect, compare and budget LLM tokenizers.

    >>> import tokcli
    >>> tok = tokcli.load("cl100k_base")          # or "gpt-4o", "llama3", "bpe", "path/to/tokenizer.json", ...
    >>> tok.encode("hello world")
    [15339, 1917]
    >>> tok.count("hello world"), tok.decode([15339, 1917])
    (2, 'hello world')
    >>> r = tokcli.resolve("claude-sonnet-4-5")     # what a name stands for, nothing loaded
    >>> r.exact, r.proxy                            # a private tokenizer: counted with a proxy, an estimate
    (False, 'o200k_base')
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
    from tokcli.tokenizer.registry import Resolved

__version__ = "0.1.0"
__all__ = ["Tokenizer", "TokcliError", "Resolved", "load", "resolve", "train", "read", "count", "__version__"]


def load(spec: str) -> Tokenizer:
    """A tokenizer by name or path, named `spec` (as the table spells it): the same names `-t`, `-m`, `check`,
    `diff` and the [tool.tokcli] budgets take. Bundled (en, char, word, bpe, ja-char), a tiktoken encoding
    (cl100k_base, ...), a vendor's (llama3, tekken, qwen, ...), any model `tokcli models` lists and its aliases
    (gpt-4o, llama-3.1-8b, claude-sonnet-4-5, ...; with your config's [models] applied), any OpenAI model
    tiktoken knows, or a tokenizer.json / .model file or a model directory.

    A model with a private tokenizer loads its proxy (o200k_base) under the model's name: ask `resolve(spec)`
    whether a name counts exactly. Raises TokenizerNotFound for an unknown name (with at most five close
    names), BackendMissing when a vendor tokenizer's extra is not installed (naming the pip command)."""
    return resolve(spec).load()


def resolve(spec: str) -> Resolved:
    """What `spec` stands for, nothing loaded: a `Resolved` with `name`, `tokenizer` (what counts are made
    with), `exact`, `proxy` (for an estimate), `model`, `vendor`, `note` (the estimate's sentence, which the CLI
    prints on stderr) and `load()`. Raises as `load` does for an unknown name."""
    from tokcli.tokenizer.registry import resolve as _resolve

    return _resolve(spec)


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
    if name == "Resolved":
        from tokcli.tokenizer.registry import Resolved

        return Resolved
    raise AttributeError(name)
