"""`tokcli lm train`: train the Transformer with torch and export the numpy engine's model directory.

Deterministic for a given seed on CPU: the batch of step s is drawn from numpy's Generator seeded with
(seed, s) and dropout from torch seeded with seed + s, so a resumed run draws what an unbroken one would.
Checkpoints (weights and AdamW moments in safetensors, the rest in JSON; no pickle) go to
`<out>.ckpt/` every --checkpoint-every steps. The model directory is exported at the same time when the
validation loss is the best so far, so a run that starts to overfit keeps its best model. The options and
the checks made before training are in tokcli.lm.trainoptions.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tokcli.errors import BackendMissing, UsageError
from tokcli.files.shards import ShardSet, check_ids
from tokcli.files.text import split_holdout
from tokcli.model.config import GPTConfig
from tokcli.tokenizer.base import Tokenizer

from .outdir import CKPT_FORMAT, staging
from .trainoptions import TrainOptions, check_memory, check_options, check_outputs

LN2 = math.log(2)


@dataclass
class TrainReport:
    step: int
    train_loss: float
    val_loss: float | None = None
    val_bpc: float | None = None
    elapsed_s: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)


def require_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise BackendMissing(
            "training needs torch: pip install 'tokcli[train]' (it pins torch==2.13.0, a CPU build)"
        ) from None
    return torch


def _device(torch: Any, name: str) -> Any:
    """The torch device for --device: cpu, cuda (an error without a GPU) or auto."""
    if name not in ("cpu", "cuda", "auto"):
        raise UsageError(f"--device {name!r}: choose cpu, cuda or auto")
    has_cuda = bool(torch.cuda.is_available())
    if name == "cuda" and not has_cuda:
        raise UsageError(
            "--device cuda: torch sees no GPU here (this torch build or machine has none); use --device cpu"
        )
    return torch.device("cuda" if name == "cuda" or (name == "auto" and has_cuda) else "cpu")


def lr_at(step: int, o: TrainOptions) -> float:
    if step < o.warmup:
        return o.lr * (step + 1) / o.warmup
    if o.schedule == "constant":
        return o.lr
    progress = min(1.0, (step - o.warmup) / max(1, o.steps - o.warmup))
    return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1 + math.cos(math.pi * progress))


def train_lm(
    texts: list[str],
    tokenizer: Tokenizer,
    out_dir: str | Path,
    options: TrainOptions,
    *,
    resume: bool = False,
    on_progress: Callable[[TrainReport], None] | None = None,
    source: str = "",
    shards: ShardSet | None = None,
) -> TrainReport:
    """Train on `texts` (the last val_fraction of each held out), or on the pre-tokenized `shards` (the
    last val_fraction of their ids held out; they must have been made with `tokenizer`)."""
    torch = require_torch()
    import numpy as np

    from .torch_gpt import TorchGPT

    o = options
    check_options(o, tokenizer.vocab_size)
    # refuse to replace what is not ours, or to write where nothing can be, before any work is done
    # (and again when swapping in)
    out_dir, ckpt = check_outputs(out_dir)
    torch.set_num_threads(o.threads or os.cpu_count() or 1)
    device = _device(torch, o.device)
    check_memory(o, tokenizer.vocab_size, device.type)
    if shards is not None:
        train_ids, val_ids, val_chars_per_token = shard_split(shards, tokenizer, o.val_fraction)
    else:
        # the last val_fraction of each text is held out (nanoGPT's split, applied per document)
        parts = [split_holdout(t, o.val_fraction) for t in texts]
        train_text, val_text = "".join(p[0] for p in parts), "".join(p[1] for p in parts)
        train_ids = np.array(tokenizer.encode(train_text), dtype=np.int64)
        val_ids = np.array(tokenizer.encode(val_text), dtype=np.int64)
        val_chars_per_token = len(val_text) / max(1, len(val_ids))
    T = o.block_size
    if len(train_ids) <= T + 1 or len(val_ids) <= T + 1:
        raise UsageError(
            f"the text is too short: {len(train_ids)} training and {len(val_ids)} validation tokens, "
            f"each needs more than --context {T}"
        )
    cfg = GPTConfig(
        vocab_size=tokenizer.vocab_size, block_size=T, n_layer=o.n_layer, n_head=o.n_head,
        n_embd=o.n_embd, dropout=o.dropout,
    )  # fmt: skip
    torch.manual_seed(o.seed)
    model = TorchGPT(cfg)
    if o.init_from and not resume:
        _init_from(model, o.init_from)
    model.to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=o.lr, betas=(0.9, 0.99),
    )  # fmt: skip
    start, elapsed0 = 0, 0.0
    history: list[dict[str, float]] = []
    best = float("inf")
    if resume:
        start, history, elapsed0 = _load_checkpoint(ckpt, model, opt, o)
        if start >= o.steps:
            raise UsageError(
                f"--resume: the checkpoint at {ckpt} is at step {start}, and --steps is {o.steps}: "
                f"nothing to train; give --steps above {start}"
            )
        best = min((h["val_loss"] for h in history), default=best)

    def batch(ids: np.ndarray, rng: np.random.Generator) -> tuple[Any, Any]:
        ix = rng.integers(0, len(ids) - T - 1, size=o.batch_size)
        x = np.stack([ids[i : i + T] for i in ix]).astype(np.int64)  # shards hold uint16 or uint32
        y = np.stack([ids[i + 1 : i + T + 1] for i in ix]).astype(np.int64)
        return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)

    def evaluate() -> float:
        model.eval()
        rng = np.random.default_rng([o.seed, 999_999])
        with torch.no_grad():
            losses = [model(*batch(val_ids, rng))[1].item() for _ in range(o.eval_batches)]
        model.train()
        return float(np.mean(losses))

    report = TrainReport(step=start, train_loss=float("nan"), history=history)
    t0 = time.perf_counter() - elapsed0
    model.train()
    for step in range(start, o.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, o)
        torch.manual_seed(o.seed + step)
        x, y = batch(train_ids, np.random.default_rng([o.seed, step]))
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), o.grad_clip)
        opt.step()
        report.step, report.train_loss = step + 1, loss.item()
        if not math.isfinite(report.train_loss):
            raise UsageError(
                f"training diverged: the loss is {report.train_loss} at step {step + 1}, and nothing was written "
                f"for it; lower --lr (now {o.lr}) or check the inputs"
            )
        report.elapsed_s = time.perf_counter() - t0
        last = step + 1 == o.steps
        evaluated = (step + 1) % o.eval_every == 0 or last
        if evaluated:
            report.val_loss = evaluate()
            report.val_bpc = report.val_loss / val_chars_per_token / LN2
            history.append({"step": step + 1, "train_loss": report.train_loss, "val_loss": report.val_loss,
                            "val_bpc": report.val_bpc, "elapsed_s": report.elapsed_s})  # fmt: skip
        if on_progress:
            on_progress(report)
        if evaluated and report.val_loss is not None and report.val_loss < best:
            best = report.val_loss
            meta = {
                "trained_on": source, "steps": step + 1, "options": asdict(o), "n_params": model.n_params(),
                "train_tokens": int(len(train_ids)), "val_tokens": int(len(val_ids)),
                "train_seconds": round(report.elapsed_s, 1), "history": history,
            }  # fmt: skip
            export_model(model, cfg, tokenizer, out_dir, o.dtype, meta)
        if (step + 1) % o.checkpoint_every == 0 or last:
            _save_checkpoint(ckpt, model, opt, step + 1, history, report.elapsed_s, o)
    if report.val_loss is None or not math.isfinite(report.val_loss) or not (out_dir / "config.json").is_file():
        raise UsageError(  # never "model written" for a model that is not there
            f"{out_dir}: no model was written (validation loss {report.val_loss}); lower --lr or check the inputs"
        )
    return report


VAL_DECODE_IDS = 1 << 20  # validation ids decoded to measure characters per token (for bits per character)


def shard_split(shards: ShardSet, tokenizer: Tokenizer, val_fraction: float) -> tuple[Any, Any, float]:
    """(training ids, validation ids: the last `val_fraction` of all the shards' ids, as nanoGPT splits
    train.bin and val.bin; characters per validation token, measured on up to VAL_DECODE_IDS of them).
    One shard is read through numpy.memmap; several are concatenated in memory."""
    import numpy as np

    shards.check_tokenizer(tokenizer)
    check_ids(shards, tokenizer.vocab_size)  # before training: an id past the embedding is a bad input
    maps = shards.memmaps()
    ids = maps[0] if len(maps) == 1 else np.concatenate(maps) if maps else np.zeros(0, dtype=np.uint16)
    n_val = int(len(ids) * val_fraction)
    train, val = ids[: len(ids) - n_val], ids[len(ids) - n_val :]
    sample = val[:VAL_DECODE_IDS].tolist()
    chars = len(tokenizer.decode(sample)) if sample else 0
    return train, val, chars / max(1, len(sample))


def export_model(
    model: Any, cfg: GPTConfig, tokenizer: Tokenizer, out_dir: Path, dtype: str, meta: dict[str, Any]
) -> None:
    """Write config.json, model.safetensors and tokenizer.json to a temporary directory, then swap it in."""
    import torch
    from safetensors.torch import save_file

    tdtype = {"float16": torch.float16, "float32": torch.float32}[dtype]
    with staging(out_dir, "model") as tmp:
        save_file({k: v.to("cpu", tdtype) for k, v in model.export_state().items()}, str(tmp / "model.safetensors"))
        cfg = GPTConfig(**{**asdict(cfg), "meta": meta})
        (tmp / "config.json").write_text(cfg.to_json(), encoding="utf-8")
        tokenizer.save(str(tmp / "tokenizer.json"))


def _save_checkpoint(
    ckpt: Path, model: Any, opt: Any, step: int, history: list[dict[str, float]], elapsed: float, o: TrainOptions
) -> None:
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().cpu().clone() for k, v in model.state_dict().items()}
    for i, p in enumerate(p for g in opt.param_groups for p in g["params"]):
        st = opt.state.get(p, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in st:
                tensors[f"opt.{i}.{key}"] = st[key].detach().cpu().clone()
    with staging(ckpt, "checkpoint") as tmp:
        save_file(tensors, str(tmp / "state.safetensors"))
        state = {"format": CKPT_FORMAT, "step": step, "history": history, "elapsed_s": elapsed, "options": asdict(o)}
        (tmp / "state.json").write_text(json.dumps(state, indent=2), encoding="utf-8")


def _init_from(model: Any, spec: str) -> list[str]:
    """Copy every tensor of the model `spec` whose name and shape match into `model`; the names copied.

    With a different tokenizer the token embedding (wte) does not match and starts fresh, while the
    blocks, positions and final norm carry over: a fine-tune across vocabularies.
    """
    import numpy as np
    import torch
    from safetensors.numpy import load_file

    from tokcli.model.model import resolve_model

    src = load_file(str(resolve_model(spec) / "model.safetensors"))
    own = model.export_state()
    weights = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in src.items() if k in own}
    copied = [k for k, v in weights.items() if tuple(v.shape) == tuple(own[k].shape)]
    if not copied:
        raise UsageError(f"--init-from {spec}: no tensor has the shape of this model's; use the same --layers/--width")
    merged = {k: (weights[k] if k in copied else v) for k, v in own.items()}
    rebuilt = type(model).from_exported(model.cfg, merged)
    model.load_state_dict(rebuilt.state_dict())
    return copied


def _load_checkpoint(ckpt: Path, model: Any, opt: Any, o: TrainOptions) -> tuple[int, list[dict[str, float]], float]:
    import torch
    from safetensors.torch import load_file

    if not (ckpt / "state.json").is_file():
        raise UsageError(f"--resume: no checkpoint at {ckpt}; train without --resume first")
    state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
    saved = state["options"]
    for key in ("n_layer", "n_head", "n_embd", "block_size"):
        if saved[key] != getattr(o, key):
            raise UsageError(f"--resume: the checkpoint has {key}={saved[key]}, not {getattr(o, key)}")
    device = next(model.parameters()).device
    tensors = load_file(str(ckpt / "state.safetensors"), device=str(device))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, p in enumerate(params):
        if f"opt.{i}.exp_avg" in tensors:
            opt.state[p] = {
                "step": torch.tensor(float(state["step"])),
                "exp_avg": tensors[f"opt.{i}.exp_avg"],
                "exp_avg_sq": tensors[f"opt.{i}.exp_avg_sq"],
            }
    return state["step"], state["history"], state["elapsed_s"]
