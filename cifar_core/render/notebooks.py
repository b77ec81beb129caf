"""Find labelled cells in executed notebooks and turn their outputs into markdown parts."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat
import yaml

from .errors import RenderError

OPTION_RE = re.compile(r"^#\|\s?(.*)$")
TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)+\|?\s*$", re.M)
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class CellOutputs:
    """The displayable outputs of one labelled cell, in the order they appeared."""

    notebook: Path
    label: str
    options: dict
    images: list[bytes] = field(default_factory=list)
    markdown: list[str] = field(default_factory=list)  # markdown, in order
    html: list[str] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)


#: Cell options Quarto also reads from cell metadata (a subset of quarto-cli's
#: ``kJupyterCellOptionKeys``, core/jupyter/jupyter.ts); ``#|`` lines take precedence.
METADATA_OPTIONS = ("label", "fig-cap", "fig-alt", "tbl-cap", "classes")


def cell_options(source: str, metadata: dict | None = None) -> dict:
    """Parse the leading `#| key: value` lines of a cell as YAML, over the options
    Quarto takes from the cell's ``metadata`` (as Quarto does).

    >>> cell_options('#| label: fig-a\\nplot()', {"fig-alt": "Bars.", "tags": []})
    {'fig-alt': 'Bars.', 'label': 'fig-a'}
    """
    metadata = metadata or {}
    from_metadata = {k: metadata[k] for k in METADATA_OPTIONS if k in metadata}
    return {**from_metadata, **_source_options(source)}


def _source_options(source: str) -> dict:
    lines = []
    for line in source.splitlines():
        match = OPTION_RE.match(line)
        if not match:
            break
        lines.append(match.group(1))
    if not lines:
        return {}
    try:
        options = yaml.safe_load("\n".join(lines)) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"invalid cell options {lines!r}: {exc}") from exc
    return options if isinstance(options, dict) else {}


@lru_cache(maxsize=64)
def _read(path: Path, mtime: float):
    return nbformat.read(str(path), as_version=4)


def read_notebook(path: Path):
    """Read an executed notebook, raising RenderError naming it when absent or invalid."""
    if not path.is_file():
        raise RenderError(
            f"notebook {path} does not exist; it is the executed copy of "
            f"analyses/{path.name} — run `cifar-report build` (or "
            f"`cifar-report analysis {path.stem}`) to produce it."
        )
    try:
        return _read(path, path.stat().st_mtime)
    except Exception as exc:  # nbformat raises several unrelated types
        raise RenderError(f"notebook {path} cannot be read ({exc}); re-run the analysis.") from exc


def find_cell(path: Path, label: str):
    """Return (cell, options) for the code cell labelled `label` (or with that cell id)."""
    nb = read_notebook(path)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        options = cell_options(cell.source, cell.get("metadata"))
        if options.get("label") == label or cell.get("id") == label:
            return cell, options
    labels = [cell_options(c.source).get("label") for c in nb.cells if c.cell_type == "code"]
    known = ", ".join(str(k) for k in labels if k) or "none"
    raise RenderError(
        f"label {label!r} not found in notebook {path}; add a cell starting "
        f"with `#| label: {label}` to analyses/{path.name} "
        f"(labels there: {known})."
    )


def cell_outputs(path: Path, label: str) -> CellOutputs:
    """Collect the image, markdown, html and plain outputs of the labelled cell."""
    cell, options = find_cell(path, label)
    return outputs_of(cell, path, label, options)


def outputs_of(cell, path: Path, label: str, options: dict) -> CellOutputs:
    """The displayable outputs of one code cell of ``path`` (an error output raises)."""
    result = CellOutputs(notebook=path, label=label, options=options)
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            trace = ANSI_RE.sub("", "\n".join(output.get("traceback", [])[-3:]))
            raise RenderError(
                f"cell {label!r} in {path} raised {output.ename}: "
                f"{output.evalue}; fix analyses/{path.name} and re-run.\n{trace}"
            )
        if output.output_type in ("display_data", "execute_result"):
            _add_data(result, output.get("data", {}))
    return result


def _add_data(result: CellOutputs, data: dict) -> None:
    """Keep the richest representation of one output, the way Jupyter would show it."""
    if "image/png" in data:
        result.images.append(base64.b64decode(output_text(data["image/png"])))
    elif "text/markdown" in data:
        result.markdown.append(output_text(data["text/markdown"]))
    elif "text/html" in data:
        result.html.append(output_text(data["text/html"]))
    elif "text/plain" in data:
        result.plain.append(output_text(data["text/plain"]))


def output_text(value) -> str:
    """A notebook output's text, which nbformat stores as a string or a list of lines.

    >>> output_text(["a\\n", "b"]), output_text("c")
    ('a\\nb', 'c')
    """
    return "".join(value) if isinstance(value, list) else str(value)


def is_table(markdown: str) -> bool:
    """True when the markdown contains a pipe table (a header separator line)."""
    return bool(TABLE_SEP_RE.search(markdown)) and "|" in markdown
