"""The shape of the code: no import cycles, small modules, every package installed.

These guard the layout the README's "How the code is laid out" describes: a new
cycle, a module that grows past ~300 lines without saying why, a package missing
from pyproject.toml, a node imported around the registry, or a "better than" rule
written outside ``lgt_graph.evaluation.metrics`` fails here with the place to look.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 300
LONG_BECAUSE = "is long because"
"""A module over MAX_LINES must say why in its docstring, in a sentence with these words."""


def modules() -> dict[str, Path]:
    """Map every module of the package (nodes/ installed as lgt_graph.nodes) to its file."""
    found = {}
    for folder, package in (("lgt_graph", "lgt_graph"), ("nodes", "lgt_graph.nodes")):
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts]
            parts = [p for p in parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def imports(path: Path) -> set[str]:
    """Return every module a file imports, at its top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    return {
        name: {n for n in imports(path) if n in mods and n != name} for name, path in mods.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the import cycles (strongly connected components); a package and its own
    submodules importing each other is not a cycle between concerns."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            root = min(component, key=len)
            if len(component) > 1 and not all(c.startswith(root) for c in component):
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 50 and "lgt_graph.session.runner" in graph
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    graph = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a": {"a.x"}, "b": set()}
    assert cycles(graph) == [["a.x", "a.y", "a.z"]]
    assert cycles({"p": {"p.q"}, "p.q": {"p"}}) == []  # a package and its own module


def test_modules_stay_small_or_say_why():
    too_long = []
    for name, path in modules().items():
        lines = len(path.read_text().splitlines())
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        if lines > MAX_LINES and LONG_BECAUSE not in docstring:
            too_long.append(f"{name}: {lines} lines")
    assert too_long == []


def test_every_package_is_installed():
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    present = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "lgt_graph").rglob("__init__.py")
    }
    assert present - listed == set()
    assert {"lgt_graph.nodes", "lgt_graph.prompts"} <= listed


def test_nodes_are_reached_through_the_registry_only():
    users = []
    for folder in ("lgt_graph", "nodes", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            if any(
                n == "lgt_graph.nodes" or n.startswith("lgt_graph.nodes.") for n in imports(path)
            ):
                users.append(str(path.relative_to(ROOT)))
    assert users == []
    registry = (ROOT / "lgt_graph" / "graph" / "registry.py").read_text()
    for path in (ROOT / "nodes").glob("[a-z]*.py"):
        assert f"lgt_graph.nodes.{path.stem}:" in registry, f"{path.name} is not in the registry"


def test_better_than_is_decided_in_one_place():
    # a comparison chosen by the direction (score > best if maximize else score < best)
    rule = re.compile(r"[<>]=?[^\n]*\bif\s+[\w.\[\]\"']*maximiz\w*\s+else\b")
    sign = re.compile(r"\(\s*1\s+if\s+[\w.]*maximiz\w*\s+else\s+-1\s*\)|-\s*\w+\s+if\s+not")
    places = []
    for name, path in modules().items():
        if name == "lgt_graph.evaluation.metrics":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if rule.search(line) or sign.search(line):
                places.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert places == []
