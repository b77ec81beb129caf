"""Where the added-studies chapter enters the article: ``index.qmd`` includes
``notebooks/_added-studies.md`` (``{{< include … >}}``, which Quarto and the built-in
renderer both resolve), and the build writes that file: the section embedding the
chapter's cells when the project declares studies of its own (``studies/*.py``), empty
otherwise, so a project without them renders exactly as before.

>>> added_studies_markdown(False)
''
>>> "{{< embed notebooks/15-added-studies.ipynb#tbl-added-runs >}}" in added_studies_markdown(True)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cifar_core.experiments.chapters import ADDED_STUDIES, chapter
from cifar_core.project import NOTEBOOKS_DIR, STUDIES_DIR

INCLUDE = "_added-studies.md"
LABELS = (
    "tbl-added-runs",
    "tbl-added-findings",
    "added-findings-text",
    "tbl-added-claims",
    "added-notes",
)
"""The cells of ``analyses/15-added-studies.py`` the section embeds, in order."""


def added_studies_markdown(planned: bool) -> str:
    """The section of the added studies (``""`` when the chapter is not ``planned``)."""
    if not planned:
        return ""
    embeds = "\n\n".join(
        f"{{{{< embed {NOTEBOOKS_DIR}/{ADDED_STUDIES}.ipynb#{label} >}}}}" for label in LABELS
    )
    return (
        f"## {chapter(ADDED_STUDIES).title} {{#sec-added-studies}}\n\n"
        f"The studies declared in this project's `{STUDIES_DIR}/` folder: their runs, "
        "each variant against its study's baseline, and the verdicts on their claims.\n\n"
        f"{embeds}\n"
    )


def write_added_studies(root: Path, names: Sequence[str]) -> Path:
    """Write ``notebooks/_added-studies.md`` for the chapters ``names`` a build executes."""
    path = Path(root) / NOTEBOOKS_DIR / INCLUDE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(added_studies_markdown(ADDED_STUDIES in names), encoding="utf-8")
    return path
