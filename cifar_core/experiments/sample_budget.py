"""The ``sample`` profile's budget: epochs and seeds per model family, chosen so that
runs reach their plateau on the 5,085-image slice (4,068 training images after the
validation split) and the whole sample build fits in 45 minutes on a 2-core CPU.

An epoch of the slice is a tenth of a full-CIFAR-10 epoch, so a seed's epoch count is
not a plateau here: small CNNs trained with Adam overfit within 6-10 epochs (their
lowest validation loss comes at epoch 5-8), so the 5-epoch ones get 10; SGD-trained
models need more steps; long schedules (50-100 epochs) are cut to the epochs where
their validation loss stops falling, and their learning-rate schedules, written as
fractions of the epochs, shrink with them. Where no budget that fits reaches a plateau,
the runs stay (flagged under-trained by the report) or, for seed 002's Model 2-x and
Model 3-x, are left to the full profile (:data:`SAMPLE_FULL_ONLY`). Where two variants
of one configuration get the same budget (an epoch-matched control and the variant it
controls for), the build trains one run and the report says "same run as … under this
profile".

Seeds: three for the cheap families, two where a seed's claim is tested, one for the
costliest (the findings tables give the seeds each comparison shares: with one, the
test is exact McNemar on that pair of runs).

Each source file declares the :class:`~cifar_core.experiments.declare.Budget` of its
variants (``BUDGET``: one family, one reason, the measured plateaus behind the numbers,
one seed each, on the slice, ``cifar_core.runs.train``) and what the scaled profiles
leave out (``FULL_ONLY``, with why). The catalog compiles them into the per-variant
mappings the profile takes, and refuses a variant budgeted twice or a budget for a
variant that does not exist. ``benchmarks/sample_budget.py`` prices the budget in CPU
time.

Example
-------
>>> epochs()["flagship"], seeds()["flagship"]
(64, (0,))
"""

from __future__ import annotations

from cifar_core.experiments import catalog
from cifar_core.experiments.declare import Budget

__all__ = ["Budget", "SAMPLE_BUDGET", "FULL_ONLY", "SAMPLE_FULL_ONLY", "epochs", "seeds"]

SAMPLE_BUDGET: tuple[Budget, ...] = catalog.builtin().budget
"""Every built-in source's budget entries, in source order."""

SAMPLE_FULL_ONLY = catalog.builtin().full_only["sample"]
"""Not run by the sample profile (each with its reason in the declaring file's
``FULL_ONLY``): WRN-16-8 and the whole VGG16, seed 002's Model 2-x and 3-x, four of
the flagship's five ablations."""

FULL_ONLY = frozenset.intersection(
    *(catalog.builtin().full_only[p] for p in ("demo", "smoke", "sample"))
)
"""Too costly for a 2-core CPU even for a few epochs (WRN-16-8: 3.1 GFLOPs per image;
whole VGG16: 0.63): run in the full profile only, in every scaled profile."""


def epochs() -> dict[str, int]:
    """``{variant: epochs}`` of the sample profile."""
    return dict(catalog.builtin().sample_epochs)


def seeds() -> dict[str, tuple[int, ...]]:
    """``{variant: seeds}`` of the sample profile."""
    return dict(catalog.builtin().sample_seeds)
