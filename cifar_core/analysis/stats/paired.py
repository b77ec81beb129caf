"""Paired statistics on per-test-image correctness of two arms, computed exactly.

Both arms are ``(seeds, images)`` boolean matrices whose rows are runs with the same
seed (same validation split and training subset) and whose columns are the same test
images. With ``d_i`` the difference (variant − baseline) of image ``i``'s correctness
averaged over the ``k`` shared seeds, the effect is ``mean(d)``, which equals the mean
over seeds of the per-seed test-accuracy differences. Each ``k·d_i`` is an integer in
``−k … k``, so both distributions below are exact, not Monte Carlo: the printed digits
do not depend on a random state, and the cost does not grow with resamples.

* **Interval**: the BCa bootstrap interval of ``mean(d)`` over test images, computed
  from the *exact* bootstrap distribution — what resampling the images with
  replacement gives with infinitely many resamples. A resample's sum is the sum of
  ``n`` independent draws from the empirical distribution of ``k·d`` on ``2k + 1``
  values, so its distribution is that distribution convolved ``n`` times
  (``scipy.fft``, one transform of ``2kn + 1`` points); BCa's bias correction and
  acceleration have closed forms for a mean (:func:`bootstrap_interval`).
* **Test**: with one shared seed, the exact McNemar test
  (``statsmodels.stats.contingency_tables.mcnemar(exact=True)``); with several, the
  exact paired sign-flip permutation test of ``mean(d)``: under no difference each
  ``d_i`` is as likely to have either sign, and the images with ``|k·d_i| = m`` add
  ``m·(2B_m − c_m)`` with ``B_m ~ Binomial(c_m, ½)`` (``scipy.stats.binom``), so the
  null distribution is the convolution of ``k`` binomials. With one seed this *is*
  the exact McNemar test.
* **Multiplicity**: :func:`holm` (``statsmodels.stats.multitest.multipletests``).

Assumptions: the test images are independent draws from the population of interest;
the trained models are held fixed, so the uncertainty is over test images and
training randomness enters only through averaging over the shared seeds. BCa
corrects the percentile interval for the bias and skewness of the bootstrap
distribution, which matters for a class of 50 to 100 images whose accuracy is near 0
or 1; with thousands of images the two agree to the printed 0.1 point
(``benchmarks/bootstrap_stability.py``).

Example
-------
>>> import numpy as np
>>> base = np.array([[1, 1, 0, 0, 1, 0]], bool)
>>> var = np.array([[1, 1, 1, 1, 1, 0]], bool)
>>> r = paired_difference(base, var)
>>> round(r.diff, 3), (round(r.ci_low, 3), round(r.ci_high, 3)), r.test
(0.333, (0.0, 0.833), 'exact McNemar')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import fft, special, stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

MCNEMAR = "exact McNemar"
PERMUTATION = "paired sign-flip permutation"
_TOLERANCE = 1e-9  # of a probability computed by a transform: far below any level used


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
    b, v = np.asarray(baseline, bool), np.asarray(variant, bool)
    table = np.array([[np.sum(b & v), np.sum(b & ~v)], [np.sum(~b & v), np.sum(~b & ~v)]])
    if table[0, 1] + table[1, 0] == 0:
        return 1.0, table
    return float(mcnemar(table, exact=True).pvalue), table


def bootstrap_interval(steps: np.ndarray, k: int, confidence: float) -> tuple[float, float]:
    """BCa interval of ``mean(steps) / k`` from the exact bootstrap distribution.

    ``steps`` are integers in ``−k … k`` (one per test image). Resampling the images
    with replacement makes a resample's sum the ``n``-fold convolution of their
    empirical distribution, computed with one real FFT. The interval is Efron's
    bias-corrected and accelerated (BCa) percentile interval, as
    ``scipy.stats.bootstrap(method="BCa")`` computes it, with infinitely many
    resamples: the bias correction ``z0`` from the share of resamples below the
    estimate (ties counted half), the acceleration from the jackknife, which for a
    mean is ``skew / (6 √n)`` (``scipy.stats.skew``); the bounds are the quantiles of
    the exact distribution at the adjusted levels.

    >>> bootstrap_interval(np.array([1, 0, 0, 0, 1, 0, 0, 0]), 1, 0.5)   # mean 0.25
    (0.125, 0.375)
    """
    steps = np.asarray(steps, dtype=np.int64)
    n = len(steps)
    if np.all(steps == steps[0]):  # no spread: every resample has the same mean
        return float(steps[0] / k), float(steps[0] / k)
    pmf = np.bincount(steps + k, minlength=2 * k + 1) / n
    support = 2 * k * n + 1  # sums of n steps, offset by kn: 0 … 2kn
    size = fft.next_fast_len(support, real=True)
    total = np.clip(fft.irfft(fft.rfft(pmf, size) ** n, size)[:support], 0.0, None)
    cdf = np.cumsum(total) / total.sum()
    observed = int(steps.sum()) + k * n
    below = cdf[observed - 1] if observed > 0 else 0.0
    z0 = special.ndtri((below + cdf[observed]) / 2)
    acceleration = stats.skew(steps) / (6 * np.sqrt(n))
    levels = []
    for z in (special.ndtri((1 - confidence) / 2), special.ndtri((1 + confidence) / 2)):
        levels.append(special.ndtr(z0 + (z0 + z) / (1 - acceleration * (z0 + z))))
    low, high = (int(np.searchsorted(cdf, level - _TOLERANCE)) for level in levels)
    return (low - k * n) / (k * n), (high - k * n) / (k * n)


def sign_flip_p(steps: np.ndarray) -> float:
    """Exact two-sided p-value of the paired sign-flip permutation test of ``sum(steps)``.

    Under no difference each image's step keeps or flips its sign with probability ½:
    the images of magnitude ``m`` (``c_m`` of them) add ``m·(2B − c_m)``,
    ``B ~ Binomial(c_m, ½)``, and the null distribution is the convolution over the
    magnitudes. The p-value is the probability of a sum at least as far from 0 as the
    observed one.

    >>> round(sign_flip_p(np.array([1, 1, 1, 1, 1, 0, 0])), 6)   # five of five favour the variant
    0.0625
    """
    steps = np.asarray(steps, dtype=np.int64)
    observed = abs(int(steps.sum()))
    if observed == 0:
        return 1.0
    null = np.array([1.0])  # distribution of the sum, offset by its minimum
    for magnitude in range(1, int(np.abs(steps).max()) + 1):
        c = int(np.sum(np.abs(steps) == magnitude))
        if c:
            spread = np.zeros(2 * magnitude * c + 1)  # −m·c … m·c in steps of 2m
            spread[:: 2 * magnitude] = stats.binom.pmf(np.arange(c + 1), c, 0.5)
            null = np.convolve(null, spread)
    sums = np.arange(len(null)) - (len(null) - 1) // 2
    return float(min(1.0, null[np.abs(sums) >= observed].sum()))


def paired_difference(baseline: np.ndarray, variant: np.ndarray) -> PairedResult:
    """Effect of variant over baseline on the same test images, paired by seed, with a
    95 % interval.

    ``baseline`` and ``variant`` are per-image correctness, ``(seeds, images)`` or
    ``(images,)``; row ``k`` of both arms has the same seed. The result's p-value is
    raw (not Holm-adjusted).
    """
    base, var = _matrix(baseline, "baseline"), _matrix(variant, "variant")
    if base.shape != var.shape:
        raise ValueError(
            f"baseline and variant correctness differ in shape: {base.shape} vs "
            f"{var.shape} (same seeds in the same order, same test images)"
        )
    k = base.shape[0]
    steps = var.sum(axis=0, dtype=np.int64) - base.sum(axis=0, dtype=np.int64)
    low, high = bootstrap_interval(steps, k, 0.95)
    if k == 1:
        p, test = mcnemar_exact(base[0], var[0])[0], MCNEMAR
    else:
        p, test = sign_flip_p(steps), PERMUTATION
    diff = float(steps.sum() / (k * base.shape[1]))
    return PairedResult(diff, low, high, p, test, k, base.shape[1])


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (``statsmodels.stats.multitest.multipletests``), in order
    (they do not depend on a level: compare them with one).

    >>> [round(p, 3) for p in holm([0.01, 0.04, 0.03])]
    [0.03, 0.06, 0.06]
    """
    if len(p_values) == 0:
        return []
    return [float(p) for p in multipletests(list(p_values), method="holm")[1]]
