"""One way to name any tokenizer: a registry of lazy constructors, then paths.

bundled      en, char, word, bpe, ja-char (tokenizers of the bundled models, see tokcli.files.bundled)
encodings    o200k_base, cl100k_base, p50k_base, r50k_base, gpt2   (tiktoken)
open models  llama3, llama4, mistral-v1/v3/v7, tekken, qwen and models using them, e.g. llama-3.1-8b
             (the vendors' own files, through the llama, mistral and qwen extras; see tokcli.tokenizer.vendors)
model names  gpt-4o, gpt-4, gpt-3.5-turbo, ...                    (tiktoken's model table)
paths        tokenizer.json (HF), *.model (sentencepiece), a model directory holding tokenizer.json
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from tokcli.errors import TokenizerFileError, TokenizerNotFound
from tokcli.files import bundled

from .base import Tokenizer
from .patterns import DEFAULT_TOKENIZER  # noqa: F401  (re-exported: tokcli.tokenizer.registry.DEFAULT_TOKENIZER)
from .pretrained import ENCODINGS, TiktokenEncoding, model_encoding

EXAMPLE_MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4", "gpt-3.5-turbo", "o1", "o3")


def known_names() -> list[str]:
    from .vendors import names as vendor_names  # imported when needed: start-up time

    return bundled.tokenizer_names() + list(ENCODINGS) + vendor_names() + list(EXAMPLE_MODELS)


def load(spec: str) -> Tokenizer:
    """The tokenizer named by `spec` (see the module docstring). Raises TokenizerNotFound."""
    return _load(spec)


@cache
def _load(spec: str) -> Tokenizer:
    from .hf import HFTokenizer

    looks_like_path = "/" in spec or spec.endswith((".json", ".model")) or spec.startswith(".")
    if not looks_like_path:
        if (path := bundled.tokenizer_path(spec)) is not None:
            return HFTokenizer.from_file(path, name=spec)
        if spec in ENCODINGS:
            return TiktokenEncoding.load(spec)
        from .vendors import load as load_vendor

        if (vendor := load_vendor(spec)) is not None:
            return vendor
        if enc := model_encoding(spec):
            return TiktokenEncoding.load(enc, name=spec)
    path = Path(spec)
    if path.is_dir() and (path / "tokenizer.json").is_file():
        return HFTokenizer.from_file(path / "tokenizer.json", name=spec)
    if path.is_file():
        return load_file(path)
    if path.exists():
        raise TokenizerFileError(f"{spec}: not a tokenizer file; give a tokenizer.json, a .model or a model directory")
    raise TokenizerNotFound(
        f"unknown tokenizer {spec!r}: give a path to a tokenizer.json or .model file, or one of "
        + ", ".join(known_names())
        + " (or any OpenAI model name tiktoken knows)"
    )


def load_file(path: str | Path, name: str | None = None) -> Tokenizer:
    """A tokenizer file: JSON (an HF tokenizer.json) by its first byte or its .json name, anything else as
    sentencepiece. The file must be a regular file within TOKCLI_MAX_TOKENIZER_BYTES (tokcli.tokenizer.fileread),
    which is checked before anything is parsed. Raises TokenizerFileError or InputError."""
    from .fileread import read_tokenizer_file
    from .hf import HFTokenizer
    from .spm import SentencePiece

    path = Path(path)
    data = read_tokenizer_file(path)
    if data[:64].lstrip(b" \t\r\n\xef\xbb\xbf").startswith((b"{", b"[")) or path.suffix == ".json":
        return HFTokenizer.from_bytes(data, name or str(path), source=str(path))
    return SentencePiece(data, name or str(path))
