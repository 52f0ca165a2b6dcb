"""The bundled Transformer: lm train, lm eval, generate, next, attention."""

from __future__ import annotations

from typing import Annotated

import typer

from . import app
from .common import Errors, ErrorsOpt, Format, FormatOpt, QuietOpt

lm_app = typer.Typer(help="Train and evaluate the small Transformer language models.", no_args_is_help=True)
app.add_typer(lm_app, name="lm")


@lm_app.command("train")
def lm_train(
    inputs: Annotated[list[str], typer.Argument(help="Training text: files, directories or - for stdin.")],
    tokenizer: Annotated[
        str,
        typer.Option(
            "-t", "--tokenizer", help="The model's tokenizer (name or path); it is copied into the model directory."
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "-o", "--output", help="Model directory to write (config.json, model.safetensors, tokenizer.json)."
        ),
    ],
    layers: Annotated[int, typer.Option("--layers", help="Transformer blocks.")] = 4,
    heads: Annotated[int, typer.Option("--heads", help="Attention heads per block.")] = 6,
    width: Annotated[int, typer.Option("--width", help="Embedding width (a multiple of --heads).")] = 192,
    context: Annotated[int, typer.Option("--context", help="Context length in tokens.")] = 128,
    dropout: Annotated[float, typer.Option("--dropout")] = 0.1,
    steps: Annotated[int, typer.Option("--steps", help="Optimizer steps in all.")] = 2000,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 32,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 2e-3,
    min_lr: Annotated[float, typer.Option("--min-lr", help="Learning rate at the end of the cosine decay.")] = 2e-4,
    weight_decay: Annotated[
        float, typer.Option("--weight-decay", help="AdamW weight decay on the weight matrices.")
    ] = 0.1,
    warmup: Annotated[int, typer.Option("--warmup", help="Linear warm-up steps.")] = 100,
    schedule: Annotated[str, typer.Option("--schedule", help="cosine or constant.")] = "cosine",
    val_fraction: Annotated[
        float, typer.Option("--val-fraction", help="The last part of each input held out for validation.")
    ] = 0.1,
    eval_every: Annotated[int, typer.Option("--eval-every")] = 250,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", help="Also exports the model directory.")
    ] = 250,
    seed: Annotated[int, typer.Option("--seed")] = 1337,
    init_from: Annotated[
        str | None,
        typer.Option(
            "--init-from",
            help="Start from a model (name or directory): its tensors of the same shape, all but the token embedding when the tokenizer differs.",
        ),
    ] = None,
    threads: Annotated[int, typer.Option("--threads", help="torch threads (0: all cores).")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUTPUT.ckpt/.")] = False,
    errors: ErrorsOpt = Errors.strict,
    quiet: QuietOpt = False,
) -> None:
    """Train a Transformer language model with torch (pip install 'tokcli[train]') and export it."""
    from .. import load
    from .. import output as o
    from ..lm.trainer import TrainOptions, require_torch, train_lm
    from ..textio import expand_inputs, read_text

    require_torch()
    tok = load(tokenizer)
    texts = [read_text(s, errors=errors.value) for s in expand_inputs(inputs)]
    opts = TrainOptions(
        n_layer=layers, n_head=heads, n_embd=width, block_size=context, dropout=dropout, steps=steps,
        batch_size=batch_size, lr=lr, min_lr=min_lr, warmup=warmup, schedule=schedule, weight_decay=weight_decay,
        val_fraction=val_fraction, eval_every=eval_every, checkpoint_every=checkpoint_every, seed=seed,
        threads=threads, init_from=init_from,
    )  # fmt: skip

    def progress(r) -> None:
        if quiet:
            return
        if r.val_loss is not None and r.history and r.history[-1]["step"] == r.step:
            o.info(f"step {r.step}/{steps}  train loss {r.train_loss:.4f}  val loss {r.val_loss:.4f}  "
                   f"val {r.val_bpc:.3f} bits/char  {r.elapsed_s:.0f}s")  # fmt: skip
        elif r.step % 50 == 0:
            o.info(f"step {r.step}/{steps}  train loss {r.train_loss:.4f}  {r.elapsed_s:.0f}s")

    report = train_lm(texts, tok, output, opts, resume=resume, on_progress=progress, source=" ".join(inputs))
    o.info(f"model written to {output} (step {report.step}, val {report.val_bpc:.3f} bits/char)")


