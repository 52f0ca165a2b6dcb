"""Compare tokenizers on inputs (`compare`), train and compare (`TrainSpec`), multilingual parity (`parity`).

    >>> from tokcli.analysis.compare import compare, read_inputs
    >>> result = compare(read_inputs([]), ["bpe", "cl100k_base"])  # no paths: the bundled sample texts
    >>> [(r.tokenizer, r.tokens) for r in result.rows if r.input == "en_prose.txt"]
    [('bpe', 1210), ('cl100k_base', 774)]

Each input is one row per tokenizer (see `tokcli.metrics.Row`); the normalized sequence length is taken
against a reference tokenizer (the first unless named). With `train`, tokenizers are trained on the first
part of every input and every tokenizer is measured on the held-out rest, so unknown-token rates of the
trained ones are real, not zero by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tokcli.errors import InputError, UsageError, VocabSizeError
from tokcli.files.text import expand_inputs, read_text, split_holdout
from tokcli.files.walk import WalkOptions
from tokcli.tokenizer import DEFAULT_TOKENIZER
from tokcli.tokenizer.base import Tokenizer

from .metrics import Row, measure, ratio, unit_for, unit_offsets, warm_up

# ja-char too, so that the Japanese sample is also measured by a Japanese vocabulary
DEFAULT_TOKENIZERS = ("char", "word", "bpe", "ja-char", DEFAULT_TOKENIZER)
DEFAULT_HOLDOUT = 0.1


@dataclass(frozen=True)
class Input:
    """One input of a comparison: a file, a directory (its text files joined), or stdin."""

    name: str
    text: str


@dataclass(frozen=True)
class TrainSpec:
    """`KIND[:VOCAB]` of --train: a kind of tokenizer to train and its vocabulary size (None: the default)."""

    kind: str
    vocab_size: int | None = None

    @classmethod
    def parse(cls, spec: str) -> TrainSpec:
        from tokcli.tokenizer.training import KINDS

        kind, _, vocab = spec.partition(":")
        if kind not in KINDS:
            raise UsageError(
                f"--train {spec}: unknown kind {kind!r}; give KIND[:VOCAB], KIND one of {', '.join(KINDS)}"
            )
        if not vocab:
            return cls(kind)
        try:
            size = int(vocab.replace("_", "").lower().replace("k", "000"))
        except ValueError:
            raise UsageError(f"--train {spec}: {vocab!r} is not a vocabulary size; give e.g. bpe:8000") from None
        if size < 2:
            raise UsageError(f"--train {spec}: the vocabulary size must be at least 2")
        return cls(kind, size)

    @property
    def label(self) -> str:
        return f"trained {self.kind}" + (f":{self.vocab_size}" if self.vocab_size else "")


@dataclass(frozen=True)
class Trained:
    """A tokenizer `compare` trained: its --train spec, and the vocabulary size asked for and trained (smaller
    where the text supports no more; see tokcli.tokenizer.training.train)."""

    spec: TrainSpec
    requested_vocab_size: int | None
    vocab_size: int


@dataclass(frozen=True)
class ModelFit:
    """How one input fits a model's context window (see tokcli.contexts.fit)."""

    input: str
    fit: object  # tokcli.contexts.Fit


@dataclass
class Comparison:
    rows: list[Row]
    tokenizers: list[str]
    inputs: list[str]
    reference: str
    holdout: float | None = None  # the held-out fraction measured on, when tokenizers were trained
    trained_on: int | None = None  # characters trained on
    fits: list[ModelFit] = field(default_factory=list)
    trained: list[Trained] = field(default_factory=list)


def sample_inputs() -> list[Input]:
    """The bundled sample corpora, one input each."""
    from tokcli.files.bundled import sample_files

    files = sample_files()
    if not files:
        raise InputError("no bundled corpora found; give files or directories to compare on")
    return [Input(f.name, read_text(str(f))) for f in files]


