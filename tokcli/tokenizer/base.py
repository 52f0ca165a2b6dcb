"""The one base class: every tokenizer, trained or loaded, has the same verbs.

    encode(text) -> ids        decode(ids) -> text        count(text) -> int
    encode_batch(texts)        token_bytes(id) -> bytes   id_to_token(id) -> str
    vocab_size                 save(path)

plus streaming versions of encode and count that cut a long text only where encoding the pieces
separately gives exactly the ids of encoding it whole (see `SAFE_CUT`).

Special tokens, one policy for every backend: the input is ordinary text, so a literal `<|endoftext|>` is
encoded as the characters it is, and nothing is added around it. `with_special("allow")` gives a tokenizer
that reads special-token strings as the special tokens they name; `with_special(add_special=True)` one that
adds what the model adds around a sequence (BOS/EOS), once per input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from .patterns import SAFE_CUT

if TYPE_CHECKING:
    import numpy as np
    import regex

    from tokcli.errors import UncutTooLong

SPECIAL_MODES = ("text", "allow")  # what a special-token string in the input is: its characters, or the token
SEGMENT_CHARS = 1 << 18  # aim for segments of about 256 K characters
BATCH_SEGMENTS = 8  # segments encoded together by encode_batch (threads in tiktoken and tokenizers)
# The longest stretch without a cut point that is encoded at all: such a stretch (10 MB of NULs, a
# minified file with no whitespace) is one pre-tokenizer piece, and exact BPE over it needs memory in
# proportion (40 to 75 bytes a character); past this, counting is refused instead. TOKCLI_MAX_UNCUT_CHARS
# raises it.
MAX_UNCUT_CHARS = 1 << 21


class Tokenizer:
    """Base class. Subclasses set `name` and `kind` and implement the verbs that raise here."""

    name: str = "?"
    kind: str = "?"  # char | word | bpe | unigram | tiktoken | hf | sentencepiece
    unk_id: int | None = None  # id of the unknown token, None when there is none
    lossless: bool = True  # decode(encode(text)) == text for every text
    cut_pattern: str | None = SAFE_CUT  # None: cannot be streamed, the whole text is encoded at once
    special: str = "text"  # see with_special
    add_special: bool = False
    # set by tokcli.tokenizer.training.train: the vocabulary size asked for (given, or the kind's default;
    # None: none asked, a char tokenizer of every character seen). `vocab_size` is smaller where the text
    # supports no more (see training.vocab_shortfall).
    requested_vocab_size: int | None = None

    # -- what subclasses implement -------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: Sequence[int]) -> str:
        raise NotImplementedError

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes a token stands for (a byte-level token may be part of one UTF-8 character)."""
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def save(self, path: str) -> None:
        raise NotImplementedError(f"{self.name}: this kind of tokenizer cannot be saved")

    # -- derived verbs, overridden where a backend does better --------------------------------
    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def id_to_token(self, token_id: int) -> str:
        """A printable form of one token: its text, or <0xNN> bytes where it is not whole UTF-8."""
        b = self.token_bytes(token_id)
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            return "".join(f"<0x{x:02X}>" for x in b)

    def is_byte_fallback(self, token_id: int) -> bool:
        """True for a token that stands for one raw byte because the text was not in the vocabulary."""
        return False

    def unknown_pieces(self, text: str) -> list[str]:
        """The pieces of `text` that encode to the unknown token (none for a tokenizer without one)."""
        if self.unk_id is None:
            return []
        raise NotImplementedError(f"{self.name}: this kind of tokenizer cannot say which pieces are unknown")

    # -- special tokens ----------------------------------------------------------------------------
    def special_tokens(self) -> dict[str, int]:
        """The special tokens' strings and ids (what `with_special("allow")` recognises in the input)."""
        return {}

    def encode_allowing_special(self, text: str) -> list[int]:
        """`encode`, but with each special-token string in `text` encoded as the one token it names."""
        return self.encode(text)

    def added_around(self) -> tuple[list[int], list[int]]:
        """The ids the model adds before and after a sequence (BOS, EOS); none by default."""
        return [], []

    def with_special(self, special: str = "text", add_special: bool = False) -> Tokenizer:
        """This tokenizer with a special-tokens policy: `special` "text" (the default: special-token strings
        are ordinary text) or "allow" (they are the special tokens), `add_special` adding the model's
        BOS/EOS once around each input. The defaults give this tokenizer itself."""
        if special not in SPECIAL_MODES:
            from tokcli.errors import UsageError

            raise UsageError(f"special-token mode {special!r} is not one of: {', '.join(SPECIAL_MODES)}")
        if special == "text" and not add_special:
            return self
        return WithSpecial(self, special, add_special)

    # -- streaming ---------------------------------------------------------------------------------
    def segments(self, chunks: Iterable[str]) -> Iterator[str]:
        """Re-cut a stream of text chunks into segments that encode independently.

        A segment ends at the last cut point within SEGMENT_CHARS characters, or, where there is none, at
        the first one after. Memory is bounded by the chunk being read, SEGMENT_CHARS and the longest
        stretch of text without a cut point (in practice a line or a paragraph). A tokenizer with no
        `cut_pattern` gets one segment: the whole text.
        """
        if self.cut_pattern is None:
            yield "".join(chunks)
            return
        back = ahead = None  # compiled when first needed: a short text never imports regex
        buf = ""
        at = 0  # buf[:at] is already yielded: positions below are absolute in buf, the text is not copied
        searched = 0  # buf[at:at + searched] holds no cut point (after a search that found none)
        yielded = False
        for chunk in chunks:
            buf = buf[at:] + chunk if at else buf + chunk
            at = 0
            while len(buf) - at > SEGMENT_CHARS:
                back = back or _compiled(self.cut_pattern, reverse=True)
                ahead = ahead or _compiled(self.cut_pattern)
                # the last cut point up to SEGMENT_CHARS, searched backwards from a little beyond it (lookarounds
                # see only up to endpos), else the first one after it
                m = None
                limit = at + SEGMENT_CHARS
                if searched < SEGMENT_CHARS:
                    found = back.finditer(buf, at + max(1, searched), limit + _LOOKAHEAD)
                    m = next((c for c in found if c.start() <= limit), None)
                m = m or ahead.search(buf, at + max(1, searched, SEGMENT_CHARS))
                if m is None or m.start() == at:
                    searched = max(0, len(buf) - at - _LOOKAHEAD)  # a cut near the end may need the next chunk
                    if len(buf) - at > _max_uncut():
                        raise _too_long_uncut(len(buf) - at)
                    break
                yield buf[at : m.start()]
                yielded = True
                at, searched = m.end(), 0
        buf = buf[at:]
        if len(buf) > SEGMENT_CHARS and len(buf) > _max_uncut():
            raise _too_long_uncut(len(buf))
        if buf or not yielded:
            yield buf

    def encode_segments(self, chunks: Iterable[str]) -> Iterator[tuple[str, list[int]]]:
        """Each segment of a long text with its ids, BATCH_SEGMENTS segments encoded together."""
        batch: list[str] = []
        for seg in self.segments(chunks):
            batch.append(seg)
            if len(batch) == BATCH_SEGMENTS:
                yield from zip(batch, self.encode_batch(batch), strict=True)
                batch = []
        if batch:
            yield from zip(batch, self.encode_batch(batch), strict=True)

    def encode_stream(self, chunks: Iterable[str]) -> Iterator[list[int]]:
        """Ids of a long text, a segment at a time; concatenated they are what encoding each segment gives.

        For every tokenizer with a `cut_pattern` but sentencepiece unigram models, that is exactly the ids
        of encoding the whole text; a unigram model gives each segment its own best segmentation, which
        scores the same as the whole text's but may split a word differently where two ways tie (see
        tokcli.tokenizer.spm.SPM_CUT).
        """
        for _, ids in self.encode_segments(chunks):
            yield ids

    def count_stream(self, chunks: Iterable[str]) -> int:
        return sum(len(ids) for ids in self.encode_stream(chunks))

    def all_token_bytes(self) -> list[bytes | None]:
        """The bytes of every id below vocab_size, None for an id the vocabulary leaves unassigned."""
        out: list[bytes | None] = []
        for i in range(self.vocab_size):
            try:
                out.append(self.token_bytes(i))
            except Exception:  # a gap in the ids (tiktoken's below its special tokens)
                out.append(None)
        return out

    def encode_array(self, chunks: Iterable[str]) -> np.ndarray:
        """The ids of a long text as one [T] uint32 array: `encode_stream`'s ids concatenated, each segment's
        list made an array as it comes (no list of Python ints for the whole text)."""
        from array import array

        import numpy as np

        # array.array('I') is the fastest way from a list of ints to their uint32 values (about twice np.asarray's)
        parts = [np.frombuffer(array("I", part), dtype=np.uint32) for part in self.encode_stream(chunks)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint32)

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        """The count of each text, each a whole input: exactly `count_stream([text])` for each (backends
        with a batch call count many small texts at once): texts up to a segment long in one `encode_batch`
        (a text that short is one segment), longer ones streamed."""
        short = [t for t in texts if len(t) <= SEGMENT_CHARS]
        counted = iter([len(ids) for ids in self.encode_batch(short)] if short else [])
        return [next(counted) if len(t) <= SEGMENT_CHARS else self.count_stream([t]) for t in texts]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} kind={self.kind} vocab={self.vocab_size}>"


