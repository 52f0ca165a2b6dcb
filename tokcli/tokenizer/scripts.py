"""A cheap text classifier for calibrated estimates (tokcli.tokenizer.calibration): which class of text each
line is, and a text cut into runs of one class at places where counting the runs separately gives exactly
the count of the whole (the streaming cut points, tokcli.tokenizer.patterns.SAFE_CUT).

Classes, the ones the published measurements of private tokenizers distinguish:

    latin     prose in Latin script (English, German, French, Spanish, ...)
    code      source code (a Latin-script line that looks like code)
    cjk       Han, kana, Hangul
    cyrillic  Cyrillic
    arabic    Arabic and Devanagari (the reports measure Arabic and Hindi together)
    other     any other script, and text with no letters at all

A line's class is that of most of its letters; a Latin line is code where it holds something prose hardly
has (`==`, `->`, `foo(`, `a.b(`, `x[`, snake_case, ` = `, a line ending in `{` or `}`, `def f(`, `import x`,
`if ...:` ...). Prose inside code (a docstring) counts as prose. A line without letters, a
blank line and a comment line (`#`, `//`, `/*`, `*`, `--`) takes the class of the line before it (the first
such lines that of the first line with one). It is a heuristic per line, stated as such: the factors it
selects are themselves stated with their error.

The part shared with `tokcli why` (its character classes) is not this: why classifies every character of a
text into finer classes to share tokens out exactly; this classifies lines, cheaply, to pick a factor.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .patterns import SAFE_CUT

if TYPE_CHECKING:
    import regex

CLASSES = ("latin", "code", "cjk", "cyrillic", "arabic", "other")

_COMPILED: dict[str, regex.Pattern[str]] = {}

_PATTERNS = {
    "cjk": r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]",
    "cyrillic": r"\p{Cyrillic}",
    "arabic": r"[\p{Arabic}\p{Devanagari}]",
    "latin": r"\p{Latin}",
    "letter": r"\p{L}",
    "code": (
        r"==|!=|<=|>=|->|=>|::|\+=|-=|&&|\|\||[A-Za-z_]\w*\(|\w_\w|\s=\s|[{}]\s*$|^\s*[{}]|\w\[|\]\s*$"
        r"|[a-z]\.[a-z_]+[.(\[]|^\s*(?:def|class|fn|func|function)\s+\w+\s*[(:<{]"
        r"|^\s*(?:import|package|use)\s+[\w.:]+;?\s*$|^\s*from\s+[\w.]+\s+import\b"
        r"|^\s*#\s*(?:include|define|if|endif|pragma)\b|^\s*(?:return|raise|break|continue|pass)\s*$"
        r"|^\s+(?:return|raise|yield|assert|await)\s+\S"
        r"|^\s*(?:return|raise|yield|if|elif|else|for|while|try|except|finally|with)\b[^\n]*:\s*$"
    ),
    "comment": r"^\s*(?:#|//|/\*|\*|--)",
    "cut": SAFE_CUT,
}


def _re(name: str) -> regex.Pattern[str]:
    if name not in _COMPILED:
        import regex

        _COMPILED[name] = regex.compile(_PATTERNS[name], regex.V0)
    return _COMPILED[name]


def line_class(line: str) -> str | None:
    """The class of one line, None for a line that takes its neighbour's (no letters, or a comment)."""
    if line.isascii():
        if not any(c.isalpha() for c in line):
            return None
        if _re("code").search(line):
            return "code"
        if _re("comment").match(line):
            return None
        return "latin"
    counts = {c: len(_re(c).findall(line)) for c in ("cjk", "cyrillic", "arabic", "latin")}
    letters = len(_re("letter").findall(line))
    if not letters:
        return None
    best = max(counts, key=lambda c: counts[c])
    if counts[best] * 2 < letters and letters - sum(counts.values()) > counts[best]:
        return "other"
    if best == "latin" and _re("code").search(line):
        return "code"
    return best if counts[best] else "other"


def runs(text: str) -> Iterator[tuple[str, str]]:
    """(class, piece) for `text` cut into runs of one class; the pieces concatenate to `text`, and each cut is
    a cut point of SAFE_CUT (so that counting the pieces separately gives the count of the whole, for every
    tokenizer that streams). A change of class with no cut point before the next change is not cut: those
    lines count with the class before them."""
    classes: list[tuple[int, str]] = []  # (start, class) where a line's class differs from the one before
    pos = 0
    current: str | None = None
    for line in text.splitlines(keepends=True):
        c = line_class(line)
        if c is not None and c != current:
            classes.append((pos, c))
            current = c
        pos += len(line)
    if not classes:
        yield "other", text
        return
    start, cls = 0, classes[0][1]
    cut = _re("cut")
    for i, (at, c) in enumerate(classes[1:], 1):
        end = classes[i + 1][0] if i + 1 < len(classes) else len(text)
        m = cut.search(text, at, end)
        if m is None or m.start() <= start:
            continue
        yield cls, text[start : m.start()]
        start, cls = m.start(), c
    yield cls, text[start:]
