"""What the findings layer needs from a run: a light, Keras-free record.

A :class:`RunRecord` holds one trained run's identity (store key and seed), its
per-test-image correctness in test-index order, its validation and test accuracy and
its per-epoch history. :func:`record_from_run` builds one from a run-store ``Run`` (or
anything shaped like it: ``key``, ``config["variant"]``, ``metrics``, ``history``,
``predictions()``); tests and notebooks may also build records directly.

Example
-------
>>> import numpy as np
>>> rec = RunRecord("k0", 0, np.array([True, False, True, True]), val_accuracy=0.7)
>>> rec.test_accuracy
0.75
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class RunRecord:
    """One run as the statistics see it.

    Parameters
    ----------
    key : str
        The run-store key (two variants resolving to one key are the same run).
    seed : int or None
        The variant's seed; runs of two arms with the same seed share the validation
        split and the training subset.
    correct : array of bool
        Whether each test image was classified correctly, in test-index order.
    val_accuracy, val_loss : float
        Validation metrics (NaN when unknown).
    history : pandas.DataFrame or None
        Per-epoch history (``val_loss``, ``val_accuracy``…) for the convergence flag.
    test_labels : array of int or None
        The test labels in the same order, to check that two arms saw one test set.
    """

    key: str
    seed: int | None
    correct: np.ndarray
    val_accuracy: float = math.nan
    val_loss: float = math.nan
    history: Any = None
    test_labels: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        correct = np.asarray(self.correct)
        if correct.ndim != 1:
            raise ValueError(
                f"run {self.key!r}: correct must be 1-D (one entry per test "
                f"image), got shape {correct.shape}"
            )
        object.__setattr__(self, "correct", correct.astype(bool))
        if self.test_labels is not None:
            labels = np.asarray(self.test_labels)
            if labels.shape != correct.shape:
                raise ValueError(
                    f"run {self.key!r}: {labels.size} test labels but "
                    f"{correct.size} correctness entries"
                )
            object.__setattr__(self, "test_labels", labels)

    @property
    def test_accuracy(self) -> float:
        """Fraction of test images classified correctly (from ``correct``)."""
        return float(self.correct.mean()) if self.correct.size else math.nan

    @property
    def n_test(self) -> int:
        return int(self.correct.size)


def _float(metrics: Mapping[str, Any], key: str) -> float:
    try:
        return float(metrics.get(key))
    except (TypeError, ValueError):
        return math.nan


def record_from_run(run: Any) -> RunRecord:
    """A :class:`RunRecord` from a run-store run (duck-typed).

    Reads ``run.key``, the seed from ``run.config["variant"]["seed"]``, validation
    metrics from ``run.metrics``, ``run.history``, and from ``run.predictions()`` the
    ``test_probs``, ``test_labels`` and ``test_indices`` (predictions are put in
    test-index order).

    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(key="abc", config={"variant": {"seed": 1}},
    ...     metrics={"val_accuracy": 0.5}, history=None,
    ...     predictions=lambda: {"test_probs": np.array([[0.9, 0.1], [0.3, 0.7]]),
    ...                          "test_labels": np.array([1, 1]), "test_indices": np.array([1, 0])})
    >>> record_from_run(run).correct.tolist()
    [True, False]
    """
    predictions = run.predictions()
    try:
        probs = np.asarray(predictions["test_probs"])
        labels = np.asarray(predictions["test_labels"]).reshape(-1)
    except KeyError as missing:
        raise ValueError(
            f"run {getattr(run, 'key', run)!r}: its predictions have no "
            f"{missing.args[0]!r}; retrain it (predictions.npz is incomplete)"
        ) from None
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ValueError(
            f"run {run.key!r}: test_probs of shape {probs.shape} do not match "
            f"{len(labels)} test labels"
        )
    order = np.argsort(
        np.asarray(predictions.get("test_indices", np.arange(len(labels)))), kind="stable"
    )
    correct = probs.argmax(axis=1) == labels
    variant = (getattr(run, "config", None) or {}).get("variant", {})
    seed = variant.get("seed")
    metrics = getattr(run, "metrics", None) or {}
    return RunRecord(
        key=str(run.key),
        seed=None if seed is None else int(seed),
        correct=correct[order],
        val_accuracy=_float(metrics, "val_accuracy"),
        val_loss=_float(metrics, "val_loss"),
        history=getattr(run, "history", None),
        test_labels=labels[order],
    )


def records_from_runs(runs_by_variant: Mapping[str, Iterable[Any]]) -> dict[str, list[RunRecord]]:
    """:func:`record_from_run` over ``{variant name: runs}``; :class:`RunRecord` entries
    pass through unchanged and ``None`` entries (``RunStore.get`` of a missing run) are
    dropped, so an arm whose runs are all missing comes out empty."""
    return {
        name: [r if isinstance(r, RunRecord) else record_from_run(r) for r in runs if r is not None]
        for name, runs in runs_by_variant.items()
    }


def by_seed(records: Sequence[RunRecord]) -> dict[int | None, RunRecord]:
    """``{seed: record}``; a seed that occurs twice raises (an arm has one run per seed)."""
    found: dict[int | None, RunRecord] = {}
    for record in records:
        if record.seed in found and found[record.seed].key != record.key:
            raise ValueError(
                f"two different runs for seed {record.seed}: "
                f"{found[record.seed].key!r} and {record.key!r}"
            )
        found[record.seed] = record
    return found
