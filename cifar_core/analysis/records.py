"""What the findings layer needs from a run: a light, Keras-free record.

A :class:`RunRecord` holds one trained run's identity (store key and seed), its
per-test-image correctness in test-index order and its per-epoch history.
:func:`record_from_run` builds one from a run-store ``Run`` (or anything shaped like it,
:class:`RunLike`: ``key``, ``variant.seed``, ``metrics``, ``history``, ``predictions()``);
tests and notebooks may also build records directly.
:func:`same_runs` finds variants that a profile scaled into one run (same run keys).

Example
-------
>>> import numpy as np
>>> rec = RunRecord("k0", 0, np.array([1, 0, 1, 1]))
>>> rec.correct.tolist(), rec.n_test
([True, False, True, True], 4)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from cifar_core.experiments.variant import Variant


class RunLike(Protocol):
    """What the analysis reads of a run (``cifar_core.runs.store.Run`` and test doubles)."""

    @property
    def key(self) -> str: ...

    @property
    def variant(self) -> Variant: ...

    @property
    def metrics(self) -> Mapping[str, Any]: ...

    @property
    def history(self) -> pd.DataFrame | None: ...

    def predictions(self) -> Mapping[str, np.ndarray]: ...


def trained_epochs(runs: Mapping[str, Sequence[RunLike]]) -> dict[str, str]:
    """``{variant: the epochs its runs trained}``, e.g. ``"2"``, or ``"1/2"`` when its
    seeds differ (a profile may give a costly variant's seeds other budgets); variants
    without runs are left out.

    >>> from types import SimpleNamespace as Run
    >>> trained_epochs({"a": [Run(variant=Variant(name="a", family="mlp", epochs=10)),
    ...                       Run(variant=Variant(name="a", family="mlp", epochs=2))], "b": []})
    {'a': '2/10'}
    """
    return {
        name: "/".join(map(str, sorted({r.variant.epochs for r in rs})))
        for name, rs in runs.items()
        if rs
    }


def sorted_seeds(seeds: Iterable[int | None]) -> list[int | None]:
    """Distinct seeds in order, ``None`` last.

    >>> sorted_seeds([2, None, 0, 2])
    [0, 2, None]
    """
    return sorted(set(seeds), key=lambda s: (s is None, s if s is not None else 0))


def same_runs(
    keys_by_variant: Mapping[str, Iterable[str]], preferred: Iterable[str] = ()
) -> dict[str, str]:
    """``{variant: other variant}`` for each variant whose run keys are another's: a
    profile scaled both into one configuration. The other is one of ``preferred``
    (study baselines) where one of the two is, else the earlier in the mapping.

    >>> same_runs({"a": ["k1"], "b": ["k2"], "c": ["k1"]})
    {'c': 'a'}
    >>> same_runs({"a": ["k1"], "c": ["k1"]}, preferred=["c"])
    {'a': 'c'}
    """
    first: dict[frozenset[str], str] = {}
    alias = {}
    preferred = [n for n in dict.fromkeys(preferred) if n in keys_by_variant]
    for name in preferred + [n for n in keys_by_variant if n not in preferred]:
        keys = frozenset(keys_by_variant[name])
        if not keys:
            continue
        twin = next((n for k, n in first.items() if k & keys), None)
        if twin is None:
            first[keys] = name
        else:
            alias[name] = twin
    return alias


@dataclass(frozen=True, eq=False)
class RunRecord:
    """One run as the statistics see it: its run-store ``key`` (two variants resolving
    to one key are the same run); its variant's ``seed`` (runs of two arms with the same
    seed share the validation split and the training subset); ``correct``, whether each
    test image was classified correctly, in test-index order; its per-epoch ``history``
    (``val_loss``, ``val_accuracy``…) for the convergence flag; and the ``test_labels``
    in the same order, to check that two arms saw one test set.
    """

    key: str
    seed: int | None
    correct: np.ndarray
    history: pd.DataFrame | None = None
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
    def n_test(self) -> int:
        return int(self.correct.size)


def metric(metrics: Mapping[str, Any] | None, key: str) -> float:
    """``metrics[key]`` as a float; NaN when absent or not a number.

    >>> metric({"test_accuracy": 0.5}, "test_accuracy"), metric({}, "x")
    (0.5, nan)
    """
    try:
        return float((metrics or {})[key])
    except (KeyError, TypeError, ValueError):
        return math.nan


def record_from_run(run: RunLike) -> RunRecord:
    """A :class:`RunRecord` from a run-store run (or a :class:`RunLike` double).

    Reads ``run.key``, ``run.variant.seed``, ``run.history``, and from
    ``run.predictions()`` the ``test_probs``, ``test_labels`` and ``test_indices``
    (predictions are put in test-index order).

    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(key="abc", variant=SimpleNamespace(seed=1),
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
    return RunRecord(
        key=str(run.key),
        seed=getattr(getattr(run, "variant", None), "seed", None),
        correct=correct[order],
        history=getattr(run, "history", None),
        test_labels=labels[order],
    )


def records_from_runs(
    runs_by_variant: Mapping[str, Iterable[RunLike | RunRecord | None]],
) -> dict[str, list[RunRecord]]:
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