def read_inputs(
    paths: Sequence[str], *, errors: str = "strict", options: WalkOptions | None = None,
    skipped: list[tuple[str, str]] | None = None,
) -> list[Input]:  # fmt: skip
    """One input per path: a file, a directory (or glob) with its text files joined in name order, or '-'.

    A file a walk found that is binary or not UTF-8 is left out and added to `skipped` (path, reason)."""
    if not paths:
        return sample_inputs()
    inputs = []
    for p in paths:
        sources = expand_inputs([p], options)
        if skipped is not None:
            skipped += sources.skipped
        texts = []
        for s in sources:
            try:
                texts.append(read_text(s, errors=errors))
            except InputError as e:
                if not s.walked or skipped is None:
                    raise
                skipped.append((s.path, str(e).removeprefix(f"{s.path}: ")))
        inputs.append(Input("<stdin>" if p == "-" else p, "".join(texts)))
    return inputs


def load_ready(spec: str) -> tuple[Tokenizer, float]:
    """The tokenizer `spec` names, made ready to encode (see tokcli.analysis.metrics.warm_up), and the
    seconds that took: compare's load time, kept out of its throughput."""
    import time

    from tokcli.tokenizer.registry import load

    t0 = time.perf_counter()
    tok = load(spec)
    warm_up(tok)
    return tok, time.perf_counter() - t0


def load_tokenizers(specs: Sequence[str]) -> list[tuple[str, Tokenizer]]:
    from tokcli.tokenizer.registry import load

    return [(s, load(s)) for s in dict.fromkeys(specs)]


def compare(
    inputs: Sequence[Input],
    tokenizers: Sequence[str | tuple[str, Tokenizer]] = (),
    *,
    train: Sequence[TrainSpec] = (),
    holdout: float = DEFAULT_HOLDOUT,
    reference: str | None = None,
    models: Sequence[str] = (),
) -> Comparison:
    """Every metric of every tokenizer on every input (see the module docstring).

    With no tokenizers and nothing to train, the defaults DEFAULT_TOKENIZERS are compared. `models`
    adds, per input, how its token count under each model's tokenizer fits that model's context window.
    """
    if not inputs:
        raise UsageError("nothing to compare on: give files or directories")
    if not tokenizers and not train:
        tokenizers = DEFAULT_TOKENIZERS
    load_s: dict[str, float] = {}  # seconds to load and warm up each (given or trained: the warm-up alone)
    toks = []
    for t in dict.fromkeys(tokenizers):
        name, tok = t if isinstance(t, tuple) else (t, None)
        if tok is None:
            tok, load_s[name] = load_ready(name)
        else:
            load_s[name] = warm_up(tok)
        toks.append((name, tok))
    trained_on = None
    trained: list[Trained] = []
    if train:
        if not 0 < holdout < 1:
            raise UsageError(f"--holdout {holdout} must be in (0, 1) when training")
        splits = [split_holdout(i.text, holdout) for i in inputs]
        if not any(t for t, _ in splits) or not any(h for _, h in splits):
            raise UsageError("the inputs are too short to split into a training part and a held-out part")
        for spec in train:
            tok = _train(spec, [t for t, _ in splits])
            toks.append((spec.label, tok))
            load_s[spec.label] = warm_up(tok)
            trained.append(Trained(spec, tok.requested_vocab_size, tok.vocab_size))
        trained_on = sum(len(t) for t, _ in splits)
        inputs = [Input(i.name, h) for i, (_, h) in zip(inputs, splits, strict=True)]
    names = [n for n, _ in toks]
    ref = reference or names[0]
    if ref not in names:
        ref_tok, load_s[ref] = load_ready(ref)
        toks.insert(0, (ref, ref_tok))
        names.insert(0, ref)
    rows = [r for inp in inputs for r in measure_input(inp, toks, ref, load_s)]
    fits = model_fits(inputs, models, dict(toks)) if models else []
    return Comparison(rows, names, [i.name for i in inputs], ref, holdout if train else None, trained_on, fits,
                      trained)  # fmt: skip


def measure_input(
    inp: Input, toks: Sequence[tuple[str, Tokenizer]], ref: str, load_s: dict[str, float] | None = None
) -> list[Row]:
    """The rows of one input, one per tokenizer (`ref` among them: the reference of the nsl column), each
    with its tokenizer's load time from `load_s`. tokcli.workers measures inputs on workers with it."""
    # the unit of fertility and its offsets depend on the text alone: found once for every tokenizer
    unit = unit_for(inp.text)
    units = unit_offsets(inp.text, unit)
    measured = [measure(tok, inp.text, input_name=inp.name, tokenizer_name=name, reference=ref,
                        unit=unit, units=units) for name, tok in toks]  # fmt: skip
    del units
    # the reference's count is its row's (the same streamed encoding): no second encoding
    ref_count = measured[[n for n, _ in toks].index(ref)].tokens
    load_s = load_s or {}
    return [replace(r, nsl=ratio(r.tokens, ref_count), load_s=load_s.get(r.tokenizer)) for r in measured]


