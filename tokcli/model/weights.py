"""A model directory's weights: the safetensors header checked against the config before any tensor is
read (dtype, shape and offsets of every tensor, laid end to end), then each tensor checked to be finite;
and writing a model directory (random weights for tests and experiments, numpy only)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tokcli.errors import ModelFileError
from tokcli.files.capped import NotRegularFile, UnreadableFile, open_regular
from tokcli.tokenizer import Tokenizer

from .config import GPTConfig, param_names, param_shapes


def check_weights(cfg: GPTConfig, w: dict[str, np.ndarray], name: str) -> None:
    missing = [n for n in param_names(cfg.n_layer) if n not in w]
    if missing:
        raise ModelFileError(
            f"{name}: model.safetensors lacks {', '.join(missing[:3])}"
            f"{' ...' if len(missing) > 3 else ''}; the model directory is corrupt"
        )
    if cfg.n_embd % cfg.n_head:
        raise ModelFileError(f"{name}: n_embd {cfg.n_embd} is not a multiple of n_head {cfg.n_head}")
    for k, shape in param_shapes(cfg).items():
        if tuple(w[k].shape) != shape:
            raise ModelFileError(f"{name}: {k} is {tuple(w[k].shape)}, config says {shape}")


# safetensors dtypes tokcli reads (the trainer writes float16 or float32), with their sizes in bytes
WEIGHT_DTYPES = {"F32": 4, "F16": 2}
MAX_HEADER_BYTES = 100 << 20  # safetensors' own limit


def _open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading, if it is a regular file (a FIFO would block a plain open). Raises ModelFileError."""
    try:
        return open_regular(path, what="a safetensors file")
    except NotRegularFile:
        raise ModelFileError(f"{path}: not a regular file; the model directory is corrupt") from None
    except UnreadableFile as e:
        raise ModelFileError(f"{path}: cannot read it ({e.reason})") from None


def check_weights_file(path: str | Path, cfg: GPTConfig) -> None:
    """Check a safetensors file against `cfg` from its header alone, before any tensor is read.

    The header (8-byte little-endian length, then JSON) must fit in the file; it must name exactly the
    tensors of param_shapes(cfg) (a tensor the config does not describe is an error: config and weights
    do not belong together), each float16 or float32 of the config's shape, their bytes laid end to end
    over the rest of the file. So what loading allocates is what the config says, and no more than the
    file holds. Raises ModelFileError.
    """
    path = Path(path)
    corrupt = f"{path}: not a safetensors file the config describes"
    with _open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        prefix = f.read(8)
        n = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
        if not 2 <= n <= min(size - 8, MAX_HEADER_BYTES):
            what = "is too short for a safetensors header" if n < 0 else f"has a header length of {n} bytes"
            raise ModelFileError(f"{path}: {what} in a file of {size} bytes; the model directory is corrupt")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, too deep
        raise ModelFileError(
            f"{path}: its safetensors header is not valid JSON; the model directory is corrupt"
        ) from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{corrupt}: its header is not a JSON object")
    header.pop("__metadata__", None)
    shapes = param_shapes(cfg)
    if extra := [k for k in header if k not in shapes]:
        raise ModelFileError(
            f"{path}: holds {_names(extra)}, which the config (n_layer {cfg.n_layer}) does not describe; "
            "config.json and model.safetensors do not belong together"
        )
    if missing := [k for k in shapes if k not in header]:
        raise ModelFileError(f"{path}: lacks {_names(missing)}; the model directory is corrupt")
    spans = []
    for k, shape in shapes.items():
        info = header[k]
        if not isinstance(info, dict):
            raise ModelFileError(f"{corrupt}: {k} is {_show(info)}")
        dtype: Any = info.get("dtype")
        got: Any = info.get("shape")
        offsets: Any = info.get("data_offsets")
        if dtype not in WEIGHT_DTYPES:
            raise ModelFileError(f"{path}: {k} is of dtype {_show(dtype)}; tokcli reads F16 or F32 weights")
        if not _ints(got) or tuple(got) != shape:
            raise ModelFileError(f"{path}: {k} has shape {_show(got)}, the config says {list(shape)}")
        if (
            not _ints(offsets)
            or len(offsets) != 2
            or offsets[1] - offsets[0] != math.prod(shape) * WEIGHT_DTYPES[dtype]
        ):
            raise ModelFileError(f"{corrupt}: {k} has data_offsets {_show(offsets)} for {dtype} {list(shape)}")
        spans.append((offsets[0], offsets[1], k))
    end = 0
    for begin, stop, k in sorted(spans):
        if begin != end:
            raise ModelFileError(f"{corrupt}: {k} starts at byte {begin} of the data, not at {end}")
        end = stop
    if end != size - 8 - n:
        raise ModelFileError(
            f"{path}: the tensors take {end} bytes, the file holds {size - 8 - n} after its header; "
            "the model directory is corrupt"
        )


def read_weights(path: str | Path, cfg: GPTConfig) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file that `check_weights_file` accepted, each checked to be finite."""
    from safetensors import SafetensorError, safe_open

    weights = {}
    try:
        with safe_open(str(path), framework="np") as f:
            for k in param_names(cfg.n_layer):
                w = weights[k] = f.get_tensor(k)
                if not np.isfinite(w).all():
                    what = "NaN" if np.isnan(w).any() else "infinite"
                    raise ModelFileError(f"{path}: {k} holds {what} values; the model is corrupt")
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelFileError(f"{path}: not readable safetensors ({e}); the model directory is corrupt") from None
    return weights


def _ints(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v)


def _names(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def random_weights(cfg: GPTConfig, seed: int = 0, std: float = 0.02) -> dict[str, np.ndarray]:
    """Randomly initialised float32 weights under the model-directory names (for tests and experiments).

    Norm gains are 1 + noise and biases are noise too, so that every parameter matters in a test.
    """
    rng = np.random.default_rng(seed)
    C, V, T = cfg.n_embd, cfg.vocab_size, cfg.block_size
    shapes = {"wte": (V, C), "wpe": (T, C), "ln_f.weight": (C,), "ln_f.bias": (C,)}
    for i in range(cfg.n_layer):
        p = f"h.{i}."
        shapes |= {
            p + "ln_1.weight": (C,),
            p + "ln_1.bias": (C,),
            p + "ln_2.weight": (C,),
            p + "ln_2.bias": (C,),
            p + "attn.c_attn.weight": (C, 3 * C),
            p + "attn.c_attn.bias": (3 * C,),
            p + "attn.c_proj.weight": (C, C),
            p + "attn.c_proj.bias": (C,),
            p + "mlp.c_fc.weight": (C, 4 * C),
            p + "mlp.c_fc.bias": (4 * C,),
            p + "mlp.c_proj.weight": (4 * C, C),
            p + "mlp.c_proj.bias": (C,),
        }
    out = {}
    for name in param_names(cfg.n_layer):
        w = rng.normal(0.0, std, shapes[name])
        if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            w += 1.0
        out[name] = w.astype(np.float32)
    return out


def save_model_dir(path: str | Path, cfg: GPTConfig, weights: dict[str, np.ndarray], tokenizer: Tokenizer) -> Path:
    """Write a model directory (config.json, model.safetensors, tokenizer.json) with numpy only."""
    from safetensors.numpy import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(cfg.to_json(), encoding="utf-8")
    save_file({k: np.ascontiguousarray(v) for k, v in weights.items()}, str(path / "model.safetensors"))
    tokenizer.save(str(path / "tokenizer.json"))
    return path
