"""The backfill operations import downward: no import circle in lib/backfills (imports under
TYPE_CHECKING and inside functions count), and no module there imports the `Backfills` facade."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import pytest

import finsight_assets.lib.backfills as backfills_package

PACKAGE = backfills_package.__name__
FACADE = f"{PACKAGE}.operations"


def module_name(path: Path, root: Path) -> str:
    parts = [PACKAGE, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(tree: ast.AST, name: str, is_package: bool) -> set[str]:
    """Every module `tree` imports anywhere in it (`from a import b` counts as `a` and `a.b`)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + is_package]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Per module of the package below `root`, the modules of that package it imports."""
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        imported = imported_names(tree, name, path.name == "__init__.py")
        graph[name] = {m for m in imported if m in paths and m != name}
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One circle through each module that lies on one (depth-first search)."""
    found: list[list[str]] = []
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = "open"
        stack.append(module)
        for nxt in sorted(graph[module]):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(Path(backfills_package.__file__).parent)


def test_the_package_has_no_import_circle(graph):
    assert FACADE in graph and len(graph) > 10
    assert cycles(graph) == []


def test_no_module_of_the_package_imports_the_facade(graph):
    assert [m for m, imported in sorted(graph.items()) if FACADE in imported] == []


def test_the_check_sees_a_circle_under_type_checking_and_the_facade(tmp_path):
    root = tmp_path / "backfills"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "operations.py").write_text(f"from {PACKAGE} import approval\n")
    (root / "approval.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        f"    from {PACKAGE}.lifecycle import standing\n"
    )
    (root / "lifecycle.py").write_text(
        "def standing(ops):\n    from . import approval\n\n"
        "def later():\n    from .operations import Backfills\n"
    )

    graph = import_graph(root)

    assert cycles(graph) == [
        [f"{PACKAGE}.approval", f"{PACKAGE}.lifecycle", f"{PACKAGE}.approval"],
        [f"{PACKAGE}.approval", f"{PACKAGE}.lifecycle", FACADE, f"{PACKAGE}.approval"],
    ]
    assert [m for m, imported in sorted(graph.items()) if FACADE in imported] == [
        f"{PACKAGE}.lifecycle"
    ]