def _train(spec: TrainSpec, texts: list[str]) -> Tokenizer:
    from tokcli.tokenizer.training import train

    try:
        return train(spec.kind, texts, vocab_size=spec.vocab_size)
    except VocabSizeError as e:  # named as it was given: --train KIND:N, not train's --vocab-size
        raise e.about(f"--train {spec.kind}:{e.size}", "the size in --train") from None


def model_fits(inputs: Sequence[Input], models: Sequence[str], loaded: dict[str, Tokenizer]) -> list[ModelFit]:
    """Per input and model: its tokens under the model's tokenizer against the model's window."""
    from tokcli.budget.models import fit, get_model
    from tokcli.tokenizer.registry import load

    out = []
    for name in models:
        entry = get_model(name)
        tok = loaded.get(entry.counting_tokenizer) or load(entry.counting_tokenizer)
        for inp in inputs:
            out.append(ModelFit(inp.name, fit(tok.count_stream([inp.text]), name)))
    return out


# -- multilingual parity ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ParityRow:
    language: str  # the BCP 47 tag from index.tsv, else the file's stem
    file: str
    tokenizer: str
    tokens: int
    premium: float | None  # tokens / tokens of the pivot language under the same tokenizer


@dataclass
class Parity:
    pivot: str
    tokenizers: list[str]
    languages: list[str]
    rows: list[ParityRow]

    def premium(self, language: str, tokenizer: str) -> float | None:
        for r in self.rows:
            if r.language == language and r.tokenizer == tokenizer:
                return r.premium
        return None


def parallel_files(directory: str | Path) -> list[tuple[str, Path]]:
    """(language, file) for each text of a directory of parallel texts.

    The language is the `bcp47` column of an `index.tsv` (columns `file` and `bcp47`) when the
    directory has one, in its order; otherwise each file's stem, in name order.
    """
    d = Path(directory)
    if not d.is_dir():
        raise InputError(f"{directory}: not a directory; give a directory of parallel texts, one file per language")
    index = d / "index.tsv"
    if index.is_file():
        lines = [line.split("\t") for line in read_text(str(index)).splitlines() if line.strip()]
        head = lines[0] if lines else []
        if "file" in head and "bcp47" in head:
            fi, li = head.index("file"), head.index("bcp47")
            rows = [row for row in lines[1:] if len(row) > max(fi, li)]
            for row in rows:  # an index names files of its own directory, nothing else
                if Path(row[fi]).is_absolute() or ".." in Path(row[fi]).parts:
                    raise InputError(f"{index}: {row[fi]!r} is outside {directory}; name files of that directory")
            return [(row[li], d / row[fi]) for row in rows if (d / row[fi]).is_file()]
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix == ".txt")
    if not files:
        raise InputError(f"{directory}: no .txt files; give a directory of parallel texts, one file per language")
    return [(p.stem, p) for p in files]


def parity(
    directory: str | Path,
    tokenizers: Sequence[str] = (DEFAULT_TOKENIZER,),
    *,
    pivot: str = "en",
    errors: str = "strict",
) -> Parity:
    """Tokens per language relative to the pivot language, per tokenizer: the tokenization premium
    of Petrov et al. 2023, as a ratio of sums over each whole text."""
    files = parallel_files(directory)
    langs = [lang for lang, _ in files]
    pivot_lang = next((lang for lang, p in files if pivot.lower() in (lang.lower(), p.stem.lower())), None)
    if pivot_lang is None:
        raise UsageError(f"--pivot {pivot}: no such language in {directory}; it has {', '.join(langs)}")
    texts = {lang: read_text(str(p), errors=errors) for lang, p in files}
    rows = []
    toks = load_tokenizers(tokenizers or [DEFAULT_TOKENIZER])
    for name, tok in toks:
        counts = {lang: tok.count_stream([text]) for lang, text in texts.items()}
        base = counts[pivot_lang]
        for lang, p in files:
            rows.append(ParityRow(lang, p.name, name, counts[lang], counts[lang] / base if base else None))
    return Parity(pivot_lang, [n for n, _ in toks], langs, rows)
