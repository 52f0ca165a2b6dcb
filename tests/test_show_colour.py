"""`tokcli show` with colour forced: neighbouring tokens must look different at every colour depth.

conftest.py pins NO_COLOR and TERM=dumb for the suite; these tests undo that for themselves. rich picks
its colour depth from TERM and COLORTERM (TERM=xterm or linux: the 16 standard colours; *-256color:
256; COLORTERM=truecolor: 24-bit) and turns any other colour into the nearest one it may use, so a
palette that looks fine in 24-bit can collapse into one colour on a 16-colour terminal. Each depth runs
in a process of its own: rich caches a style's escape codes (Style._ansi) for the first depth it draws
at, so a second depth in the same process would repeat the first one's codes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import tokcli

TEXT = "The quick brown fox jumps over the lazy dog"
SGR_RUN = re.compile(r"\x1b\[([0-9;]*)m([^\x1b]*)\x1b\[0m")


def background(params: str) -> tuple[int, ...] | None:
    """The background colour an SGR parameter list sets: (n,) for 40-47 and 100-107, (5, n) for 256
    colours, (2, r, g, b) for 24-bit; None when it sets none."""
    p = [int(x) for x in params.split(";") if x]
    i = 0
    while i < len(p):
        if p[i] in (38, 48):  # an extended colour: 38/48 then 5;n or 2;r;g;b
            size = 3 if p[i + 1] == 5 else 5
            if p[i] == 48:
                return tuple(p[i + 1 : i + size])
            i += size
        elif 40 <= p[i] <= 47 or 100 <= p[i] <= 107:
            return (p[i],)
        else:
            i += 1
    return None


def test_background_reads_every_colour_form():
    assert background("37;44") == (44,) and background("30;103") == (103,)
    assert background("38;5;15;48;5;60") == (5, 60)
    assert background("38;2;1;2;3;48;2;59;77;122") == (2, 59, 77, 122)
    assert background("2") is None and background("37") is None


def forced_colour(term: str, colorterm: str | None) -> dict[str, str]:
    """The environment of a terminal `term` (with COLORTERM=`colorterm`) and FORCE_COLOR set."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLORTERM")}
    env |= {"FORCE_COLOR": "1", "TERM": term} | ({"COLORTERM": colorterm} if colorterm else {})
    return env


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def show(text: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tokcli", "show", "-t", "bpe", "--text", text],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.mark.parametrize(
    "term,colorterm,depth",
    [
        ("xterm", None, "standard"),
        ("linux", None, "standard"),  # the Linux console
        ("xterm-256color", None, "256"),
        ("xterm-256color", "truecolor", "truecolor"),
    ],
)
def test_neighbouring_tokens_get_different_backgrounds(term, colorterm, depth):
    env = forced_colour(term, colorterm)
    # the environment really gives this depth to the console `show` prints with
    detected = run_python("from tokcli.output import console; print(console().color_system)", env)
    assert detected.stdout == f"{depth}\n", detected.stderr
    tok = tokcli.load("bpe")
    tokens = [tok.decode([i]) for i in tok.encode(TEXT)]
    assert len(tokens) >= 10  # enough tokens for any palette of a few colours to wrap around
    r = show(TEXT, env)
    assert r.returncode == 0
    assert r.stderr == ""
    runs = SGR_RUN.findall(r.stdout)
    assert "".join(f"\x1b[{p}m{t}\x1b[0m" for p, t in runs) + "\n" == r.stdout  # nothing but styled runs
    assert [t for _, t in runs] == tokens  # one run per token
    backgrounds = [background(p) for p, _ in runs]
    assert None not in backgrounds
    same = [(tokens[k], tokens[k + 1]) for k in range(len(tokens) - 1) if backgrounds[k] == backgrounds[k + 1]]
    assert same == []


def test_no_color_wins_over_force_color_and_gives_brackets(cli, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    r = cli("show", "-t", "cl100k_base", "--text", "hello world")
    assert r.code == 0
    assert r.err == ""
    assert r.out == "[hello][ world]\n"


def test_forced_colour_on_a_dumb_terminal_still_shows_the_boundaries():
    env = forced_colour("dumb", None)
    assert run_python("from tokcli.output import console; print(console().color_system)", env).stdout == "None\n"
    r = show("hello world", env)
    assert r.returncode == 0
    assert r.stdout == "[he][ll][o][ world]\n"  # the bundled bpe, bracketed
