"""The training twin of tokcli.model.gpt: the same Transformer in torch (nanoGPT's shape).

Only `tokcli lm train` imports this (extra `tokcli[train]`); inference never needs torch.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
from torch.nn import functional as F

from tokcli.model.config import GPTConfig, param_names


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        C = cfg.n_embd
        self.n_head = cfg.n_head
        self.ln_1 = nn.LayerNorm(C, eps=cfg.layer_norm_eps)
        self.c_attn = nn.Linear(C, 3 * C)
        self.attn_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C, eps=cfg.layer_norm_eps)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)
        self.resid_drop = nn.Dropout(cfg.dropout)

    def attn(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)  # 3 x [B, T, C]
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # [B, H, T, hs]
        # no dropout on the attention weights: on the CPU it costs 40% of a step for little gain
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # [B, H, T, hs]
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        out: torch.Tensor = self.resid_drop(self.attn_proj(y))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        h = F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")
        out: torch.Tensor = x + self.resid_drop(self.mlp_proj(h))
        return out


class TorchGPT(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_eps)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2's scaled init of the residual projections
            if name.endswith(("attn_proj.weight", "mlp_proj.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # [B, T, C]
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.T  # [B, T, V], head tied to wte
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def export_state(self) -> dict[str, torch.Tensor]:
        """Weights under the model-directory names, in the x @ W convention ([in, out])."""
        out: dict[str, torch.Tensor] = {"wte": self.wte.weight, "wpe": self.wpe.weight}
        for i, block in enumerate(self.h):
            b: Any = block  # a Block (nn.ModuleList items are typed as Module)
            p = f"h.{i}."
            out |= {
                p + "ln_1.weight": b.ln_1.weight, p + "ln_1.bias": b.ln_1.bias,
                p + "attn.c_attn.weight": b.c_attn.weight.T, p + "attn.c_attn.bias": b.c_attn.bias,
                p + "attn.c_proj.weight": b.attn_proj.weight.T, p + "attn.c_proj.bias": b.attn_proj.bias,
                p + "ln_2.weight": b.ln_2.weight, p + "ln_2.bias": b.ln_2.bias,
                p + "mlp.c_fc.weight": b.c_fc.weight.T, p + "mlp.c_fc.bias": b.c_fc.bias,
                p + "mlp.c_proj.weight": b.mlp_proj.weight.T, p + "mlp.c_proj.bias": b.mlp_proj.bias,
            }  # fmt: skip
        out |= {"ln_f.weight": self.ln_f.weight, "ln_f.bias": self.ln_f.bias}
        assert list(out) == param_names(self.cfg.n_layer)
        return {k: v.detach().contiguous().clone() for k, v in out.items()}

    @classmethod
    def from_exported(cls, cfg: GPTConfig, weights: dict[str, torch.Tensor]) -> TorchGPT:
        """Rebuild from model-directory weights (the reference the numpy engine is tested against)."""
        model = cls(cfg)
        exported = model.export_state()  # the same names; matrices here are views transposed from torch's
        own = dict(model.named_parameters())
        with torch.no_grad():
            for name in exported:
                torch_name = _torch_name(name)
                value = weights[name]
                linear = value.dim() == 2 and name not in ("wte", "wpe")  # stored [in, out], torch has [out, in]
                own[torch_name].copy_(value.T if linear else value)
        return model.eval()


def _torch_name(name: str) -> str:
    """Model-directory tensor name -> this module's parameter name."""
    for ours, theirs in (("wte", "wte.weight"), ("wpe", "wpe.weight")):
        if name == ours:
            return theirs
    return (
        name.replace("attn.c_attn", "c_attn")
        .replace("attn.c_proj", "attn_proj")
        .replace("mlp.c_fc", "c_fc")
        .replace("mlp.c_proj", "mlp_proj")
    )
