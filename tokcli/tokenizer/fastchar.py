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
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .patterns import CHAR_PATTERN

if TYPE_CHECKING:
    import numpy as np

_PRE = {"type": "Split", "pattern": {"Regex": CHAR_PATTERN}, "behavior": "Isolated", "invert": False}
# texts shorter than this are looked up character by character in a dict: for them, importing numpy
# (about 60 ms) would cost more than the whole lookup (a 1 KB file: about 0.05 ms)
SMALL = 1 << 14


class CharTable:
    """encode_ordinary / encode_ordinary_batch, as tiktoken's Encoding names them (see HFTokenizer._fast).

    A text of SMALL characters or more goes through the numpy table, a shorter one through a dict of the
    same mapping (the same ids: tests/test_fastchar.py), so a short text never imports numpy."""

    def __init__(self, vocab: dict[str, int], unk_id: int) -> None:
        self.singles = {k: v for k, v in vocab.items() if len(k) == 1}  # a single code point -> its id
        self.unk_id = unk_id

    @cached_property
    def table(self) -> np.ndarray:
        """code point -> id, <unk> for the rest; the last slot stands for every code point past the end."""
        import numpy as np

        points = {ord(k): v for k, v in self.singles.items()}
        table = np.full(max(points, default=0) + 2, self.unk_id, dtype=np.int64)
        table[list(points)] = list(points.values())
        return table

    def ids(self, text: str) -> np.ndarray:
        import numpy as np

        cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        ids: np.ndarray = self.table[np.minimum(cp, len(self.table) - 1)]  # [C] int64
        return ids

    def encode_ordinary(self, text: str) -> list[int]:
        if len(text) < SMALL:
            get, unk = self.singles.get, self.unk_id
            return [get(c, unk) for c in text]
        ids: list[int] = self.ids(text).tolist()
        return ids

    def encode_ordinary_batch(self, texts: Sequence[str], num_threads: int = 1) -> list[list[int]]:
        return [self.encode_ordinary(t) for t in texts]

    def unknown_pieces(self, text: str) -> list[str]:
        """The characters of `text` that become <unk>, in order (a character whose own id is <unk>'s too)."""
        if len(text) < SMALL:
            get, unk = self.singles.get, self.unk_id
            return [c for c in text if get(c, unk) == unk]
        return [text[i] for i in (self.ids(text) == self.unk_id).nonzero()[0].tolist()]


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
