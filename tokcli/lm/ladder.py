"""`tokcli score --ladder`: the same continuations under a unigram, a bigram, the best n-gram and the
Transformer, on the same tokens, so the history from n-grams to Transformers shows on one prompt.

The n-grams are the Kneser-Ney tables the model ships (tokcli.lm.ngram_tables), counted on the model's
own training text with its tokenizer. Each continuation is scored on exactly the tokens the Transformer
scored (ScoreReport: joint or apart at the boundary), each token given the tokens before it: the
unigram sees none, the bigram the one before, the N-gram the N - 1 before; the Transformer sees its whole
window. Every column is also normalised among the given continuations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokcli.errors import UsageError
from tokcli.model.model import Model
from tokcli.model.score import LN2, ScoreReport, normalize, score_continuations

from .ngram_tables import NgramTables, load, tables_path


@dataclass(frozen=True)
class Column:
    name: str  # "unigram", "bigram", "4-gram", "Transformer"
    context: str  # what each token is predicted from, in words
    logprobs: list[float]  # one per continuation, natural log
    token_logprobs: list[list[float]]  # per continuation, per token
    normalized: list[float]

    def to_dict(self, texts: list[str]) -> dict[str, Any]:
        return {
            "name": self.name,
            "context": self.context,
            "continuations": [
                {
                    "text": t,
                    "prob": math.exp(lp),
                    "logprob": lp,
                    "bits": -lp / LN2,
                    "normalized": n,
                    "token_logprobs": tl,
                }  # fmt: skip
                for t, lp, n, tl in zip(texts, self.logprobs, self.normalized, self.token_logprobs, strict=True)
            ],
        }


def model_tables(model: Model) -> NgramTables:
    """The n-gram tables of the model's directory. Raises UsageError when it has none."""
    path = tables_path(model.path)
    if path is None:
        raise UsageError(
            f"the {model.name} model has no n-gram tables ({'in memory' if model.path is None else model.path}"
            f" lacks ngrams.npz): build them with `python scripts/build_ngrams.py MODEL_DIR TRAINING_TEXTS`"
        )
    return load(path, model.vocab_size)


def ngram_name(order: int) -> str:
    return {1: "unigram", 2: "bigram"}.get(order, f"{order}-gram")


def ladder(report: ScoreReport, tables: NgramTables, transformer_name: str = "Transformer") -> list[Column]:
    """One column per n-gram order the tables hold (1, 2, best), then the Transformer's from `report`."""
    cols = []
    for order in tables.orders:
        per_tok = []
        for c in report.continuations:
            ids = np.asarray(c.split.prompt_ids + c.split.cont_ids, dtype=np.int64)
            per_tok.append([float(x) for x in tables.lm.logprobs(ids, order, start=len(c.split.prompt_ids))])
        lps = [float(sum(t)) for t in per_tok]
        ctx = "no context" if order == 1 else f"{order - 1} token{'s' if order > 2 else ''} before"
        cols.append(Column(ngram_name(order), ctx, lps, per_tok, normalize(lps)))
    lps = [c.logprob for c in report.continuations]
    cols.append(
        Column(transformer_name, f"up to {report.context} tokens before", lps,
               [[t.logprob for t in c.tokens] for c in report.continuations], normalize(lps))
    )  # fmt: skip
    return cols


def ladder_doc(report: ScoreReport, cols: list[Column], tables: NgramTables) -> dict[str, Any]:
    texts = [c.text for c in report.continuations]
    return {
        **report.to_dict(tokens=True),
        "ngrams": {
            "best_order": tables.best,
            "train_tokens": tables.meta.get("train_tokens"),
            "min_count": tables.meta.get("min_count"),
            "held_out_bits_per_char": {
                k: v.get("bits_per_char_pruned") for k, v in tables.meta.get("held_out", {}).items()
            },
        },
        "ladder": [col.to_dict(texts) for col in cols],
    }


def score_document(
    model: Model, prompt: str, continuations: list[str], *, with_ladder: bool
) -> tuple[dict[str, Any], list[str]]:
    """`tokcli score`'s JSON document (with the ladder when asked) and its notes for the user. A model
    without n-gram tables is refused before any scoring."""
    tables = model_tables(model) if with_ladder else None
    rep = score_continuations(model, prompt, continuations)
    if tables is None:
        return rep.to_dict(tokens=True), rep.notes
    return ladder_doc(rep, ladder(rep, tables), tables), rep.notes
