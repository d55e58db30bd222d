"""The package's layout: no module over 300 lines; imports point downward, with no import circle
anywhere in the package (imports under TYPE_CHECKING and inside functions count); lib/ never
imports defs/, cli/ or dev/; and only cli/, defs/ and dev/ use the `Backfills` facade."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import pytest

import finsight_assets

PACKAGE = finsight_assets.__name__
ROOT = Path(finsight_assets.__file__).parent
FACADE = f"{PACKAGE}.lib.backfills.operations"
MAX_MODULE_LINES = 300


def module_name(path: Path, root: Path, package: str = PACKAGE) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
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


def import_graph(root: Path, package: str = PACKAGE) -> dict[str, set[str]]:
    """Per module of the package below `root`, the modules of that package it imports."""
    paths = {module_name(p, root, package): p for p in sorted(root.rglob("*.py"))}
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
    return import_graph(ROOT)


def test_no_module_is_over_the_line_limit():
    over = {
        str(path.relative_to(ROOT)): lines
        for path in sorted(ROOT.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert over == {}


def test_the_package_has_no_import_circle(graph):
    assert FACADE in graph and len(graph) > 100
    assert cycles(graph) == []


def test_lib_imports_neither_defs_nor_cli_nor_dev(graph):
    upward = sorted(
        (module, imported)
        for module, targets in graph.items()
        if module.startswith(f"{PACKAGE}.lib.")
        for imported in targets
        if imported.startswith(tuple(f"{PACKAGE}.{top}" for top in ("defs", "cli", "dev")))
    )
    assert upward == []


def test_only_cli_defs_and_dev_use_the_backfills_facade(graph):
    outside = tuple(f"{PACKAGE}.{top}" for top in ("cli", "defs", "dev"))
    users = [m for m, imported in sorted(graph.items()) if FACADE in imported]
    assert users and [m for m in users if not m.startswith(outside)] == []


def test_the_check_sees_a_circle_under_type_checking_and_the_facade(tmp_path):
    package = "backfills"
    root = tmp_path / package
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "operations.py").write_text(f"from {package} import approval\n")
    (root / "approval.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        f"    from {package}.lifecycle import standing\n"
    )
    (root / "lifecycle.py").write_text(
        "def standing(ops):\n    from . import approval\n\n"
        "def later():\n    from .operations import Backfills\n"
    )

    graph = import_graph(root, package)

    facade = f"{package}.operations"
    assert cycles(graph) == [
        [f"{package}.approval", f"{package}.lifecycle", f"{package}.approval"],
        [f"{package}.approval", f"{package}.lifecycle", facade, f"{package}.approval"],
    ]
    assert [m for m, imported in sorted(graph.items()) if facade in imported] == [
        f"{package}.lifecycle"
    ]
