"""What `count` and `encode --to` do on worker processes or a Dask cluster (no commands of their own)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokcli.analysis.counting import InputCount
    from tokcli.cli.common import DistOptions
    from tokcli.tokenizer.base import Tokenizer
    from tokcli.walk import WalkOptions


def count_rows(
    toks: Sequence[Tokenizer], inputs: list[str], walk: WalkOptions, dist: DistOptions, *, special: str,
    add_special: bool, errors: str, strict_unk: bool, skipped: list[tuple[str, str]],
) -> list[InputCount]:  # fmt: skip
    """The count rows of `inputs`: in this process, or across the workers or the cluster `dist` names."""
    if not dist.active:
        from tokcli.analysis.counting import count_inputs
        from tokcli.textio import expand_inputs

        sources = expand_inputs(inputs, walk)
        skipped += sources.skipped
        return count_inputs(toks, sources, errors=errors, strict_unk=strict_unk, skipped=skipped)
    from tokcli.dist import count
    from tokcli.output.dist import TaskProgress

    with TaskProgress("counting") as bar:
        return count(inputs, [t.name for t in toks], workers=dist.workers, scheduler=dist.scheduler,
                     special=special, add_special=add_special, errors=errors, strict_unk=strict_unk, walk=walk,
                     task_bytes=dist.task_bytes, skipped=skipped, progress=bar.update)  # fmt: skip


def encode_to(
    inputs: list[str], tokenizer: str, out: str, dist: DistOptions, *, eot: str | None, special: str,
    add_special: bool, errors: str, quiet: bool, walk: WalkOptions | None = None, field: str | None = None,
) -> None:  # fmt: skip
    """`encode --to DIR`: shards of token ids and their index; a summary on stderr."""
    from tokcli import output as o
    from tokcli.dist import encode_to as write
    from tokcli.output.dist import TaskProgress

    with TaskProgress(f"encoding to {out}", quiet=quiet) as bar:
        done = write(inputs, tokenizer, out, workers=dist.workers, scheduler=dist.scheduler, eot=eot,
                     special=special, add_special=add_special, errors=errors, walk=walk,
                     task_bytes=dist.task_bytes, progress=bar.update, field=field)  # fmt: skip
    if done.missing:
        o.warn(f"{done.missing:,} records have no text in {field!r}; they were left out")
    if not quiet:
        kept = f", {done.kept} kept from an earlier run" if done.kept else ""
        n = len(done.index["shards"])
        o.info(f"{done.tokens:,} tokens in {n} shard{'' if n == 1 else 's'} ({done.index['dtype']}{kept}) -> {out}")


def compare_inputs(
    texts: list, tokenizers: list[str], dist: DistOptions, *, train: bool, reference: str | None, models: list[str]
) -> object:
    """`compare --workers`: each input measured by a worker (training stays a one-process job)."""
    from tokcli.dist.compare import compare
    from tokcli.errors import UsageError
    from tokcli.output.dist import TaskProgress

    if train:
        raise UsageError("--train trains on all the inputs in one process: leave out --workers and --scheduler")
    with TaskProgress("comparing") as bar:
        return compare(texts, tokenizers, workers=dist.workers, scheduler=dist.scheduler, reference=reference,
                       models=models, progress=bar.update)  # fmt: skip
