"""Where things live in a cifar-report project, and the few names every layer shares.

A project folder holds ``_quarto.yml``, the article ``index.qmd``, the analysis
sources ``analyses/*.py`` and, optionally, studies of its own ``studies/*.py``; a build writes the executed notebooks to ``notebooks/``,
the quoted numbers to ``_variables.yml`` and (by default) the runs to ``runs/``.

>>> ProjectError("no project here").args[0]
'no project here'
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

ANALYSES_DIR = "analyses"
STUDIES_DIR = "studies"  # the project's own studies (cifar_core.experiments.local)
NOTEBOOKS_DIR = "notebooks"
VARIABLES_FILE = "_variables.yml"
RUNS_ENV = "CIFAR_REPORT_RUNS"
PROFILE_ENV = "CIFAR_REPORT_PROFILE"
DEFAULT_PROFILE = "demo"

Log = Callable[[str], Any]
"""Where progress lines go (``print``, a list's ``append``, a logger method)."""


class ProjectError(RuntimeError):
    """A request that cannot proceed as asked; the message says what to do instead.

    The command line prints it as one ``error: …`` line and exits with status 2.
    """


def find_project_root(start: str | os.PathLike | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the working directory) that
    holds an ``analyses/`` folder and a ``_quarto.yml``; ``None`` when there is none."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ANALYSES_DIR).is_dir() and (folder / "_quarto.yml").is_file():
            return folder
    return None


def project_root(start: str | os.PathLike | None = None) -> Path:
    """Like :func:`find_project_root`, but raises :class:`ProjectError` when not found."""
    root = find_project_root(start)
    if root is None:
        raise ProjectError(
            f"no cifar-report project at or above {Path(start or Path.cwd()).resolve()}: "
            f"run the command in the folder that holds {ANALYSES_DIR}/ and _quarto.yml"
        )
    return root


def default_runs_dir(root: str | os.PathLike | None = None) -> Path:
    """The run store every command uses unless told otherwise: ``$CIFAR_REPORT_RUNS``,
    else ``runs/`` in the project (found from ``root`` or the working directory), else
    ``runs/`` in the working directory."""
    if os.environ.get(RUNS_ENV):
        return Path(os.environ[RUNS_ENV]).expanduser().resolve()
    project = find_project_root(root)
    return (project or Path.cwd().resolve()) / "runs"


def default_profile() -> str:
    """``$CIFAR_REPORT_PROFILE``, else ``demo`` (synthetic data, offline, minutes)."""
    return os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
