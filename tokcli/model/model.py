"""A loaded model: config, float32 weights and its own tokenizer, with the questions the CLI asks of it.

>>> from tokcli.model import load_model
>>> m = load_model("char")                     # bundled: en, char, word, bpe, ja-char; or a directory
>>> ids = m.encode("To be")
>>> logits = m.forward(ids)                    # [T, V] float32, T <= m.block_size
>>> logits.shape == (len(ids), m.vocab_size), logits.dtype
(True, dtype('float32'))
>>> [t["token"] for t in m.next_distribution(ids).top(3)]   # the likeliest next characters
[' ', 'a', 'd']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tokcli.errors import ModelFileError, ModelNotFound, UsageError
from tokcli.files import bundled
from tokcli.tokenizer import Tokenizer

from .config import GPTConfig, read_config
from .gpt import KVCache, gpt, nest_params
from .sampling import Filtered, SamplingOptions, filter_logits
from .threads import single_thread
from .weights import check_weights, check_weights_file, read_weights


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
    """A bundled model by name (en, char, word, bpe, ja-char) or a model directory."""
    return Model.load(resolve_model(spec), name=spec)


class Model:
    """The numpy Transformer of one model directory. No torch needed."""

    def __init__(
        self,
        config: GPTConfig,
        weights: dict[str, np.ndarray],
        tokenizer: Tokenizer,
        name: str = "?",
        path: Path | None = None,
    ) -> None:
        self.config = config
        self.name = name
        self.path = path  # the model directory it was loaded from (None when built in memory)
        self.tokenizer = tokenizer
        check_weights(config, weights, name)
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
        return cls(cfg, read_weights(wfile, cfg), tok, name=name or str(path), path=path)

    # -- the basics ------------------------------------------------------------------------------
    @property
    def block_size(self) -> int:
        return self.config.block_size

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    @property
    def banned_ids(self) -> list[int]:
        """Ids sampling never draws: the unknown token (`<unk>` stands for any word the vocabulary lacks,
        so drawing it writes nothing a reader can use). Its probability is still reported."""
        unk = self.tokenizer.unk_id
        return [] if unk is None else [unk]

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
        logits: np.ndarray = gpt(
            ids, self.params, self.config.n_head, self.config.layer_norm_eps, cache=cache, last_only=True
        )[0]
        return logits

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
        return NextDistribution(self, window, logits, o, filter_logits(logits, o, window, self.banned_ids))

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
            "masked": [self.model.tokenizer.id_to_token(i) for i in self.model.banned_ids],
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
