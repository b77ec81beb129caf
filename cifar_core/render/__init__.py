"""Rendering of the report: `quarto render` when Quarto is installed, else a built-in
renderer on pandoc (pypandoc-binary) and typst that reads the same `index.qmd`.

Public API:
    render(project_root=".", *, to=("html", "pdf"), renderer="auto", profile=None)
    RenderError
    REQUIRED_VARIABLES   keys used as {{< var key >}} in index.qmd
    EMBEDDED_LABELS      (notebook, label) of every {{< embed >}} in index.qmd
    check(project_root)  what is missing (variables, notebooks, labels), without rendering
"""

from __future__ import annotations

from pathlib import Path

from .check import check
from .document import embedded_labels
from .engine import render
from .errors import RenderError
from .variables import used_variables

ARTICLE = Path(__file__).resolve().parents[2] / "index.qmd"

__all__ = [
    "render",
    "RenderError",
    "check",
    "REQUIRED_VARIABLES",
    "EMBEDDED_LABELS",
]


def __getattr__(name: str):
    """REQUIRED_VARIABLES / EMBEDDED_LABELS are read from the article on first use."""
    if name in ("REQUIRED_VARIABLES", "EMBEDDED_LABELS"):
        text = ARTICLE.read_text(encoding="utf-8") if ARTICLE.is_file() else ""
        return used_variables(text) if name == "REQUIRED_VARIABLES" else embedded_labels(text)
    raise AttributeError(name)