class Wrapped(Tokenizer):
    """A tokenizer over another one, `inner`: what a token is (decode, token bytes, special tokens, the
    vocabulary, save) is the inner tokenizer's; a subclass says how it encodes or counts differently."""

    def __init__(self, inner: Tokenizer) -> None:
        self.inner = inner
        self.name = inner.name
        self.kind = inner.kind
        self.unk_id = inner.unk_id
        self.lossless = inner.lossless

    def decode(self, ids: Sequence[int]) -> str:
        return self.inner.decode(ids)

    def token_bytes(self, token_id: int) -> bytes:
        return self.inner.token_bytes(token_id)

    def id_to_token(self, token_id: int) -> str:
        return self.inner.id_to_token(token_id)

    def is_byte_fallback(self, token_id: int) -> bool:
        return self.inner.is_byte_fallback(token_id)

    def unknown_pieces(self, text: str) -> list[str]:
        return self.inner.unknown_pieces(text)

    def special_tokens(self) -> dict[str, int]:
        return self.inner.special_tokens()

    def encode_allowing_special(self, text: str) -> list[int]:
        return self.inner.encode_allowing_special(text)

    def added_around(self) -> tuple[list[int], list[int]]:
        return self.inner.added_around()

    def all_token_bytes(self) -> list[bytes | None]:
        return self.inner.all_token_bytes()

    @property
    def vocab_size(self) -> int:
        return self.inner.vocab_size

    def save(self, path: str) -> None:
        self.inner.save(path)


