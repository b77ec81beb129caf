"""The chapter registry: which chapters the report has, in order, with their titles; each
study names the chapter that shows it (``study(..., chapter=…)``).

A chapter ``NN-name`` is the notebook source ``analyses/NN-name.py``, executed into
``notebooks/NN-name.ipynb``. What follows this table:

* the build executes the project's chapters in this order
  (:func:`cifar_core.orchestrate.notebooks.analysis_names`), and the added-studies
  chapter only when the project declares a study of its own (``studies/*.py``);
* a chapter's ``studies`` parameter defaults to ``None``: the studies that name it
  (:func:`cifar_core.experiments.catalog.chapter_studies`);
* the findings chapter tabulates the findings of the studies whose chapter shows no
  findings table itself (:func:`cifar_core.experiments.catalog.findings_elsewhere`);
* ``_quarto.yml``'s ``manuscript.notebooks`` lists the same notebooks with the same
  titles (``tests/test_chapters.py`` fails when they disagree).

>>> [c.name for c in CHAPTERS][:3]
['01-data', '02-baselines', '03-architecture']
>>> chapter("06-transfer").title
'Transfer learning'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chapter:
    """One chapter of the report.

    ``findings_table``: the chapter shows the findings table of its studies (else the
    findings chapter shows it). ``added_studies``: the chapter of the project's own
    studies, executed only when there is one.
    """

    name: str
    title: str
    findings_table: bool = False
    added_studies: bool = False


CHAPTERS: tuple[Chapter, ...] = (
    Chapter("01-data", "Data"),
    Chapter("02-baselines", "Baselines", findings_table=True),
    Chapter("03-architecture", "Architecture ablations", findings_table=True),
    Chapter("04-training", "Training ablations", findings_table=True),
    Chapter("05-regularization", "Regularization", findings_table=True),
    Chapter("06-transfer", "Transfer learning"),
    Chapter("07-errors", "Error analysis"),
    Chapter("08-summary", "Summary"),
    Chapter("09-findings", "Findings and claims"),
    Chapter("10-calibration", "Calibration"),
    Chapter("11-tta", "Test-time augmentation"),
    Chapter("12-robustness", "Corruption robustness"),
    Chapter("13-per-class", "Per-class view"),
    Chapter("14-compute", "Compute-controlled comparison"),
    Chapter("15-added-studies", "Added studies", findings_table=True, added_studies=True),
)

ADDED_STUDIES = next(c.name for c in CHAPTERS if c.added_studies)
"""The chapter a project's own study belongs to unless it names another."""

STUDY_ORDER: tuple[str, ...] = (
    "baselines",
    "depth",
    "filters",
    "kernel_size",
    "activation",
    "pooling",
    "batch_size",
    "optimizer",
    "lr_schedule",
    "normalization",
    "dropout",
    "batch_norm",
    "l2",
    "augmentation",
    "seed001_trio",
    "seed002_families",
    "seed004_lab",
    "wrn",
    "transfer",
    "flagship",
)
"""The order the report reads the built-in studies in, whichever file declares them:
topics first (architecture, training, regularization), then each seed's own groupings,
transfer and the flagship. It orders the findings and the Discussion, a variant's first
study (the summary's study column) and ``cifar-report list``; a study not listed here
follows in the order of the source files (a project's own studies last)."""


def chapter(name: str) -> Chapter:
    """The registry's chapter ``name`` (``KeyError`` naming the known ones)."""
    for entry in CHAPTERS:
        if entry.name == name:
            return entry
    raise KeyError(f"unknown chapter {name!r}; known: {', '.join(c.name for c in CHAPTERS)}")
