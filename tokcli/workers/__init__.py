"""Counting and pre-tokenizing past one process: the same tasks in this process, on local worker
processes, or on a Dask cluster (the `[dask]` extra: dask + distributed).

    import tokcli.workers
    rows = tokcli.workers.count(["corpus/"], "o200k_base", workers=4)        # list[InputCount], exact
    tokcli.workers.encode_to(["corpus/"], "o200k_base", "shards/", client=client, eot="<|endoftext|>")
    encode = tokcli.workers.batch_encoder("o200k_base")                       # for Ray Data's map_batches

Inputs become tasks (tokcli.workers.plan): whole files, or byte ranges of long files cut where the
tokenizers' pre-tokenization guarantees the parts encode to the ids of the whole; per-task results are
merged exactly (tokcli.workers.count), or written as shards (tokcli.workers.encode).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .count import Progress, count
from .encode import Written, encode_to
from .plan import TASK_BYTES

__all__ = ["TASK_BYTES", "Progress", "Written", "batch_encoder", "count", "encode_to"]


def batch_encoder(
    tokenizer: str, *, column: str = "text", eot: int | str | None = None, special: str = "text",
    add_special: bool = False,
) -> Callable[[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    """A function for batch APIs such as Ray Data's `map_batches`: it takes a batch (a dict of columns)
    and returns it with two more, `ids` (a list of token ids per row, `eot` appended when given) and
    `tokens` (their counts). The tokenizer is loaded on first use, in the process that runs the batch.

        >>> enc = batch_encoder("o200k_base")
        >>> enc({"text": ["hello world", "こんにちは"]})["tokens"]
        [2, 1]
    """
    from .encode import eot_token
    from .work import TokSpec

    spec = TokSpec.of(tokenizer, special, add_special)

    def encode(batch: dict[str, Any]) -> dict[str, Any]:
        tok = spec.load()
        end = [] if eot is None else [eot_token(tok, eot)]
        texts = [str(t) for t in batch[column]]
        ids = [[*row, *end] for row in tok.encode_batch(texts)]
        return {**batch, "ids": ids, "tokens": [len(r) for r in ids]}

    return encode
