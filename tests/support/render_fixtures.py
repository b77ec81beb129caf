"""Projects for the render tests: the real article over stub executed notebooks.

`stub_project` copies the real `index.qmd`, `_quarto*.yml`, `references.bib` and
`.gitignore` into a folder and writes, for every `{{< embed >}}` of the article, an
executed notebook cell of the right kind: a PNG with a caption and alternative text (in
the cell metadata, where the build puts it) for `fig-` labels, a markdown pipe table
for `tbl-` labels and, for the notes cells, callouts whose titles are `##` headers (what
made the built-in renderer print "Section 4.12"). Every `{{< var >}}` gets a value.
`REQUIRED_VARIABLES` and `EMBEDDED_LABELS` are what the real article uses.
"""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import nbformat
import yaml

from cifar_core.render.document import INCLUDE_RE, embedded_labels
from cifar_core.render.variables import used_variables

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = ROOT / "tests" / "expected"
ASSETS = Path("cifar_core/render/assets")
STUB_DATE = "2026-01-15"  # build.date of the stub projects
REQUIRED_VARIABLES = used_variables((ROOT / "index.qmd").read_text(encoding="utf-8"))
"""Keys used as ``{{< var key >}}`` in index.qmd."""
EMBEDDED_LABELS = embedded_labels((ROOT / "index.qmd").read_text(encoding="utf-8"))
"""``(notebook, label)`` of every ``{{< embed >}}`` in index.qmd."""


def png_bytes(width: float = 3, height: float = 2, dpi: int = 60) -> bytes:
    """A real matplotlib PNG (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    ax.plot([0, 1, 2], [0.2, 0.5, 0.7], label="val")
    ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def code_cell(source: str, outputs: list) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = outputs
    return cell


def display(data: dict) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data=data)


def stub_cell(label: str, png: bytes) -> nbformat.NotebookNode:
    """An executed cell of the kind its label names."""
    if label.startswith("fig-"):
        cell = code_cell(
            f'#| label: {label}\n#| fig-cap: "Stub figure {label}."\nplot()',
            [display({"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"})],
        )
        cell.metadata["fig-alt"] = f"Stub figure {label}. x axis epoch; lines: val from 0.2 to 0.7."
        return cell
    if label.startswith("tbl-"):
        return code_cell(
            f'#| label: {label}\n#| tbl-cap: "Stub table {label}."\nshow()',
            [
                display(
                    {
                        "text/markdown": "| variant | test acc |\n|:--|--:|\n"
                        "| a | 10.0 % |\n| b | 12.5 % |",
                        "text/plain": "table",
                    }
                )
            ],
        )
    callouts = "\n\n".join(
        f"::: {{.callout-warning}}\n## Large gap {i}\nRun {i} overfits.\n:::" for i in (1, 2)
    )
    return code_cell(f"#| label: {label}\nnotes()", [display({"text/markdown": callouts})])


def nested(keys) -> dict:
    """``{"a": {"b": "1"}}`` for the key ``a.b``; every value is a harmless string."""
    tree: dict = {}
    for key in keys:
        node = tree
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = {"synthetic_banner": "", "date": STUB_DATE}.get(leaf, "1")
    return tree


def stub_project(folder: Path, png: bytes, profile: str = "smoke") -> Path:
    """The real article and configuration over stub notebooks, in ``folder``."""
    for name in ["index.qmd", "references.bib", ".gitignore"] + [
        p.name for p in ROOT.glob("_quarto*.yml")
    ]:
        shutil.copy(ROOT / name, folder / name)
    # the filters and stylesheet _quarto.yml names, at the same place
    shutil.copytree(ROOT / ASSETS, folder / ASSETS)
    text = (ROOT / "index.qmd").read_text()
    variables = nested(used_variables(text))
    variables["profile"] = profile
    (folder / "_variables.yml").write_text(yaml.safe_dump(variables))
    cells: dict[str, list] = {}
    for notebook, label in embedded_labels(text):
        cells.setdefault(notebook, []).append(stub_cell(label, png))
    for notebook, notebook_cells in cells.items():
        path = folder / notebook
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(cells=notebook_cells), str(path))
    for included in INCLUDE_RE.findall(text):  # e.g. the build's provenance table
        (folder / included).parent.mkdir(parents=True, exist_ok=True)
        (folder / included).write_text("| chapter | profile |\n|:--|:--|\n| stub | smoke |\n")
    return folder


def expected_numbers() -> dict[str, str]:
    """The recorded numbering of index.qmd (tests/expected/crossref.yml)."""
    return yaml.safe_load((EXPECTED / "crossref.yml").read_text())["targets"]
