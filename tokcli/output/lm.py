"""What `generate`, `next` and `attention` show: streamed text, the next-token table, attention strips."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from . import color_enabled, console, emit_json, info, is_tty, table

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from tokcli.lm.trainer import TrainReport
    from tokcli.model.attention import AttentionReport
    from tokcli.model.generate import GenerateOptions, Generation, TokenStep, WindowSlide
    from tokcli.model.model import Model

SHADES = " ░▒▓█"

CAUSAL_NOTE = (
    "a causal (decoder-only) model attends only to earlier tokens and itself, unlike the encoder in the classic "
    "\"The animal didn't cross the street because it was too tired\" figure: in that sentence its 'it' could not "
    "look at 'tired', which comes after it"
)


def show_token(s: str) -> str:
    """A token made visible: spaces as ␣, newlines and tabs escaped."""
    return s.replace(" ", "␣").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") or "∅"


def stream(piece: str) -> None:
    """A piece of generated text on stdout, flushed at once on a terminal so it appears as it arrives."""
    sys.stdout.write(piece)
    if is_tty(sys.stdout):
        sys.stdout.flush()


def sample_header(i: int, n: int) -> None:
    if n > 1:
        sys.stdout.flush()
        info(f"--- sample {i + 1}/{n} ---")


def generation_stats(stats: dict[str, Any], seed: int) -> None:
    """The --verbose report, on stderr (after the text so far, when both go to one terminal or file)."""
    sys.stdout.flush()
    info(
        f"prompt {stats['prompt_tokens']} tokens, generated {stats['generated_tokens']} tokens "
        f"(stopped by {stats['stopped_by'].replace('_', '-')}), context used {stats['context_tokens']} tokens "
        f"= {stats['context_chars']} characters, {stats['tokens_per_s']:.1f} tokens/s, seed {seed}"
    )


def train_progress(r: TrainReport, steps: int) -> None:
    """One line per evaluation (and every 50 steps) of `lm train`, on stderr."""
    if r.val_loss is not None and r.history and r.history[-1]["step"] == r.step:
        info(f"step {r.step}/{steps}  train loss {r.train_loss:.4f}  val loss {r.val_loss:.4f}  "
             f"val {r.val_bpc:.3f} bits/char  {r.elapsed_s:.0f}s")  # fmt: skip
    elif r.step % 50 == 0:
        info(f"step {r.step}/{steps}  train loss {r.train_loss:.4f}  {r.elapsed_s:.0f}s")


def generation(model: Model, prompt: str, prompt_ids: list[int], runs: Iterable[Generation], options: GenerateOptions, *,
               echo: bool,
               verbose: bool, as_json: bool) -> None:  # fmt: skip
    """Samples as they are generated (text streamed on stdout), or one JSON document at the end."""
    samples = []
    seed = None
    for g in runs:
        if as_json:
            for _ in g:
                pass
        else:
            sample_header(g.stats.sample, options.num_samples)
            if echo:
                stream(prompt)
            for piece in g:
                stream(piece)
            if not g.text.endswith("\n"):
                stream("\n")
            if options.trace:
                trace(g.trace, model.block_size)
        sample_doc = {"text": g.text, "ids": g.ids, **g.stats.to_dict()}
        if options.trace:
            sample_doc["trace"] = [e.to_dict() for e in g.trace]
        samples.append(sample_doc)
        seed = g.stats.seed
        if verbose:
            generation_stats(g.stats.to_dict(), g.stats.seed)
    if as_json:
        emit_json({
            "schema": "tokcli-generate/1", "model": model.describe(), "prompt": prompt, "prompt_ids": prompt_ids, "seed": seed,
            "sampling": options.sampling.to_dict(), "max_tokens": options.max_tokens,
            "masked": [model.tokenizer.id_to_token(i) for i in model.banned_ids], "samples": samples,
        })  # fmt: skip


TRACE_NOTE = (
    "prob, rank and entropy (in bits): the model's distribution at temperature 1; p(sample): the draw's; "
    "kept: tokens that survived the sampling filters"
)


def trace(events: Sequence[TokenStep | WindowSlide], context: int) -> None:
    """The --trace of one sample on stderr: a line per token, and one per window move."""
    from tokcli.model.generate import WindowSlide

    sys.stdout.flush()
    info(f"trace (context {context} tokens): {TRACE_NOTE}")
    info(
        f"{'step':>5}  {'token':<14} {'prob':>7} {'p(sample)':>9} {'rank':>5} {'entropy':>8} {'kept':>6} {'context':>7}"
    )
    for e in events:
        if isinstance(e, WindowSlide):
            what = "the prompt is longer than the context" if e.kind == "crop" else "the window is full"
            info(f"{'':>5}  -- {what}: dropped {e.dropped} tokens, kept the last {e.kept}; step {e.before_step} sees "
                 "the new window --")  # fmt: skip
            continue
        tok = show_token(e.token)
        tok = tok if len(tok) <= 14 else tok[:13] + "…"
        info(f"{e.step:>5}  {tok:<14} {e.prob:>7.4f} {e.p_sample:>9.4f} {e.rank:>5} {e.entropy_bits:>8.3f} "
             f"{e.kept:>6} {e.context:>7}")  # fmt: skip


def attention_doc(report: AttentionReport) -> dict[str, Any]:
    """The JSON document of `attention`: the report with the causal-model note."""
    return {"schema": "tokcli-attention/1", **report.to_dict(), "note": CAUSAL_NOTE}


def next_tokens(doc: dict[str, Any]) -> None:
    """The next-token table: rank, token, probability, cumulative probability, whether it survives."""
    s = doc["settings"]
    rows = [
        [
            r["rank"],
            show_token(r["token"]),
            r["id"],
            f"{r['prob']:.4f}",
            f"{r['cum_prob']:.4f}",
            "yes" if r["kept"] else "no",
            f"{r['sample_prob']:.4f}",
        ]
        for r in doc["tokens"]
    ]
    title = (
        f"next token after {doc['context_tokens']} tokens: temperature {s['temperature']:g}, top-k {s['top_k']}, "
        f"top-p {s['top_p']:g}, min-p {s['min_p']:g}, repetition penalty {s['repetition_penalty']:g}"
    )
    cols = ["rank", "token", "id", "prob", "cum", "kept", "p(sample)"]
    if is_tty(sys.stdout):
        from rich.table import Table

        t = Table(title=title, title_justify="left")
        for i, c in enumerate(cols):
            t.add_column(c, justify="right" if i in (0, 2, 3, 4, 6) else "left")
        for r, row in zip(doc["tokens"], rows, strict=True):
            t.add_row(*[str(x) for x in row], style=None if r["kept"] else "dim")
        console().print(t)
    else:
        table(None, cols, rows)
    info(
        f"{doc['kept_count']} of {doc['vocab_size']} tokens survive the filters, carrying "
        f"{doc['kept_mass']:.1%} of the model's probability (order: {' -> '.join(doc['order'])}); "
        "prob is at temperature 1, p(sample) is what a draw uses"
        + (f"; {', '.join(doc['masked'])} is never sampled" if doc.get("masked") else "")
    )


def attention(doc: dict[str, Any]) -> None:
    """Attention of one token over the tokens up to it: a shaded strip per layer and head on a terminal,
    tab-separated weights (one row per layer and head) when piped."""
    toks = [show_token(t) for t in doc["tokens"][: doc["index"] + 1]]
    if not is_tty(sys.stdout):
        table(
            None,
            ["layer", "head"] + toks,
            [[L["layer"], h, *[f"{w:.4f}" for w in ws]] for L in doc["layers"] for h, ws in enumerate(L["heads"])],
        )
        return
    from rich.text import Text

    c = console()
    c.print(
        f"attention of token {doc['index']} {show_token(doc['token'])!r} over the tokens up to it "
        "(shaded relative to each row's largest weight)"
    )
    colour = color_enabled(sys.stdout)
    label = max(len(f"L{L['layer']} H{len(L['heads']) - 1}") for L in doc["layers"]) + 2
    if not colour:
        c.print(" " * label + " ".join(toks), overflow="fold")
    for L in doc["layers"]:
        for h, ws in enumerate(L["heads"]):
            line = Text(f"L{L['layer']} H{h}".ljust(label))
            top = max(ws) or 1.0
            for tok, w in zip(toks, ws, strict=True):
                r = w / top  # 0..1 within this row
                if colour:
                    v = int(255 - 215 * r)
                    line.append(f" {tok} ", style=f"black on rgb(255,{v},{v})" if r > 0.05 else "")
                else:
                    line.append(SHADES[min(len(SHADES) - 1, int(r * len(SHADES)))] * len(tok) + " ")
            best = max(range(len(ws)), key=ws.__getitem__)
            line.append(f"  max {ws[best]:.2f} on {toks[best]}", style="dim")
            c.print(line, overflow="fold")
    if not colour:
        c.print(f"shades {SHADES!r}: from 0 to the row's largest weight")
