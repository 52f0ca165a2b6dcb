"""SentencePiece models (`.model` files): unigram, and BPE with the sentencepiece backend.

tokcli trains them lossless: identity normalization, no dummy prefix, whitespace kept as is, and byte
fallback on, so a character outside the vocabulary becomes its UTF-8 bytes (<0xNN> tokens), never <unk>.
Training reads the input one line at a time (sentencepiece's unit), so no piece spans a newline.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from tokcli.errors import TokenizerFileError, UsageError, VocabSizeError
from tokcli.files.atomic import atomic_write

from .base import Tokenizer

# Where no piece can span a cut: before a space that follows a non-space, in a model that keeps whitespace
# as it is (no dummy prefix, extra whitespace not removed) and has no piece with a space mark after other
# text ("▁word" and "▁▁" are fine, "word▁" is not). tokcli trains such models; most downloaded .model files
# (sentencepiece's defaults: a dummy prefix, extra whitespace removed) are not, and are encoded whole.
#
# Streamed, each segment gets its own best segmentation. For BPE models that is exactly the whole text's.
# For unigram models it is as good a segmentation (the same total score) but not always the same ids:
# where two segmentations of a word score the same, which one sentencepiece's Viterbi search keeps depends
# on the float rounding of the scores before it, so a long text encoded whole can split a word one way and
# the same word in its segment the other way (and the count differ by a token or so in a million).
SPM_CUT = r"(?<=\S)(?= \S)"

# A BPE model with sentencepiece's dummy prefix (Llama 2, Mistral v1/v3: "a b" is "▁a▁b", and " b" alone is
# "▁▁b") is cut at the same places: a segment after the first starts with the space of its cut, which the
# whole text encodes as the "▁" of the word after it, and the dummy prefix gives that "▁" when the segment
# is encoded without its first space. Exact for BPE (merges never cross a "▁" that follows other text when
# no piece holds one); a unigram model with a dummy prefix is still encoded whole.
BPE = 2  # TrainerSpec.model_type


class SentencePiece(Tokenizer):
    def __init__(self, proto: bytes, name: str, kind: str = "sentencepiece") -> None:
        import sentencepiece as spm

        from .filecheck import check_sentencepiece

        check_sentencepiece(proto, name)  # the number of pieces, before sentencepiece allocates them
        self.sp = spm.SentencePieceProcessor()
        try:
            self.sp.LoadFromSerializedProto(proto)
        except Exception:
            raise TokenizerFileError(
                f"{name}: not a valid sentencepiece model; give a .model file written by sentencepiece"
            ) from None
        self.proto = proto
        self.name = name
        self.kind = kind
        unk = self.sp.unk_id()
        self.unk_id = unk if unk >= 0 else None
        first = self.sp.encode("x", out_type=str)
        self.dummy_prefix = bool(first) and first[0].startswith("▁")
        probe = " a  b\n\u2581c"  # U+2581 is sentencepiece's own space mark: it comes back as a space
        self.lossless = not self.dummy_prefix and self.sp.decode(self.sp.encode(probe)) == probe

    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None) -> SentencePiece:
        """A .model file: a regular file within TOKCLI_MAX_TOKENIZER_BYTES (see tokcli.tokenizer.fileread)."""
        from .fileread import read_tokenizer_file

        return cls(read_tokenizer_file(path), name or str(path))

    @cached_property
    def cut_pattern(self) -> str | None:  # type: ignore[override]  # computed on first use (a pass over the vocabulary)
        return SPM_CUT if self._drops_cut_space is not None else None

    @cached_property
    def _drops_cut_space(self) -> bool | None:
        """None: no safe cut (encoded whole); False: segments encode as they are; True: a segment after the
        first is encoded without its first space (the dummy prefix stands for it; see BPE above)."""
        from .filecheck import sentencepiece_model_type

        if _keeps_pieces_apart(self.sp):
            return False
        if self.dummy_prefix and sentencepiece_model_type(self.proto) == BPE and _keeps_pieces_apart(self.sp, True):
            return True
        return None

    @property
    def drops_cut_space(self) -> bool:  # type: ignore[override]
        return bool(self._drops_cut_space)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = self.sp.encode(text)
        return ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        batch: list[list[int]] = self.sp.encode(list(texts), num_threads=-1)
        return batch

    def decode(self, ids: Sequence[int]) -> str:
        text: str = self.sp.decode(list(ids))
        return text

    @cached_property
    def _specials(self) -> dict[str, int]:
        # sentencepiece itself never matches control pieces (<s>, </s>) or <unk> in the input: they are text
        sp = self.sp
        return {sp.id_to_piece(i): i for i in range(sp.get_piece_size()) if sp.is_control(i) or sp.is_unknown(i)}

    def special_tokens(self) -> dict[str, int]:
        return dict(self._specials)

    @cached_property
    def _special_split(self) -> re.Pattern[str] | None:
        names = sorted(self._specials, key=len, reverse=True)
        return re.compile("(" + "|".join(map(re.escape, names)) + ")") if names else None

    def encode_allowing_special(self, text: str) -> list[int]:
        if self._special_split is None:
            return self.encode(text)
        ids: list[int] = []
        for i, part in enumerate(self._special_split.split(text)):
            if i % 2:
                ids.append(self._specials[part])
            elif part:
                ids += self.sp.encode(part)
        return ids

    def added_around(self) -> tuple[list[int], list[int]]:
        """BOS where the model has one, no EOS: what Llama 2, Mistral and Gemma put around a prompt
        (sentencepiece's own encode adds neither unless asked)."""
        bos = self.sp.bos_id()
        return ([bos] if bos >= 0 else []), []

    def token_bytes(self, token_id: int) -> bytes:
        if self.sp.is_byte(token_id):
            return bytes([int(self.sp.id_to_piece(token_id)[3:5], 16)])
        return self.sp.id_to_piece(token_id).replace("▁", " ").encode("utf-8")

    def is_byte_fallback(self, token_id: int) -> bool:
        return bool(self.sp.is_byte(token_id))

    def unknown_pieces(self, text: str) -> list[str]:
        if self.unk_id is None:
            return []
        enc: dict[str, Any] = self.sp.encode(text, out_type="offset_mapping")  # ids, pieces, offsets
        return [text[s:e] for i, (s, e) in zip(enc["ids"], enc["offsets"], strict=True) if i == self.unk_id]

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def save(self, path: str) -> None:
        atomic_write(path, self.proto)


def _keeps_pieces_apart(sp: Any, dummy_prefix: bool = False) -> bool:
    """Whether no piece of this model can span an SPM_CUT (see there): whitespace kept as it is (with
    `dummy_prefix`, after a dummy prefix, or collapsed, which never changes a single space between two
    non-spaces) and no piece with a space mark after other text."""
    normalize = getattr(sp, "normalize", None)  # sentencepiece >= 0.2
    kept = ("\u2581\u2581a\u2581\u2581b\u2581", "\u2581a\u2581b") if dummy_prefix else ("\u2581a\u2581\u2581b\u2581",)
    if normalize is None or normalize(" a  b ") not in kept:
        return False
    inner_space = re.compile("[^\u2581]\u2581")
    return not any(
        inner_space.search(sp.id_to_piece(i))
        for i in range(sp.get_piece_size())
        if not (sp.is_byte(i) or sp.is_control(i) or sp.is_unknown(i))
    )


def _lines(texts: Iterable[str]) -> Iterator[str]:
    rest = ""
    for text in texts:
        lines = (rest + text).split("\n")
        rest = lines.pop()
        yield from (line for line in lines if line)
    if rest:
        yield rest


MIN_SPM_VOCAB = 260 + 4  # 256 byte pieces, <unk>, <s>, </s> and some pieces of its own
SPOOL_BYTES = 1 << 26  # the lines kept for a retry stay in memory up to 64 MiB, then go to a temporary file
_TOO_HIGH = re.compile(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)")


def train_spm(
    texts: Iterable[str],
    *,
    model_type: str,
    vocab_size: int | None = None,
    character_coverage: float = 0.9995,
    show_progress: bool = False,
) -> SentencePiece:
    """A sentencepiece model of `vocab_size` pieces, or of the most this text supports where that is fewer:
    sentencepiece refuses a size too high for the text and says the most it can learn; training is then
    run again at that size, on the lines kept from the first run (in memory, or a temporary file past
    SPOOL_BYTES)."""
    import tempfile

    size = vocab_size or 8000
    if size < MIN_SPM_VOCAB:
        raise VocabSizeError(
            size,
            "cannot work: a sentencepiece model with byte fallback needs 256 byte "
            f"pieces, <unk>, <s>, </s> and some pieces of its own (at least {MIN_SPM_VOCAB})",
        )
    if not 0 < character_coverage <= 1:
        raise UsageError(f"--character-coverage {character_coverage} must be in (0, 1]")
    with tempfile.SpooledTemporaryFile(
        max_size=SPOOL_BYTES, mode="w+", encoding="utf-8", errors="surrogatepass", newline="\n",
        prefix="tokcli-spm-",
    ) as kept:  # fmt: skip
        try:
            return _train_spm(_kept(_lines(texts), kept), model_type, size, character_coverage, show_progress)
        except _TooHigh as e:
            most = e.most
        if most < MIN_SPM_VOCAB:
            raise VocabSizeError(
                size,
                f"is too large for this text: sentencepiece can learn at most {most} pieces from it, fewer than "
                f"a model with byte fallback needs ({MIN_SPM_VOCAB}); give more text",
            )
        kept.seek(0)
        try:
            return _train_spm((line[:-1] for line in kept), model_type, most, character_coverage, show_progress)
        except _TooHigh as e:  # not seen: the most it reported is what it learns
            raise VocabSizeError(
                size,
                f"is too large for this text: at most {e.most} pieces can be learned from it; give {{option}} "
                f"{e.most} or less, or more text",
            ) from None


class _TooHigh(Exception):
    def __init__(self, most: int) -> None:
        self.most = most


def _kept(lines: Iterable[str], kept: Any) -> Iterator[str]:
    """The lines, each also written to `kept` (with its newline)."""
    for line in lines:
        kept.write(line + "\n")
        yield line


def _train_spm(
    lines: Iterable[str], model_type: str, size: int, character_coverage: float, show_progress: bool
) -> SentencePiece:
    import sentencepiece as spm

    spm.set_random_generator_seed(0)
    out = io.BytesIO()
    options: dict[str, Any] = dict(
        model_type=model_type,
        vocab_size=size,
        character_coverage=character_coverage,
        byte_fallback=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=False,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        num_threads=1,  # training with several threads is not reproducible
        minloglevel=0 if show_progress else 2,
        max_sentence_length=1 << 16,
    )
    try:
        spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=out, **options)
    except RuntimeError as e:
        msg = str(e).splitlines()[-1] if str(e) else "training failed"
        if m := re.search(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)", msg):
            raise VocabSizeError(
                int(m[1]),
                f"cannot work: the input needs {m[2]} pieces for its characters at character coverage "
                f"{character_coverage}; raise {{option}}{{or_coverage}}",
            ) from None
        if m := _TOO_HIGH.search(msg):
            raise _TooHigh(int(m[2])) from None
        raise UsageError(f"sentencepiece could not train: {msg}") from None
    return SentencePiece(out.getvalue(), name=model_type, kind="unigram" if model_type == "unigram" else "bpe")