# -- inference: generate, next, attention (numpy only; no torch) ----------------------------------------
ModelOpt = Annotated[
    str, typer.Option("-m", "--model", help="A bundled model (char, word, bpe, ja-char) or a model directory.")
]
TemperatureOpt = Annotated[
    float, typer.Option("--temperature", help="Divide the logits by this; 0 = greedy (always the most likely token).")
]
TopKOpt = Annotated[int, typer.Option("--top-k", help="Keep only the k most likely tokens; 0 = off.")]
TopPOpt = Annotated[
    float,
    typer.Option("--top-p", help="Keep the most likely tokens until their probability reaches p, in (0, 1]; 1 = off."),
]
MinPOpt = Annotated[
    float, typer.Option("--min-p", help="Drop tokens less likely than min-p x the most likely one, in [0, 1]; 0 = off.")
]
RepPenaltyOpt = Annotated[
    float,
    typer.Option(
        "--repetition-penalty", help="> 1 makes tokens already in the context less likely (CTRL's rule); 1 = off."
    ),
]


def _prompt(prompt: str | None, *, required: bool) -> str:
    """The prompt argument, or stdin for '-' (and when none is given and stdin is piped)."""
    import sys

    from ..errors import UsageError
    from ..textio import read_text

    if prompt == "-" or (prompt is None and sys.stdin is not None and not sys.stdin.isatty()):
        return read_text("-")
    if prompt is None:
        if required:
            raise UsageError("no prompt: give some text, or - to read stdin")
        return ""
    return prompt


def _load(spec: str, text: str):
    """The model, with a warning naming the prompt words it does not know."""
    from .. import output as o
    from ..model.model import load_model

    m = load_model(spec)
    unknown = m.unknown_words(text)
    if unknown:
        names = ", ".join(dict.fromkeys(repr(w) for w in unknown))
        o.warn(f"the {spec} model does not know {names}: each becomes {m.tokenizer.id_to_token(m.tokenizer.unk_id)}")
    return m


@app.command("generate")
def generate_cmd(
    prompt: Annotated[
        str | None,
        typer.Argument(
            help="Text to continue, or - for stdin (the default when stdin is piped). "
            "With none, on a terminal, generation starts from a newline.",
            show_default=False,
        ),
    ] = None,
    model: ModelOpt = "char",
    max_tokens: Annotated[int, typer.Option("--max-tokens", "-n", help="New tokens per sample at most.")] = 200,
    temperature: TemperatureOpt = 0.8,
    top_k: TopKOpt = 0,
    top_p: TopPOpt = 1.0,
    min_p: MinPOpt = 0.0,
    repetition_penalty: RepPenaltyOpt = 1.0,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Same seed, model and options: same text on every run (--verbose shows the random default).",
        ),
    ] = None,
    num_samples: Annotated[int, typer.Option("--num-samples", help="Independent continuations of the prompt.")] = 1,
    stop: Annotated[
        list[str] | None,
        typer.Option(
            "--stop", metavar="STRING", help="Stop a sample where this string appears (not printed); repeatable."
        ),
    ] = None,
    echo: Annotated[bool, typer.Option("--echo", help="Print the prompt before the continuation.")] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Report prompt and generated tokens, context used and tokens/s on stderr."
        ),
    ] = False,
    fmt: FormatOpt = Format.text,
) -> None:
    """Continue a prompt with a bundled Transformer, streaming tokens as they are sampled.

    Each step the model gives a distribution over the next token; it is filtered in this order, as HF
    transformers does: repetition penalty, temperature, top-k, top-p, min-p; one token is drawn, appended,
    and the window slides on. The model sees at most its context length (128 tokens for the bundled ones):
    a longer prompt is cropped, and when the window is full it jumps forward keeping its last 3/4.

    Example: tokcli generate "ROMEO:" -m char --max-tokens 300 --temperature 0.8 --seed 1
    """
    from .. import output as o
    from ..model.generate import GenerateOptions, generate, prompt_ids
    from ..model.sampling import SamplingOptions
    from ..output import lm as ol

    sampling = SamplingOptions(
        temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p, repetition_penalty=repetition_penalty
    )
    opts = GenerateOptions(
        max_tokens=max_tokens, sampling=sampling, seed=seed, num_samples=num_samples, stop=tuple(stop or ())
    )
    text = _prompt(prompt, required=False)
    m = _load(model, text)
    ids, notes = prompt_ids(m, text)
    for n in notes:
        o.info(f"note: {n}")
    samples = []
    for g in generate(m, ids, opts):
        if fmt == Format.text:
            ol.sample_header(g.stats.sample, num_samples)
            if echo:
                ol.stream(text)
            for piece in g:
                ol.stream(piece)
            if not g.text.endswith("\n"):
                ol.stream("\n")
        else:
            for _ in g:
                pass
        samples.append({"text": g.text, "ids": g.ids, **g.stats.to_dict()})
        if verbose:
            ol.generation_stats(g.stats.to_dict(), g.stats.seed)
    if fmt == Format.json:
        o.emit_json(
            {
                "model": m.describe(),
                "prompt": text,
                "prompt_ids": ids,
                "seed": g.stats.seed,
                "sampling": sampling.to_dict(),
                "max_tokens": max_tokens,
                "samples": samples,
            }
        )


