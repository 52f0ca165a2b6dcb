"""Pre-tokenized shards: flat binary files of token ids plus a JSON index, the layout nanoGPT's
`prepare.py` writes (`train.bin`: token ids back to back, no header), so that

    ids = numpy.memmap("DIR/shard-00000.bin", dtype=numpy.uint16, mode="r")

reads one. `tokcli encode --to DIR` writes them (tokcli.workers), `tokcli lm train DIR` reads them.

    DIR/index.json          {"format": "tokcli-shards/1", "tokenizer": {...}, "dtype": "uint16", "eot": ...,
                             "shards": [{"file", "tokens", "sources": [{"path", "start", "stop"}]}], ...}
    DIR/shard-00000.bin     little-endian uint16 ids (uint32 where the vocabulary has more than 65,536 ids)

The index names the tokenizer by name and by a fingerprint of its vocabulary (`fingerprint`), so a reader
can refuse shards made with another tokenizer. A shard listed in the index is complete: each is written
atomically and only then entered in the index (also written atomically), which is what lets an
interrupted run resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokcli.errors import InputError, UsageError

FORMAT = "tokcli-shards/1"
INDEX = "index.json"
SHARD_NAME = "shard-{:05d}.bin"
SHARD_FILE = re.compile(r"shard-\d{5,}\.bin")  # the names SHARD_NAME gives


def dtype_for(vocab_size: int) -> str:
    """'uint16' when every id fits in 16 bits (vocabularies up to 65,536), else 'uint32'."""
    return "uint16" if vocab_size <= 1 << 16 else "uint32"


def itemsize(dtype: str) -> int:
    return {"uint16": 2, "uint32": 4}[dtype]


def fingerprint(tok: Any) -> str:
    """sha256 of a tokenizer's vocabulary: the bytes of every id (unassigned ids marked) and its special
    tokens. Two tokenizers with the same fingerprint give every id the same meaning."""
    h = hashlib.sha256()
    h.update(f"{tok.vocab_size}\n".encode())
    for b in tok.all_token_bytes():
        h.update(b"\xff-" if b is None else len(b).to_bytes(4, "little") + b)
    for s, i in sorted(tok.special_tokens().items()):
        h.update(f"\n{s}={i}".encode())
    return "sha256:" + h.hexdigest()


@dataclass(frozen=True)
class ShardSet:
    """A shard directory as its index describes it."""

    path: str
    index: dict[str, Any]

    @property
    def dtype(self) -> str:
        return str(self.index["dtype"])

    @property
    def tokens(self) -> int:
        return sum(int(s["tokens"]) for s in self.index["shards"])

    def files(self) -> list[str]:
        return [os.path.join(self.path, s["file"]) for s in self.index["shards"]]

    def check_tokenizer(self, tok: Any) -> None:
        """UsageError when `tok` is not the tokenizer the shards were made with."""
        made = self.index["tokenizer"]
        if made.get("fingerprint") != fingerprint(tok):
            raise UsageError(
                f"{self.path}: its shards were made with tokenizer {made.get('name')!r}, not {tok.name!r} "
                f"(vocabularies differ); train with -t {made.get('name')}, or re-encode with this tokenizer"
            )

    def nonempty_files(self) -> list[str]:
        """The files of the shards that hold ids (those `memmaps` maps, in the same order)."""
        return [f for f, s in zip(self.files(), self.index["shards"], strict=True) if s["tokens"]]

    def memmaps(self) -> list[Any]:
        """numpy.memmap of each shard (empty shards left out)."""
        import numpy as np

        return [np.memmap(f, dtype=np.dtype(self.dtype).newbyteorder("<"), mode="r")
                for f, s in zip(self.files(), self.index["shards"], strict=True) if s["tokens"]]  # fmt: skip


def is_shard_dir(path: str) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, INDEX))


INDEX_LIMIT = 256 << 20  # bytes of an index.json tokcli reads (TOKCLI_MAX_INDEX_BYTES): ~1M shards' entries


def read_index(path: str) -> dict[str, Any] | None:
    """The index of a local shard directory, or None when it has none; InputError when it is unreadable,
    larger than TOKCLI_MAX_INDEX_BYTES (256 MiB by default) or not an index."""
    from tokcli.errors import limit_from_env

    from .capped import CappedReadError, read_capped

    p = Path(path) / INDEX
    if not p.is_file():
        return None
    limit = limit_from_env("TOKCLI_MAX_INDEX_BYTES", INDEX_LIMIT)
    try:
        raw = read_capped(p, limit, what="a shard index (set TOKCLI_MAX_INDEX_BYTES for a larger one)")
    except CappedReadError as e:
        raise InputError(str(e)) from None
    try:
        index = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        reason = "nested too deeply" if isinstance(e, RecursionError) else str(e)
        raise InputError(
            f"{p}: not a shard index tokcli can read ({reason}); remove the directory or give another"
        ) from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise InputError(f"{p}: not a tokcli shard index (format {FORMAT}); give another directory")
    return index


def open_shards(path: str) -> ShardSet:
    """The complete shard directory `path` (written by `tokcli encode --to`), its index and files checked:
    the index's types, each shard listed once, each file a regular file of the size its count gives."""
    index = read_index(path)
    if index is None:
        raise InputError(f"{path}: no {INDEX}; give a directory written by `tokcli encode --to`")
    if index.get("complete") is not True:
        raise InputError(f"{path}: the encoding that writes it did not finish; run `tokcli encode --to {path}` again")
    _check_schema(path, index)
    shards = ShardSet(path, index)
    size = itemsize(shards.dtype)
    for f, s in zip(shards.files(), index["shards"], strict=True):
        actual = os.path.getsize(f) if os.path.isfile(f) else -1
        if actual != s["tokens"] * size:
            raise InputError(f"{f}: {actual} bytes, the index says {s['tokens'] * size}; re-run the encoding")
    return shards


