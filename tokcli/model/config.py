"""The model directory format shared by the numpy engine (inference) and the torch trainer.

    MODEL_DIR/
      config.json        GPTConfig fields + "format": "tokcli-gpt v1" + "meta" (training record)
      model.safetensors  weights, float16 or float32, names below
      tokenizer.json     the model's own tokenizer (HF format)

Weights use the x @ W convention ([in, out], as GPT-2 and picoGPT); the output head is tied to wte.

    wte [V, C]  wpe [T, C]  ln_f.weight/bias [C]
    h.{i}.ln_1.weight/bias [C]        h.{i}.attn.c_attn.weight [C, 3C]  .bias [3C]
    h.{i}.attn.c_proj.weight [C, C]  .bias [C]       h.{i}.ln_2.weight/bias [C]
    h.{i}.mlp.c_fc.weight [C, 4C]  .bias [4C]        h.{i}.mlp.c_proj.weight [4C, C]  .bias [C]
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tokcli.errors import ModelFileError
from tokcli.files.capped import FileTooLarge, NotRegularFile, UnreadableFile, read_capped

FORMAT = "tokcli-gpt v1"


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int  # V: size of the tokenizer's vocabulary
    block_size: int = 128  # T: context length in tokens; learned positions exist for 0..T-1
    n_layer: int = 4  # transformer blocks
    n_head: int = 6  # attention heads per block; n_embd must divide by it
    n_embd: int = 192  # C: width of the residual stream
    dropout: float = 0.1  # training only; inference ignores it
    layer_norm_eps: float = 1e-5  # as torch.nn.LayerNorm
    meta: dict[str, Any] = field(default_factory=dict, compare=False)  # how it was trained, eval results

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "config.json") -> GPTConfig:
        """The config a config.json holds, every field checked (see `validate`). Raises ModelFileError."""
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError) as e:  # JSONDecodeError, an integer of too many digits, deep nesting
            raise ModelFileError(f"{source}: not valid JSON ({e}); the model directory is corrupt") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ModelFileError(f"{source}: not a tokcli model config (expected format {FORMAT!r})")
        return cls(**validate({k: v for k, v in raw.items() if k != "format"}, source))

    def n_params(self) -> int:
        """Parameters of the model (the output head is tied to wte)."""
        C, L = self.n_embd, self.n_layer
        return self.vocab_size * C + self.block_size * C + L * (12 * C * C + 13 * C) + 2 * C

    def inference_bytes(self) -> int:
        """What the numpy engine allocates for it: float32 weights, the KV cache of a full window, the mask."""
        T = self.block_size
        return 4 * (self.n_params() + 2 * self.n_layer * T * self.n_embd + T * T)


# The schema of config.json: each integer field with its bounds. The upper bounds keep what a model directory
# can make tokcli allocate sane (the KV cache and the causal mask are sized by the config, not by the weights).
INT_FIELDS = {
    "vocab_size": (1, 1 << 20),
    "block_size": (1, 8192),
    "n_layer": (1, 128),
    "n_head": (1, 256),
    "n_embd": (1, 8192),
}
FLOAT_FIELDS = {"dropout": "a number from 0 to below 1", "layer_norm_eps": "a positive number up to 1"}
MAX_INFERENCE_BYTES = 8 << 30  # weights + KV cache as float32: the most a model may ask of the numpy engine
MAX_CONFIG_BYTES = 16 << 20  # config.json (its meta holds the training history)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def validate(raw: dict[str, Any], source: str = "config.json") -> dict[str, Any]:
    """GPTConfig's fields from a parsed config.json (without "format"), each checked. Raises ModelFileError
    naming the key: missing, unknown, of the wrong type (a bool is not a number here) or out of bounds."""
    expected = [f.name for f in fields(GPTConfig)]
    for key in raw:
        if key not in expected:
            raise ModelFileError(f"{source}: unknown key {key!r}; a model config holds format, {', '.join(expected)}")
    for key in expected:
        if key not in raw and key != "meta":
            raise ModelFileError(f"{source}: {key} is missing; a model config holds format, {', '.join(expected)}")
    for key, (low, high) in INT_FIELDS.items():
        v = raw[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ModelFileError(f"{source}: {key} must be a positive integer, not {_show(v)}")
        if v > high:
            raise ModelFileError(f"{source}: {key} must be at most {high}, not {v}; this is no model tokcli can run")
    for key, what in FLOAT_FIELDS.items():
        v = raw[key]
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        if not ok or not (0 <= v < 1 if key == "dropout" else 0 < v <= 1):
            raise ModelFileError(f"{source}: {key} must be {what}, not {_show(v)}")
    if not isinstance(raw.get("meta", {}), dict):
        raise ModelFileError(f"{source}: meta must be a JSON object, not {_show(raw['meta'])}")
    if raw["n_embd"] % raw["n_head"]:
        raise ModelFileError(f"{source}: n_embd {raw['n_embd']} must be a multiple of n_head {raw['n_head']}")
    cfg = GPTConfig(**raw)
    if (need := cfg.inference_bytes()) > MAX_INFERENCE_BYTES:
        raise ModelFileError(
            f"{source}: this model would take {need / (1 << 30):.1f} GiB (float32 weights and attention cache); "
            f"tokcli's numpy engine runs models up to {MAX_INFERENCE_BYTES >> 30} GiB"
        )
    return raw


def read_config(model_dir: str | Path) -> GPTConfig:
    """The validated config.json of a model directory. Raises ModelFileError."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise ModelFileError(f"{model_dir}: no config.json; give a model directory written by `tokcli lm train`")
    try:  # a FIFO put there since is_file() is refused without blocking
        data = read_capped(path, MAX_CONFIG_BYTES, what="a model config")
    except NotRegularFile:
        raise ModelFileError(f"{path}: not a regular file; the model directory is corrupt") from None
    except FileTooLarge:
        raise ModelFileError(f"{path}: larger than {MAX_CONFIG_BYTES >> 20} MiB; no tokcli model config is") from None
    except UnreadableFile as e:
        raise ModelFileError(f"{path}: cannot read it ({e.reason})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelFileError(f"{path}: not UTF-8 text; the model directory is corrupt") from None
    return GPTConfig.from_json(text, str(path))


def param_shapes(cfg: GPTConfig) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor a model directory holds, by name, in param_names' order."""
    C, V, T = cfg.n_embd, cfg.vocab_size, cfg.block_size
    block = {
        "ln_1.weight": (C,), "ln_1.bias": (C,),
        "attn.c_attn.weight": (C, 3 * C), "attn.c_attn.bias": (3 * C,),
        "attn.c_proj.weight": (C, C), "attn.c_proj.bias": (C,),
        "ln_2.weight": (C,), "ln_2.bias": (C,),
        "mlp.c_fc.weight": (C, 4 * C), "mlp.c_fc.bias": (4 * C,),
        "mlp.c_proj.weight": (4 * C, C), "mlp.c_proj.bias": (C,),
    }  # fmt: skip
    shapes: dict[str, tuple[int, ...]] = {"wte": (V, C), "wpe": (T, C)}
    for i in range(cfg.n_layer):
        shapes |= {f"h.{i}.{k}": v for k, v in block.items()}
    return shapes | {"ln_f.weight": (C,), "ln_f.bias": (C,)}


def param_names(n_layer: int) -> list[str]:
    """Every tensor name a model directory holds, in a fixed order."""
    names = ["wte", "wpe"]
    for i in range(n_layer):
        p = f"h.{i}."
        names += [p + "ln_1.weight", p + "ln_1.bias", p + "attn.c_attn.weight", p + "attn.c_attn.bias"]
        names += [p + "attn.c_proj.weight", p + "attn.c_proj.bias", p + "ln_2.weight", p + "ln_2.bias"]
        names += [p + "mlp.c_fc.weight", p + "mlp.c_fc.bias", p + "mlp.c_proj.weight", p + "mlp.c_proj.bias"]
    return names + ["ln_f.weight", "ln_f.bias"]