@app.command("next")
def next_cmd(
    prompt: Annotated[str, typer.Argument(help="Text whose next token to predict, or - for stdin.")],
    model: ModelOpt = "char",
    top: Annotated[int, typer.Option("--top", "-n", help="Show this many of the most likely tokens.")] = 10,
    temperature: TemperatureOpt = 1.0,
    top_k: TopKOpt = 0,
    top_p: TopPOpt = 1.0,
    min_p: MinPOpt = 0.0,
    repetition_penalty: RepPenaltyOpt = 1.0,
    fmt: FormatOpt = Format.text,
) -> None:
    """Show the distribution of the next token and which tokens survive the sampling settings.

    Columns: prob is the model's probability (temperature 1), cum the running total, kept whether the token
    survives repetition penalty, temperature, top-k, top-p and min-p (applied in that order, as HF
    transformers does), and p(sample) the probability a draw with these settings gives it.

    Example: tokcli next "To be or not to" -m word --top-p 0.9
    """
    from .. import output as o
    from ..errors import UsageError
    from ..model.sampling import ORDER, SamplingOptions
    from ..output import lm as ol

    if top < 1:
        raise UsageError(f"--top {top}: give a number >= 1")
    sampling = SamplingOptions(
        temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p, repetition_penalty=repetition_penalty
    )
    text = _prompt(prompt, required=True)
    m = _load(model, text)
    ids = m.encode(text)
    if len(ids) > m.block_size:
        o.info(f"note: the prompt is {len(ids)} tokens; the model sees only the last {m.block_size}")
    d = m.next_distribution(ids, sampling)
    doc = {
        "model": m.name,
        "prompt": text,
        "context_tokens": len(d.window),
        "vocab_size": m.vocab_size,
        "settings": sampling.to_dict(),
        "order": list(ORDER),
        "kept_count": d.kept_count,
        "kept_mass": d.kept_mass,
        "tokens": d.top(top),
    }
    if fmt == Format.json:
        o.emit_json(doc)
    else:
        ol.next_tokens(doc)