def _check_schema(path: str, index: dict[str, Any]) -> None:
    """InputError unless the index has what readers use, of the types they use: a dtype, a tokenizer (name,
    fingerprint, vocabulary size that fits the dtype), shards with plain names, each once, and counts."""

    def count(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and x >= 0

    tok, shards, dtype = index.get("tokenizer"), index.get("shards"), index.get("dtype")
    ok = (
        dtype in ("uint16", "uint32")
        and isinstance(tok, dict)
        and isinstance(tok.get("name"), str)
        and isinstance(tok.get("fingerprint"), str)
        and count(tok.get("vocab_size"))
        and isinstance(shards, list)
        and all(isinstance(s, dict) and isinstance(s.get("file"), str) and SHARD_FILE.fullmatch(s["file"])
                and count(s.get("tokens")) for s in shards)
    )  # fmt: skip
    if not ok:
        raise InputError(f"{path}/{INDEX}: not an index `tokcli encode --to` writes; re-run the encoding")
    assert isinstance(tok, dict) and isinstance(shards, list)  # for mypy: checked above
    if tok["vocab_size"] > 1 << (16 if dtype == "uint16" else 32):
        raise InputError(f"{path}/{INDEX}: a vocabulary of {tok['vocab_size']} ids in {dtype}; re-run the encoding")
    seen: set[str] = set()
    for s in shards:
        if s["file"] in seen:
            raise InputError(f"{path}/{INDEX}: lists {s['file']} more than once; re-run the encoding")
        seen.add(s["file"])


ID_CHUNK = 1 << 24  # ids read at a time when shards are checked against a vocabulary


def check_ids(shards: ShardSet, vocab_size: int) -> None:
    """InputError when a shard holds an id outside 0..vocab_size - 1 (read in chunks, never whole)."""
    for f, ids in zip(shards.nonempty_files(), shards.memmaps(), strict=True):
        for start in range(0, len(ids), ID_CHUNK):
            top = int(ids[start : start + ID_CHUNK].max())
            if top >= vocab_size:
                raise InputError(
                    f"{f}: holds id {top}, outside the vocabulary (0..{vocab_size - 1}) of the tokenizer it "
                    "names; re-run the encoding"
                )
