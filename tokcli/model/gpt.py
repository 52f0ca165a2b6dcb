"""The Transformer's forward pass as pure numpy functions (picoGPT's shape), plus a KV cache.

Decoder-only, GPT-2 layout: token + learned position embeddings, pre-LayerNorm blocks (causal multi-head
self-attention, then a GELU MLP), a final LayerNorm and an output head tied to the token embedding.
Weights use the x @ W convention ([in, out]); see tokcli/model/config.py for the tensor names.

Everything is float32. Parameters are nested dicts (see `nest_params`) unpacked with `**`:

    params = {"wte": [V, C], "wpe": [T, C], "head": [C, V] (wte.T, contiguous),
              "blocks": [{"ln_1": {"g", "b"}, "attn": {"c_attn": {"w", "b"}, "c_proj": {"w", "b"}},
                          "ln_2": {"g", "b"}, "mlp": {"c_fc": {"w", "b"}, "c_proj": {"w", "b"}}}, ...],
              "ln_f": {"g", "b"}}

The KV cache holds each layer's keys and values for the positions seen so far. Positions are absolute
and learned (wpe), so a cache is only valid for one window that starts at position 0: when generation
slides the window, tokcli/model/generate.py empties the cache and fills it again from the cropped window.

No torch here: tokcli/lm/torch_gpt.py is the training twin, and the tests check the two agree to 1e-5.
Results are deterministic on one machine; float32 matmuls may differ in the last bits between BLAS
builds (summation order), which can very rarely change a sampled token on another machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Params = dict[str, Any]

_GELU_C = np.float32(np.sqrt(2.0 / np.pi))


def layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)  # [T, 1]
    var = x.var(axis=-1, keepdims=True)  # [T, 1], biased, as torch.nn.LayerNorm
    out: np.ndarray = g * ((x - mean) / np.sqrt(var + np.float32(eps))) + b  # [T, C]
    return out


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (torch F.gelu(x, approximate="tanh"), GPT-2's)."""
    out: np.ndarray = np.float32(0.5) * x * (np.float32(1.0) + np.tanh(_GELU_C * (x + np.float32(0.044715) * x**3)))
    return out


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))  # [..., N], largest is exp(0) = 1
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)  # [..., N]
    return out


def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    out: np.ndarray = x @ w + b  # [T, in] @ [in, out] + [out] -> [T, out]
    return out


def causal_mask(n: int) -> np.ndarray:
    """[n, n] additive mask: 0 where a query may look (key position <= query position), -inf elsewhere."""
    return np.triu(np.full((n, n), -np.inf, dtype=np.float32), k=1)  # [n, n]


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Scaled dot-product attention over H heads. Returns the output and the attention weights."""
    scale = np.float32(1.0 / np.sqrt(q.shape[-1]))
    scores = (q @ k.transpose(0, 2, 1)) * scale  # [H, Tq, hs] @ [H, hs, Tk] -> [H, Tq, Tk]
    if mask is not None:
        scores += mask  # [H, Tq, Tk] + [Tq, Tk]
    w = softmax(scores)  # [H, Tq, Tk], each row sums to 1 over the keys it may see
    return w @ v, w  # [H, Tq, Tk] @ [H, Tk, hs] -> [H, Tq, hs]


@dataclass
class KVCache:
    """Keys and values of every layer for positions 0..n-1 of one window: k[layer] is [H, block_size, hs]."""

    k: list[np.ndarray]
    v: list[np.ndarray]
    n: int = 0  # positions filled
    mask: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # causal_mask(block_size)

    @classmethod
    def empty(cls, n_layer: int, n_head: int, block_size: int, head_size: int) -> KVCache:
        shape = (n_head, block_size, head_size)
        k = [np.zeros(shape, np.float32) for _ in range(n_layer)]
        v = [np.zeros(shape, np.float32) for _ in range(n_layer)]
        return cls(k, v, 0, causal_mask(block_size))

    def reset(self) -> None:
        self.n = 0  # the arrays are overwritten as positions are filled again


def mha(
    x: np.ndarray,
    c_attn: Params,
    c_proj: Params,
    n_head: int,
    *,
    layer: int = 0,
    cache: KVCache | None = None,
    attn_out: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Causal multi-head self-attention of the T new positions x, after `cache.n` cached ones."""
    T, C = x.shape
    hs = C // n_head
    qkv = linear(x, **c_attn)  # [T, C] -> [T, 3C]
    q, k, v = (
        qkv[:, i * C : (i + 1) * C].reshape(T, n_head, hs).transpose(1, 0, 2) for i in range(3)
    )  # 3 x [H, T, hs]
    if cache is None:
        mask = causal_mask(T) if T > 1 else None  # [T, T]
    else:
        p = cache.n  # absolute position of x[0]
        cache.k[layer][:, p : p + T] = k  # [H, T, hs] into [H, block, hs]
        cache.v[layer][:, p : p + T] = v
        k, v = cache.k[layer][:, : p + T], cache.v[layer][:, : p + T]  # [H, p+T, hs]: every key so far
        mask = cache.mask[p : p + T, : p + T] if T > 1 else None  # [T, p+T]; one new query sees every key
    y, w = attention(q, k, v, mask)  # [H, T, hs], weights [H, T, Tk]
    if attn_out is not None:
        attn_out.append(w)
    y = y.transpose(1, 0, 2).reshape(T, C)  # [H, T, hs] -> [T, H, hs] -> [T, C]
    return linear(y, **c_proj)  # [T, C]


