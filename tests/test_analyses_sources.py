"""The analysis notebooks are edited as jupytext percent scripts (`analyses/*.py`, easy to
review and diff) and executed as `.ipynb` (what papermill runs). They must not drift:
regenerate with `jupytext --set-kernel python3 --to ipynb analyses/*.py`."""
from pathlib import Path

import jupytext
import pytest

ANALYSES = Path(__file__).resolve().parent.parent / "analyses"
SCRIPTS = sorted(ANALYSES.glob("*.py"))


def _cells(notebook):
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_notebook_matches_its_script(script):
    notebook = script.with_suffix(".ipynb")
    assert notebook.exists(), f"{notebook} is missing: run jupytext --to ipynb {script}"
    assert _cells(jupytext.read(script)) == _cells(jupytext.read(notebook)), (
        f"{notebook.name} differs from {script.name}: "
        f"run jupytext --set-kernel python3 --to ipynb {script}")


def test_every_notebook_has_a_parameters_cell():
    for notebook in sorted(ANALYSES.glob("*.ipynb")):
        tags = [cell.metadata.get("tags", []) for cell in jupytext.read(notebook).cells]
        assert any("parameters" in t for t in tags), f"{notebook.name} has no parameters cell"
