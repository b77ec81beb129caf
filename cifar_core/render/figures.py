"""Alternative text of the report's figures, the same under Quarto and the built-in
renderer.

A figure cell (label ``fig-…``) needs a caption (``#| fig-cap:``) and alternative text.
The text is the cell's own ``#| fig-alt:`` when it has one, else the caption followed by
the description `cifar_core.analysis.plots.show` attached to the image output
(``image/png`` metadata, key ``cifar-report/alt``). After executing a notebook the build
writes that text into the cell's metadata as ``fig-alt``, a cell option Quarto reads
from cell metadata as well as from ``#|`` lines (quarto-cli ``core/jupyter/jupyter.ts``:
``jupyterCellWithOptions`` reads every key of ``kJupyterCellOptionKeys``, ``fig-alt``
among them, from ``cell.metadata``; ``mdImageOutput`` writes it as the image's
``fig-alt`` attribute, which becomes ``<img alt=…>``). The built-in renderer reads the
same option (`cifar_core.render.notebooks.cell_options`).

    python -m cifar_core.render.figures notebooks/*.ipynb   # fill in fig-alt, list problems
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from .notebooks import cell_options

ALT_METADATA_KEY = "cifar-report/alt"  # = cifar_core.analysis.plots.ALT_METADATA_KEY
ALT_OPTION = "fig-alt"


def alt_text(caption: str, description: str) -> str:
    """``caption`` then ``description``, on one line: what goes into ``fig-alt``.

    >>> alt_text("Images per class", "bars: cat 40, dog 40.")
    'Images per class. bars: cat 40, dog 40.'
    """
    caption = " ".join(str(caption).split())
    if caption and not caption.endswith((".", "!", "?", ":")):
        caption += "."
    return " ".join(f"{caption} {description}".split())


def output_description(cell) -> str | None:
    """The description `plots.show` attached to the cell's first image, if any."""
    for output in cell.get("outputs", []):
        if "image/png" in output.get("data", {}):
            meta = (output.get("metadata") or {}).get("image/png") or {}
            text = meta.get(ALT_METADATA_KEY)
            return str(text) if text is not None else None
    return None


def figure_problems(path: Path, label: str, options: dict) -> list[str]:
    """Why the figure cell ``label`` of ``path`` cannot be shown accessibly (without a
    caption only that is said: the alternative text is made from it)."""
    problems = []
    where = f"figure cell {label!r} in {path}"
    if not str(options.get("fig-cap") or "").strip():
        problems.append(
            f'{where} has no caption: add `#| fig-cap: "…"` to analyses/{path.stem}.py.'
        )
    elif not str(options.get(ALT_OPTION) or "").strip():
        problems.append(
            f"{where} has no alternative text: display the figure with "
            f'`plots.show(fig)` (which describes it) or add `#| fig-alt: "…"` '
            f"to analyses/{path.stem}.py."
        )
    return problems


def carry_alt_text(path: Path) -> list[str]:
    """Give every figure cell of the executed notebook ``path`` its ``fig-alt`` (cell
    metadata, see the module docstring); returns what is missing, one line each
    (empty: every figure has a caption and alternative text)."""
    nb = nbformat.read(str(path), as_version=4)
    problems, changed = [], False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        options = cell_options(cell.source)
        label = str(options.get("label") or "")
        if not label.startswith("fig-"):
            continue
        if not options.get(ALT_OPTION):
            description = output_description(cell)
            caption = str(options.get("fig-cap") or "").strip()
            if description is not None and caption:
                cell.metadata[ALT_OPTION] = alt_text(caption, description)
                changed = True
        problems += figure_problems(path, label, cell_options(cell.source, cell.metadata))
    if changed:
        nbformat.write(nb, str(path))
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    problems = [p for path in args.notebooks for p in carry_alt_text(path)]
    print("\n".join(f"- {p}" for p in problems) or "every figure has a caption and alt text")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
