"""tokcli's character tokenizer encoded with a numpy lookup table instead of `tokenizers`.

The char tokenizer is a WordLevel model behind a Split pre-tokenizer that isolates every code point:
its ids are a table lookup per code point, <unk> for the rest. `tokenizers` builds a pre-tokenized
split (strings and alignments) for every character, which ran at about 0.4 MB/s and held over 2 GB
for 6 MB of text in `tokcli compare`; the table does the same in one numpy gather. Used only when the
tokenizer.json has exactly that structure (tokcli.char writes it); tests/test_tokenizers.py checks
that the ids equal `tokenizers`' on every shared corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .patterns import CHAR_PATTERN

_PRE = {"type": "Split", "pattern": {"Regex": CHAR_PATTERN}, "behavior": "Isolated", "invert": False}


class CharTable:
    """encode_ordinary / encode_ordinary_batch, as tiktoken's Encoding names them (see HFTokenizer._fast)."""

    def __init__(self, vocab: dict[str, int], unk_id: int) -> None:
        singles = {ord(k): v for k, v in vocab.items() if len(k) == 1}
        self.unk_id = unk_id
        self.table = np.full(max(singles, default=0) + 2, unk_id, dtype=np.int64)  # the last slot: past the end
        self.table[list(singles)] = list(singles.values())

    def ids(self, text: str) -> np.ndarray:
        cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        ids: np.ndarray = self.table[np.minimum(cp, len(self.table) - 1)]  # [C] int64
        return ids

    def encode_ordinary(self, text: str) -> list[int]:
        ids: list[int] = self.ids(text).tolist()
        return ids

    def encode_ordinary_batch(self, texts: Sequence[str], num_threads: int = 1) -> list[list[int]]:
        return [self.encode_ordinary(t) for t in texts]


def char_table(spec: dict[str, Any]) -> CharTable | None:
    """The table for a tokenizer.json that is exactly tokcli's char tokenizer, else None."""
    model = spec.get("model") or {}
    vocab = model.get("vocab")
    unk = model.get("unk_token")
    if (
        model.get("type") != "WordLevel"
        or not isinstance(vocab, dict)
        or unk not in vocab
        or spec.get("pre_tokenizer") != _PRE
        or spec.get("normalizer") is not None
        or spec.get("post_processor") is not None
        or spec.get("added_tokens")
    ):
        return None
    return CharTable(vocab, vocab[unk])
