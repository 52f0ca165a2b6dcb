"""Any HF `tokenizer.json`, through the `tokenizers` library. char, word and bpe are kinds of it."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from tokcli.errors import TokenizerFileError
from tokcli.textio import atomic_write

from .base import Tokenizer
from .patterns import BYTE_DECODER, CHAR_PATTERN, GPT_PATTERN, SAFE_CUT, WORD_PATTERN, has_type, split_patterns


class HFTokenizer(Tokenizer):
    """A `tokenizers.Tokenizer`; `kind` is detected from its structure (see `detect_kind`)."""

    def __init__(self, tok: Any, name: str, kind: str | None = None) -> None:
        self.tok = tok
        self.name = name
        self.spec = json.loads(tok.to_str())
        self.kind = kind or detect_kind(self.spec)
        model = self.spec.get("model", {})
        unk = model.get("unk_token")
        self.unk_id = tok.token_to_id(unk) if unk is not None else None
        self._byte_level = has_type(self.spec.get("decoder"), "ByteLevel")
        self._byte_fallback = bool(model.get("byte_fallback"))
        self.lossless = self.unk_id is None and self.spec.get("normalizer") is None
        self.cut_pattern = SAFE_CUT if self.kind in ("char", "word", "bpe") or _gpt_style(self.spec) else None

    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None) -> HFTokenizer:
        from tokenizers import Tokenizer as _Tok

        try:
            tok = _Tok.from_file(str(path))
        except Exception as e:  # the Rust side raises plain Exception subclasses
            raise TokenizerFileError(
                f"{path}: not a valid tokenizer.json ({str(e).splitlines()[0][:120]}); "
                "give a file saved by tokenizers or by `tokcli train`"
            ) from None
        return cls(tok, name or str(path))

    @cached_property
    def _fast(self) -> Any | None:
        """The same ids without `tokenizers`, where tokcli knows a faster way to get them: tiktoken's core
        for tokcli's own byte-level BPE (tokcli.fastbpe), a lookup table for its char tokenizer
        (tokcli.fastchar)."""
        if self.kind == "char":
            from .fastchar import char_table

            return char_table(self.spec)
        if self.kind != "bpe":
            return None
        from .fastbpe import fast_encoding

        return fast_encoding(self.tok, self.spec, self.name)

    def encode(self, text: str) -> list[int]:
        if (fast := self._fast) is not None:
            return fast.encode_ordinary(text)
        return self.tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if (fast := self._fast) is not None:
            return fast.encode_ordinary_batch(list(texts), num_threads=os.cpu_count() or 1)
        return [e.ids for e in self.tok.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=False)

    @cached_property
    def _id_to_str(self) -> list[str]:
        vocab = self.tok.get_vocab(with_added_tokens=True)
        table = [""] * (max(vocab.values()) + 1 if vocab else 0)
        for s, i in vocab.items():
            table[i] = s
        return table

    def token_bytes(self, token_id: int) -> bytes:
        s = self._id_to_str[token_id]
        if self._byte_level and all(c in BYTE_DECODER for c in s):
            return bytes(BYTE_DECODER[c] for c in s)
        if self._byte_fallback and len(s) == 6 and s.startswith("<0x") and s.endswith(">"):
            return bytes([int(s[3:5], 16)])
        return self.tok.decode([token_id], skip_special_tokens=False).encode("utf-8")

    def is_byte_fallback(self, token_id: int) -> bool:
        if not self._byte_fallback:
            return False
        s = self._id_to_str[token_id]
        return len(s) == 6 and s.startswith("<0x") and s.endswith(">")

    def unknown_pieces(self, text: str) -> list[str]:
        if self.unk_id is None:
            return []
        enc = self.tok.encode(text, add_special_tokens=False)
        return [text[s:e] for i, (s, e) in zip(enc.ids, enc.offsets, strict=True) if i == self.unk_id]

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size(with_added_tokens=True)

    def to_json(self) -> str:
        """The canonical tokenizer.json text (what `save` writes)."""
        return self.tok.to_str(pretty=True)

    def save(self, path: str) -> None:
        atomic_write(path, self.to_json())


def _gpt_style(spec: dict[str, Any]) -> bool:
    """A byte-level BPE whose pre-tokenizer is GPT's (ByteLevel with its regex, or a Split regex before it)."""
    pre = spec.get("pre_tokenizer")
    if spec.get("normalizer") is not None or not has_type(pre, "ByteLevel"):
        return False
    return True


def detect_kind(spec: dict[str, Any]) -> str:
    """char / word / bpe for tokenizers tokcli trains (recognised by their pre-tokenizer), else 'hf'."""
    patterns = split_patterns(spec.get("pre_tokenizer"))
    model_type = spec.get("model", {}).get("type")
    if model_type == "WordLevel" and patterns == [CHAR_PATTERN]:
        return "char"
    if model_type == "WordLevel" and patterns == [WORD_PATTERN]:
        return "word"
    if model_type == "BPE" and patterns == [GPT_PATTERN]:
        return "bpe"
    return "hf"
