"""Byte-level BPE, trained with HF `tokenizers`: exact round trip for any Unicode text, no unknown token.

Pre-tokenization is GPT-4o's (o200k_base) regex, `GPT_PATTERN`: letter runs with an optional leading
non-letter and case-aware splitting, contractions, digits in groups of at most three, punctuation runs,
newline runs and other whitespace. Each piece is turned into bytes (GPT-2's ByteLevel mapping) and BPE
merges are learned within pieces, never across them. Ids: the 256 byte tokens, then merges in the order
learned.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tokcli.errors import VocabSizeError

from .hf import HFTokenizer
from .patterns import GPT_PATTERN

DEFAULT_VOCAB = 8000


def train_bpe(
    texts: Iterable[str], *, vocab_size: int | None = None, min_frequency: int = 2, show_progress: bool = False
) -> HFTokenizer:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    size = vocab_size or DEFAULT_VOCAB
    if size <= 256:
        raise VocabSizeError(size, "cannot work: byte-level BPE needs the 256 byte tokens and at least one merge")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(GPT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=size,
        min_frequency=min_frequency,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=show_progress,
    )
    tok.train_from_iterator(_pieces(texts), trainer)
    return HFTokenizer(tok, name="bpe", kind="bpe")


def _pieces(texts: Iterable[str], size: int = 1 << 14) -> Iterator[str]:
    """Each text cut where the cut is safe (see tokenizer.SAFE_CUT: after "x\n", before a non-space),
    in pieces of about `size` characters.

    The pre-tokenizer gives the same pieces either way, so the merges are the same; but `tokenizers`
    spreads many short texts over its threads, where one 1 MiB chunk is one thread's work and all its
    pieces are held at once (training was 1.5x slower than `tokenizers` reading the file itself).
    Single lines cost a Python round trip each; about 16 K characters was fastest (benchmarks/TRIED.md).
    """
    buf: list[str] = []
    n = 0
    for line in _lines(texts):
        buf.append(line)
        n += len(line)
        if n >= size:
            yield "".join(buf)
            buf, n = [], 0
    if buf:
        yield "".join(buf)


def _lines(texts: Iterable[str]) -> Iterator[str]:
    """Each text cut into lines where the cut is safe."""
    for text in texts:
        parts = text.split("\n")
        cur = parts[0]
        for line in parts[1:]:
            if cur and line and not cur[-1].isspace() and not line[0].isspace():
                yield cur + "\n"
                cur = line
            else:
                cur += "\n" + line
        if cur:
            yield cur
