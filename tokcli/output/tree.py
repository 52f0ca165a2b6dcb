"""Rendering of a token tree (`count --tree`, tokcli.analysis.tree): a drawn tree on a terminal, indented
tab-separated rows when piped, a nested JSON document, flat csv / tsv rows, or a markdown nested list.

A column is a tokenizer (-t) or a model (-m, counted with its own tokenizer or its proxy): a model's count
that is an estimate is marked `~` (text, markdown, plain rows) or its column named `~MODEL` (csv, tsv, where
the cells stay numbers), as count's model table marks them. Directories are named with a trailing `/`.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from . import console, emit_json, is_tty, out

if TYPE_CHECKING:
    from tokcli.analysis.tree import TokenTree, TreeNode
    from tokcli.budget.models import Fit

SCHEMA = "tokcli-count-tree/1"


@dataclass(frozen=True)
class TreeColumn:
    """A column of the tree: `label` (a tokenizer's or a model's name) showing the counts of `tokenizer`."""

    label: str
    tokenizer: str
    exact: bool = True


def shown_name(node: TreeNode) -> str:
    return node.name + "/" if node.is_dir and not node.name.endswith("/") else node.name


def shown_path(node: TreeNode) -> str:
    return node.path + "/" if node.is_dir and not node.path.endswith("/") else node.path


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def _cells(tokens: dict[str, int], cols: Sequence[TreeColumn], sep: str) -> list[str]:
    return [("" if c.exact else "~") + f"{tokens[c.tokenizer]:{sep}}" for c in cols]


def _node_doc(node: TreeNode) -> dict[str, Any]:
    return {"name": node.name, "path": node.path, "type": "dir" if node.is_dir else "file", "files": node.files,
            "tokens": node.tokens, "share": round(node.share, 6), "folded": node.folded,
            "children": [_node_doc(c) for c in node.children]}  # fmt: skip


def _total_share(tree: TokenTree) -> float:
    return 1.0 if tree.total[tree.by] else 0.0


def _drawn(tree: TokenTree) -> Iterator[tuple[str, TreeNode]]:
    """(the tree-drawn prefix of a node's name, the node) in tree order."""

    def below(node: TreeNode, lead: str) -> Iterator[tuple[str, TreeNode]]:
        for i, c in enumerate(node.children):
            last = i == len(node.children) - 1
            yield lead + ("└── " if last else "├── "), c
            yield from below(c, lead + ("    " if last else "│   "))

    for r in tree.roots:
        yield "", r
        yield from below(r, "")


def token_tree(tree: TokenTree, cols: Sequence[TreeColumn], *, fmt: str, fits: Sequence[Fit] = (),
               cost: bool = False, skipped: Sequence[tuple[str, str]] = ()) -> None:  # fmt: skip
    """The token tree in `fmt`: text (drawn with rich on a terminal, indented tab-separated rows piped), json,
    csv, tsv or markdown; with `fits`, count's model table after it (text, markdown) or in the document."""
    several = len(tree.roots) > 1
    if fmt == "json":
        if several:
            top = {"name": "total", "path": None, "type": "total", "files": tree.files, "tokens": tree.total,
                   "share": _total_share(tree), "folded": False, "children": [_node_doc(r) for r in tree.roots]}  # fmt: skip
        else:
            top = _node_doc(tree.roots[0])
        doc: dict[str, Any] = {"schema": SCHEMA, "tokenizers": tree.tokenizers, "by": tree.by, "depth": tree.depth,
                               "tree": top, "skipped": [{"path": p, "reason": r} for p, r in skipped]}  # fmt: skip
        if fits:
            doc["models"] = [asdict(f) for f in fits]
        emit_json(doc)
        return
    if fmt in ("csv", "tsv"):
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        w.writerow(["path", "depth", "files", *[("" if c.exact else "~") + c.label for c in cols], "share"])
        for n in tree.nodes():
            w.writerow([shown_path(n), n.depth, n.files, *[n.tokens[c.tokenizer] for c in cols], round(n.share, 6)])
        if several:
            w.writerow(["total", "", tree.files, *[tree.total[c.tokenizer] for c in cols], _total_share(tree)])
        out(buf.getvalue(), end="")
        return
    if fmt == "markdown":
        out(_markdown(tree, cols))
    elif is_tty(sys.stdout):
        _rich(tree, cols)
    else:  # piped: indented rows, tab-separated, plain numbers
        out("\t".join(["path", "depth", *[c.label for c in cols], "share"]))
        for n in tree.nodes():
            out("\t".join(["  " * n.depth + shown_path(n), str(n.depth), *_cells(n.tokens, cols, ""), _pct(n.share)]))
        if several:
            out("\t".join(["total", "", *_cells(tree.total, cols, ""), _pct(_total_share(tree))]))
    if fits:
        from .tables import fits_table

        out()
        fits_table(fits, "markdown" if fmt == "markdown" else "text", cost=cost)


def _folded_note(node: TreeNode) -> str:
    return f" ({node.files:,} file{'' if node.files == 1 else 's'})" if node.folded else ""


def _rich(tree: TokenTree, cols: Sequence[TreeColumn]) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("path")
    for c in cols:
        t.add_column(c.label, justify="right")
    t.add_column("share", justify="right")
    for lead, n in _drawn(tree):
        name = Text()
        name.append(lead, style="dim")
        name.append(shown_name(n), style="bold" if n.is_dir else "")
        name.append(_folded_note(n), style="dim")
        t.add_row(name, *_cells(n.tokens, cols, ","), _pct(n.share))
    if len(tree.roots) > 1:
        t.add_section()
        t.add_row(Text("total", style="bold"), *_cells(tree.total, cols, ","), _pct(_total_share(tree)))
    console().print(t)


def _code(name: str) -> str:
    """A name as a markdown code span (one that holds a backquote fenced with two)."""
    return f"`` {name} ``" if "`" in name else f"`{name}`"


def _markdown(tree: TokenTree, cols: Sequence[TreeColumn]) -> str:
    names = " · ".join(("~" if not c.exact else "") + c.label for c in cols)
    lines = [f"Tokens ({names}) and share of the total under {tree.by}:", ""]
    for n in tree.nodes():
        nums = " · ".join(_cells(n.tokens, cols, ","))
        lines.append(f"{'  ' * n.depth}- {_code(shown_name(n))}{_folded_note(n)} {nums} ({_pct(n.share)})")
    if len(tree.roots) > 1:
        lines.append(f"- **total** {' · '.join(_cells(tree.total, cols, ','))} ({_pct(_total_share(tree))})")
    return "\n".join(lines)
