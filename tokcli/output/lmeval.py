"""Rendering for `tokcli lm eval`: one table with the n-gram baselines and the Transformer side by side."""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING

from . import emit_json, info, is_tty, table, warn

if TYPE_CHECKING:
    from tokcli.lm.evaluate import EvalResult
    from tokcli.lm.ngram import NgramResult


def eval_result(r: EvalResult, *, fmt: str, inputs: list[str], split: str) -> None:
    """text (a table), json (the whole result), csv / tsv / markdown (the table's rows, full precision)."""
    if fmt == "json":
        emit_json({"schema": "tokcli-lm-eval/1", "inputs": inputs, "split": split, **r.to_dict()})
        return
    if fmt in ("csv", "tsv", "markdown"):
        from .tables import Col, render

        keys = ["model", "ctx", "nats_per_token", "bits_per_char", "bits_per_byte", "perplexity", "tokens_per_s"]
        records = [dict(zip(keys, [f"{b.order}-gram", b.order - 1, *_values(b), _per_s(b.tokens, b.seconds)],
                            strict=True)) for b in r.baselines]  # fmt: skip
        records.append(dict(zip(keys, ["transformer", round(r.avg_context_tokens, 2), *_values(r),
                                       _per_s(r.scored_tokens, r.seconds)], strict=True)))  # fmt: skip
        columns = [Col(k, k, (lambda v: "" if v is None else str(v)), right=k != "model") for k in keys]
        sys.stdout.write(render(records, columns, fmt) or "")
        return
    tty = is_tty(sys.stdout)
    t = r.text
    if t.unk_tokens:
        warn(f"{t.unk_tokens:,} of {t.tokens:,} tokens are the unknown token; the scores are optimistic "
             "(predicting <unk> is easy)")  # fmt: skip
    rows = []
    for b in r.baselines:
        rows.append([f"{b.order}-gram", str(b.order - 1), *_units(b, tty), _rate(b.tokens, b.seconds, tty)])
    ctx = f"{r.avg_context_tokens:.1f}" if tty else f"{r.avg_context_tokens:.2f}"
    rows.append(["transformer", ctx, *_units(r, tty), _rate(r.scored_tokens, r.seconds, tty)])
    cols = ["model", "ctx", "nats/tok", "bits/char", "bits/byte", "ppl", "tok/s"]
    title = (f"model {r.model}: {r.scored_tokens:,} tokens scored ({t.chars:,} chars, {t.bytes:,} bytes), "
             f"tokenizer {r.tokenizer} (V={r.vocab_size}), windows of {r.block_size}, stride {r.stride}; "
             "n-grams: interpolated modified Kneser-Ney; ctx: tokens of context")  # fmt: skip
    if not tty:
        info(title)
    table(title if tty else None, cols, rows, right=set(range(1, len(cols))))
    info(f"transformer: {r.windows:,} windows, average context {r.avg_context_tokens:.1f} tokens "
         f"({r.avg_context_chars:.1f} characters), {r.tokens_per_second:,.0f} tokens/s")  # fmt: skip
    if r.ngram_train_tokens is not None:
        info(f"n-grams trained on {r.ngram_train_tokens:,} tokens")


def _values(x: EvalResult | NgramResult) -> list[float | None]:
    p = x.perplexity
    return [x.nats_per_token, x.bits_per_char, x.bits_per_byte, p if math.isfinite(p) else None]


def _per_s(tokens: int, seconds: float) -> int | None:
    return round(tokens / seconds) if seconds > 0 else None


def _units(x: EvalResult | NgramResult, tty: bool) -> list[str]:
    p = x.perplexity
    ppl = f"{p:.2f}" if math.isfinite(p) and p < 1e6 else f"{p:.3g}"
    if not tty:
        return [f"{x.nats_per_token:.6f}", f"{x.bits_per_char:.6f}", f"{x.bits_per_byte:.6f}", f"{p:.6g}"]
    return [f"{x.nats_per_token:.4f}", f"{x.bits_per_char:.4f}", f"{x.bits_per_byte:.4f}", ppl]


def _rate(tokens: int, seconds: float, tty: bool) -> str:
    if seconds <= 0:
        return "-"
    rate = tokens / seconds
    if not tty:
        return f"{rate:.0f}"
    return f"{rate / 1e6:.1f}M" if rate >= 1e6 else f"{rate / 1e3:.1f}K" if rate >= 1e4 else f"{rate:,.0f}"
