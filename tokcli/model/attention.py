"""What one token looks at: the attention weights of a text's window, and the token chosen to look at."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokcli.errors import UsageError

from .model import Model


@dataclass
class AttentionReport:
    """Attention weights of a text's window, and the token chosen to look at."""

    model: str
    tokens: list[str]  # printable tokens of the window
    ids: list[int]
    index: int  # the chosen token, 0-based in the window
    weights: np.ndarray  # [L, H, T, T]
    notes: list[str]

    def to_dict(self, *, full: bool = False) -> dict[str, object]:
        """JSON-ready: the chosen token's weights per layer and head; `full` adds every row (lower triangle)."""
        i = self.index
        doc: dict[str, object] = {
            "model": self.model,
            "tokens": self.tokens,
            "ids": self.ids,
            "index": i,
            "token": self.tokens[i],
            "layers": [
                {"layer": li, "heads": [[round(float(w), 6) for w in head[i, : i + 1]] for head in layer]}
                for li, layer in enumerate(self.weights)
            ],
        }
        if full:
            doc["matrix"] = [
                [[[round(float(w), 4) for w in row[: r + 1]] for r, row in enumerate(head)] for head in layer]
                for layer in self.weights
            ]
        return doc


def attention_report(model: Model, text: str, *, token: str | None = None, index: int | None = None) -> AttentionReport:
    """Attention of `text` (its last block_size tokens); the chosen token is `token` (its first occurrence,
    matched with surrounding spaces stripped), `index` (negative counts from the end), or the last one."""
    if token is not None and index is not None:
        raise UsageError("give --token or --index, not both")
    ids = model.encode(text)
    if not ids:
        raise UsageError("the text has no tokens: give some text")
    notes = []
    if len(ids) > model.block_size:
        notes.append(f"the text is {len(ids)} tokens; showing its last {model.block_size} (the context length)")
        ids = ids[-model.block_size :]
    toks = [model.tokenizer.id_to_token(i) for i in ids]
    if token is not None:
        matches = [j for j, t in enumerate(toks) if t.strip() == token.strip() or t == token]
        if not matches:
            shown = ", ".join(repr(t) for t in toks[:20]) + (" ..." if len(toks) > 20 else "")
            raise UsageError(f"--token {token!r} is not one of the text's tokens ({shown}); or give --index")
        if len(matches) > 1:
            notes.append(f"{token!r} occurs {len(matches)} times (indices {matches}); showing the first")
        i = matches[0]
    elif index is not None:
        if not -len(ids) <= index < len(ids):
            raise UsageError(f"--index {index}: the text has {len(ids)} tokens (0..{len(ids) - 1}, or -1 for the last)")
        i = index % len(ids)
    else:
        i = len(ids) - 1
    return AttentionReport(model.name, toks, ids, i, model.attention(ids), notes)
