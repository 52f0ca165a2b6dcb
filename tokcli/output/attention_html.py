"""A self-contained attention page in the manner of bertviz's head view: no scripts, fonts or styles fetched.

Tokens stand in two columns; a line from a token on the left to one on the right is as opaque as the
attention weight between them, one colour per head. A layer menu, head toggles, and hovering a token on the
left shows only its lines. A view menu switches between tokens and words (pieces grouped into words:
sum over the attended word's pieces, mean over the attending word's); under it a table gives the chosen
word's weights per layer, heads averaged, and with --contrast the second text's weights and the change.
Everything (data, CSS, a few lines of JavaScript) is inline in one file.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokcli.files.atomic import atomic_write

from .lm import CAUSAL_NOTE

if TYPE_CHECKING:
    from tokcli.model.attention import AttentionReport
    from tokcli.model.words import Contrast, WordAttention

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>tokcli attention: __TITLE__</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#222}
.note{max-width:52em;color:#555;font-size:.9em}
#controls{margin:1em 0}
#controls label{margin-right:.6em;padding:.1em .4em;border-radius:3px;cursor:pointer;color:#fff}
svg text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;cursor:default}
svg text.sel{font-weight:bold;fill:#c00}
table.sum{border-collapse:collapse;margin:1em 0;font-size:.9em}
table.sum td,table.sum th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
.w{display:inline-block;margin-right:1em;white-space:nowrap}
.bar{display:inline-block;height:.7em;background:#1f77b4;margin-right:.3em;vertical-align:middle}
.up{color:#080}.down{color:#c00}
</style></head><body>
<h2>Attention: __TITLE__</h2>
<p class="note">__NOTE__</p>
<p class="note">Left: the token that attends (query); right: the tokens it attends to (keys).
Line opacity is the attention weight; colours are heads. Hover a token on the left to see only its lines.</p>
<div id="controls">View <select id="view-kind"><option value="tokens">tokens</option><option value="words">words</option></select>
&nbsp; Layer <select id="layer"></select> &nbsp; Heads: <span id="heads"></span></div>
<svg id="view" xmlns="http://www.w3.org/2000/svg"></svg>
__SUMMARY__
<script>
const D = __DATA__;
const COLORS = ["#1f77b4","#ff7f0e","#2ca02c","#d62728","#9467bd","#8c564b","#e377c2","#7f7f7f","#bcbd22","#17becf",
                "#393b79","#637939","#8c6d31","#843c39","#7b4173","#3182bd"];
const NS = "http://www.w3.org/2000/svg", ROW = 20, LEFT = 10, GAP = 260;
const svg = document.getElementById("view"), sel = document.getElementById("layer");
const kind = document.getElementById("view-kind");
const nL = D.matrix.length, nH = D.matrix[0].length;
let V = D, layer = 0, heads = new Set([...Array(nH).keys()]), focus = D.index;
function setView(k) { V = k === "words" ? D.words : D; focus = V.index; kind.value = k; draw(); }
kind.onchange = () => setView(kind.value);
for (let l = 0; l < nL; l++) { const o = document.createElement("option"); o.value = l; o.textContent = l; sel.appendChild(o); }
sel.onchange = () => { layer = +sel.value; draw(); };
const hs = document.getElementById("heads");
for (let h = 0; h < nH; h++) {
  const lab = document.createElement("label"); lab.style.background = COLORS[h % COLORS.length];
  const cb = document.createElement("input"); cb.type = "checkbox"; cb.checked = true;
  cb.onchange = () => { cb.checked ? heads.add(h) : heads.delete(h); draw(); };
  lab.appendChild(cb); lab.appendChild(document.createTextNode(" " + h)); hs.appendChild(lab);
}
function show(t) { return t.replace(/ /g, "\\u2423").replace(/\\n/g, "\\\\n").replace(/\\t/g, "\\\\t") || "\\u2205"; }
function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function draw() {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const T = V.tokens.length;
  const width = Math.max(...V.tokens.map(t => show(t).length)) * 8 + 20;
  svg.setAttribute("width", LEFT + 2 * width + GAP); svg.setAttribute("height", T * ROW + 20);
  const rows = focus === null ? [...Array(T).keys()] : [focus];
  for (const h of heads) for (const i of rows) {
    const ws = V.matrix[layer][h][i];
    for (let j = 0; j < ws.length; j++) if (ws[j] > 0.01)
      svg.appendChild(el("line", {x1: LEFT + width, y1: i * ROW + 15, x2: LEFT + width + GAP, y2: j * ROW + 15,
        stroke: COLORS[h % COLORS.length], "stroke-width": 2, "stroke-opacity": ws[j] / (focus === null ? 2 : 1)}));
  }
  V.tokens.forEach((t, i) => {
    const a = el("text", {x: LEFT + width - 6, y: i * ROW + 19, "text-anchor": "end"}, show(t));
    if (i === focus) a.setAttribute("class", "sel");
    a.onmouseenter = () => { focus = i; draw(); };
    svg.appendChild(a);
    svg.appendChild(el("text", {x: LEFT + width + GAP + 6, y: i * ROW + 19}, show(t)));
  });
}
svg.onmouseleave = () => { focus = V.index; draw(); };
setView(D.view);
</script></body></html>
"""


