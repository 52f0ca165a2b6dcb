"""Token trees (`count --tree`): the per-file counts of `count` summed into per-directory totals.

    token_tree(rows, inputs, tokenizers)   a TokenTree: one root per input, each directory's tokens the
                                           sum of the files below it, under every tokenizer

The rows are count's own (tokcli.tokenizer.counting.count_inputs), so a directory's total is exactly the sum
of what `count` says of its files. Each input is a root: a directory as given, a glob the directory its
pattern starts from (`src/**/*.py`: src), a file or stdin a leaf of its own; inputs that share a root are
merged, and a file found by several inputs is counted once (as count does). Within a directory, children
are sorted by size under the first tokenizer (`by`), largest first, then by name. With `depth` N, the
directories N levels below a root keep their totals but not their contents (`folded`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tokcli.errors import UsageError
from tokcli.files.walk import has_glob
from tokcli.tokenizer.countresults import InputCount


@dataclass
class TreeNode:
    """A directory (its tokens summed over the files below it) or a file, in a token tree."""

    name: str  # the last part of its path (a root: the input as given)
    path: str  # as count names it: the input joined with the parts below it
    is_dir: bool
    depth: int  # levels below its root (a root: 0)
    tokens: dict[str, int] = field(default_factory=dict)  # tokenizer name -> tokens (the sum, for a directory)
    files: int = 0  # files counted at or below it
    share: float = 0.0  # of the whole tree's total under the tree's `by` tokenizer
    folded: bool = False  # a directory at the --depth limit: its contents are in its total, not listed
    children: list[TreeNode] = field(default_factory=list)

    def walk(self) -> Iterator[TreeNode]:
        """This node and every node below it, in tree order (each directory before its children)."""
        yield self
        for c in self.children:
            yield from c.walk()


@dataclass
class TokenTree:
    """Per-directory token totals of one or more inputs (the roots), under `tokenizers`."""

    tokenizers: list[str]
    by: str  # the tokenizer that sorts the children and gives the shares
    roots: list[TreeNode]
    total: dict[str, int]  # tokenizer name -> tokens over all roots
    files: int
    depth: int | None = None  # the --depth limit, if any

    def nodes(self) -> Iterator[TreeNode]:
        """Every node of every root, in tree order."""
        for r in self.roots:
            yield from r.walk()


def _base(arg: str) -> str | None:
    """The directory an input's files hang from: a directory as given, a glob's literal leading directories;
    None for a file, a stream or stdin (a leaf of its own)."""
    if arg == "-":
        return None
    if has_glob(arg) and not os.path.lexists(arg):
        parts = Path(arg).parts
        literal = next(i for i, part in enumerate(parts) if has_glob(part))
        return str(Path(*parts[:literal])) if literal else "."
    if os.path.isdir(arg):
        return os.path.normpath(arg)
    return None


def _join(base: str, parts: Sequence[str]) -> str:
    return os.path.normpath(os.path.join(base, *parts)) if parts else base


def token_tree(
    rows: Sequence[InputCount], inputs: Sequence[str], tokenizers: Sequence[str], *, by: str | None = None,
    depth: int | None = None,
) -> TokenTree:  # fmt: skip
    """The token tree of count's `rows` for the command-line `inputs` (see the module docstring). `by`: the
    tokenizer that orders children and gives shares (default: the first); `depth`: fold directories deeper
    than N levels below a root into their ancestor at N."""
    if depth is not None and depth < 0:
        raise UsageError(f"--depth {depth}: give 0 (the inputs alone) or more levels of directories")
    names = list(tokenizers)
    by = by or names[0]
    bases: dict[str, str] = {}  # absolute path -> the base as the input gave it
    order: dict[str, int] = {}  # a root's key (a base's absolute path, a leaf's label) -> its input's place
    for arg in inputs:
        b = _base(arg)
        key = os.path.abspath(b) if b is not None else "<stdin>" if arg == "-" else arg
        if b is not None:
            bases.setdefault(key, b)
        order.setdefault(key, len(order))
    roots: dict[str, TreeNode] = {}
    index: dict[tuple[str, bool], TreeNode] = {}  # (path, is_dir) -> node: a directory's children found at once
    for row in rows:
        where = None if row.input == "<stdin>" or "://" in row.input else os.path.abspath(row.input)
        home = next((k for k in bases if where is not None and _under(where, k)), None)
        if home is None or where is None:  # a file or stream given by name: a root of its own
            key = row.input if row.input not in roots else f"{row.input}\0{len(roots)}"  # a stream read twice
            order.setdefault(key, len(order))
            roots[key] = TreeNode(row.input, row.input, False, 0, dict(row.tokens), 1)
            continue
        base = bases[home]
        node = roots.get(home)
        if node is None:
            node = roots[home] = TreeNode(base, base, True, 0, dict.fromkeys(names, 0))
        parts = Path(os.path.relpath(where, home)).parts if where != home else ()
        _add(node, base, parts, row, names, index)
    tree_roots = [roots[k] for k in sorted(roots, key=order.__getitem__)]
    total = {n: sum(r.tokens[n] for r in tree_roots) for n in names}
    for r in tree_roots:
        _finish(r, total[by], by, depth)
    return TokenTree(names, by, tree_roots, total, sum(r.files for r in tree_roots), depth)


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _add(root: TreeNode, base: str, parts: Sequence[str], row: InputCount, names: Sequence[str],
         index: dict[tuple[str, bool], TreeNode]) -> None:  # fmt: skip
    """Add a file's row below `root`, each directory on its way getting its tokens."""
    node = root
    for i, part in enumerate(parts):
        node.files += 1
        for n in names:
            node.tokens[n] += row.tokens[n]
        last = i == len(parts) - 1
        path = _join(base, parts[: i + 1])
        child = index.get((path, not last))
        if child is None:
            tokens = dict(row.tokens) if last else dict.fromkeys(names, 0)
            child = index[(path, not last)] = TreeNode(part, path, not last, i + 1, tokens, 1 if last else 0)
            node.children.append(child)
        node = child


def _finish(node: TreeNode, total: int, by: str, depth: int | None) -> None:
    """Shares, children sorted (largest first, then by name), and directories past `depth` folded."""
    node.share = node.tokens[by] / total if total else 0.0
    if node.is_dir and depth is not None and node.depth >= depth:
        node.folded = bool(node.children)
        node.children = []
        return
    node.children.sort(key=lambda c: (-c.tokens[by], c.name))
    for c in node.children:
        _finish(c, total, by, depth)
