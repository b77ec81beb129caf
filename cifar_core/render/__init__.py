"""Rendering of the report: `quarto render` when Quarto is installed, else a built-in
renderer on pandoc (pypandoc-binary) and typst that reads the same `index.qmd`.

Public API:
    render(project_root=".", *, to=("html", "pdf"), renderer="auto", profile=None)
    RenderError
    check(project_root)  what is missing (variables, notebooks, labels), without rendering
"""

from __future__ import annotations

from .check import check
from .engine import render
from .errors import RenderError

__all__ = ["render", "RenderError", "check"]