def render_html(report: AttentionReport, *, words: WordAttention | None = None, contrast: Contrast | None = None,
                view: str | None = None) -> str:  # fmt: skip
    """The page as a string; the data is embedded as JSON (with '<' escaped, so no text can end the script).

    `report` is an AttentionReport; `words` the WordAttention of the same text (its word view), `contrast`
    a Contrast; the page opens on the words view where `view` is "words" (by default: when there is one).
    """
    doc = report.to_dict(full=True)
    data: dict[str, Any] = {"tokens": doc["tokens"], "index": doc["index"], "matrix": doc["matrix"], "view": "tokens"}
    if words is not None:
        data["words"] = {
            "tokens": words.words, "index": words.index,
            "matrix": [[[[round(float(w), 4) for w in row[: r + 1]] for r, row in enumerate(head)] for head in layer]
                       for layer in words.weights],
        }  # fmt: skip
        data["view"] = view or "words"
    blob = json.dumps(data, ensure_ascii=False)
    blob = blob.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    title = f"{report.model}, token {report.index} {report.tokens[report.index]!r}"
    if words is not None:
        title = f"{report.model}, word {words.index} {words.word!r}"
    fill = {
        "__TITLE__": html.escape(title),
        "__NOTE__": html.escape(CAUSAL_NOTE[0].upper() + CAUSAL_NOTE[1:] + "."),
        "__SUMMARY__": _summary(words, contrast) if words is not None else "",
        "__DATA__": blob,
    }
    return re.sub("__TITLE__|__NOTE__|__SUMMARY__|__DATA__", lambda m: fill[m.group(0)], _PAGE)


def _summary(wa: WordAttention, c: Contrast | None) -> str:
    """A table: per layer (heads averaged), the chosen word's weights over the words up to it, largest first;
    with a contrast, the second text's weights and the change per word."""
    esc = html.escape
    names, hm = wa.names(), wa.head_mean()
    rows = []
    for li, ws in [*enumerate(hm), ("all", hm.mean(axis=0))]:
        order = sorted(range(len(ws)), key=lambda j: -ws[j])
        cells = " ".join(
            f'<span class="w"><span class="bar" style="width:{ws[j] * 8:.2f}em"></span>{esc(names[j])} {ws[j]:.2f}</span>'
            for j in order
        )
        rows.append(f"<tr><th>layer {li}</th><td>{cells}</td></tr>")
    parts = [
        f"<h3>Word view: where {esc(repr(wa.word))} looks (heads averaged; each row sums to 1)</h3>"
        f'<table class="sum" id="word-summary">{"".join(rows)}</table>'
    ]
    if c is not None:
        nb = c.second.names()
        head = "".join(f"<th>layer {li}</th>" for li in range(len(hm))) + "<th>all</th>"
        body = []
        for r in c.rows:
            label = " / ".join(dict.fromkeys(x for x in (None if r.a is None else names[r.a],
                                                          None if r.b is None else nb[r.b]) if x))  # fmt: skip
            tds: list[str] = []
            for li in [*range(len(hm)), None]:
                a = (
                    None
                    if not r.weights_a
                    else (r.weights_a[li] if li is not None else sum(r.weights_a) / len(r.weights_a))
                )
                b = (
                    None
                    if not r.weights_b
                    else (r.weights_b[li] if li is not None else sum(r.weights_b) / len(r.weights_b))
                )
                d = (
                    ""
                    if a is None or b is None
                    else f' <span class="{"up" if b >= a else "down"}">({b - a:+.2f})</span>'
                )
                tds.append(f"<td>{'–' if a is None else f'{a:.2f}'} → {'–' if b is None else f'{b:.2f}'}{d}</td>")
            body.append(f"<tr><th>{esc(label)}</th>{''.join(tds)}</tr>")
        parts.append(
            f"<h3>Contrast: {esc(repr(wa.word))} here against {esc(repr(c.second.word))} in "
            f"{esc(repr(c.second.text))} (first → second)</h3>"
            f'<table class="sum" id="contrast"><tr><th>word</th>{head}</tr>{"".join(body)}</table>'
        )
        if c.same_prefix:
            parts.append('<p class="note">The two texts are the same up to this word: a causal model has not '
                         "seen what follows, so its attention here cannot differ.</p>")  # fmt: skip
    return "\n".join(parts)


def write_html(report: AttentionReport, path: str | Path, *, words: WordAttention | None = None,
               contrast: Contrast | None = None) -> None:  # fmt: skip
    atomic_write(str(path), render_html(report, words=words, contrast=contrast))
