"""The reference programs tokcli is measured against, each run as its own process by run.py.

    python benchmarks/refs.py count ENCODING FILE {lines|chunks}   tiktoken encode_ordinary_batch, all cores
    python benchmarks/refs.py loop ENCODING DIR                    tiktoken encode_ordinary on each file, one thread
    python benchmarks/refs.py train-hf FILE VOCAB OUT              tokenizers' BpeTrainer, tokcli's pre-tokenizer
    python benchmarks/refs.py train-spm FILE VOCAB TYPE OUT        sentencepiece's trainer (bpe or unigram)
    python benchmarks/refs.py import-typer                         the start-up floor
    python benchmarks/refs.py engine ENCODING PATH                 tokcli's engine alone on text in memory
    python benchmarks/refs.py engines ENGINE ENCODING FILE PATH    one engine as a CLI would run it, cold

Each prints one line of JSON. These are what a user would write without tokcli: no streaming, the whole
file in memory, the library called directly. `engine` is the other bound: tokcli's own engine (splintr-rs)
in a fresh process, timed only while it encodes text already read, decoded and cut (a cold piece cache,
as in a real run): what no command built on that engine can do faster.

"""

from __future__ import annotations

import json
import os
import sys


def encoding_of(name: str):
    """tiktoken's Encoding `name`, its file found as tokcli finds it; llama3/llama4: tiktoken on the vendor's
    own file and pattern (tests/test_vendors.py: the ids of llama-models' own tokenizer)."""
    if name in ("llama3", "llama4"):
        from tokcli.tokenizer import vendors

        path = vendors.vendor_file(name, vendors.VENDORS[name])
        pattern, specials = {
            "llama3": (vendors.LLAMA3_PATTERN, vendors.LLAMA3_SPECIALS),
            "llama4": (vendors.LLAMA4_PATTERN, vendors.LLAMA4_SPECIALS),
        }[name]
        return vendors._tiktoken_file_encoding(name, path, pattern, specials)
    from tokcli.tokenizer.pretrained import tiktoken_encoding  # tiktoken's Encoding, files found as tokcli does

    return tiktoken_encoding(name)


def tree_texts(root: str):
    """The text of every file under `root`, sorted, read and decoded strictly: a file that is not UTF-8 or
    holds a NUL byte in its first 8 KiB is left out, as tokcli's walk leaves it out. One file at a time."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            with open(os.path.join(dirpath, name), "rb") as f:
                data = f.read()
            if b"\x00" in data[:8192]:
                continue
            try:
                yield data.decode("utf-8")
            except UnicodeDecodeError:
                continue


def pieces_of(text: str, size: int = 1 << 18) -> list[str]:
    """`text` cut after a newline about every `size` characters."""
    pieces, start = [], 0
    while start < len(text):
        end = text.find("\n", start + size)
        end = len(text) if end < 0 else end + 1
        pieces.append(text[start:end])
        start = end
    return pieces


def loop(encoding: str, root: str) -> None:
    """The plain way to count a tree: every file read (tree_texts) and encode_ordinary, one thread."""
    enc = encoding_of(encoding)
    tokens = files = 0
    for text in tree_texts(root):
        tokens += len(enc.encode_ordinary(text))
        files += 1
    print(json.dumps({"tokens": tokens, "files": files}))


def texts_of(path: str) -> list[str]:
    """A directory's files as `loop` reads them, or a file in pieces of 256 K characters as `count` cuts it."""
    if os.path.isdir(path):
        return list(tree_texts(path))
    with open(path, encoding="utf-8") as f:
        return pieces_of(f.read())


