"""lm train, lm eval: training the small Transformer language models (torch) and scoring them (numpy)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from tokcli.lm.limits import (
    MAX_BATCH,
    MAX_CONTEXT,
    MAX_DROPOUT,
    MAX_HEADS,
    MAX_LAYERS,
    MAX_LR,
    MAX_SEED,
    MAX_STEPS,
    MAX_THREADS,
    MAX_WEIGHT_DECAY,
    MAX_WIDTH,
)  # fmt: skip

from .app import app
from .common import Errors, ErrorsOpt, LMOpt, QuietOpt, TableFormat, TableFormatOpt
from .groups import walk_options

if TYPE_CHECKING:
    from tokcli.files.walk import WalkOptions
    from tokcli.lm.trainoptions import TrainOptions


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


class Schedule(str, Enum):
    cosine = "cosine"
    constant = "constant"


class Split(str, Enum):
    all = "all"
    val = "val"
    train = "train"


class Baseline(str, Enum):
    none = "none"
    ngram = "ngram"


lm_app = typer.Typer(help="Train and evaluate the small Transformer language models.", no_args_is_help=True)
app.add_typer(lm_app, name="lm")


@lm_app.command("train")
@walk_options
def lm_train(
    inputs: Annotated[
        list[str],
        typer.Argument(help="Training text: files, directories or - for stdin; or a shard directory of `encode --to`."),
    ],
    tokenizer: Annotated[
        str,
        typer.Option(
            "-t", "--tokenizer", help="The model's tokenizer (name or path); it is copied into the model directory."
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "-o", "--output", help="Model directory to write (config.json, model.safetensors, tokenizer.json)."
        ),
    ],
    layers: Annotated[int, typer.Option("--layers", help="Transformer blocks.", min=1, max=MAX_LAYERS)] = 4,
    heads: Annotated[int, typer.Option("--heads", help="Attention heads per block.", min=1, max=MAX_HEADS)] = 6,
    width: Annotated[
        int, typer.Option("--width", help="Embedding width (a multiple of --heads).", min=1, max=MAX_WIDTH)
    ] = 192,
    context: Annotated[int, typer.Option("--context", help="Context length in tokens.", min=1, max=MAX_CONTEXT)] = 128,
    dropout: Annotated[
        float, typer.Option("--dropout", help="The fraction of activations zeroed in training.", min=0, max=MAX_DROPOUT)
    ] = 0.1,
    steps: Annotated[int, typer.Option("--steps", help="Optimizer steps in all.", min=1, max=MAX_STEPS)] = 2000,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Sequences per step.", min=1, max=MAX_BATCH)] = 32,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate, above 0.", min=0, max=MAX_LR)] = 2e-3,
    min_lr: Annotated[
        float, typer.Option("--min-lr", help="Learning rate at the end of the cosine decay.", min=0, max=MAX_LR)
    ] = 2e-4,
    weight_decay: Annotated[
        float,
        typer.Option("--weight-decay", help="AdamW weight decay on the weight matrices.", min=0, max=MAX_WEIGHT_DECAY),
    ] = 0.1,
    warmup: Annotated[int, typer.Option("--warmup", help="Linear warm-up steps.", min=0, max=MAX_STEPS)] = 100,
    schedule: Annotated[Schedule, typer.Option("--schedule", help="cosine or constant.")] = Schedule.cosine,
    val_fraction: Annotated[
        float, typer.Option("--val-fraction", help="The last part of each input held out for validation.")
    ] = 0.1,
    eval_every: Annotated[
        int, typer.Option("--eval-every", help="Steps between validation losses.", min=1, max=MAX_STEPS)
    ] = 250,
    checkpoint_every: Annotated[
        int,
        typer.Option(
            "--checkpoint-every",
            help="Steps between checkpoints; also exports the model directory.",
            min=1,
            max=MAX_STEPS,
        ),
    ] = 250,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.", min=0, max=MAX_SEED)] = 1337,
    init_from: Annotated[
        str | None,
        typer.Option(
            "--init-from",
            help="Start from a model (name or directory): its tensors of the same shape, all but the token embedding when the tokenizer differs.",
        ),
    ] = None,
    threads: Annotated[
        int, typer.Option("--threads", help="torch threads (0: all cores).", min=0, max=MAX_THREADS)
    ] = 0,
    device: Annotated[
        Device, typer.Option("--device", help="Where torch trains: cpu, cuda (a GPU build of torch) or auto.")
    ] = Device.cpu,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUTPUT.ckpt/.")] = False,
    errors: ErrorsOpt = Errors.strict,
    quiet: QuietOpt = False,
    *,
    walk: WalkOptions,
) -> None:
    """Train a Transformer language model with torch (pip install 'tokcli[train]') and export it.

    The input may be a directory of pre-tokenized shards written by `tokcli encode --to` with the same
    tokenizer (checked); the last --val-fraction of its ids is held out.
    """
    from tokcli.lm.trainoptions import TrainOptions

    opts = TrainOptions(
        n_layer=layers, n_head=heads, n_embd=width, block_size=context, dropout=dropout, steps=steps,
        batch_size=batch_size, lr=lr, min_lr=min_lr, warmup=warmup, schedule=schedule.value, weight_decay=weight_decay,
        val_fraction=val_fraction, eval_every=eval_every, checkpoint_every=checkpoint_every, seed=seed,
        threads=threads, init_from=init_from, device=device.value,
    )  # fmt: skip
    train_model(inputs, tokenizer, output, opts, resume=resume, errors=errors.value, quiet=quiet, walk=walk)


# -- lm eval (tokcli/lm/evaluate.py) --------------------------------------------------------------------
@lm_app.command("eval")
@walk_options
def lm_eval(
    inputs: Annotated[list[str], typer.Argument(help="Text to evaluate: files, directories or - for stdin.")],
    model: LMOpt = "char",
    split: Annotated[
        Split,
        typer.Option(
            "--split",
            help="all, val or train. all: the whole inputs. val: the last --val-fraction of each input (what `lm train` held out). train: the first part.",
        ),
    ] = Split.all,
    val_fraction: Annotated[
        float, typer.Option("--val-fraction", help="The held-out part of each input for --split.")
    ] = 0.1,
    stride: Annotated[
        int | None,
        typer.Option(
            "--stride",
            help="Tokens between window starts, 1 to the context; every token after the first is scored once. Default: half the context.",
            show_default=False,
        ),
    ] = None,
    baseline: Annotated[
        Baseline,
        typer.Option(
            "--baseline",
            help="none, or ngram: add Kneser-Ney n-grams of orders 1 to --max-order over the model's tokens.",
        ),
    ] = Baseline.none,
    train_text: Annotated[
        list[str] | None,
        typer.Option(
            "--train-text",
            help="Text to train the n-grams on (the model's training split), used whole; repeat for several. Implies --baseline ngram. Default with --split val: the first part of the inputs.",
            show_default=False,
        ),
    ] = None,
    max_order: Annotated[int, typer.Option("--max-order", help="Highest n-gram order, 1 to 6.")] = 6,
    format: TableFormatOpt = TableFormat.text,
    errors: ErrorsOpt = Errors.strict,
    quiet: QuietOpt = False,
    *,
    walk: WalkOptions,
) -> None:
    """Score a text with a model: nats/token, bits/char, bits/byte, perplexity, tokens/s.

    A deterministic pass with sliding windows of the model's context (not random batches). With --baseline
    ngram, interpolated Kneser-Ney n-grams over the same tokens are scored in the same units, e.g.
    `tokcli lm eval -m char corpus.txt --split val --baseline ngram`: evaluate on the last 10% and train
    the n-grams on the first 90%, as `lm train` split it.
    """  # fmt: skip
    from tokcli import output as o
    from tokcli.lm.data import read_texts
    from tokcli.lm.evaluate import eval_texts, evaluate
    from tokcli.model.model import load_model
    from tokcli.output.lmeval import eval_result

    texts = read_texts(inputs, walk, errors=errors.value)
    train = read_texts(train_text, walk, errors=errors.value) if train_text else None
    text, ngram_train = eval_texts(texts, split.value, val_fraction, baseline=baseline.value, train_text=train)
    m = load_model(model)
    with o.Progress(f"evaluating {model}", total=100, quiet=quiet) as bar:
        r = evaluate(m.forward, text, m.tokenizer, m.block_size, stride=stride, ngram_train=ngram_train,
                     max_order=max_order, model_name=model, on_window=lambda i, n: bar.update(i / n * 100, f"{i}/{n}"))  # fmt: skip
    eval_result(r, fmt=format.value, inputs=inputs, split=split.value)


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
    from tokcli.lm.trainoptions import check_options, check_outputs
    from tokcli.output import lm as ol

    check_options(options)  # the options (and the memory they imply) before torch, the outputs or any input
    require_torch()
    check_outputs(output)
    tok = load(tokenizer)
    texts, shards = training_data(inputs, walk, errors=errors)
    progress = None if quiet else lambda r: ol.train_progress(r, options.steps)
    report = train_lm(texts, tok, output, options, resume=resume, on_progress=progress, source=" ".join(inputs),
                      shards=shards)  # fmt: skip
    o.info(f"model written to {output} (step {report.step}, val {report.val_bpc:.3f} bits/char)")
