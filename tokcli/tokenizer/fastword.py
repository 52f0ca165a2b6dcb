"""tokcli's word tokenizer encoded with Python's `regex` and a dict lookup instead of `tokenizers`.

The word tokenizer is a WordLevel model behind a Split pre-tokenizer (WORD_PATTERN): its ids are the
vocabulary's id of each piece the regex cuts, <unk> for the rest. `tokenizers` builds a pre-tokenized
string (pieces, offsets, alignments) for every piece: counting 86 MB that way took 640 MB and ran at
0.25 MB/s on two cores; `regex.findall` and a dict do the same in a few MB a segment, four times faster.

The two regex engines agree on every assigned character of the Unicode version both know (checked on
every code point by tests/test_fastword.py, with the shared corpora), but not on characters only one of
them knows: `regex` follows the newest Unicode, Oniguruma in `tokenizers` an older one, and a character
unassigned in one is \\p{Cn} there, a letter in the other. So a text holding a character that Python's
`unicodedata` calls unassigned is left to `tokenizers`; the fast path is used at all only where both
engines know every character `unicodedata` knows (probed once, with a letter of that Unicode version).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from .patterns import WORD_PATTERN

_PRE = {"type": "Split", "pattern": {"Regex": WORD_PATTERN}, "behavior": "Isolated", "invert": False}

# A text made of a character first assigned in that Unicode version (the keys are unicodedata's
# unidata_version) and one before it, which an engine that knows the version keeps as one piece.
_PROBES = {
    "13.0.0": "a\U00010e80",  # YEZIDI LETTER ELIF
    "14.0.0": "a\U0001e290",  # TOTO LETTER PA
    "15.0.0": "a\U00011f04",  # KAWI LETTER A
    "15.1.0": "\u4e00\U0002ebf0",  # CJK Extension I: a Han run
    "16.0.0": "a\U000105c0",  # TODHRI LETTER A
}


class WordTable:
    """encode_ordinary / encode_ordinary_batch, as tiktoken's Encoding names them (see HFTokenizer._fast)."""

    def __init__(self, tok: Any, vocab: dict[str, int], unk_id: int) -> None:
        import regex

        self.tok = tok  # tokenizers.Tokenizer, for texts the fast path leaves to it
        self.vocab = vocab
        self.unk_id = unk_id
        self.split = regex.compile(WORD_PATTERN).findall
        self._known: set[str] = set()  # characters unicodedata calls assigned, seen so far
        # the unknown pieces of the texts of the last call that had any, so that asking for them right
        # after (as counting does, a batch of segments at a time) does not split the text again
        self._unknown: dict[int, tuple[str, list[str]]] = {}

    def _pieces(self, text: str) -> list[str] | None:
        """The pieces WORD_PATTERN cuts `text` into, or None where `tokenizers` must do it."""
        new = set(text) - self._known
        if any(unicodedata.category(c) == "Cn" for c in new):
            return None
        self._known |= new
        pieces = self.split(text)
        return pieces if sum(map(len, pieces)) == len(text) else None  # Split keeps every character

    def encode_ordinary(self, text: str) -> list[int]:
        self._unknown = {}
        return self._encode(text)

    def encode_ordinary_batch(self, texts: Sequence[str], num_threads: int = 1) -> list[list[int]]:
        self._unknown = {}
        return [self._encode(t) for t in texts]

    def _encode(self, text: str) -> list[int]:
        pieces = self._pieces(text)
        if pieces is None:
            whole: list[int] = self.tok.encode(text, add_special_tokens=False).ids
            return whole
        get, unk = self.vocab.get, self.unk_id
        ids = [get(p, unk) for p in pieces]
        if unk in ids:
            self._unknown[id(text)] = (text, [p for p, i in zip(pieces, ids, strict=True) if i == unk])
        return ids

    def unknown_pieces(self, text: str) -> list[str]:
        remembered = self._unknown.get(id(text))
        if remembered is not None and remembered[0] is text:
            return list(remembered[1])
        pieces = self._pieces(text)
        if pieces is None:
            enc = self.tok.encode(text, add_special_tokens=False)
            return [text[s:e] for i, (s, e) in zip(enc.ids, enc.offsets, strict=True) if i == self.unk_id]
        vocab = self.vocab
        return [p for p in pieces if p not in vocab]


def engines_agree(tok: Any) -> bool:
    """Whether `regex` and the Oniguruma in `tokenizers` both know every character unicodedata knows."""
    probe = _PROBES.get(unicodedata.unidata_version)
    if probe is None:  # a Python newer than this table: no way to tell
        return False
    import regex

    pre = tok.pre_tokenizer
    return regex.findall(WORD_PATTERN, probe) == [probe] and [p for p, _ in pre.pre_tokenize_str(probe)] == [probe]


def word_table(tok: Any, spec: dict[str, Any]) -> WordTable | None:
    """The fast path for a tokenizer that is exactly tokcli's word tokenizer, else None.

    `spec` is the parsed tokenizer.json (its vocabulary may be left out: it is read from `tok`).
    """
    model = spec.get("model") or {}
    unk = model.get("unk_token")
    if (
        model.get("type") != "WordLevel"
        or spec.get("pre_tokenizer") != _PRE
        or spec.get("normalizer") is not None
        or spec.get("added_tokens")
        or unk is None
        or tok.token_to_id(unk) is None
        or not engines_agree(tok)
    ):
        return None
    return WordTable(tok, tok.get_vocab(with_added_tokens=False), tok.token_to_id(unk))
