"""`show --html`: an offline page in the manner of OpenAI's tokenizer page, one column per tokenizer.

The text is coloured token by token under each tokenizer side by side; above each column its token count
and characters per token; hovering a token shows its ids and characters (a title attribute) and
highlights the tokens that cover the same characters in the other columns. A token that starts where
not every tokenizer has a boundary is marked with a red bar on its left.

Self-contained and offline: inline CSS and a few lines of inline JavaScript, a Content-Security-Policy
that forbids every fetch, and no data inside the script (the tokens are escaped HTML, so text such as
`</script>` or markup in the input is shown as text, never run).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tokcli.errors import UsageError
from tokcli.files.atomic import atomic_write

if TYPE_CHECKING:
    from tokcli.analysis.sidebyside import SideBySide, Tokenization

MAX_CHARS = 1_000_000  # characters on one page at most: a browser struggles with millions of spans

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tokcli show: __TITLE__</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#222;background:#fff}
.note{color:#555;font-size:.9em;max-width:60em}
.grid{display:grid;gap:1em;align-items:start}
.col{border:1px solid #ddd;border-radius:6px;padding:.6em;min-width:0}
.stats{margin-bottom:.5em}
.stats .name{font-weight:bold}
.stats .n{font-size:1.4em;font-weight:bold;margin-right:.15em}
.text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:14px;line-height:1.7;white-space:pre-wrap;
      overflow-wrap:anywhere}
.tok{border-radius:2px}
.c0{background:#c7e2ff}.c1{background:#ffe3a3}.c2{background:#d6f5c9}.c3{background:#ffcdd6}.c4{background:#e1d5ff}
.tok.d{box-shadow:inset 2px 0 0 #d00}
.tok.hl{outline:2px solid #222}
</style></head><body>
<h1>Tokens: __TITLE__</h1>
<p class="note">Each column is the same text under one tokenizer, coloured token by token. Hover a token for
its ids; the tokens covering the same characters are outlined in every column. A red bar marks a token that
starts where not every tokenizer splits.</p>
__SECTIONS__
<script>
for (const sec of document.querySelectorAll("section.input")) {
  const toks = sec.querySelectorAll("span.tok");
  sec.addEventListener("mouseover", (ev) => {
    const t = ev.target.closest ? ev.target.closest("span.tok") : null;
    if (!t) return;
    const s = +t.dataset.s, e = Math.max(+t.dataset.e, s + 1);
    for (const u of toks) u.classList.toggle("hl", +u.dataset.s < e && +u.dataset.e > s);
  });
  sec.addEventListener("mouseleave", () => { for (const u of toks) u.classList.remove("hl"); });
}
</script>
</body></html>
"""


def _column(sbs: SideBySide, t: Tokenization, differ: set[int]) -> str:
    esc = html.escape
    chars = len(sbs.text)
    cpt = f"{chars / t.tokens:.2f}" if t.tokens else "-"
    parts = [
        f'<div class="col" data-tokenizer="{esc(t.name)}"><div class="stats"><span class="name">{esc(t.name)}</span>'
        f'<br><span class="n tokens">{t.tokens:,}</span> tokens &middot; <span class="n cpt">{cpt}</span> '
        f'chars/token &middot; {chars:,} characters</div><div class="text">'
    ]
    for k, s in enumerate(t.spans):
        cls = f"tok c{k % 5}" + (" d" if s.start in differ else "")
        ids = ", ".join(map(str, s.ids))
        title = f"{'ids' if len(s.ids) > 1 else 'id'} {ids} · characters {s.start}–{s.end}"
        parts.append(
            f'<span class="{cls}" data-s="{s.start}" data-e="{s.end}" data-ids="{ids}" title="{esc(title)}">'
            f"{esc(sbs.text[s.start : s.end])}</span>"
        )
    parts.append("</div></div>")
    return "".join(parts)


def render_html(items: Sequence[tuple[str, SideBySide]]) -> str:
    """The page for (label, SideBySide) pairs, one section each."""
    total = sum(len(sbs.text) for _, sbs in items)
    if total > MAX_CHARS:
        raise UsageError(
            f"--html shows at most {MAX_CHARS:,} characters on a page; these inputs have {total:,}: "
            "give a part of the text (e.g. head -c 200000 FILE | tokcli show --html page.html -)"
        )
    sections = []
    for label, sbs in items:
        differ = set(sbs.differing())
        n = len(sbs.tokenizations)
        sections.append(
            f'<section class="input"><h2>{html.escape(label)}</h2>'
            f'<div class="grid" style="grid-template-columns:repeat({n},minmax(0,1fr))">'
            + "".join(_column(sbs, t, differ) for t in sbs.tokenizations)
            + "</div></section>"
        )
    names = ", ".join(t.name for t in items[0][1].tokenizations) if items else ""
    fill = {"__TITLE__": html.escape(names), "__SECTIONS__": "\n".join(sections)}
    return re.sub("__TITLE__|__SECTIONS__", lambda m: fill[m.group(0)], _PAGE)  # one pass: text is not a slot


def write_html(items: Sequence[tuple[str, SideBySide]], path: str | Path) -> None:
    atomic_write(str(path), render_html(items))
