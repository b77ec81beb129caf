"""A project's own studies: every ``studies/*.py`` file of the project folder is a source
file of the catalog, declared with the vocabulary of :mod:`cifar_core.experiments.declare`
(README, "Add your own experiment"; an example: ``examples/studies/wider_filters.py``).

The files are executed in name order, each as its own module; a Python error in one is
a :class:`~cifar_core.experiments.declare.CatalogError` naming the file and the line.

>>> from pathlib import Path
>>> study_files(Path("/nonexistent"))
[]
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import traceback
from pathlib import Path

from cifar_core.experiments.declare import CatalogError, Source
from cifar_core.project import STUDIES_DIR


def study_files(root: Path) -> list[Path]:
    """The project's study files, in name order."""
    folder = Path(root) / STUDIES_DIR
    return sorted(p for p in folder.glob("*.py") if p.is_file()) if folder.is_dir() else []


def signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """What identifies the current contents of the study files (name, mtime, size)."""
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in study_files(root))


def contents_digest(root: Path) -> str:
    """sha256 (first 16 hex) of the study files' names and bytes (``"none"`` without)."""
    files = study_files(root)
    if not files:
        return "none"
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def read_studies(root: Path) -> list[Source]:
    """The sources of the project's study files (``[]`` without a ``studies/`` folder)."""
    return [
        Source.read(
            _execute(path, f"{STUDIES_DIR}/{path.name}"), f"{STUDIES_DIR}/{path.name}", local=True
        )
        for path in study_files(root)
    ]


def _execute(path: Path, shown: str):
    name = "cifar_report_studies." + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CatalogError(f"{shown}: cannot be read as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses defined in the file look their module up
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's code: any error is a usage error naming it
        raise CatalogError(
            f"{shown}{_line(error, path)}: {type(error).__name__}: {error}"
        ) from None
    finally:
        sys.modules.pop(name, None)
    return module


def _line(error: Exception, path: Path) -> str:
    if isinstance(error, SyntaxError) and error.lineno:
        return f", line {error.lineno}"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename) == path]
    return f", line {frames[-1].lineno}" if frames else ""
