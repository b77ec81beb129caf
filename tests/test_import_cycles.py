"""No import circles in ``cifar_core``: the import graph of the whole package, read from
the sources with ``ast`` (function-local imports included: they still tie two modules
together; imports under ``if TYPE_CHECKING:`` excluded: they never run), has no cycle.

KNOWN_CYCLES is empty: the last circle (the CLI's shared options in ``cli/__init__.py``)
went to ``cli/options.py``. A new circle fails; so does the package importing against the
data flow (``MAY_IMPORT`` below, the table ARCHITECTURE.md draws).
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

PACKAGE = Path(__file__).resolve().parents[1] / "cifar_core"

KNOWN_CYCLES: set[frozenset[str]] = set()


def module_names(root: Path = PACKAGE) -> dict[str, Path]:
    """``{dotted module name: source file}`` of every module of the package."""
    names = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: from the module's package, up level - 1 packages
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def _runtime_imports(tree: ast.AST):
    """The import statements of ``tree`` outside ``if TYPE_CHECKING:`` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in _runtime_imports_of(child))
            continue
        yield from _runtime_imports_of(node)


def _runtime_imports_of(node: ast.AST):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _runtime_imports(node)


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """``{a: {b, …}}``: module ``a`` of the package imports module ``b`` (``from pkg import
    name`` counts as importing ``pkg`` and, if it is a module, ``pkg.name``)."""
    modules = module_names(root)
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for module, path in modules.items():
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            for name in _imported(module, path, node):
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name and name != module:
                    graph[module].add(name)
    return graph


def import_cycles(root: Path = PACKAGE) -> set[frozenset[str]]:
    """The import circles: each strongly connected set of two or more modules."""
    graph = import_graph(root)
    names = sorted(graph)
    index = {name: i for i, name in enumerate(names)}
    edges = [(index[a], index[b]) for a in names for b in graph[a]]
    rows, cols = zip(*edges) if edges else ((), ())
    matrix = csr_array((np.ones(len(edges)), (rows, cols)), shape=(len(names), len(names)))
    _, labels = connected_components(matrix, directed=True, connection="strong")
    components: dict[int, set[str]] = {}
    for name, label in zip(names, labels):
        components.setdefault(int(label), set()).add(name)
    return {frozenset(c) for c in components.values() if len(c) > 1}


def test_the_graph_sees_function_local_and_relative_imports():
    graph = import_graph()
    assert "cifar_core.cli.listing" in graph["cifar_core.cli.runs"]  # inside a function
    assert "cifar_core.render.engine" in graph["cifar_core.render"]  # from .engine import
    assert "cifar_core.experiments.profiles" in graph["cifar_core.experiments.catalog"]


def test_a_cycle_is_found(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("import pkg.c\n\n\ndef f():\n    from pkg import b\n")
    (package / "b.py").write_text("from . import a\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"
    )
    # a → b inside a function still ties them; c → a for the type checker only does not
    assert import_cycles(package) == {frozenset({"pkg.a", "pkg.b"})}


def test_no_new_import_cycles():
    cycles = import_cycles()
    assert cycles - KNOWN_CYCLES == set(), "new import circle(s)"
    gone = KNOWN_CYCLES - cycles
    if gone:
        pytest.fail(f"fixed, remove from KNOWN_CYCLES: {sorted(map(sorted, gone))}")


def test_experiments_has_no_import_cycle():
    for cycle in import_cycles():
        assert not any(m.startswith("cifar_core.experiments") for m in cycle), sorted(cycle)


# What each package may import (ARCHITECTURE.md): data flows one way, so a package
# imports only the ones below it; `project` (paths, ProjectError), `usage` (a process's
# peak memory and CPU seconds), `files` (atomic writes) and `faults` (the crash test
# hook), standard library only, are open to all.
OPEN_TO_ALL = ("", "project", "usage", "files", "faults")
MAY_IMPORT: dict[str, set[str]] = {
    "data": set(),
    "models": set(),
    "experiments": {"data", "models"},
    "runs": {"data", "models", "experiments"},
    "analysis": {"data", "models", "experiments", "runs"},
    "render": set(),
    "orchestrate": {"data", "models", "experiments", "runs", "analysis", "render"},
    "cli": {"data", "models", "experiments", "runs", "analysis", "render", "orchestrate"},
}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def package_edges(root: Path = PACKAGE) -> set[tuple[str, str]]:
    """``(a, b)``: a module of package ``a`` imports one of package ``b`` (``a != b``)."""
    return {
        (_package(a), _package(b))
        for a, targets in import_graph(root).items()
        for b in targets
        if _package(a) != _package(b) and _package(b) not in OPEN_TO_ALL
    }


def test_every_package_is_in_the_layer_table():
    packages = {_package(m) for m in module_names()} - set(OPEN_TO_ALL)
    assert packages == set(MAY_IMPORT)


def test_the_modules_open_to_all_import_no_package():
    assert {b for a, b in package_edges() if a in OPEN_TO_ALL} == set()


def test_packages_import_only_the_layers_below_them():
    against = sorted((a, b) for a, b in package_edges() if a and b not in MAY_IMPORT.get(a, set()))
    assert against == [], "an import against the data flow (update ARCHITECTURE.md if meant)"
