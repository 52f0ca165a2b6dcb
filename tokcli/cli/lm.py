"""The bundled Transformer: lm train, lm eval, generate, next, attention."""

from __future__ import annotations

from typing import Annotated

import typer

from . import app
from .common import Errors, ErrorsOpt, QuietOpt

lm_app = typer.Typer(help="Train and evaluate the small Transformer language models.", no_args_is_help=True)
app.add_typer(lm_app, name="lm")


@lm_app.command("train")
def lm_train(
    inputs: Annotated[list[str], typer.Argument(help="Training text: files, directories or - for stdin.")],
    tokenizer: Annotated[str, typer.Option("-t", "--tokenizer", help="The model's tokenizer (name or path); it is copied into the model directory.")],
    output: Annotated[str, typer.Option("-o", "--output", help="Model directory to write (config.json, model.safetensors, tokenizer.json).")],
    layers: Annotated[int, typer.Option("--layers", help="Transformer blocks.")] = 4,
    heads: Annotated[int, typer.Option("--heads", help="Attention heads per block.")] = 6,
    width: Annotated[int, typer.Option("--width", help="Embedding width (a multiple of --heads).")] = 192,
    context: Annotated[int, typer.Option("--context", help="Context length in tokens.")] = 128,
    dropout: Annotated[float, typer.Option("--dropout")] = 0.1,
    steps: Annotated[int, typer.Option("--steps", help="Optimizer steps in all.")] = 2000,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 32,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 2e-3,
    min_lr: Annotated[float, typer.Option("--min-lr", help="Learning rate at the end of the cosine decay.")] = 2e-4,
    warmup: Annotated[int, typer.Option("--warmup", help="Linear warm-up steps.")] = 100,
    schedule: Annotated[str, typer.Option("--schedule", help="cosine or constant.")] = "cosine",
    val_fraction: Annotated[float, typer.Option("--val-fraction", help="The last part of each input held out for validation.")] = 0.1,
    eval_every: Annotated[int, typer.Option("--eval-every")] = 250,
    checkpoint_every: Annotated[int, typer.Option("--checkpoint-every", help="Also exports the model directory.")] = 250,
    seed: Annotated[int, typer.Option("--seed")] = 1337,
    threads: Annotated[int, typer.Option("--threads", help="torch threads (0: all cores).")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUTPUT.ckpt/.")] = False,
    errors: ErrorsOpt = Errors.strict,
    quiet: QuietOpt = False,
) -> None:
    """Train a Transformer language model with torch (pip install 'tokcli[train]') and export it."""
    from .. import load, output as o
    from ..lm.trainer import TrainOptions, require_torch, train_lm
    from ..textio import expand_inputs, read_text

    require_torch()
    tok = load(tokenizer)
    texts = [read_text(s, errors=errors.value) for s in expand_inputs(inputs)]
    opts = TrainOptions(
        n_layer=layers, n_head=heads, n_embd=width, block_size=context, dropout=dropout, steps=steps,
        batch_size=batch_size, lr=lr, min_lr=min_lr, warmup=warmup, schedule=schedule,
        val_fraction=val_fraction, eval_every=eval_every, checkpoint_every=checkpoint_every, seed=seed,
        threads=threads,
    )  # fmt: skip

    def progress(r) -> None:
        if quiet:
            return
        if r.val_loss is not None and r.history and r.history[-1]["step"] == r.step:
            o.info(f"step {r.step}/{steps}  train loss {r.train_loss:.4f}  val loss {r.val_loss:.4f}  "
                   f"val {r.val_bpc:.3f} bits/char  {r.elapsed_s:.0f}s")  # fmt: skip
        elif r.step % 50 == 0:
            o.info(f"step {r.step}/{steps}  train loss {r.train_loss:.4f}  {r.elapsed_s:.0f}s")

    report = train_lm(texts, tok, output, opts, resume=resume, on_progress=progress, source=" ".join(inputs))
    o.info(f"model written to {output} (step {report.step}, val {report.val_bpc:.3f} bits/char)")
