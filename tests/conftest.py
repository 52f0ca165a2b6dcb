"""Shared fixtures. The terminal is pinned so tests agree on every machine; the network is off."""

from __future__ import annotations

import io
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPORA = SHARED / "corpora"
TIKTOKEN_CACHE = SHARED / "tiktoken-cache"
SAMPLES = ROOT / "corpora"

# pinned for every test, before anything reads them
os.environ["TOKCLI_OFFLINE"] = "1"  # never try a download
os.environ.pop("FORCE_COLOR", None)
os.environ.pop("GITHUB_ACTIONS", None)
os.environ["NO_COLOR"] = "1"
os.environ["COLUMNS"] = "100"
os.environ["TERM"] = "dumb"


def shared_corpus(name: str) -> Path:
    """A file of ../shared/corpora, or skip: a user's fresh clone has no ../shared."""
    path = CORPORA / name
    if not path.exists():
        pytest.skip(f"needs ../shared/corpora/{name}, which only the development checkout has")
    return path


# -- memory: a test process kept small (the aim: under 1.5 GB; tests/README.md has where it stands) ---------
# Each pytest-xdist worker runs tests of many modules. What a module's tests built (their module fixtures)
# is freed after the module, but the allocators keep the freed pages (glibc's arenas, pyarrow's mimalloc
# pool), and the per-process caches keep every tokenizer loaded (tokcli's functools caches and dicts,
# tiktoken's registry of encodings). After each module the caches are emptied and the pages go back to the
# OS, and after a test that left the process above RELEASE_AFTER_A_TEST_ABOVE_MB. Later tests load what they
# use again.
_CACHE_DICTS = {  # module: its per-process dicts of loaded tokenizers (functools caches are found alone)
    "tokcli.tokenizer.engine": ["_built"],
    "tokcli.tokenizer.pretrained": ["_encodings"],
    "tiktoken.registry": ["ENCODINGS"],
}


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0  # not Linux: nothing to measure, nothing to release


def _empty_caches() -> None:
    for name, mod in list(sys.modules.items()):
        if name == "tokcli" or name.startswith("tokcli."):
            for value in list(vars(mod).values()):
                if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                    value.cache_clear()
    for module, names in _CACHE_DICTS.items():
        if (mod := sys.modules.get(module)) is not None:
            for attr in names:
                if isinstance(cache := getattr(mod, attr, None), dict):
                    cache.clear()


def _release_memory() -> None:
    import ctypes
    import ctypes.util
    import gc

    _empty_caches()
    gc.collect()
    if (pyarrow := sys.modules.get("pyarrow")) is not None:
        pyarrow.default_memory_pool().release_unused()
    if sys.platform.startswith("linux") and (libc := ctypes.util.find_library("c")):
        ctypes.CDLL(libc).malloc_trim(0)


@pytest.fixture(scope="module", autouse=True)
def _memory_released_after_each_module():
    yield
    _release_memory()


RELEASE_AFTER_A_TEST_ABOVE_MB = 1200
_release_above_mb = RELEASE_AFTER_A_TEST_ABOVE_MB


def _release_memory_if_large() -> None:
    """Where the process is above the mark. Where releasing does not bring it back under (what it holds is
    in use), the mark moves 200 MB above it, so that the next tests do not release (and reload) in vain."""
    global _release_above_mb
    if _rss_mb() > _release_above_mb:
        _release_memory()
        _release_above_mb = max(RELEASE_AFTER_A_TEST_ABOVE_MB, _rss_mb() + 200)


@pytest.fixture(autouse=True)
def _memory_released_after_a_large_test():
    """Within a module too, where a test left the process large (a module whose tests load one large
    tokenizer after another); and after each command of the `cli` fixture (a test that counts with every
    listed model in turn)."""
    yield
    _release_memory_if_large()


HF_IN_A_CHILD_ABOVE = 2_000_000  # characters: `tokenizers` needs ~1 GB to encode one 6 MB string (en_large)
_HF_IDS = """
import sys
import numpy as np
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
tok.encode_special_tokens = sys.argv[3] == "special-as-text"
for i, path in enumerate(sys.argv[4:]):
    with open(path, encoding="utf-8", newline="") as f:
        ids = tok.encode(f.read(), add_special_tokens=False).ids
    np.save(f"{sys.argv[2]}/{i}.npy", np.asarray(ids, dtype=np.int64))
"""


