"""Open models' vocabularies that splintr-rs embeds (its pinned version, a core dependency: no extra needed).

    name          splintr's name   the makers' tokenizer.json it is proven against (tests/test_open_models.py)
    deepseek-v3   deepseek_v3      DeepSeek-V3's and DeepSeek-R1's
    glm4          glm4             GLM-4's (glm-4-9b-chat), GLM-4-0414's and GLM-4.5V's

Only ordinary text is proven: the ids of `encode` (no special token matched in the input, nothing added around
it) are the makers' `tokenizer.json` ids through HF `tokenizers` on every shared corpus and on random text of
many scripts. splintr adds special tokens of its own ("agent tokens") after the makers' vocabulary and numbers
some of DeepSeek's differently; so `vocab_size` is the makers' (checked by the tests), `special_tokens()` is
splintr's only where the tests find it equal to the makers' (GLM-4), and `with_special("allow")` on
deepseek-v3 is refused, naming the file that does it.

splintr is the only engine here: there is no reference at run time (TOKCLI_ENGINE=reference changes nothing).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tokcli.errors import BackendMissing, UsageError

from .base import Tokenizer


@dataclass(frozen=True)
class Embedded:
    pretrained: str  # splintr's name
    n_vocab: int  # the makers' tokenizer.json: its largest id + 1
    streams: bool  # whether the base class may cut a stream at SAFE_CUT (as hf.HFTokenizer decides for the file)
    specials: bool  # whether splintr's special tokens below n_vocab are the makers' (the tests check it)


EMBEDDED: dict[str, Embedded] = {
    "deepseek-v3": Embedded("deepseek_v3", 128815, streams=False, specials=False),
    "glm4": Embedded("glm4", 151343, streams=True, specials=True),
}


@functools.cache
def _pretrained(name: str) -> Any:
    try:
        import splintr
    except ImportError:
        raise BackendMissing(f"{name} needs splintr-rs, a dependency of tokcli: pip install tokcli") from None
    return splintr.Tokenizer.from_pretrained(name)


class SplintrVocab(Tokenizer):
    """A vocabulary splintr embeds, encoding ordinary text exactly as its makers' tokenizer.json does."""

    kind = "bpe"

    def __init__(self, key: str, name: str | None = None) -> None:
        spec = EMBEDDED[key]
        self.key = key
        self.name = name or key
        self.spec = spec
        self.tok = _pretrained(spec.pretrained)
        if not spec.streams:
            self.cut_pattern = None
        self._specials: dict[str, int] = {s: i for s, i in self.tok.special_tokens().items() if i < spec.n_vocab}
        self._by_id: dict[int, str] = {i: s for s, i in self._specials.items()}
        self._matcher: Any = None

    def _has_special(self, texts: Sequence[str]) -> bool:
        """Whether any text holds a special token splintr knows (its batch encoder would match it)."""
        if self._matcher is None:
            import regex

            known = sorted(self.tok.special_tokens(), key=len, reverse=True)
            self._matcher = regex.compile("|".join(regex.escape(s) for s in known)) if known else False
        return bool(self._matcher) and any(self._matcher.search(t) for t in texts)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = self.tok.encode_ordinary(text)
        return ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        texts = list(texts)
        if self._has_special(texts):
            return [self.encode(t) for t in texts]
        batch: list[list[int]] = self.tok.encode_batch(texts)
        return batch

    def decode(self, ids: Sequence[int]) -> str:
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", errors="replace")

    def token_bytes(self, token_id: int) -> bytes:
        if not 0 <= token_id < self.spec.n_vocab:
            raise ValueError(f"{self.name}: token id {token_id} is outside its vocabulary (0-{self.spec.n_vocab - 1})")
        if (special := self._by_id.get(token_id)) is not None:
            return special.encode("utf-8")
        data: bytes = self.tok.decode_token_bytes(token_id)
        return data

    @property
    def vocab_size(self) -> int:
        return self.spec.n_vocab

    def special_tokens(self) -> dict[str, int]:
        return dict(self._specials) if self.spec.specials else {}

    def encode_allowing_special(self, text: str) -> list[int]:
        if not self.spec.specials:
            raise UsageError(
                f"{self.name}: its special tokens are not known offline (splintr's embedded vocabulary numbers "
                "them differently from its makers' tokenizer.json); give that tokenizer.json with -t instead"
            )
        # the makers' special tokens cut the text and the pieces between them are ordinary text, as HF
        # tokenizers encodes added tokens (splintr's own agent tokens stay text)
        import regex

        known = sorted(self._specials, key=len, reverse=True)
        ids: list[int] = []
        for piece in regex.split("(" + "|".join(regex.escape(t) for t in known) + ")", text) if known else [text]:
            if piece in self._specials:
                ids.append(self._specials[piece])
            elif piece:
                ids.extend(self.encode(piece))
        return ids
