"""`lm train`'s options and the checks made before training starts: each option in its range
(tokcli.lm.limits), the memory training would take (a rough estimate, against the machine's or the GPU's),
and the model and checkpoint directories it may write.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from tokcli.errors import UsageError
from tokcli.model.config import MAX_INFERENCE_BYTES, GPTConfig

from . import limits as L
from .outdir import check_output_dir, real_path


@dataclass(frozen=True)
class TrainOptions:
    n_layer: int = 4  # transformer blocks
    n_head: int = 6  # attention heads
    n_embd: int = 192  # width
    block_size: int = 128  # context length in tokens
    dropout: float = 0.1
    steps: int = 2000  # optimizer steps in all (a resumed run continues up to this)
    batch_size: int = 32  # sequences per step
    lr: float = 2e-3  # peak learning rate
    min_lr: float = 2e-4  # cosine decays to this at the last step
    warmup: int = 100  # linear warm-up steps
    schedule: str = "cosine"  # cosine | constant
    weight_decay: float = 0.1  # AdamW, on matrices only
    grad_clip: float = 1.0
    val_fraction: float = 0.1  # the last part of the text, by characters, as nanoGPT splits
    eval_every: int = 250
    eval_batches: int = 20
    checkpoint_every: int = 250
    seed: int = 1337
    threads: int = 0  # torch threads; 0 = all cores
    device: str = "cpu"  # cpu | cuda | auto (cuda when torch sees a GPU)
    dtype: str = "float16"  # weights in the exported model directory
    init_from: str | None = None  # a model (name or directory) whose tensors of the same shape start the run


def check_options(o: TrainOptions, vocab_size: int = 1) -> None:
    """UsageError for options that cannot train a model (checked before any input is read): each numeric
    option in its range (tokcli.lm.limits, shown in `lm train --help`), and a model whose training would
    not fit in this machine's memory (estimated with `vocab_size`, 1 before the tokenizer is known)."""
    ranges = {"--layers": (o.n_layer, 1, L.MAX_LAYERS), "--heads": (o.n_head, 1, L.MAX_HEADS),
              "--width": (o.n_embd, 1, L.MAX_WIDTH), "--context": (o.block_size, 1, L.MAX_CONTEXT),
              "--steps": (o.steps, 1, L.MAX_STEPS), "--batch-size": (o.batch_size, 1, L.MAX_BATCH),
              "--warmup": (o.warmup, 0, L.MAX_STEPS), "--eval-every": (o.eval_every, 1, L.MAX_STEPS),
              "--checkpoint-every": (o.checkpoint_every, 1, L.MAX_STEPS), "--seed": (o.seed, 0, L.MAX_SEED),
              "--threads": (o.threads, 0, L.MAX_THREADS)}  # fmt: skip
    for name, (value, low, high) in ranges.items():
        if not low <= value <= high:
            raise UsageError(f"{name} {value}: give {low} to {high}")
    floats = {"--lr": (o.lr, "a learning rate above 0 and at most", L.MAX_LR),
              "--min-lr": (o.min_lr, "a learning rate from 0 to", L.MAX_LR),
              "--weight-decay": (o.weight_decay, "a number from 0 to", L.MAX_WEIGHT_DECAY),
              "--dropout": (o.dropout, "a fraction from 0 to", L.MAX_DROPOUT)}  # fmt: skip
    for name, (number, what, top) in floats.items():
        if not (math.isfinite(number) and 0 <= number <= top) or (name == "--lr" and number == 0):
            raise UsageError(f"{name} {number}: give {what} {top}")
    if o.n_embd % o.n_head:
        raise UsageError(f"--width {o.n_embd} must be a multiple of --heads {o.n_head}")
    if o.schedule not in ("cosine", "constant"):
        raise UsageError(f"--schedule {o.schedule!r}: choose cosine or constant")
    if not 0 < o.val_fraction < 1:
        raise UsageError(f"--val-fraction {o.val_fraction} must be between 0 and 1")
    check_memory(o, vocab_size, "cpu" if o.device == "cpu" else None)  # the GPU's is known once torch sees it


def training_bytes(o: TrainOptions, vocab_size: int) -> int:
    """A rough estimate of what training takes: float32 weights, gradients and AdamW's two moments, with
    a copy of each for a checkpoint (24 bytes a parameter), and the activations kept for the backward pass
    of one batch (per token and block about 20 x --width floats and the attention weights of each head;
    the logits, their softmax and its gradient over the vocabulary)."""
    cfg = _config(o, vocab_size)
    tokens = o.batch_size * o.block_size
    per_token = o.n_layer * (20 * o.n_embd + o.n_head * o.block_size) + 3 * vocab_size
    return 24 * cfg.n_params() + 4 * tokens * per_token


def memory_available(device: str) -> int | None:
    """The bytes training may use on `device`: the machine's physical memory for the CPU, the GPU's for
    cuda (None when unknown)."""
    if device == "cuda":
        import torch

        return int(torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(o: TrainOptions, vocab_size: int, device: str | None) -> None:
    """UsageError, with the estimate, for a model that tokcli could not load afterwards (as config.json's
    checks) or whose training would not fit in the memory of `device` (cpu or cuda; None: not known yet);
    before anything is allocated."""
    cfg = _config(o, vocab_size)
    shape = f"--layers {o.n_layer} --width {o.n_embd} --context {o.block_size}"
    if (need := cfg.inference_bytes()) > MAX_INFERENCE_BYTES:
        raise UsageError(
            f"{shape}: this model would take {_gib(need)} to run (float32 weights and attention cache), and "
            f"tokcli runs models up to {MAX_INFERENCE_BYTES >> 30} GiB; lower --width, --layers or --context"
        )
    need, have = training_bytes(o, vocab_size), memory_available(device) if device else None
    if have is not None and need > have:
        where = "the GPU has" if device == "cuda" else "this machine has"
        raise UsageError(
            f"{shape} --heads {o.n_head} --batch-size {o.batch_size}: training would take about {_gib(need)} "
            f"(weights, AdamW state and activations), and {where} {_gib(have)}; lower --batch-size, --context, "
            "--width or --layers"
        )


def _config(o: TrainOptions, vocab_size: int) -> GPTConfig:
    return GPTConfig(vocab_size=vocab_size, block_size=o.block_size, n_layer=o.n_layer, n_head=o.n_head,
                     n_embd=o.n_embd, dropout=o.dropout)  # fmt: skip


def _gib(n: int) -> str:
    return f"{n / (1 << 30):,.1f} GiB"


def check_outputs(out_dir: str | Path) -> tuple[Path, Path]:
    """(the model directory, its checkpoint directory) once both are known to be places `lm train` may
    write (see check_output_dir); UsageError otherwise."""
    ckpt = real_path(Path(str(out_dir).rstrip("/") + ".ckpt"))
    model = real_path(Path(out_dir))
    check_output_dir(model, "model")
    check_output_dir(ckpt, "checkpoint")
    return model, ckpt
