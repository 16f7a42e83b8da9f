"""The converter's import graph: levels, cycles, function-local imports, private names.

Reads the sources (``ast``; nothing is imported) of every module under ``converter/`` and the
pl_convert modules they import, and prints:

* levels: the longest chain of module-level imports among pl_convert modules that starts at a
  converter module (``a`` imports ``b`` imports ``c``: 3 levels), and the same with
  function-local imports counted too; a group of modules in a cycle counts once;
* cycles: groups of modules that import each other (module-level and function-local imports
  together, since a function-local import that closes a loop is a cycle put off until run time);
* function-local imports of pl_convert modules, and names starting with ``_`` imported from
  another module.

    python benchmarks/import_graph.py            # the converter
    python benchmarks/import_graph.py --package rules
    python benchmarks/import_graph.py --edges    # every edge too

Nothing is asserted; the figures go into the issue's closing note.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "pl_convert"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGE, *parts])


def module_path(name: str) -> Path | None:
    rel = name.split(".")[1:]
    base = ROOT.joinpath(*rel) if rel else ROOT
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def resolve(current: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    parts = current.split(".")
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([target] if target else []))


class Imports(ast.NodeVisitor):
    """The pl_convert modules one module imports: (target, local?, imported names)."""

    def __init__(self, name: str, is_package: bool) -> None:
        self.name, self.is_package = name, is_package
        self.depth = 0
        self.found: list[tuple[str, bool, list[str]]] = []

    def visit_FunctionDef(self, node) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.orelse:
                self.visit(stmt)
            return  # annotations only: not an import at run time
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.startswith(PACKAGE + "."):
                self.found.append((alias.name, self.depth > 0, []))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = resolve(self.name, self.is_package, node.level, node.module)
        if not base.startswith(PACKAGE):
            return
        names = [a.name for a in node.names]
        # `from . import x` imports the submodule x when there is one
        submodules = [n for n in names if module_path(f"{base}.{n}") is not None]
        for sub in submodules:
            self.found.append((f"{base}.{sub}", self.depth > 0, []))
        rest = [n for n in names if n not in submodules]
        if rest or not submodules:
            self.found.append((base, self.depth > 0, rest))


def graph(package: str):
    """Edges from every module reachable from ``package``'s modules (pl_convert modules only)."""
    start = [module_name(p) for p in sorted((ROOT / package).rglob("*.py"))]
    edges: dict[str, list[tuple[str, bool, list[str]]]] = {}
    todo = list(start)
    while todo:
        name = todo.pop()
        if name in edges:
            continue
        path = module_path(name)
        if path is None:
            edges[name] = []
            continue
        visitor = Imports(name, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        edges[name] = [(t, local, names) for t, local, names in visitor.found if module_path(t) is not None and t != name]
        todo.extend(t for t, _, _ in edges[name])
    return start, edges


def strongly_connected(nodes, successors):
    """Tarjan's algorithm: the groups of mutually reachable nodes."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in successors(node):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            groups.append(sorted(group))

    for node in nodes:
        if node not in index:
            visit(node)
    return groups


def levels(start, edges, with_local: bool = False) -> tuple[int, list[str]]:
    """The longest chain of imports from a ``start`` module (cycles condensed): module-level
    imports only, or function-local ones too (``with_local``)."""
    def top_level(node):
        return [t for t, local, _ in edges.get(node, []) if with_local or not local]

    groups = strongly_connected(list(edges), top_level)
    group_of = {m: i for i, g in enumerate(groups) for m in g}
    memo: dict[int, tuple[int, list[str]]] = {}

    def depth(group: int) -> tuple[int, list[str]]:
        if group in memo:
            return memo[group]
        best: tuple[int, list[str]] = (0, [])
        for member in groups[group]:
            for target in top_level(member):
                g = group_of[target]
                if g != group:
                    candidate = depth(g)
                    if candidate[0] > best[0]:
                        best = candidate
        memo[group] = (best[0] + 1, [groups[group][0]] + best[1])
        return memo[group]

    return max((depth(group_of[m]) for m in start), key=lambda pair: pair[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="converter", help="folder of the package to measure (default: converter)")
    parser.add_argument("--edges", action="store_true", help="print every edge")
    args = parser.parse_args(argv)
    start, edges = graph(args.package)
    prefix = f"{PACKAGE}.{args.package.replace('/', '.')}"
    inside = [m for m in edges if m == prefix or m.startswith(prefix + ".")]
    count, chain = levels(start, edges)
    count_all, chain_all = levels(start, edges, with_local=True)
    cycles = [g for g in strongly_connected(list(edges), lambda n: [t for t, _, _ in edges.get(n, [])]) if len(g) > 1]
    local = [(m, t) for m in inside for t, is_local, _ in edges[m] if is_local]
    private = [(m, t, n) for m in inside for t, _, names in edges[m] for n in names if n.startswith("_") and not n.startswith("__")]
    lines = sum(len(module_path(m).read_text(encoding="utf-8").splitlines()) for m in inside)
    largest = max(inside, key=lambda m: len(module_path(m).read_text(encoding="utf-8").splitlines()))
    print(f"{prefix}: {len(inside)} modules, {lines} lines (largest {largest.rsplit('.', 1)[-1]}: "
          f"{len(module_path(largest).read_text(encoding='utf-8').splitlines())} lines)")
    print(f"levels: {count}  ({' -> '.join(m.replace(PACKAGE + '.', '') for m in chain)})")
    print(f"levels with function-local imports: {count_all}  ({' -> '.join(m.replace(PACKAGE + '.', '') for m in chain_all)})")
    print(f"cycles: {len(cycles)}" + "".join(f"\n  {' <-> '.join(m.replace(PACKAGE + '.', '') for m in g)}" for g in cycles))
    print(f"function-local imports of pl_convert modules: {len(local)}")
    print(f"private names imported from another module: {len(private)}"
          + "".join(f"\n  {m.replace(PACKAGE + '.', '')} <- {t.replace(PACKAGE + '.', '')}.{n}" for m, t, n in private))
    if args.edges:
        for module in sorted(inside):
            for target, is_local, names in edges[module]:
                print(f"  {module} -> {target}{' (local)' if is_local else ''} {','.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
