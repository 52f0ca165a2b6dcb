"""Any HF `tokenizer.json`, through the `tokenizers` library. char, word and bpe are kinds of it."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from tokcli.errors import TokenizerFileError
from tokcli.files.atomic import atomic_write

from .base import Tokenizer
from .patterns import BYTE_DECODER, CHAR_PATTERN, GPT_PATTERN, SAFE_CUT, WORD_PATTERN, has_type, split_patterns


class HFTokenizer(Tokenizer):
    """A `tokenizers.Tokenizer`; `kind` is detected from its structure (see `detect_kind`)."""

    def __init__(self, tok: Any, name: str, kind: str | None = None) -> None:
        tok.encode_special_tokens = True  # a special token's string in the input is ordinary text
        self.tok = tok
        self.name = name
        # the parsed tokenizer.json without the model's vocabulary and merges, which `tok` holds already (a
        # copy here took 1.5x tokenizers' own memory); _fast parses them again for the kinds that need them
        self.spec = _without_vocab(json.loads(tok.to_str()))
        self.kind = kind or detect_kind(self.spec)
        model = self.spec.get("model", {})
        unk = model.get("unk_token")
        self.unk_id = tok.token_to_id(unk) if unk is not None else None
        self._byte_level = has_type(self.spec.get("decoder"), "ByteLevel")
        self._byte_fallback = bool(model.get("byte_fallback"))
        self.lossless = self.unk_id is None and self.spec.get("normalizer") is None
        self.cut_pattern = SAFE_CUT if _streams_exactly(self.spec) else None

    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None) -> HFTokenizer:
        """A tokenizer.json: a regular file within TOKCLI_MAX_TOKENIZER_BYTES (see tokcli.tokenizer.fileread)."""
        from .fileread import read_tokenizer_file

        return cls.from_bytes(read_tokenizer_file(path), name or str(path), source=str(path))

    @classmethod
    def from_bytes(cls, data: bytes, name: str, source: str | None = None) -> HFTokenizer:
        """The tokenizer a tokenizer.json's bytes describe; `source` names them in errors."""
        from tokenizers import Tokenizer as _Tok

        source = source or name
        fix = "give a file saved by tokenizers or by `tokcli train`"
        if not data.lstrip(b" \t\r\n\xef\xbb\xbf").startswith(b"{"):
            raise TokenizerFileError(f"{source}: not a tokenizer.json (not a JSON object); {fix}")
        from .filecheck import check_json, precount_json

        precount_json(data, source)
        unparsed = None
        try:
            check_json(json.loads(data), source)  # ids, sizes, expansions, regexes: what `tokenizers` trusts
        except (ValueError, RecursionError) as e:  # not JSON: tokenizers' own message below says where
            unparsed = str(e)[:120]
        try:
            tok = _Tok.from_buffer(data)
        except Exception as e:  # the Rust side raises plain Exception subclasses
            msg = (str(e).splitlines() or [type(e).__name__])[0]
            msg = msg.removeprefix("Cannot instantiate Tokenizer from buffer: ")
            msg = msg if len(msg) <= 160 else msg[:157] + "..."
            raise TokenizerFileError(f"{source}: not a valid tokenizer.json ({msg}); {fix}") from None
        if unparsed is not None:  # JSON to tokenizers but not to Python, so unchecked: refused all the same
            raise TokenizerFileError(f"{source}: not a valid tokenizer.json ({unparsed}); {fix}")
        del data  # the file's bytes are not needed while __init__ parses the canonical JSON
        return cls(tok, name)

    @cached_property
    def _fast(self) -> Any | None:
        """The same ids without `tokenizers`, where tokcli knows a faster way to get them: tiktoken's core
        for tokcli's own byte-level BPE (tokcli.fastbpe), a lookup table for its char tokenizer
        (tokcli.fastchar), `regex` and a dict for its word tokenizer (tokcli.fastword)."""
        if self.kind not in ("char", "bpe", "word"):
            return None
        if self.kind == "word":
            from .fastword import word_table

            return word_table(self.tok, self.spec)
        spec = json.loads(self.tok.to_str())  # with the vocabulary, which self.spec leaves out
        if self.kind == "char":
            from .fastchar import char_table

            return char_table(spec)
        from .fastbpe import fast_encoding

        return fast_encoding(self.tok, spec, self.name)

    def encode(self, text: str) -> list[int]:
        if (fast := self._fast) is not None:
            fast_ids: list[int] = fast.encode_ordinary(text)
            return fast_ids
        ids: list[int] = self.tok.encode(text, add_special_tokens=False).ids
        return ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if (fast := self._fast) is not None:
            batch: list[list[int]] = fast.encode_ordinary_batch(list(texts), num_threads=os.cpu_count() or 1)
            return batch
        return [e.ids for e in self.tok.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        if (table := self._fused) is not None:
            import numpy as np

            arr = np.asarray(ids, dtype=np.int64).reshape(-1)
            if not len(arr) or (arr.min() >= 0 and arr.max() < len(table)):
                step = 1 << 20  # a million tokens' strings at a time: no list of every token's string
                return "".join(["".join(table[arr[i : i + step]].tolist()) for i in range(0, len(arr), step)])
        if self.kind == "bpe" and (fast := self._fast) is not None:
            # tokcli's byte-level BPE on tiktoken's core (fastbpe): the tokens' bytes end to end, decoded as UTF-8
            # with U+FFFD for what is not, as the ByteLevel decoder does (tests/test_fastbpe.py compares them)
            try:
                return str(fast.decode(list(ids)))
            except (KeyError, ValueError, OverflowError, TypeError):
                pass
        text: str = self.tok.decode(list(ids), skip_special_tokens=False)
        return text

    @cached_property
    def _fused(self) -> Any | None:
        """id -> token string, as a numpy object array, where decoding is exactly joining the tokens' strings:
        tokcli's char and word tokenizers (a WordLevel model on its fast path, the Fuse decoder, no added
        tokens). `tokenizers` decodes them a Python string per token slower (tests/test_fastchar.py and
        test_fastword.py compare the two on every shared corpus). None for any other tokenizer."""
        if self.kind not in ("char", "word") or self._fast is None:
            return None
        if self.spec.get("decoder") != {"type": "Fuse"} or self.spec.get("added_tokens"):
            return None
        import numpy as np

        table = self._id_to_str
        if len(table) != self.vocab_size or any(not t for t in table):
            return None
        return np.array(table, dtype=object)

    def char_aligned(self, text: str) -> bool:
        """Whether token t of `text` covers exactly its t-th character (tokcli's char tokenizer on its fast
        path: one id per code point), and aligning tokens with the text by their bytes gives exactly that:
        the unknown token's string is never found where an unknown character stands, because its first
        character is in the vocabulary or the string is nowhere in `text` (tokcli.analysis.alignment)."""
        if self.kind != "char" or self._fast is None:
            return False
        if self.unk_id is None:
            return True
        unk = self._id_to_str[self.unk_id]
        return bool(unk) and (self.tok.token_to_id(unk[0]) is not None or unk not in text)

    def special_tokens(self) -> dict[str, int]:
        return {t["content"]: t["id"] for t in self.spec.get("added_tokens") or [] if t.get("special")}

    @cached_property
    def _tok_allowing(self) -> Any:
        """A copy of `tok` that matches special tokens in the input (the tokenizers library's default)."""
        from tokenizers import Tokenizer as _Tok

        tok = _Tok.from_str(self.tok.to_str())
        tok.encode_special_tokens = False
        return tok

    def encode_allowing_special(self, text: str) -> list[int]:
        if not self.special_tokens():
            return self.encode(text)
        ids: list[int] = self._tok_allowing.encode(text, add_special_tokens=False).ids
        return ids

    def added_around(self) -> tuple[list[int], list[int]]:
        """What the post-processor adds around one sequence (`add_special_tokens=True`), found by encoding a
        probe both ways."""
        if self.spec.get("post_processor") is None:
            return [], []
        probe = "a"
        bare = self.tok.encode(probe, add_special_tokens=False).ids
        full = self.tok.encode(probe, add_special_tokens=True).ids
        for i in range(len(full) - len(bare) + 1):
            if full[i : i + len(bare)] == bare:
                return full[:i], full[i + len(bare) :]
        return [], []

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
        text: str = self.tok.decode([token_id], skip_special_tokens=False)
        return text.encode("utf-8")

    def is_byte_fallback(self, token_id: int) -> bool:
        if not self._byte_fallback:
            return False
        s = self._id_to_str[token_id]
        return len(s) == 6 and s.startswith("<0x") and s.endswith(">")

    def unknown_pieces(self, text: str) -> list[str]:
        if self.unk_id is None:
            return []
        fast = self._fast
        if self.kind == "char" and fast is not None:  # one id per code point
            chars: list[str] = fast.unknown_pieces(text)
            return chars
        if self.kind == "word" and fast is not None:
            pieces: list[str] = fast.unknown_pieces(text)
            return pieces
        enc = self.tok.encode(text, add_special_tokens=False)
        return [text[s:e] for i, (s, e) in zip(enc.ids, enc.offsets, strict=True) if i == self.unk_id]

    @property
    def vocab_size(self) -> int:
        size: int = self.tok.get_vocab_size(with_added_tokens=True)
        return size

    def to_json(self) -> str:
        """The canonical tokenizer.json text (what `save` writes)."""
        text: str = self.tok.to_str(pretty=True)
        return text

    def save(self, path: str) -> None:
        atomic_write(path, self.to_json())


# Split regexes that start a new piece at every SAFE_CUT, whatever surrounds the cut (tests/test_streaming.py
# checks each on the shared corpora): tokcli's char, word and bpe, GPT-2's (what ByteLevel uses when
# use_regex is on), cl100k_base's as Llama 3 writes it, and Qwen2's (the same with one digit a piece).
GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_PATTERN = LLAMA3_PATTERN.replace(r"\p{N}{1,3}", r"\p{N}")
CUT_SAFE_SPLITS = frozenset({CHAR_PATTERN, WORD_PATTERN, GPT_PATTERN, GPT2_PATTERN, LLAMA3_PATTERN, QWEN2_PATTERN})
# pre-tokenizers that only cut each piece further, the same way wherever the piece was cut from
_WITHIN_PIECES = frozenset(
    {"ByteLevel", "Split", "Digits", "Punctuation", "Whitespace", "WhitespaceSplit", "UnicodeScripts"}
    | {"CharDelimiterSplit"}
)


def _streams_exactly(spec: dict[str, Any]) -> bool:
    """Whether encoding the pieces of a text cut at SAFE_CUT gives exactly the ids of encoding it whole.

    So it is when the first pre-tokenizer always starts a new piece there (a Split with one of
    CUT_SAFE_SPLITS, or ByteLevel with its own regex and no prefix space), everything after it works within
    those pieces, no normalizer sees the text first, and no added token can straddle a cut or swallow the
    whitespace beside it. Anything else (a ByteLevel without its regex and no Split before it: the whole
    text is one piece) is encoded whole.
    """
    if spec.get("normalizer") is not None:
        return False
    pre = spec.get("pre_tokenizer")
    steps = pre.get("pretokenizers") if isinstance(pre, dict) and pre.get("type") == "Sequence" else [pre]
    if not isinstance(steps, list) or not steps or not all(isinstance(p, dict) for p in steps):
        return False
    first, rest = steps[0], steps[1:]
    if first.get("type") == "Split":
        pattern = first.get("pattern") or {}
        if pattern.get("Regex") not in CUT_SAFE_SPLITS or first.get("behavior") != "Isolated" or first.get("invert"):
            return False
    elif first.get("type") == "ByteLevel":
        if not first.get("use_regex", True) or first.get("add_prefix_space"):
            return False
    else:
        return False
    if any(p.get("type") not in _WITHIN_PIECES for p in rest):
        return False
    return all(_added_token_is_cut_safe(t) for t in spec.get("added_tokens") or [])


def _added_token_is_cut_safe(token: dict[str, Any]) -> bool:
    """An added token is matched before pre-tokenization: no SAFE_CUT may fall inside it, and it may not
    take the whitespace on either side of it (lstrip/rstrip), which a cut can move to another segment."""
    if token.get("lstrip") or token.get("rstrip"):
        return False
    content = token.get("content") or ""
    if not any(c.isspace() for c in content):  # every SAFE_CUT has whitespace on one side
        return True
    import regex

    padded = f"a{content}a"  # letters around it: the surroundings that allow the most cuts
    return not any(1 < m.start() < len(content) + 1 for m in regex.finditer(SAFE_CUT, padded))


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


def _without_vocab(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` (a parsed tokenizer.json) with its model's vocab and merges dropped (their bulk)."""
    model = spec.get("model")
    if isinstance(model, dict):
        spec["model"] = {k: v for k, v in model.items() if k not in ("vocab", "merges")}
    return spec