def ffn(x: np.ndarray, c_fc: Params, c_proj: Params) -> np.ndarray:
    return linear(gelu(linear(x, **c_fc)), **c_proj)  # [T, C] -> [T, 4C] -> [T, C]


def block(
    x: np.ndarray,
    mlp: Params,
    attn: Params,
    ln_1: Params,
    ln_2: Params,
    n_head: int,
    eps: float,
    *,
    layer: int = 0,
    cache: KVCache | None = None,
    attn_out: list[np.ndarray] | None = None,
) -> np.ndarray:
    x = x + mha(
        layer_norm(x, **ln_1, eps=eps), **attn, n_head=n_head, layer=layer, cache=cache, attn_out=attn_out
    )  # [T, C]
    out: np.ndarray = x + ffn(layer_norm(x, **ln_2, eps=eps), **mlp)  # [T, C]
    return out


def gpt(
    ids: np.ndarray,
    params: Params,
    n_head: int,
    eps: float = 1e-5,
    *,
    cache: KVCache | None = None,
    last_only: bool = False,
    attn_out: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Logits of the next token after each of `ids` ([T] ints): [T, V], or [1, V] with last_only.

    With a cache, `ids` continue the cached window: positions cache.n .. cache.n+T-1, and the cache grows
    by T. attn_out, when given, receives each layer's attention weights [H, T, Tk].
    """
    start = cache.n if cache is not None else 0
    T = len(ids)
    if start + T > params["wpe"].shape[0]:
        raise ValueError(f"{start + T} positions do not fit the context of {params['wpe'].shape[0]}")
    x = params["wte"][ids] + params["wpe"][start : start + T]  # [T, C]
    for i, blk in enumerate(params["blocks"]):
        x = block(x, **blk, n_head=n_head, eps=eps, layer=i, cache=cache, attn_out=attn_out)  # [T, C]
    if cache is not None:
        cache.n += T
    if last_only:
        x = x[-1:]  # [1, C]: the only row generation needs
    logits: np.ndarray = layer_norm(x, **params["ln_f"], eps=eps) @ params["head"]  # [T, C] @ [C, V] -> [T, V]
    return logits


def nest_params(flat: Mapping[str, np.ndarray], n_layer: int) -> Params:
    """Model-directory tensors (named as in config.param_names) as gpt()'s nested dict, float32."""

    def f(name: str) -> np.ndarray:
        return np.ascontiguousarray(flat[name], dtype=np.float32)

    def lin(p: str) -> Params:
        return {"w": f(p + ".weight"), "b": f(p + ".bias")}

    def ln(p: str) -> Params:
        return {"g": f(p + ".weight"), "b": f(p + ".bias")}

    blocks = []
    for i in range(n_layer):
        p = f"h.{i}."
        blocks.append(
            {
                "ln_1": ln(p + "ln_1"),
                "ln_2": ln(p + "ln_2"),
                "attn": {"c_attn": lin(p + "attn.c_attn"), "c_proj": lin(p + "attn.c_proj")},
                "mlp": {"c_fc": lin(p + "mlp.c_fc"), "c_proj": lin(p + "mlp.c_proj")},
            }
        )
    wte = f("wte")
    return {
        "wte": wte,
        "wpe": f("wpe"),
        "head": np.ascontiguousarray(wte.T),
        "blocks": blocks,
        "ln_f": ln("ln_f"),
    }
