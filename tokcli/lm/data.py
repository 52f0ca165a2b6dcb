"""What the language-model commands read: the whole texts of files, directories (walked) and stdin, or for
`lm train` the one shard directory that `tokcli encode --to` wrote instead of text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tokcli.errors import UsageError
from tokcli.files.shards import ShardSet, is_shard_dir, open_shards
from tokcli.files.text import expand_inputs, read_text

if TYPE_CHECKING:
    from tokcli.files.walk import WalkOptions


def read_texts(paths: Sequence[str], options: WalkOptions | None = None, *, errors: str = "strict") -> list[str]:
    """The whole text of each input: a file, each text file of a directory or glob (walked with `options`), or
    '-' for stdin. Not for inputs larger than memory: the model commands use every text whole."""
    return [read_text(s, errors=errors) for s in expand_inputs(paths, options)]


def pretokenized(inputs: Sequence[str]) -> ShardSet | None:
    """The shard directory written by `tokcli encode --to` when that is the one input of lm train."""
    if not any(is_shard_dir(p) for p in inputs):
        return None
    if len(inputs) != 1:
        raise UsageError("a shard directory (from `tokcli encode --to`) is the only input: give it alone")
    return open_shards(inputs[0])


def training_data(
    inputs: Sequence[str], options: WalkOptions | None = None, *, errors: str = "strict"
) -> tuple[list[str], ShardSet | None]:
    """What `lm train` trains on: (no texts, the shards) when its one input is a shard directory, else (the
    texts of the inputs, None)."""
    shards = pretokenized(inputs)
    return ([] if shards else read_texts(inputs, options, errors=errors)), shards