class WithSpecial(Wrapped):
    """A tokenizer under a special-tokens policy (see `Tokenizer.with_special`); every other verb is the
    inner tokenizer's. Streamed, the added ids come once, before the first and after the last segment; with
    "allow" the text is cut only where no special-token string can straddle the cut (none of them holds
    whitespace, which every cut point has beside it), else encoded whole."""

    def __init__(self, inner: Tokenizer, special: str, add_special: bool) -> None:
        super().__init__(inner)
        self.special = special
        self.add_special = add_special
        self.lossless = inner.lossless and special == "text" and not add_special
        self._before, self._after = inner.added_around() if add_special else ([], [])

    @property
    def cut_pattern(self) -> str | None:  # type: ignore[override]  # the inner one's, where specials allow
        if self.special == "allow" and any(any(c.isspace() for c in s) for s in self.inner.special_tokens()):
            return None
        return self.inner.cut_pattern

    def _body(self, text: str) -> list[int]:
        return self.inner.encode_allowing_special(text) if self.special == "allow" else self.inner.encode(text)

    def encode(self, text: str) -> list[int]:
        return [*self._before, *self._body(text), *self._after]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if self.special == "text":
            bodies = self.inner.encode_batch(texts)
        else:
            bodies = [self.inner.encode_allowing_special(t) for t in texts]
        return [[*self._before, *b, *self._after] for b in bodies]

    def encode_segments(self, chunks: Iterable[str]) -> Iterator[tuple[str, list[int]]]:
        if self._before:
            yield "", list(self._before)
        if self.special == "text":
            yield from self.inner.encode_segments(chunks)
        else:
            for segment in self.segments(chunks):
                yield segment, self.inner.encode_allowing_special(segment)
        if self._after:
            yield "", list(self._after)

    def count_stream(self, chunks: Iterable[str]) -> int:
        if self.special == "text":  # the inner tokenizer's fast count
            return len(self._before) + self.inner.count_stream(chunks) + len(self._after)
        return super().count_stream(chunks)

    def encode_array(self, chunks: Iterable[str]) -> np.ndarray:
        if self.special != "text":
            return super().encode_array(chunks)
        import numpy as np  # the inner tokenizer's fast array, the added ids around it

        around = np.asarray(self._before, dtype=np.uint32), np.asarray(self._after, dtype=np.uint32)
        return np.concatenate([around[0], self.inner.encode_array(chunks), around[1]])

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        if self.special == "text":
            added = len(self._before) + len(self._after)
            return [added + n for n in self.inner.count_texts(texts)]
        return super().count_texts(texts)

    def with_special(self, special: str = "text", add_special: bool = False) -> Tokenizer:
        return self.inner.with_special(special, add_special)


_LOOKAHEAD = 16  # characters a cut pattern may look past its cut point (SAFE_CUT and SPM_CUT: 2)
_CUT_CACHE: dict[tuple[str, bool], regex.Pattern[str]] = {}


def _compiled(pattern: str, *, reverse: bool = False) -> regex.Pattern[str]:
    if (pattern, reverse) not in _CUT_CACHE:
        import regex

        _CUT_CACHE[pattern, reverse] = regex.compile(pattern, regex.REVERSE if reverse else 0)
    return _CUT_CACHE[pattern, reverse]


def _max_uncut() -> int:
    from tokcli.errors import limit_from_env

    return limit_from_env("TOKCLI_MAX_UNCUT_CHARS", MAX_UNCUT_CHARS, "characters")


def _too_long_uncut(n: int) -> UncutTooLong:
    from tokcli.errors import UncutTooLong

    return UncutTooLong(
        f"more than {_max_uncut():,} characters in a row with no place to cut between tokens (no whitespace; "
        f"{n:,} so far); exact counting would hold them all at 40-75 bytes a character: set "
        "TOKCLI_MAX_UNCUT_CHARS higher to count it anyway"
    )
