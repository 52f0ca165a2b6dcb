"""A self-contained attention page in the manner of bertviz's head view: no scripts, fonts or styles fetched.

Tokens stand in two columns; a line from a token on the left to one on the right is as opaque as the
attention weight between them, one colour per head. A layer menu, head toggles, and hovering a token on the
left shows only its lines. Everything (data, CSS, a few lines of JavaScript) is inline in one file.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from tokcli.atomic import atomic_write

from .lm import CAUSAL_NOTE

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
</style></head><body>
<h2>Attention: __TITLE__</h2>
<p class="note">__NOTE__</p>
<p class="note">Left: the token that attends (query); right: the tokens it attends to (keys).
Line opacity is the attention weight; colours are heads. Hover a token on the left to see only its lines.</p>
<div id="controls">Layer <select id="layer"></select> &nbsp; Heads: <span id="heads"></span></div>
<svg id="view" xmlns="http://www.w3.org/2000/svg"></svg>
<script>
const D = __DATA__;
const COLORS = ["#1f77b4","#ff7f0e","#2ca02c","#d62728","#9467bd","#8c564b","#e377c2","#7f7f7f","#bcbd22","#17becf",
                "#393b79","#637939","#8c6d31","#843c39","#7b4173","#3182bd"];
const NS = "http://www.w3.org/2000/svg", ROW = 20, LEFT = 10, GAP = 260;
const svg = document.getElementById("view"), sel = document.getElementById("layer");
const nL = D.matrix.length, nH = D.matrix[0].length, T = D.tokens.length;
let layer = 0, heads = new Set([...Array(nH).keys()]), focus = D.index;
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
  const width = Math.max(...D.tokens.map(t => show(t).length)) * 8 + 20;
  svg.setAttribute("width", LEFT + 2 * width + GAP); svg.setAttribute("height", T * ROW + 20);
  const rows = focus === null ? [...Array(T).keys()] : [focus];
  for (const h of heads) for (const i of rows) {
    const ws = D.matrix[layer][h][i];
    for (let j = 0; j < ws.length; j++) if (ws[j] > 0.01)
      svg.appendChild(el("line", {x1: LEFT + width, y1: i * ROW + 15, x2: LEFT + width + GAP, y2: j * ROW + 15,
        stroke: COLORS[h % COLORS.length], "stroke-width": 2, "stroke-opacity": ws[j] / (focus === null ? 2 : 1)}));
  }
  D.tokens.forEach((t, i) => {
    const a = el("text", {x: LEFT + width - 6, y: i * ROW + 19, "text-anchor": "end"}, show(t));
    if (i === focus) a.setAttribute("class", "sel");
    a.onmouseenter = () => { focus = i; draw(); };
    svg.appendChild(a);
    svg.appendChild(el("text", {x: LEFT + width + GAP + 6, y: i * ROW + 19}, show(t)));
  });
}
svg.onmouseleave = () => { focus = D.index; draw(); };
draw();
</script></body></html>
"""


def render_html(report: Any) -> str:  # a tokcli.model.attention.AttentionReport
    """The page as a string; the data is embedded as JSON (with '<' escaped, so no text can end the script)."""
    doc = report.to_dict(full=True)
    data = json.dumps({"tokens": doc["tokens"], "index": doc["index"], "matrix": doc["matrix"]}, ensure_ascii=False)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    title = f"{report.model}, token {report.index} {report.tokens[report.index]!r}"
    return (
        _PAGE.replace("__TITLE__", html.escape(title))
        .replace("__NOTE__", html.escape(CAUSAL_NOTE[0].upper() + CAUSAL_NOTE[1:] + "."))
        .replace("__DATA__", data)
    )


def write_html(report: Any, path: str | Path) -> None:
    atomic_write(str(path), render_html(report))
