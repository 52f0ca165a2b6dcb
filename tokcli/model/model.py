"""A loaded model: config, float32 weights and its own tokenizer, with the questions the CLI asks of it.

>>> from tokcli.model import load_model
>>> m = load_model("char")                     # bundled: char, word, bpe, ja-char; or a directory
>>> ids = m.encode("To be")
>>> logits = m.forward(ids)                    # [T, V] float32, T <= m.block_size
>>> logits.shape == (len(ids), m.vocab_size), logits.dtype
(True, dtype('float32'))
>>> [t["token"] for t in m.next_distribution(ids).top(3)]   # the likeliest next characters
[' ', 'a', 'd']
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tokcli import bundled
from tokcli.errors import ModelFileError, ModelNotFound, UsageError
from tokcli.tokenizer import Tokenizer

from .config import GPTConfig, param_names, param_shapes, read_config
from .gpt import KVCache, gpt, nest_params
from .sampling import Filtered, SamplingOptions, filter_logits
from .threads import single_thread


def resolve_model(spec: str) -> Path:
    """The directory a bundled name or a path names. Raises ModelNotFound."""
    if (d := bundled.model_path(spec)) is not None:
        if (d / "config.json").is_file():
            return d
        if (d / "tokenizer.json").is_file():
            raise ModelNotFound(
                f"bundled model {spec!r} has a tokenizer but no weights yet; "
                f"train it with `tokcli lm train ... -o {d}` or give a model directory"
            )
    path = Path(spec)
    if path.is_dir():
        return path
    names = ", ".join(bundled.model_names()) or "none installed"
    raise ModelNotFound(
        f"unknown model {spec!r}: give a bundled model ({names}) or a model directory written by `tokcli lm train`"
    )


def load_model(spec: str) -> Model:
    """A bundled model by name (char, word, bpe, ja-char) or a model directory."""
    return Model.load(resolve_model(spec), name=spec)


class Model:
    """The numpy Transformer of one model directory. No torch needed."""

    def __init__(
        self, config: GPTConfig, weights: dict[str, np.ndarray], tokenizer: Tokenizer, name: str = "?"
    ) -> None:
        self.config = config
        self.name = name
        self.tokenizer = tokenizer
        _check_weights(config, weights, name)
        self.params = nest_params(weights, config.n_layer)  # float32, head = wte.T contiguous

    @classmethod
    def load(cls, path: str | Path, name: str | None = None) -> Model:
        """A model directory, checked before anything large is read: the config field by field, every
        tensor's dtype, shape and place in model.safetensors against the config, the tokenizer's size; then
        the weights, which must be finite. Raises ModelFileError."""
        from tokcli.tokenizer.registry import load_file

        path = Path(path)
        cfg = read_config(path)
        wfile, tfile = path / "model.safetensors", path / "tokenizer.json"
        for f in (wfile, tfile):
            if not f.is_file():
                raise ModelFileError(
                    f"{path}: no {f.name}; a model directory holds config.json, model.safetensors and tokenizer.json"
                )
        check_weights_file(wfile, cfg)
        tok = load_file(tfile, name=name or str(path))
        if tok.vocab_size != cfg.vocab_size:
            raise ModelFileError(f"{path}: tokenizer has {tok.vocab_size} tokens, config says {cfg.vocab_size}")
        return cls(cfg, read_weights(wfile, cfg), tok, name=name or str(path))

    # -- the basics ------------------------------------------------------------------------------
    @property
    def block_size(self) -> int:
        return self.config.block_size

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def new_cache(self) -> KVCache:
        c = self.config
        return KVCache.empty(c.n_layer, c.n_head, c.block_size, c.head_size)

    def forward(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Logits [T, V] (float32) for a window of T token ids, 1 <= T <= block_size, starting at position 0.

        Row t is the model's prediction of token t+1 given ids[0..t]; the log-softmax of row t at ids[t+1]
        is what a perplexity evaluation needs. Longer texts: evaluate them window by window.
        """
        ids = self._ids(ids)
        with single_thread():  # small matrices: BLAS threads cost more than they give (see threads.py)
            return gpt(ids, self.params, self.config.n_head, self.config.layer_norm_eps)

    def forward_cached(self, ids: Sequence[int] | np.ndarray, cache: KVCache) -> np.ndarray:
        """Logits [V] of the token after `ids`, which continue the window held in `cache` (which grows)."""
        ids = np.asarray(ids, dtype=np.int64)
        if cache.n + len(ids) > self.block_size:
            raise UsageError(f"{cache.n + len(ids)} tokens do not fit the context of {self.block_size}")
        return gpt(ids, self.params, self.config.n_head, self.config.layer_norm_eps, cache=cache, last_only=True)[0]

    def attention(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Attention weights [L, H, T, T] of a window: [l, h, i, j] is how much token i looks at j <= i."""
        ids = self._ids(ids)
        weights: list[np.ndarray] = []
        gpt(ids, self.params, self.config.n_head, self.config.layer_norm_eps, attn_out=weights)
        return np.stack(weights)  # [L, H, T, T]

    def crop(self, ids: Sequence[int]) -> list[int]:
        """The last block_size ids (the window the model can see)."""
        return list(ids[-self.block_size :])

    def _ids(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        a = np.asarray(ids, dtype=np.int64)  # [T]
        if a.ndim != 1 or not 1 <= a.size <= self.block_size:
            raise UsageError(f"give 1 to {self.block_size} token ids (the context length), not {a.size}")
        if a.min() < 0 or a.max() >= self.vocab_size:
            raise UsageError(f"token ids must be in 0..{self.vocab_size - 1}")
        return a

    # -- questions the CLI asks ------------------------------------------------------------------
    def unknown_words(self, text: str) -> list[str]:
        """The pieces of `text` the tokenizer maps to its unknown token (words the word model never saw)."""
        return self.tokenizer.unknown_pieces(text)

    def next_distribution(self, ids: Sequence[int], options: SamplingOptions | None = None) -> NextDistribution:
        """The distribution of the token after `ids` (cropped to the context), and what the filters keep."""
        if not ids:
            raise UsageError("the prompt is empty: give some text to continue")
        window = self.crop(ids)
        logits = self.forward(window)[-1]  # [V]
        o = options or SamplingOptions()
        return NextDistribution(self, window, logits, o, filter_logits(logits, o, window))

    def describe(self) -> dict[str, object]:
        c = self.config
        return {
            "name": self.name,
            "vocab_size": c.vocab_size,
            "context": c.block_size,
            "layers": c.n_layer,
            "heads": c.n_head,
            "width": c.n_embd,
            "tokenizer": self.tokenizer.kind,
        }

    def __repr__(self) -> str:
        c = self.config
        return f"<Model {self.name!r} V={c.vocab_size} T={c.block_size} L={c.n_layer} H={c.n_head} C={c.n_embd}>"


@dataclass
class NextDistribution:
    model: Model
    window: list[int]  # the context the model saw
    logits: np.ndarray  # [V] float32
    options: SamplingOptions
    filtered: Filtered

    def top(self, n: int) -> list[dict[str, object]]:
        """The n most likely tokens: rank, id, token, prob, cum_prob, kept, sample_prob."""
        probs, f = self.filtered.probs, self.filtered
        order = np.argsort(-probs, kind="stable")[: max(n, 0)]
        cum = np.cumsum(probs[order])
        return [
            {
                "rank": r + 1,
                "id": int(i),
                "token": self.model.tokenizer.id_to_token(int(i)),
                "prob": float(probs[i]),
                "cum_prob": float(cum[r]),
                "kept": bool(f.keep[i]),
                "sample_prob": float(f.sample_probs[i]),
            }
            for r, i in enumerate(order)
        ]

    def to_dict(self, top: int, prompt: str = "") -> dict[str, object]:
        """JSON-ready: the settings, what survives the filters, and the `top` most likely tokens."""
        from .sampling import ORDER

        return {
            "model": self.model.name,
            "prompt": prompt,
            "context_tokens": len(self.window),
            "vocab_size": self.model.vocab_size,
            "settings": self.options.to_dict(),
            "order": list(ORDER),
            "kept_count": self.kept_count,
            "kept_mass": self.kept_mass,
            "tokens": self.top(top),
        }

    @property
    def kept_count(self) -> int:
        return int(self.filtered.keep.sum())

    @property
    def kept_mass(self) -> float:
        """How much of the model's (temperature 1) probability the surviving tokens carry."""
        return float(self.filtered.probs[self.filtered.keep].sum())


def _check_weights(cfg: GPTConfig, w: dict[str, np.ndarray], name: str) -> None:
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
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read it ({e.strerror or e})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ModelFileError(f"{path}: not a regular file; the model directory is corrupt")
    return os.fdopen(fd, "rb")


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
