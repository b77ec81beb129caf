"""Paired statistics on per-test-image correctness of two arms (scipy / statsmodels).

Both arms are given as ``(seeds, images)`` boolean matrices whose rows are runs with
the same seed (same validation split and training subset) and whose columns are the
same test images. With ``d_i`` the difference (variant − baseline) of image ``i``'s
correctness averaged over the shared seeds, the effect is ``mean(d)``, which equals
the mean over seeds of the per-seed test-accuracy differences.

* **Interval**: a bootstrap over test images (``scipy.stats.bootstrap``, BCa) of
  ``mean(d)``; resampling ``d`` resamples the same images for both arms.
* **Test**: with one shared seed, the exact McNemar test
  (``statsmodels.stats.contingency_tables.mcnemar(exact=True)``), a binomial test on
  the images exactly one arm gets right; with several, a paired sign-flip permutation
  test of ``mean(d)`` (``scipy.stats.permutation_test``, ``permutation_type="samples"``).
* **Multiplicity**: :func:`holm` (``statsmodels.stats.multitest.multipletests``).

Both are conditional on the trained models: the uncertainty is over test images;
training randomness enters only through averaging over the shared seeds.

Example
-------
>>> import numpy as np
>>> base = np.array([[1, 1, 0, 0, 1, 0]], bool)
>>> var = np.array([[1, 1, 1, 1, 1, 0]], bool)
>>> r = paired_difference(base, var, n_resamples=200)
>>> round(r.diff, 3), r.test, r.discordant
(0.333, 'exact McNemar', (0, 2))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MCNEMAR = "exact McNemar"
PERMUTATION = "paired sign-flip permutation"
ASSUMPTIONS = {
    MCNEMAR: (
        "test images are independent; under no difference, an image exactly one "
        "model gets right is equally likely to favour either (binomial, p = 1/2, on "
        "the discordant images); conditional on the two trained models"
    ),
    PERMUTATION: (
        "test images are independent; under no difference, each image's "
        "correctness difference averaged over the shared seeds is symmetric about "
        "zero, so its sign can be flipped; conditional on the trained models"
    ),
}


@dataclass(frozen=True)
class PairedResult:
    """Effect, interval and test of variant − baseline (fractions, not percent)."""

    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str
    n_seeds: int
    n_images: int
    seed_diffs: tuple[float, ...]
    discordant: tuple[int, int] | None = None

    @property
    def assumption(self) -> str:
        return ASSUMPTIONS[self.test]


def _matrix(correct: np.ndarray, name: str) -> np.ndarray:
    matrix = np.asarray(correct)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError(
            f"{name}: expected a (seeds, images) correctness matrix, got shape {np.shape(correct)}"
        )
    return matrix.astype(bool)


def mcnemar_exact(baseline: np.ndarray, variant: np.ndarray) -> tuple[float, np.ndarray]:
    """Exact two-sided McNemar p-value and its 2×2 table for one pair of runs.

    The table is ``[[both right, only baseline right], [only variant right, both
    wrong]]``; with no discordant image the p-value is 1.

    >>> p, table = mcnemar_exact(np.array([1, 1, 0, 1], bool), np.array([1, 0, 1, 1], bool))
    >>> table.tolist(), p
    ([[2, 1], [1, 0]], 1.0)
    """
    from statsmodels.stats.contingency_tables import mcnemar

    b, v = np.asarray(baseline, bool), np.asarray(variant, bool)
    table = np.array([[np.sum(b & v), np.sum(b & ~v)], [np.sum(~b & v), np.sum(~b & ~v)]])
    if table[0, 1] + table[1, 0] == 0:
        return 1.0, table
    return float(mcnemar(table, exact=True).pvalue), table


def _bootstrap_ci(
    d: np.ndarray, confidence: float, n_resamples: int, rng: np.random.Generator
) -> tuple[float, float]:
    from scipy import stats

    if np.all(d == d[0]):  # no spread: every resample has the same mean
        return float(d[0]), float(d[0])
    result = stats.bootstrap(
        (d,),
        np.mean,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="BCa",
        vectorized=True,
        batch=200,
        rng=rng,
    )
    low, high = result.confidence_interval
    if math.isnan(low) or math.isnan(high):  # BCa undefined (e.g. extreme skew): percentile
        result = stats.bootstrap(
            (d,),
            np.mean,
            confidence_level=confidence,
            n_resamples=n_resamples,
            method="percentile",
            vectorized=True,
            batch=200,
            rng=rng,
        )
        low, high = result.confidence_interval
    return float(low), float(high)


def _permutation_p(d: np.ndarray, n_permutations: int, rng: np.random.Generator) -> float:
    from scipy import stats

    if not np.any(d):
        return 1.0
    result = stats.permutation_test(
        (d,),
        np.mean,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_permutations,
        alternative="two-sided",
        batch=1000,
        rng=rng,
    )
    return float(min(1.0, result.pvalue))


def paired_difference(
    baseline: np.ndarray,
    variant: np.ndarray,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    n_permutations: int = 9999,
    random_state: int = 0,
) -> PairedResult:
    """Effect of variant over baseline on the same test images, paired by seed.

    Parameters
    ----------
    baseline, variant : array of bool, shape (seeds, images) or (images,)
        Per-image correctness; row ``k`` of both arms has the same seed.
    confidence : float
        Confidence level of the bootstrap interval.
    n_resamples : int
        Bootstrap resamples of the test images.
    n_permutations : int
        Sign-flip permutations (several seeds only; the minimum p-value is about
        ``1 / (n_permutations + 1)``).
    random_state : int
        Seeds the bootstrap and the permutations, so the report is reproducible.

    Returns
    -------
    PairedResult
        ``diff`` (variant − baseline accuracy), ``ci_low``/``ci_high``, raw ``p_value``,
        the ``test`` used, ``n_seeds``, ``n_images``, per-seed differences and, for
        McNemar, the discordant counts (only baseline right, only variant right).
    """
    base, var = _matrix(baseline, "baseline"), _matrix(variant, "variant")
    if base.shape != var.shape:
        raise ValueError(
            f"baseline and variant correctness differ in shape: {base.shape} vs "
            f"{var.shape} (same seeds in the same order, same test images)"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    rng = np.random.default_rng(random_state)
    d = var.astype(float).mean(axis=0) - base.astype(float).mean(axis=0)
    low, high = _bootstrap_ci(d, confidence, n_resamples, rng)
    seed_diffs = tuple(float(x) for x in var.mean(axis=1) - base.mean(axis=1))
    if base.shape[0] == 1:
        p, table = mcnemar_exact(base[0], var[0])
        test, discordant = MCNEMAR, (int(table[0, 1]), int(table[1, 0]))
    else:
        p, test, discordant = _permutation_p(d, n_permutations, rng), PERMUTATION, None
    return PairedResult(
        float(d.mean()), low, high, p, test, base.shape[0], base.shape[1], seed_diffs, discordant
    )


def holm(p_values: Sequence[float], alpha: float = 0.05) -> list[float]:
    """Holm-adjusted p-values (``statsmodels.stats.multitest.multipletests``), in order.

    >>> [round(p, 3) for p in holm([0.01, 0.04, 0.03])]
    [0.03, 0.06, 0.06]
    """
    from statsmodels.stats.multitest import multipletests

    if len(p_values) == 0:
        return []
    return [float(p) for p in multipletests(list(p_values), alpha=alpha, method="holm")[1]]
