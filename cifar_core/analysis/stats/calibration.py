"""Calibration of a classifier's confidences: ECE, reliability data, NLL, temperature scaling.

A model is *calibrated* when, among the test images it classifies with top-1 confidence
about *p*, a fraction *p* is right. Following Guo et al. (2017, "On Calibration of
Modern Neural Networks"):

* **Expected calibration error** (ECE): the top-1 confidences are put in 15 equal-width
  bins ``(0, 1/15], (1/15, 2/15], …``; ECE is the mean over bins of ``|accuracy −
  mean confidence|`` weighted by the share of images in the bin (0 is perfect).
* **Negative log-likelihood** (NLL): the mean of ``−log p(true class)``
  (``sklearn.metrics.log_loss``), a proper scoring rule that also sees confidences of
  the classes other than the top one.
* **Temperature scaling**: one scalar ``T`` divides the logits, ``softmax(z / T)``;
  ``T > 1`` softens over-confident predictions. It never changes the predicted class,
  so accuracy is unchanged. ``T`` is fitted by minimizing the NLL on the *validation*
  split (``scipy.optimize.minimize_scalar`` on ``log T``, bounded) and applied to test.

Runs store softmax probabilities, not logits. ``log p`` differs from the logits only by
a constant per row (the log of the softmax normalizer), and softmax ignores a per-row
constant, so ``softmax(log p / T)`` equals temperature scaling of the true logits
exactly (up to probabilities that underflowed to 0 in float32, clipped at
``np.finfo(np.float32).tiny``).

Example
-------
>>> import numpy as np
>>> probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
>>> labels = np.array([0, 1, 0, 0])
>>> round(expected_calibration_error(probs, labels), 3)   # |0.5-0.9|/2 + |1.0-0.6|/2
0.4
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from scipy.stats import DegenerateDataWarning, bootstrap
from sklearn.metrics import log_loss

from cifar_core.analysis.records import RunLike

N_BINS = 15
TEMPERATURE_BOUNDS = (0.05, 20.0)
_TINY = float(np.finfo(np.float32).tiny)


def _check(
    probs: np.ndarray, labels: np.ndarray, name: str = "probs"
) -> tuple[np.ndarray, np.ndarray]:
    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels).ravel()
    if probs.ndim != 2:
        raise ValueError(f"{name} must be a (images, classes) array; got shape {probs.shape}")
    if len(probs) != len(labels):
        raise ValueError(f"{name} has {len(probs)} rows but there are {len(labels)} labels")
    if len(labels) == 0:
        raise ValueError(f"{name} is empty: calibration needs at least one image")
    return probs, labels.astype(np.int64)


def confidence_and_correct(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 confidence of each image and whether its top-1 class is the label."""
    probs, labels = _check(probs, labels)
    return probs.max(axis=1), probs.argmax(axis=1) == labels


# ----------------------------------------------------------------------------- binning
def _binned(confidence: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal-width bin edges and each confidence's bin (right-closed: on an edge, the lower)."""
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    return edges, np.clip(np.searchsorted(edges[1:-1], confidence, side="left"), 0, n_bins - 1)


def reliability_table(probs: np.ndarray, labels: np.ndarray, n_bins: int = N_BINS) -> pd.DataFrame:
    """One row per equal-width confidence bin (empty bins included).

    Columns: ``lower``, ``upper`` (the bin is ``(lower, upper]``), ``count``,
    ``share`` (of all images), ``confidence`` (mean top-1 confidence), ``accuracy``
    (fraction correct) and ``gap`` (``accuracy − confidence``; negative =
    over-confident). ``confidence``/``accuracy``/``gap`` are NaN for an empty bin.
    For the non-empty bins, ``accuracy`` and ``confidence`` are what
    ``sklearn.calibration.calibration_curve(correct, confidence, n_bins=n_bins)`` returns.
    """
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}")
    confidence, correct = confidence_and_correct(probs, labels)
    edges, bins = _binned(confidence, n_bins)
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(bins, weights=confidence, minlength=n_bins) / count
        accuracy = np.bincount(bins, weights=correct.astype(float), minlength=n_bins) / count
    return pd.DataFrame(
        {
            "lower": edges[:-1],
            "upper": edges[1:],
            "count": count,
            "share": count / count.sum(),
            "confidence": mean_confidence,
            "accuracy": accuracy,
            "gap": accuracy - mean_confidence,
        }
    )


def expected_calibration_error(
    probs: np.ndarray, labels: np.ndarray, n_bins: int = N_BINS
) -> float:
    """ECE with ``n_bins`` equal-width bins of top-1 confidence (Guo et al. 2017)."""
    table = reliability_table(probs, labels, n_bins)
    filled = table["count"] > 0
    return float((table.loc[filled, "share"] * table.loc[filled, "gap"].abs()).sum())


