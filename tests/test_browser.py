"""Both HTML pages in a real browser (headless Chromium over the DevTools protocol, tests/chromium.py):
they render, make no network request and raise no script error; a screenshot is taken.

Skipped, with the reason, only where Chromium is not installed and this is not CI; under CI (CI=true)
a missing Chromium fails. Screenshots go to tmp_path, and under CI also to build/browser-screenshots/
(ignored by git) for the CI to keep as artifacts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from chromium import find_chromium, run_page

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = (
    '</script><script>alert("x")</script> <img src="http://example.com/x.png"> 吾輩は猫である 🧑‍💻\n\tdef f(): pass'
)
SENTENCE = "The animal didn't cross the street because it was too tired"


@pytest.fixture
def chromium():
    path = find_chromium()
    if path is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI needs chromium for the browser tests: apt-get install -y chromium")
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs these tests")
    return path


def _keep(shot: bytes, tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(shot)
    if os.environ.get("CI"):
        out = ROOT / "build" / "browser-screenshots"
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / name, out / name)


def _check(run, page: Path) -> None:
    assert run.requests == [page.resolve().as_uri()], f"requests besides the page: {run.requests}"
    assert run.errors == []
    assert run.screenshot.startswith(b"\x89PNG") and len(run.screenshot) > 1000


def test_harness_sees_requests_and_errors(chromium, tmp_path):
    """The checks below can fail: a page that fetches and throws is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><img src="http://example.invalid/x.png"><script>console.error("e"); nope();'
                   "</script>", encoding="utf-8")  # fmt: skip
    run = run_page(chromium, bad, "1 + 1", profile=tmp_path / "profile")
    assert run.value == 2
    assert "http://example.invalid/x.png" in run.requests
    assert any("console.error" in e for e in run.errors) and any("nope" in e for e in run.errors)


def test_show_page(chromium, cli, tmp_path):
    page = tmp_path / "show.html"
    r = cli("show", "-t", "cl100k_base", "-t", "char", "--text", HOSTILE, "--html", page)
    assert r.code == 0, r.err
    from tokcli import load

    counts = [len(load(n).encode(HOSTILE)) for n in ("cl100k_base", "char")]
    probe = """(() => {
      const cols = [...document.querySelectorAll("div.col")];
      const ev = new MouseEvent("mouseover", {bubbles: true});
      cols[0].querySelector("span.tok").dispatchEvent(ev);
      return {
        cols: cols.map(c => c.dataset.tokenizer),
        ids: cols.map(c => [...c.querySelectorAll("span.tok")].reduce((n, s) => n + s.dataset.ids.split(",").length, 0)),
        counts: cols.map(c => c.querySelector(".tokens").textContent),
        text: cols.map(c => c.querySelector(".text").textContent),
        images: document.images.length, scripts: document.scripts.length,
        outlined: document.querySelectorAll("span.hl").length,
      };
    })()"""
    run = run_page(chromium, page, probe, profile=tmp_path / "profile")
    _check(run, page)
    v = run.value
    assert v["cols"] == ["cl100k_base", "char"]
    assert v["ids"] == counts and v["counts"] == [f"{n:,}" for n in counts]
    assert v["text"] == [HOSTILE, HOSTILE]  # the markup in the text is text
    assert v["images"] == 0 and v["scripts"] == 1
    assert v["outlined"] >= 2  # hovering a token outlines the tokens over the same characters in both columns
    _keep(run.screenshot, tmp_path, "show.png")


def test_attention_page(chromium, cli, tmp_path):
    page = tmp_path / "attention.html"
    r = cli("attention", SENTENCE, "-m", "bpe", "--words", "--token", "it", "--contrast",
            SENTENCE.replace("tired", "wide"), "--html", page)  # fmt: skip
    assert r.code == 0, r.err
    probe = """(() => {
      const view = document.getElementById("view-kind");
      const left = () => [...document.querySelectorAll("svg text")].filter(t => t.getAttribute("text-anchor") === "end");
      const words = left().map(t => t.textContent);
      const chosen = document.querySelector("svg text.sel").textContent;
      view.value = "tokens"; view.dispatchEvent(new Event("change"));
      const tokens = left().length;
      return {chosen, words, tokens, lines: document.querySelectorAll("svg line").length,
              layers: document.getElementById("layer").options.length,
              summary: document.querySelectorAll("#word-summary tr").length,
              contrast: document.querySelectorAll("#contrast tr").length};
    })()"""
    run = run_page(chromium, page, probe, profile=tmp_path / "profile")
    _check(run, page)
    v = run.value
    assert v["words"] == SENTENCE.split() and v["chosen"] == "it"  # the page opens on the words view
    from tokcli.model.model import load_model

    m = load_model("bpe")
    n_tokens = len(m.encode(SENTENCE))
    assert v["tokens"] == n_tokens and v["lines"] > 0
    assert v["layers"] == m.config.n_layer and v["summary"] == m.config.n_layer + 1
    assert v["contrast"] == 1 + 8  # a header and a row per word up to "it"
    _keep(run.screenshot, tmp_path, "attention.png")
