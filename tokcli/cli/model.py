"""generate, next, attention: what the bundled Transformer does with tokens (numpy only; no torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tokcli.model import DEFAULT_LM
from tokcli.model.limits import MAX_SAMPLES, MAX_TOKENS, MAX_TOTAL_TOKENS

from .app import app
from .common import Format, FormatOpt, LMOpt
from .groups import sampling_options
from .inputs import arg_text, prompt_text

if TYPE_CHECKING:
    from tokcli.model.attention import AttentionReport
    from tokcli.model.model import Model
    from tokcli.model.sampling import SamplingOptions
    from tokcli.model.words import WordAttention


def _load(spec: str, text: str) -> Model:
    """The model, with a warning naming the prompt words it does not know."""
    from tokcli import output as o
    from tokcli.model.model import load_model

    m = load_model(spec)
    unknown = m.unknown_words(text)
    if unknown and m.tokenizer.unk_id is not None:
        names = ", ".join(dict.fromkeys(repr(w) for w in unknown))
        o.warn(f"the {spec} model does not know {names}: each becomes {m.tokenizer.id_to_token(m.tokenizer.unk_id)}")
    return m


@app.command("generate")
@sampling_options(temperature=0.8)
def generate_cmd(
    prompt: Annotated[
        str | None,
        typer.Argument(
            help="Text to continue, or - for stdin (the default when stdin is piped). "
            "With none, on a terminal, generation starts from a newline.",
            show_default=False,
        ),
    ] = None,
    model: LMOpt = DEFAULT_LM,
    max_tokens: Annotated[
        int, typer.Option("--max-tokens", "-n", help="New tokens per sample at most.", min=0, max=MAX_TOKENS)
    ] = 200,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Same seed, model and options: same text on every run (--verbose shows the random default).",
        ),
    ] = None,
    num_samples: Annotated[
        int,
        typer.Option(
            "--num-samples",
            help=f"Independent continuations of the prompt (at most {MAX_TOTAL_TOKENS:,} tokens in all).",
            min=1,
            max=MAX_SAMPLES,
        ),
    ] = 1,
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
    trace: Annotated[
        bool,
        typer.Option(
            "--trace",
            help="Per generated token: its probability, rank, the entropy of the distribution (bits) and how "
            "many tokens survived the filters; a line each time the window slides. On stderr (in the JSON "
            "document with --format json).",
        ),
    ] = False,
    format: FormatOpt = Format.text,
    *,
    sampling: SamplingOptions,
) -> None:
    """Continue a prompt with a bundled Transformer, streaming tokens as they are sampled.

    Each step the model gives a distribution over the next token; it is filtered in this order, as HF
    transformers does: repetition penalty, temperature, top-k, top-p, min-p; one token is drawn, appended,
    and the window slides on. The model sees at most its context length (128 tokens for the bundled ones):
    a longer prompt is cropped, and when the window is full it jumps forward keeping its last 3/4
    (--trace shows each slide). A model with an unknown token (word: <unk>) never samples it.

    Example: tokcli generate "ROMEO:" -m char --max-tokens 300 --temperature 0.8 --seed 1
    """
    from tokcli import output as o
    from tokcli.model.generate import GenerateOptions, generate, prompt_ids
    from tokcli.output import lm as ol

    opts = GenerateOptions(max_tokens=max_tokens, sampling=sampling, seed=seed, num_samples=num_samples,
                           stop=tuple(stop or ()), trace=trace)  # fmt: skip
    text = prompt_text(prompt, required=False)
    m = _load(model, text)
    ids, notes = prompt_ids(m, text)
    for n in notes:
        o.info(f"note: {n}")
    ol.generation(m, text, ids, generate(m, ids, opts), opts, echo=echo, verbose=verbose,
                  as_json=format is Format.json)  # fmt: skip


@app.command("next")
@sampling_options(temperature=1.0)
def next_cmd(
    prompt: Annotated[str, typer.Argument(help="Text whose next token to predict, or - for stdin.")],
    model: LMOpt = DEFAULT_LM,
    top: Annotated[int, typer.Option("--top", "-n", help="Show this many of the most likely tokens.", min=1)] = 10,
    format: FormatOpt = Format.text,
    *,
    sampling: SamplingOptions,
) -> None:
    """Show the distribution of the next token and which tokens survive the sampling settings.

    Columns: prob is the model's probability (temperature 1), cum the running total, kept whether the token
    survives repetition penalty, temperature, top-k, top-p and min-p (applied in that order, as HF
    transformers does), and p(sample) the probability a draw with these settings gives it. The unknown
    token (word: <unk>) is never kept: sampling masks it.

    Example: tokcli next "To be or not to" -m word --top-p 0.9
    """
    from tokcli import output as o
    from tokcli.output import lm as ol

    text = prompt_text(prompt, required=True)
    m = _load(model, text)
    ids = m.encode(text)
    if len(ids) > m.block_size:
        o.info(f"note: the prompt is {len(ids)} tokens; the model sees only the last {m.block_size}")
    doc = m.next_distribution(ids, sampling).to_dict(top, prompt=text)
    if format is Format.json:
        o.emit_json({"schema": "tokcli-next/1", **doc})
    else:
        ol.next_tokens(doc)


@app.command("score")
def score_cmd(
    prompt: Annotated[str, typer.Argument(help="The text the continuations follow, or - for stdin.")],
    continuation: Annotated[
        list[str],
        typer.Option(
            "--continuation",
            "-c",
            metavar="TEXT",
            help='A continuation to score, its leading space included (" be" after "to"); repeat to compare several.',
        ),
    ],  # fmt: skip
    model: LMOpt = DEFAULT_LM,
    tokens: Annotated[
        bool,
        typer.Option(
            "--tokens",
            help="Also show each token's probability, rank and context (with --ladder: "
            "its probability under each model).",
        ),
    ] = False,  # fmt: skip
    ladder: Annotated[
        bool,
        typer.Option(
            "--ladder",
            help="Score the same tokens with a unigram, a bigram and the best n-gram too "
            "(Kneser-Ney tables counted on the model's training text), one column each.",
        ),
    ] = False,  # fmt: skip
    format: FormatOpt = Format.text,
) -> None:
    """Score whole continuations of a prompt: each one's probability, log-probability and share among them.

    The probability of a continuation is the product of its tokens' probabilities, each given the prompt
    and the tokens before it; share normalises them among the continuations given. A continuation's
    tokens are those of prompt+continuation after the prompt's (where the tokenizer merges across the
    boundary it is tokenised apart, with a note). Each token sees the window `generate` would give it.

    Example: tokcli score "To be, or not to" -c " be" -c " die" -c " sleep" --ladder
    """
    from tokcli import output as o
    from tokcli.lm.ladder import score_document
    from tokcli.output import score as os_

    text = prompt_text(prompt, required=True)
    conts = [arg_text(c, "-c") for c in continuation]
    m = _load(model, "\n".join([text, *conts]))
    doc, notes = score_document(m, text, conts, with_ladder=ladder)
    for n in notes:
        o.info(f"note: {n}")
    if format is Format.json:
        o.emit_json({"schema": "tokcli-score/1", **doc})
    else:
        os_.scores(doc, tokens=tokens)


@app.command("attention")
def attention_cmd(
    text: Annotated[str, typer.Argument(help="Text to run through the model, or - for stdin.")],
    model: LMOpt = DEFAULT_LM,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="The token to look at (its first occurrence; spaces around it ignored); with --words, the word.",
        ),
    ] = None,
    index: Annotated[
        int | None,
        typer.Option(
            "--index",
            help="The token to look at by position (0-based; -1 = the last); with --words, the word it is in.",
        ),
    ] = None,
    words: Annotated[
        bool,
        typer.Option(
            "--words",
            help="Group sub-word pieces into words (sum over the attended word's pieces, mean over the "
            "attending word's) and print a line per layer, heads averaged.",
        ),
    ] = False,
    contrast: Annotated[
        str | None,
        typer.Option(
            "--contrast",
            metavar="TEXT",
            help="With --words: also run TEXT and show how the chosen word's attention changes, word by word.",
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", "-n", help="With --words: words shown per layer.", min=1)] = 6,
    html: Annotated[
        str | None,
        typer.Option("--html", help="Also write a self-contained page (no network) with every layer, head and token."),
    ] = None,
    format: FormatOpt = Format.text,
) -> None:
    """Show where one token looks: its attention weights over the earlier tokens, per layer and head.

    A causal (decoder-only) model attends only to earlier tokens and itself, unlike the encoder in the
    classic "The animal didn't cross the street because it was too tired" figure. With --words the
    pieces are grouped into words, and the chosen word (by default the last) gets a line per layer.

    Example: tokcli attention "The animal didn't cross the street because it was too tired" --words --token it
    """
    from tokcli.errors import UsageError

    if contrast is not None and not words:
        raise UsageError("--contrast compares words: add --words")
    body = prompt_text(text, required=True)
    m = _load(model, body)
    if words:
        _attention_words(m, body, token, index, contrast, top, html, format)
    else:
        _attention_tokens(m, body, token, index, html, format)


def _attention_tokens(m: Model, body: str, token: str | None, index: int | None, html: str | None,
                      format: Format) -> None:  # fmt: skip
    from tokcli import output as o
    from tokcli.model.attention import attention_report
    from tokcli.output import lm as ol

    rep = attention_report(m, body, token=token, index=index)
    for n in rep.notes:
        o.info(f"note: {n}")
    if html:
        from tokcli.output.attention_html import write_html

        write_html(rep, html, words=_words_quietly(m, body, rep))
        o.info(f"wrote {html}")
    if format is Format.json:
        o.emit_json(ol.attention_doc(rep))
    else:
        ol.attention(ol.attention_doc(rep))
        o.info(f"note: {ol.CAUSAL_NOTE}")


def _warn_unknown(m: Model, text: str, what: str) -> None:
    from tokcli import output as o

    unknown = m.unknown_words(text)
    if unknown and m.tokenizer.unk_id is not None:
        names = ", ".join(dict.fromkeys(repr(w) for w in unknown))
        o.warn(f"the {m.name} model does not know {names} in {what}: each becomes <unk>")


def _words_quietly(m: Model, body: str, rep: AttentionReport) -> WordAttention:
    """The word view for the page of the token view: the word holding the chosen token."""
    from tokcli.model.words import word_attention

    return word_attention(m, body, index=rep.index)


def _attention_words(m: Model, body: str, token: str | None, index: int | None, other: str | None, top: int,
                     html: str | None, format: Format) -> None:  # fmt: skip
    from tokcli import output as o
    from tokcli.model.attention import attention_report
    from tokcli.model.words import contrast, word_attention
    from tokcli.output import attention_words as ow
    from tokcli.output.lm import CAUSAL_NOTE

    wa = word_attention(m, body, word=token, index=index)
    c = None
    if other is not None:
        second = prompt_text(other, required=True)
        _warn_unknown(m, second, "--contrast")
        c = contrast(wa, word_attention(m, second, word=token))
    for n in wa.notes + (c.second.notes if c else []):
        o.info(f"note: {n}")
    if html:
        from tokcli.output.attention_html import write_html

        rep = attention_report(m, body, index=wa.groups[wa.index][-1])  # the word's last piece
        write_html(rep, html, words=wa, contrast=c)
        o.info(f"wrote {html}")
    if format is Format.json:
        ow.emit(ow.words_doc(wa, c))
        return
    ow.words(wa, top=top)
    if c is not None:
        ow.contrast(c, top=top)
    o.info(f"note: {CAUSAL_NOTE}")
