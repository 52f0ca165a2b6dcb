"""What `score` shows: the continuations' table, the per-token breakdown, the n-gram ladder."""

from __future__ import annotations

import math
import sys
from typing import Any

from . import console, info, is_tty, out
from .lm import show_token

NORMALIZED_NOTE = "share: the probability normalised among the given continuations (they sum to 100%)"


def _table(title: str | None, cols: list[str], rows: list[list[Any]], right: set[int]) -> None:
    if is_tty(sys.stdout):
        from rich.table import Table

        t = Table(title=title, title_justify="left")
        for i, c in enumerate(cols):
            t.add_column(c, justify="right" if i in right else "left")
        for r in rows:
            t.add_row(*[str(x) for x in r])
        console().print(t)
    else:
        out("\t".join(cols))
        for r in rows:
            out("\t".join(str(x) for x in r))


def _prob(p: float) -> str:
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.2e}"


def scores(doc: dict[str, Any], *, tokens: bool) -> None:
    """The seed's table: each continuation's probability, log-probability and share (with --ladder, one column
    per model); --tokens adds a row per token (after a blank line when piped)."""
    if "ladder" in doc:
        _ladder(doc)
    else:
        conts = doc["continuations"]
        rows = [[show_token(c["text"]), _prob(c["prob"]), f"{c['logprob']:.3f}", f"{c['normalized']:.1%}",
                 c["n_tokens"]] for c in conts]  # fmt: skip
        _table(f"continuations of a {doc['prompt_tokens']}-token prompt ({doc['model']})",
               ["continuation", "prob", "logprob", "share", "tokens"], rows, {1, 2, 3, 4})  # fmt: skip
    if tokens:
        if not is_tty(sys.stdout):
            out()
        _tokens(doc)
    if "ladder" in doc:
        ctx = "; ".join(f"{c['name']}: {c['context']}" for c in doc["ladder"])
        info(f"each token predicted from: {ctx}. The n-grams are Kneser-Ney tables counted on the model's "
             f"training text ({doc['ngrams']['train_tokens']:,} tokens); {NORMALIZED_NOTE}")  # fmt: skip
    else:
        info(f"logprob in nats (natural log); {NORMALIZED_NOTE}")


def _tokens(doc: dict[str, Any]) -> None:
    conts = doc["continuations"]
    if "ladder" in doc:
        cols = doc["ladder"]
        rows = [[show_token(c["text"]), i + 1, show_token(t["token"]), t["id"]]
                + [_prob(math.exp(col["continuations"][j]["token_logprobs"][i])) for col in cols]
                for j, c in enumerate(conts) for i, t in enumerate(c["tokens"])]  # fmt: skip
        _table("per token: probability", ["continuation", "#", "token", "id"] + [c["name"] for c in cols], rows,
               set(range(1, 4 + len(cols))) - {2})  # fmt: skip
        return
    rows = [[show_token(c["text"]), i + 1, show_token(t["token"]), t["id"], _prob(t["prob"]), f"{t['logprob']:.3f}",
             t["rank"], t["context"]] for c in conts for i, t in enumerate(c["tokens"])]  # fmt: skip
    _table("per token", ["continuation", "#", "token", "id", "prob", "logprob", "rank", "context"], rows,
           {1, 3, 4, 5, 6, 7})  # fmt: skip


def _ladder(doc: dict[str, Any]) -> None:
    """One column per model: each continuation's probability and, in brackets, its share among them."""
    cols = doc["ladder"]
    texts = [c["text"] for c in doc["continuations"]]
    rows = [[show_token(t)] + [f"{_prob(col['continuations'][i]['prob'])} ({col['continuations'][i]['normalized']:.1%})"
                               for col in cols] for i, t in enumerate(texts)]  # fmt: skip
    _table(f"continuations of a {doc['prompt_tokens']}-token prompt ({doc['model']}): probability (share)",
           ["continuation"] + [c["name"] for c in cols], rows, set(range(1, len(cols) + 1)))  # fmt: skip
