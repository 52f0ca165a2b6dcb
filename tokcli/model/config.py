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
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tokcli.errors import ModelFileError

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
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise ModelFileError(f"{source}: not valid JSON ({e}); the model directory is corrupt") from None
        if raw.pop("format", None) != FORMAT:
            raise ModelFileError(f"{source}: not a tokcli model config (expected format {FORMAT!r})")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


def read_config(model_dir: str | Path) -> GPTConfig:
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise ModelFileError(f"{model_dir}: no config.json; give a model directory written by `tokcli lm train`")
    return GPTConfig.from_json(path.read_text(encoding="utf-8"), str(path))


def param_names(n_layer: int) -> list[str]:
    """Every tensor name a model directory holds, in a fixed order."""
    names = ["wte", "wpe"]
    for i in range(n_layer):
        p = f"h.{i}."
        names += [p + "ln_1.weight", p + "ln_1.bias", p + "attn.c_attn.weight", p + "attn.c_attn.bias"]
        names += [p + "attn.c_proj.weight", p + "attn.c_proj.bias", p + "ln_2.weight", p + "ln_2.bias"]
        names += [p + "mlp.c_fc.weight", p + "mlp.c_fc.bias", p + "mlp.c_proj.weight", p + "mlp.c_proj.bias"]
    return names + ["ln_f.weight", "ln_f.bias"]
