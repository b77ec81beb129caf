"""Run keys: what determines a run, hashed.

A key covers the variant normalized with every default filled in
(:meth:`~cifar_core.experiments.variant.Variant.normalized`), the dataset fingerprint,
a hash of the source of every module on the training path (found by following the
imports of :mod:`cifar_core.runs.train`, so nobody has to remember to bump a version),
and the environment that changes the numbers: Keras backend, device class, precision
(dtype policy), XLA compilation (``jit_compile``) and the major versions of Keras and
the backend library. Nothing here imports Keras.

>>> from cifar_core.experiments.variant import Variant
>>> key = run_key(Variant(name="m", family="mlp", params={"units": [8]}), "f" * 16)
>>> len(key)
16
"""

from __future__ import annotations

import ast
import hashlib
import json
from functools import cache
from importlib import metadata
from importlib.util import resolve_name
from pathlib import Path
from typing import Any

from cifar_core.experiments.variant import Variant
from cifar_core.runs.hardware import compute_settings

PACKAGE = "cifar_core"
TRAINING_ENTRY = "cifar_core.runs.train"
BOOKKEEPING = frozenset(
    {
        "cifar_core.runs.store",
        "cifar_core.runs.manifest",
        "cifar_core.runs.keys",
        "cifar_core.project",
        "cifar_core.files",
        "cifar_core.faults",
        "cifar_core.runs.compute_choice",
    }
)
"""Modules on the import path of training that decide where and how runs are kept (and
the fault-injection test hook), not what is computed: editing them must not invalidate
every stored run (``compute_choice`` decides which setting trains, and the key holds the
setting it decided)."""
_ROOT = Path(__file__).resolve().parents[1]


def module_file(module: str) -> Path | None:
    """The source file of a ``cifar_core`` module (a package's ``__init__.py``)."""
    relative = Path(*module.split(".")[1:])
    for candidate in (_ROOT / relative.with_suffix(".py"), _ROOT / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(module: str, path: Path) -> set[str]:
    """``cifar_core`` modules that ``module`` imports anywhere in its body (function-level
    imports and ``importlib.import_module("cifar_core…")`` included); ``from pkg import
    name`` counts ``pkg.name`` when that is a module."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).startswith(PACKAGE)
        ):
            found.add(str(node.args[0].value))  # importlib.import_module("cifar_core.…")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(PACKAGE))
        elif isinstance(node, ast.ImportFrom):
            base = resolve_name("." * node.level + (node.module or ""), package)
            if not base.startswith(PACKAGE):
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if module_file(child) else base)
    return found


@cache
def training_modules(entry: str = TRAINING_ENTRY) -> tuple[str, ...]:
    """Every ``cifar_core`` module reachable by imports from ``entry`` (sorted), less
    :data:`BOOKKEEPING`."""
    seen, todo = set(), [entry]
    while todo:
        module = todo.pop()
        path = module_file(module)
        if module in seen or path is None or module in BOOKKEEPING:
            continue
        seen.add(module)
        todo.extend(_imports(module, path))
    return tuple(sorted(seen))


@cache
def training_code_hash() -> str:
    """sha256 (first 16 hex) of the sources of :func:`training_modules`."""
    digest = hashlib.sha256()
    for module in training_modules():
        source = module_file(module)
        assert source is not None, module  # training_modules() lists only modules with one
        digest.update(module.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _major(package: str) -> str:
    try:
        return metadata.version(package).split(".")[0]
    except metadata.PackageNotFoundError:
        return "absent"


def environment() -> dict[str, Any]:
    """What, besides config, data and code, changes a run's numbers."""
    settings = compute_settings()
    return {
        "backend": settings.backend,
        "device": settings.device,
        "precision": settings.precision,
        "jit_compile": settings.jit_compile,
        "keras": _major("keras"),
        settings.backend: _major(settings.backend),  # the library is named as the backend
    }


def key_inputs(variant: Variant, dataset_fingerprint: str) -> dict[str, Any]:
    """Everything a run key hashes (stored in the run's ``config.json``)."""
    return {
        "variant": variant.normalized(),
        "dataset": dataset_fingerprint,
        "training_code": training_code_hash(),
        "environment": environment(),
    }


def run_key(variant: Variant, dataset_fingerprint: str) -> str:
    """16 hex chars of sha256 over :func:`key_inputs`."""
    payload = json.dumps(
        key_inputs(variant, dataset_fingerprint), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