@app.command("attention")
def attention_cmd(
    text: Annotated[str, typer.Argument(help="Text to run through the model, or - for stdin.")],
    model: ModelOpt = "word",
    token: Annotated[
        str | None,
        typer.Option("--token", help="The token to look at (its first occurrence; spaces around it ignored)."),
    ] = None,
    index: Annotated[
        int | None, typer.Option("--index", help="The token to look at by position (0-based; -1 = the last).")
    ] = None,
    html: Annotated[
        str | None,
        typer.Option("--html", help="Also write a self-contained page (no network) with every layer, head and token."),
    ] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Show where one token looks: its attention weights over the earlier tokens, per layer and head.

    A causal (decoder-only) model attends only to earlier tokens and itself, unlike the encoder in the
    classic "The animal didn't cross the street because it was too tired" figure.

    Example: tokcli attention "The animal didn't cross the street because it was too tired" --token it
    """
    from .. import output as o
    from ..model.model import CAUSAL_NOTE, attention_report
    from ..output import lm as ol

    body = _prompt(text, required=True)
    m = _load(model, body)
    rep = attention_report(m, body, token=token, index=index)
    for n in rep.notes:
        o.info(f"note: {n}")
    if html:
        from ..model.attention_html import write_html

        write_html(rep, html)
        o.info(f"wrote {html}")
    if fmt == Format.json:
        o.emit_json(rep.to_dict())
    else:
        ol.attention(rep.to_dict())
        o.info(f"note: {CAUSAL_NOTE}")


# -- lm eval (tokcli/lm/evaluate.py) --------------------------------------------------------------------
@lm_app.command("eval")
def lm_eval(
    inputs: Annotated[list[str], typer.Argument(help="Text to evaluate: files, directories or - for stdin.")],
    model: Annotated[
        str, typer.Option("-m", "--model", help="A bundled model (char, word, bpe, ja-char) or a model directory.")
    ] = "char",
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="all, val or train. all: the whole inputs. val: the last --val-fraction of each input (what `lm train` held out). train: the first part.",
        ),
    ] = "all",
    val_fraction: Annotated[
        float, typer.Option("--val-fraction", help="The held-out part of each input for --split.")
    ] = 0.1,
    stride: Annotated[
        int | None,
        typer.Option(
            "--stride",
            help="Tokens between window starts, 1 to the context; every token after the first is scored once. Default: half the context.",
            show_default=False,
        ),
    ] = None,
    baseline: Annotated[
        str,
        typer.Option(
            "--baseline",
            help="none, or ngram: add Kneser-Ney n-grams of orders 1 to --max-order over the model's tokens.",
        ),
    ] = "none",
    train_text: Annotated[
        list[str] | None,
        typer.Option(
            "--train-text",
            help="Text to train the n-grams on (the model's training split), used whole; repeat for several. Implies --baseline ngram. Default with --split val: the first part of the inputs.",
            show_default=False,
        ),
    ] = None,
    max_order: Annotated[int, typer.Option("--max-order", help="Highest n-gram order, 1 to 6.")] = 6,
    fmt: FormatOpt = Format.text,
    errors: ErrorsOpt = Errors.strict,
    quiet: QuietOpt = False,
) -> None:
    """Score a text with a model: nats/token, bits/char, bits/byte, perplexity, tokens/s.

    A deterministic pass with sliding windows of the model's context (not random batches). With --baseline
    ngram, interpolated Kneser-Ney n-grams over the same tokens are scored in the same units, e.g.
    `tokcli lm eval -m char corpus.txt --split val --baseline ngram`: evaluate on the last 10% and train
    the n-grams on the first 90%, as `lm train` split it.
    """  # fmt: skip
    from .. import output as o
    from ..errors import UsageError
    from ..lm.evaluate import evaluate, split_texts
    from ..model.model import load_model
    from ..output.lmeval import eval_result
    from ..textio import expand_inputs, read_text

    if baseline not in ("none", "ngram"):
        raise UsageError(f"--baseline {baseline!r}: choose none or ngram")
    texts = [read_text(s, errors=errors.value) for s in expand_inputs(inputs)]
    text, rest = split_texts(texts, split, val_fraction)
    ngram_train = rest
    if train_text:
        ngram_train = "".join(read_text(s, errors=errors.value) for s in expand_inputs(train_text))
    elif baseline == "ngram" and rest is None:
        raise UsageError("--baseline ngram needs --train-text FILE (the model's training split), "
                         "or --split val to train the n-grams on the first part of the inputs")  # fmt: skip
    if baseline == "none" and not train_text:
        ngram_train = None
    m = load_model(model)
    with o.Progress(f"evaluating {model}", total=100, quiet=quiet) as bar:
        r = evaluate(m.forward, text, m.tokenizer, m.block_size, stride=stride, ngram_train=ngram_train,
                     max_order=max_order, model_name=model, on_window=lambda i, n: bar.update(i / n * 100, f"{i}/{n}"))  # fmt: skip
    eval_result(r, as_json=fmt == Format.json, inputs=inputs, split=split)
