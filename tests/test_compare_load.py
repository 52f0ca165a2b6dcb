"""compare times loading apart from encoding: load_s holds loading and the first encode's set-up, and the
throughput (seconds, mb_per_s) is encoding alone, in one process and on workers alike."""

from __future__ import annotations

import json
import time

import pytest

from tokcli.analysis import compare as c
from tokcli.tokenizer import registry
from tokcli.workers import compare as wc
from tokcli.workers.work import TokSpec

SLOW = 1.0  # seconds the test's tokenizers take to load or to set up
TEXTS = [c.Input("a.txt", "hello world, hello tokens\n" * 40), c.Input("b.txt", "naïve café 日本語\n" * 40)]


def _fresh(name: str = "char"):
    """A tokenizer of its own (registry.load caches its tokenizers: the test must not change those)."""
    from tokcli.files.bundled import tokenizer_path
    from tokcli.tokenizer.hf import HFTokenizer

    return HFTokenizer.from_file(tokenizer_path(name), name=name)


def _slow_to_load(monkeypatch, spec: str = "char") -> list[str]:
    calls: list[str] = []
    real = registry.load

    def load(name: str):
        if name == spec:
            calls.append(name)
            time.sleep(SLOW)
        return real(name)

    monkeypatch.setattr(registry, "load", load)
    return calls


def _slow_first_encode(tok):
    """`tok` with a first encode that takes SLOW seconds longer, as engines that set themselves up lazily."""
    inner = tok.encode_array
    done = []

    def encode_array(chunks):
        if not done:
            done.append(1)
            time.sleep(SLOW)
        return inner(chunks)

    tok.encode_array = encode_array
    return tok


def _check_timing(rows, name: str) -> None:
    mine = [r for r in rows if r.tokenizer == name]
    assert len(mine) == len(TEXTS)
    for r in mine:
        assert r.load_s >= SLOW
        assert r.seconds < SLOW / 2  # the first input's time too: the set-up is not in it
        assert r.mb_per_s == pytest.approx(r.bytes / 1e6 / r.seconds)


def test_a_slow_load_is_in_load_s_not_in_the_throughput(monkeypatch):
    calls = _slow_to_load(monkeypatch)
    result = c.compare(TEXTS, ["char", "word"])
    assert calls == ["char"]
    _check_timing(result.rows, "char")
    assert all(r.load_s < SLOW for r in result.rows if r.tokenizer == "word")


def test_a_slow_first_encode_is_in_load_s_not_in_the_throughput(monkeypatch):
    real = registry.load
    monkeypatch.setattr(
        registry, "load", lambda name: _slow_first_encode(_fresh(name)) if name == "char" else real(name)
    )
    result = c.compare(TEXTS, ["char", "word"])
    _check_timing(result.rows, "char")
    # a tokenizer given loaded: its set-up alone
    result = c.compare(TEXTS, [("lazy", _slow_first_encode(_fresh("char"))), "word"])
    _check_timing(result.rows, "lazy")


def test_on_workers_each_worker_loads_once_and_times_it_apart(monkeypatch):
    loads: list[str] = []
    real = TokSpec.load

    def load(self):
        loads.append(self.spec)
        tok = real(self)
        return _slow_first_encode(_fresh(self.spec)) if self.spec == "char" else tok

    monkeypatch.setattr(TokSpec, "load", load)
    wc._ready.cache_clear()
    specs = [TokSpec.of("char"), TokSpec.of("word")]
    rows = [r for i, inp in enumerate(TEXTS) for r in wc.input_task(wc.InputTask(i, inp), specs, "char")]
    wc._ready.cache_clear()
    assert loads == ["char", "word"]  # once for both inputs
    _check_timing(rows, "char")


def test_load_s_is_a_column_and_a_json_key(cli, monkeypatch, tmp_path):
    _slow_to_load(monkeypatch)
    src = tmp_path / "a.txt"
    src.write_text(TEXTS[0].text, encoding="utf-8")
    r = cli("compare", src, "-t", "char", "-t", "word", "--format", "json")
    assert r.code == 0, r.err
    rows = {row["tokenizer"]: row for row in json.loads(r.out)["rows"]}
    assert rows["char"]["load_s"] >= SLOW > rows["char"]["seconds"]
    r = cli("compare", src, "-t", "char", "-t", "word")
    assert r.code == 0, r.err
    header = r.out.splitlines()[1]
    assert header.split()[-3:] == ["MB/s", "load", "s"]
