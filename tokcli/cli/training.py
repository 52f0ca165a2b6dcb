"""What `train` and `lm train` do once their options are parsed (no commands of their own): read the inputs,
train with a progress display on stderr, save, and say where the result went."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokcli.lm.trainer import TrainOptions
    from tokcli.walk import WalkOptions


def train_tokenizer(
    kind: str, inputs: list[str], output: str, *, vocab_size: int | None, min_frequency: int | None, backend: str,
    character_coverage: float, holdout: float, errors: str, quiet: bool,
) -> None:  # fmt: skip
    """`train`: a tokenizer of `kind` trained on the inputs (less the held-out part of each), saved atomically."""
    import sys

    from tokcli import output as o
    from tokcli.textio import expand_inputs, training_texts
    from tokcli.tokenizer.training import check_output_path
    from tokcli.tokenizer.training import train as train_on

    check_output_path(output, kind, backend)  # before reading: training can take minutes
    texts = training_texts(expand_inputs(inputs), holdout=holdout, errors=errors)
    with o.Progress(f"training {kind}", quiet=quiet) as bar:
        bar.update(status="reading and counting")
        tok = train_on(
            kind, texts, vocab_size=vocab_size, min_frequency=min_frequency, backend=backend,
            character_coverage=character_coverage, show_progress=not quiet and o.is_tty(sys.stderr),
        )  # fmt: skip
    tok.save(output)
    if not quiet:
        o.info(f"trained {kind} tokenizer: {tok.vocab_size} tokens -> {output}")


def train_model(
    inputs: list[str], tokenizer: str, output: str, options: TrainOptions, *, resume: bool, errors: str, quiet: bool,
    walk: WalkOptions,
) -> None:  # fmt: skip
    """`lm train`: a model trained on the inputs' texts (or the one shard directory given) and exported to
    `output`; progress on stderr unless `quiet`."""
    from tokcli import load
    from tokcli import output as o
    from tokcli.lm.data import training_data
    from tokcli.lm.trainer import require_torch, train_lm
    from tokcli.output import lm as ol

    require_torch()
    tok = load(tokenizer)
    texts, shards = training_data(inputs, walk, errors=errors)
    progress = None if quiet else lambda r: ol.train_progress(r, options.steps)
    report = train_lm(texts, tok, output, options, resume=resume, on_progress=progress, source=" ".join(inputs),
                      shards=shards)  # fmt: skip
    o.info(f"model written to {output} (step {report.step}, val {report.val_bpc:.3f} bits/char)")
