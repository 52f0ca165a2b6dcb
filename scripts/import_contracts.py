"""import-linter contract types of our own (registered in pyproject.toml's [tool.importlinter] contract_types).

`acyclic_modules`: no import cycle among the modules of the root package, each module a node of its own. The
built-in `acyclic_siblings` squashes each child package and so cannot see a package's __init__ importing a
module of its own that imports the package back (tokcli.tokenizer <-> tokcli.tokenizer.registry was one);
this contract sees every loop, lazy (function-level) imports included: a lazy import that closes a loop is
one refactor away from a module-level one.
"""

from __future__ import annotations

from typing import Any

from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def strongly_connected(graph: Any, modules: set[str]) -> list[list[str]]:
    """The import cycles among `modules`: each strongly connected component of more than one module (Tarjan,
    iterative), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root) & modules)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.find_modules_directly_imported_by(nxt) & modules))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        component.append(m)
                        if m == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


class AcyclicModulesContract(Contract):
    """No import cycle among the modules under `root` (every module its own node: a package is its __init__)."""

    type_name = "acyclic_modules"
    root = fields.StringField()

    def check(self, graph: Any, verbose: bool) -> ContractCheck:
        root = str(self.root)
        modules = {root} | set(graph.find_descendants(root))
        cycles = strongly_connected(graph, modules)
        loops = []
        for cycle in cycles:  # one loop per component, to name: a -> b -> ... -> a
            first, members = cycle[0], set(cycle)
            back = sorted(m for m in graph.find_modules_that_directly_import(first) if m in members)
            chain = graph.find_shortest_chain(importer=first, imported=back[0]) or (first, back[0])
            loops.append([*chain, first])
        return ContractCheck(kept=not cycles, warnings=[], metadata={"cycles": cycles, "loops": loops})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle, loop in zip(check.metadata["cycles"], check.metadata["loops"], strict=True):
            output.print_error(f"These {len(cycle)} modules import each other: {', '.join(cycle)}")
            output.print_error(f"  for example {' -> '.join(loop)}")
            output.new_line()