def hf_ids(hf_tokenizer, texts: list[str], workdir: Path, *, in_a_child: bool | None = None) -> list[list[int]]:
    """`tokenizers`' own ids of each text (Tokenizer.encode, no special tokens added): the reference the
    fast paths are held to.

    Texts larger than HF_IN_A_CHILD_ABOVE in all (or any, with in_a_child=True) are encoded in a child
    process, which gives HF's memory back to the OS when it ends: ~1 GB for one 6 MB string, and the words
    of a BPE's cache, which tokenizers 0.23.3 never frees, even once the Tokenizer is deleted (up to ~100 MB
    for a small vocabulary on long Japanese words)."""
    if in_a_child is None:
        in_a_child = sum(map(len, texts)) > HF_IN_A_CHILD_ABOVE
    if not in_a_child:
        return [hf_tokenizer.encode(t, add_special_tokens=False).ids for t in texts]
    import subprocess

    import numpy as np

    workdir.mkdir(parents=True, exist_ok=True)
    file = workdir / "tokenizer.json"
    hf_tokenizer.save(str(file))
    paths = []
    for i, text in enumerate(texts):
        (workdir / f"{i}.txt").write_text(text, encoding="utf-8", newline="")
        paths.append(str(workdir / f"{i}.txt"))
    special = "special-as-text" if hf_tokenizer.encode_special_tokens else "special-as-special"
    subprocess.run([sys.executable, "-c", _HF_IDS, str(file), str(workdir), special, *paths],
                   check=True, timeout=600)  # fmt: skip
    return [np.load(workdir / f"{i}.npy").tolist() for i in range(len(texts))]


@pytest.fixture
def o200k_cache(tmp_path, monkeypatch):
    """TIKTOKEN_CACHE_DIR pointing at a private copy of ../shared/tiktoken-cache (o200k_base, cl100k_base)."""
    if not TIKTOKEN_CACHE.is_dir():
        pytest.skip("needs ../shared/tiktoken-cache for o200k_base, which only the development checkout has")
    cache = tmp_path / "tiktoken-cache"
    shutil.copytree(TIKTOKEN_CACHE, cache)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    from tokcli.tokenizer.registry import _load

    _load.cache_clear()
    yield cache
    _load.cache_clear()


@dataclass
class Result:
    code: int
    out: str
    err: str


class _Stdin(io.TextIOWrapper):
    def __init__(self, data: bytes, tty: bool) -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture
def cli(monkeypatch, capfd):
    """Run `tokcli ARGS` in-process: cli("count", "-t", "char", input="text") -> Result(code, out, err).

    stdin is the given input (piped), or a terminal with nothing on it when input is None.
    """
    from tokcli.cli import run

    def invoke(*args: str, input: str | bytes | None = None) -> Result:
        data = input.encode() if isinstance(input, str) else (input or b"")
        monkeypatch.setattr(sys, "stdin", _Stdin(data, tty=input is None))
        capfd.readouterr()
        code = run([str(a) for a in args])
        sys.stdout.flush()
        sys.stderr.flush()
        cap = capfd.readouterr()
        _release_memory_if_large()
        return Result(code, cap.out, cap.err)

    return invoke


def write_jsonl(path, rows, *, compress=None):
    """A JSONL file of `rows` (gzip- or zstd-compressed with compress="gz" / "zst"); its path as a string."""
    import gzip
    import json

    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    if compress == "gz":
        data = gzip.compress(data)
    elif compress == "zst":
        import zstandard

        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return str(path)


def tiny_model_dir(path, kind, text, *, block_size=16, seed=1, std=0.4) -> str:
    """A small random GPT (2 layers, 2 heads, width 16) with a `kind` tokenizer trained on `text`, written as
    a model directory at `path`: for tests of what the commands do with a model, not of what it learned."""
    import tokcli
    from tokcli.model.config import GPTConfig
    from tokcli.model.weights import random_weights, save_model_dir

    tok = tokcli.train(kind, [text])
    cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=block_size, n_layer=2, n_head=2, n_embd=16)
    save_model_dir(path, cfg, random_weights(cfg, seed, std=std), tok)
    return str(path)