def engine(encoding: str, path: str) -> None:
    """tokcli's fast engine for `encoding` (splintr-rs: all cores, one uint32 buffer back) on the texts of
    `path` already in memory; only the encoding is timed. The tokens are the ids' count, for checking."""
    import time

    import tokcli

    tok = tokcli.load(encoding)
    if tok.engine != "splintr":
        raise SystemExit(f"{encoding}: tokcli's engine here is {tok.engine}, not splintr")
    from tokcli.tokenizer.pretrained import BATCH_CHARS

    flat = tok._fast_engine.encode_batch_flat
    texts = texts_of(path)
    batches, batch, size = [], [], 0  # tokcli's batches: about BATCH_CHARS characters per call
    for t in texts:
        batch.append(t)
        size += len(t)
        if size >= BATCH_CHARS:
            batches.append(batch)
            batch, size = [], 0
    batches.append(batch)
    flat(["warm up: compile the pattern"])  # one-time set-up outside the timing; the piece cache stays cold
    t0 = time.perf_counter()
    n = sum(len(flat(b)[0]) // 4 for b in batches)
    print(json.dumps({"seconds": time.perf_counter() - t0, "tokens": n}))


# the pretokenizer gigatoken names for each encoding (gigatoken/_load/tiktoken.py)
GIGATOKEN_SCHEMES = {"cl100k_base": "gpt4", "o200k_base": "o200k"}


def engines(engine: str, encoding: str, vocab_file: str, path: str) -> None:
    """One engine in a fresh process, as a command-line tool would run it: import it, load the vocabulary
    (`vocab_file`, the official .tiktoken file; splintr loads its embedded copy, as tokcli does), encode the
    texts of `path` (a file in 256 K pieces, a tree's files) in one batch call on all cores, with a cold
    piece cache and no special tokens. Prints the seconds of each step, the count, and the sha256 of the ids
    (little-endian uint32, in order) to compare with tiktoken's. Imports neither tokcli nor tiktoken but
    for engine "tiktoken", so that it runs in any interpreter that has the engine (run.py: a throwaway venv)."""
    import hashlib
    import time
    from array import array

    texts = texts_of(path)
    t0 = time.perf_counter()
    if engine == "splintr":
        import splintr

        t1 = time.perf_counter()
        if any("<|" in t for t in texts):  # as tokcli does: the embedded encoder would match special tokens
            with open(vocab_file, "rb") as f:
                tok = splintr.Tokenizer.from_bytes(f.read(), getattr(splintr, encoding.upper() + "_PATTERN"), {})
        else:
            tok = splintr.Tokenizer.from_pretrained(encoding)
        t2 = time.perf_counter()
        ids = tok.encode_batch_flat(texts)[0]
    elif engine == "fastokens":
        import fastokens

        t1 = time.perf_counter()
        tok = fastokens.Tokenizer.from_tiktoken(vocab_file, special_tokens={}, encoding=encoding)
        t2 = time.perf_counter()
        ids = tok.encode_batch_flat(texts)[0]
    elif engine == "gigatoken":
        import awkward as ak
        import gigatoken
        import numpy as np

        t1 = time.perf_counter()
        tok = gigatoken.Tokenizer.from_tiktoken(vocab_file, GIGATOKEN_SCHEMES[encoding], special_tokens={})
        t2 = time.perf_counter()
        ids = np.asarray(ak.flatten(tok.encode_batch(texts)), dtype="<u4").tobytes()
    elif engine == "tiktoken":
        import tiktoken

        t1 = time.perf_counter()
        tok = tiktoken.get_encoding(encoding)  # the official file from TIKTOKEN_CACHE_DIR
        t2 = time.perf_counter()
        out = array("I")
        for row in tok.encode_ordinary_batch(texts, num_threads=os.cpu_count() or 1):
            out.extend(row)
        if sys.byteorder == "big":
            out.byteswap()
        ids = out.tobytes()
    else:
        raise SystemExit(f"unknown engine {engine!r}")
    t3 = time.perf_counter()
    digest = hashlib.sha256(ids).hexdigest()
    print(
        json.dumps({"import": t1 - t0, "load": t2 - t1, "encode": t3 - t2, "tokens": len(ids) // 4, "sha256": digest})
    )


def count(encoding: str, path: str, mode: str) -> None:
    enc = encoding_of(encoding)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if mode == "lines":
        pieces = text.splitlines(keepends=True)
    else:  # pieces of about 256 K characters cut after a newline
        pieces = pieces_of(text)
    n = sum(len(ids) for ids in enc.encode_ordinary_batch(pieces, num_threads=os.cpu_count() or 1))
    print(json.dumps({"tokens": n}))


def train_hf(path: str, vocab: int, out: str) -> None:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    from tokcli.tokenizer.patterns import GPT_PATTERN

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(GPT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        min_frequency=2,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=False,
    )
    tok.train(files=[path], trainer=trainer)
    tok.save(out)
    print(json.dumps({"vocab": tok.get_vocab_size()}))


def train_spm(path: str, vocab: int, model_type: str, out: str) -> None:
    import sentencepiece as spm

    spm.SentencePieceTrainer.train(
        input=path,
        model_prefix=out,
        model_type=model_type,
        vocab_size=vocab,
        character_coverage=0.9995,
        byte_fallback=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=False,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        num_threads=1,
        minloglevel=2,
        max_sentence_length=1 << 16,
    )
    print(json.dumps({"model": out + ".model"}))


def main(argv: list[str]) -> None:
    what, args = argv[0], argv[1:]
    if what == "count":
        count(args[0], args[1], args[2])
    elif what == "loop":
        loop(args[0], args[1])
    elif what == "engine":
        engine(args[0], args[1])
    elif what == "engines":
        engines(args[0], args[1], args[2], args[3])
    elif what == "train-hf":
        train_hf(args[0], int(args[1]), args[2])
    elif what == "train-spm":
        train_spm(args[0], int(args[1]), args[2], args[3])
    elif what == "import-typer":
        import typer  # noqa: F401
    else:
        raise SystemExit(f"unknown reference {what!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