def ece_interval(
    probs: np.ndarray,
    labels: np.ndarray,
    n_bins: int = N_BINS,
    *,
    n_resamples: int = 50_000,
    seed: int = 0,
) -> tuple[float, float]:
    """95 % bootstrap interval of the ECE over test images (``scipy.stats.bootstrap``, BCa;
    the percentile interval if BCa is undefined, e.g. for constant data).

    Assumes the test images are an i.i.d. sample from the population of interest; the
    model is held fixed. ECE is biased upwards on small samples (thin bins), which the
    BCa correction partly offsets: a percentile interval would sit above the estimate.
    The ECE is no mean of a few values, so its bootstrap is Monte Carlo: 50,000
    resamples keep the printed 0.1-point bounds within one step of each other across
    random states (1,000 moved them by up to 1.4 points on 500 images;
    ``benchmarks/bootstrap_stability.py --ece``), at about a second per 1,000 images.
    """
    confidence, correct = confidence_and_correct(probs, labels)
    _, bins = _binned(confidence, n_bins)
    gaps = correct - confidence

    def statistic(index, axis=-1):  # index: (resamples, images) of image indices
        index = np.atleast_2d(np.asarray(index, dtype=np.int64))
        cells = bins[index] + n_bins * np.arange(len(index))[:, None]
        per_bin = np.bincount(
            cells.ravel(), weights=gaps[index].ravel(), minlength=n_bins * len(index)
        ).reshape(len(index), n_bins)
        ece = np.abs(per_bin).sum(axis=1) / index.shape[1]
        return ece if ece.size > 1 else ece[0]

    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateDataWarning)
            result = bootstrap(
                (np.arange(len(confidence)),),
                statistic,
                vectorized=True,
                n_resamples=n_resamples,
                confidence_level=0.95,
                method=method,
                batch=100,
                rng=np.random.default_rng(seed),
            )
        low, high = result.confidence_interval
        if np.isfinite(low) and np.isfinite(high):
            break
    return float(low), float(high)


# ----------------------------------------------------------------------------- likelihood
def negative_log_likelihood(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean ``−log p(true class)`` (``sklearn.metrics.log_loss``, in float64; rows are
    renormalized first, since float32 softmax outputs sum to 1 only within ~1e-7)."""
    probs, labels = _check(probs, labels)
    probs = probs / probs.sum(axis=1, keepdims=True)
    return float(log_loss(labels, probs, labels=np.arange(probs.shape[1])))


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log p / T)``: the probabilities temperature scaling gives (float64)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive; got {temperature!r}")
    logits = np.log(np.maximum(np.asarray(probs, dtype=np.float64), _TINY))
    return softmax(logits / temperature, axis=1)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimizing the NLL of ``probs`` (the validation split's), found by
    ``scipy.optimize.minimize_scalar(method="bounded")`` on ``log T`` within
    :data:`TEMPERATURE_BOUNDS`.

    The NLL is convex in ``1/T`` for fixed logits, so the bounded search finds the
    global minimum when it lies inside the bounds.
    """
    probs, labels = _check(probs, labels, "validation probs")
    low, high = TEMPERATURE_BOUNDS
    logits = np.log(np.maximum(probs, _TINY))
    rows = np.arange(len(labels))

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[rows, labels].mean())

    result = minimize_scalar(
        nll, bounds=(np.log(low), np.log(high)), method="bounded", options={"xatol": 1e-5}
    )
    return float(np.exp(result.x))


# ----------------------------------------------------------------------------- a run's row
def calibration_summary(
    val_probs: np.ndarray,
    val_labels: np.ndarray,
    test_probs: np.ndarray,
    test_labels: np.ndarray,
    *,
    n_bins: int = N_BINS,
) -> dict[str, Any]:
    """Test accuracy, ECE and NLL before/after temperature scaling fitted on validation:
    ``{"accuracy", "ece", "ece_scaled", "nll", "nll_scaled", "temperature", "n_val",
    "n_test"}``."""
    if len(np.asarray(val_labels)) == 0:
        raise ValueError(
            "temperature scaling needs a validation split, and this run has none "
            "(validation_fraction = 0): calibrate on a run with one"
        )
    temperature = fit_temperature(val_probs, val_labels)
    scaled = apply_temperature(test_probs, temperature)
    _, correct = confidence_and_correct(test_probs, test_labels)
    return {
        "accuracy": float(correct.mean()),
        "ece": expected_calibration_error(test_probs, test_labels, n_bins),
        "ece_scaled": expected_calibration_error(scaled, test_labels, n_bins),
        "nll": negative_log_likelihood(test_probs, test_labels),
        "nll_scaled": negative_log_likelihood(scaled, test_labels),
        "temperature": temperature,
        "n_val": int(len(val_labels)),
        "n_test": int(len(test_labels)),
    }


def calibration_row(run: RunLike, *, n_bins: int = N_BINS) -> dict[str, Any]:
    """:func:`calibration_summary` of a stored run (anything whose ``predictions()`` has
    ``val_probs``, ``val_labels``, ``test_probs``, ``test_labels``)."""
    predictions = run.predictions()
    return calibration_summary(
        predictions["val_probs"],
        predictions["val_labels"],
        predictions["test_probs"],
        predictions["test_labels"],
        n_bins=n_bins,
    )
