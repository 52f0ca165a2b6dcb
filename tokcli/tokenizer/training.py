"""`train(kind, texts)`: one entry point over the four kinds and two backends.

The trainer runs in a worker thread while the calling (main) thread waits on it, so Ctrl-C is acted on at
once: `tokenizers` and sentencepiece train in native code for seconds to minutes and would otherwise
see the interrupt only when they return.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from tokcli.errors import UsageError, VocabSizeError

from .base import Tokenizer

KINDS = ("char", "word", "bpe", "unigram")
BACKENDS = ("hf", "sentencepiece")

# The largest vocabulary tokcli trains: 4,194,304 tokens, 16 times the largest in use (Gemma's 262,144).
# The libraries' own limits are far above (u32 ids in `tokenizers`, int32 in sentencepiece) but they do not
# check them before allocating: --vocab-size 10**12 aborted `tokenizers` with a Rust panic.
MAX_VOCAB = 1 << 22
MAX_CHAR_VOCAB = 0x110000 + 1  # a char tokenizer: every Unicode code point, and <unk>
DEFAULT_VOCAB = 8000  # word, bpe and unigram (char: every character seen)

T = TypeVar("T")


def train(
    kind: str,
    texts: Iterable[str],
    *,
    vocab_size: int | None = None,
    min_frequency: int | None = None,
    backend: str = "hf",
    character_coverage: float = 0.9995,
    show_progress: bool = False,
) -> Tokenizer:
    """Train a tokenizer of `kind` on an iterable of texts (whole documents or chunks of a stream).

    char, word and bpe (backend 'hf') give HF tokenizer.json tokenizers; unigram, and bpe with backend
    'sentencepiece', give sentencepiece models. The same texts and options give byte-identical files.

    The vocabulary size is an upper bound, the same rule for every kind and backend: where the text supports
    fewer tokens (few distinct characters or words, no pair frequent enough to merge, too little text for
    sentencepiece), the largest vocabulary it supports is trained. The result's `requested_vocab_size` is the
    size asked for (`vocab_size`, else the kind's default; None for char without one), and
    `vocab_shortfall(tok)` says whether it came out smaller. Sizes no tokenizer of the kind can have are
    refused (VocabSizeError).
    """
    if kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r}: choose one of {', '.join(KINDS)}")
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if backend == "sentencepiece" and kind not in ("bpe", "unigram"):
        raise UsageError(f"--backend sentencepiece trains bpe and unigram only, not {kind}")
    if saves_as_sentencepiece(kind, backend) and min_frequency is not None:
        raise UsageError("--min-frequency applies to the hf backend only")
    check_vocab_size(kind, vocab_size)
    tok = _interruptible(_train, kind, texts, vocab_size=vocab_size, min_frequency=min_frequency, backend=backend,
                         character_coverage=character_coverage, show_progress=show_progress)  # fmt: skip
    tok.requested_vocab_size = vocab_size if vocab_size is not None or kind == "char" else DEFAULT_VOCAB
    return tok


def vocab_shortfall(tok: Tokenizer) -> tuple[int, int] | None:
    """(requested, actual) where `train` gave `tok` a smaller vocabulary than asked for; else None."""
    requested = tok.requested_vocab_size
    if requested is None or tok.vocab_size >= requested:
        return None
    return requested, tok.vocab_size


def _train(
    kind: str,
    texts: Iterable[str],
    *,
    vocab_size: int | None,
    min_frequency: int | None,
    backend: str,
    character_coverage: float,
    show_progress: bool,
) -> Tokenizer:
    if saves_as_sentencepiece(kind, backend):
        from .spm import train_spm

        return train_spm(
            texts,
            model_type=kind,
            vocab_size=vocab_size or DEFAULT_VOCAB,
            character_coverage=character_coverage,
            show_progress=show_progress,
        )
    if kind == "char":
        from .char import train_char

        return train_char(texts, vocab_size=vocab_size, min_frequency=min_frequency or 1)
    if kind == "word":
        from .word import train_word

        return train_word(texts, vocab_size=vocab_size or DEFAULT_VOCAB, min_frequency=min_frequency or 1)
    from .bpe import train_bpe

    return train_bpe(
        texts, vocab_size=vocab_size or DEFAULT_VOCAB, min_frequency=min_frequency or 2, show_progress=show_progress
    )


def check_vocab_size(kind: str, vocab_size: int | None) -> None:
    """Refuse a vocabulary size no tokenizer of `kind` can have, before any text is read.

    Lower bounds that depend on the kind's own tokens (bpe's 256 bytes, sentencepiece's byte pieces) are
    checked by the trainers. A size too large for the text is no error: see `train`.
    """
    if vocab_size is None:
        return
    if vocab_size < 1:
        raise VocabSizeError(vocab_size, "cannot work: it must be positive")
    if kind == "char" and vocab_size > MAX_CHAR_VOCAB:
        raise VocabSizeError(
            vocab_size,
            f"is too large: a char tokenizer has at most {MAX_CHAR_VOCAB} tokens "
            "(every Unicode code point and <unk>); leave the size out to keep every character seen",
        )
    if vocab_size > MAX_VOCAB:
        raise VocabSizeError(
            vocab_size,
            f"is too large: tokcli trains at most {MAX_VOCAB} tokens (2**22); "
            "the largest vocabularies in use have about 262,000",
        )


def saves_as_sentencepiece(kind: str, backend: str = "hf") -> bool:
    """Whether `train(kind, backend=backend)` gives a sentencepiece model (saved as a binary .model file)
    rather than an HF tokenizer (saved as a tokenizer.json)."""
    return kind == "unigram" or backend == "sentencepiece"


def check_output_path(path: str, kind: str, backend: str = "hf") -> None:
    """Refuse an output name whose suffix says the other format: a sentencepiece model written to a .json
    file, or an HF tokenizer.json to a .model file. Any other suffix (or none) is the caller's choice;
    `tokcli.load` tells the two formats apart by their content."""
    suffix = Path(path).suffix.lower()
    if saves_as_sentencepiece(kind, backend) and suffix == ".json":
        what = "unigram" if kind == "unigram" else "bpe --backend sentencepiece"
        raise UsageError(
            f"-o {path}: {what} gives a sentencepiece model, a binary file, not JSON; "
            f"name it {Path(path).with_suffix('.model')} (or train bpe with the hf backend for a tokenizer.json)"
        )
    if not saves_as_sentencepiece(kind, backend) and suffix == ".model":
        raise UsageError(
            f"-o {path}: a {kind} tokenizer is saved as an HF tokenizer.json, not a sentencepiece .model; "
            f"name it {Path(path).with_suffix('.json')} (or train unigram, or bpe --backend sentencepiece, for a .model)"
        )


def _interruptible(fn: Callable[..., T], kind: str, texts: Iterable[str], **options: object) -> T:
    """fn(kind, texts, **options) in a daemon worker thread, fed and waited on from this one.

    Python delivers Ctrl-C (KeyboardInterrupt) to the main thread only, and only between bytecodes: a
    trainer in native code would hold it until it returns. Here the main thread reads the texts and hands
    them over (two chunks at a time), then waits in short steps, so the interrupt is acted on within a
    tenth of a second; the abandoned trainer gets no more text, and the process exit ends it (a program
    that goes on after the interrupt has it running until then). The worker never reads a file or stdin
    itself: a daemon thread inside a buffered read makes the interpreter's exit abort. Nothing is written:
    saving is the caller's next step. Off the main thread there is no interrupt to wait for, and `fn`
    runs right here.
    """
    if threading.current_thread() is not threading.main_thread():
        return fn(kind, texts, **options)
    feed: queue.Queue[object] = queue.Queue(maxsize=2)
    stop = threading.Event()
    done = threading.Event()
    outcome: list[object] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(fn(kind, _fed(feed, stop), **options))
        except BaseException as e:  # handed to the waiting thread, which raises it
            failure.append(e)
        finally:
            done.set()

    worker = threading.Thread(target=work, name=f"tokcli-train-{kind}", daemon=True)
    worker.start()
    try:
        for item in _with_end(texts):
            while not done.is_set():  # the trainer may stop reading early (an error): then stop feeding
                try:
                    feed.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if done.is_set():
                break
        while worker.is_alive():
            worker.join(0.1)
    except BaseException:
        stop.set()
        raise
    if failure:
        raise failure[0].with_traceback(failure[0].__traceback__)
    return outcome[0]  # type: ignore[return-value]


_END = object()  # the end of the texts, in the feed


class _Stopped(Exception):
    """Raised into an abandoned trainer's input so that it stops reading."""


def _with_end(texts: Iterable[str]) -> Iterator[object]:
    yield from texts
    yield _END


def _fed(feed: queue.Queue[object], stop: threading.Event) -> Iterator[str]:
    """The texts the main thread puts into `feed`, until _END."""
    while True:
        if stop.is_set():
            raise _Stopped("training was interrupted")
        try:
            item = feed.get(timeout=0.1)
        except queue.Empty:
            continue
        if item is _END:
            return
        yield item  # type: ignore[misc]
