"""Make a set of runs exist: find each variant's run in the store, train the missing
ones through an executor, and say what was reused, trained, or cannot run here.

Nothing here imports Keras unless something has to be trained.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cifar_core.experiments.plan import not_runnable
from cifar_core.project import Log
from cifar_core.runs.keys import run_key
from cifar_core.runs.store import Run, RunStore


@dataclass
class RunsPlan:
    """What a set of variants needs: ``runs`` maps every key to its stored run (``None``
    when missing), ``missing`` lists the variants to train, ``refused`` says why others
    cannot run on this machine (``{variant name: reason}``)."""

    runs: dict[str, Run | None] = field(default_factory=dict)
    missing: list[Any] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def reused(self) -> int:
        return sum(run is not None for run in self.runs.values())

    def summary(self, train: bool = True) -> str:
        """One line: how many runs are reused, to train, or cannot run here."""
        parts = [
            f"runs: {self.reused} of {len(self.runs)} reused from the store",
            f"{len(self.missing)} to train" if train else f"{len(self.missing)} missing",
        ]
        if self.refused:
            reasons = "; ".join(sorted(set(self.refused.values())))
            parts.append(
                f"{len(self.runs) - self.reused - len(self.missing)} cannot run here "
                f"({', '.join(sorted(self.refused))}: {reasons})"
            )
        return ", ".join(parts)


def plan_runs(
    variants: Sequence[Any], fingerprint: str, store: RunStore, *, verify: bool = False
) -> RunsPlan:
    """Look every variant's run up (``verify=True`` checks file checksums; otherwise a
    manifest is trusted, which keeps a no-change build fast)."""
    plan = RunsPlan()
    for variant in variants:
        key = run_key(variant, fingerprint)
        if key in plan.runs:
            continue
        plan.runs[key] = store.get(key) if verify else store.get_unverified(key)
        if plan.runs[key] is None:
            reason = not_runnable(variant)
            if reason:
                plan.refused[variant.name] = reason
            else:
                plan.missing.append(variant)
    return plan


def ensure_runs(
    variants: Sequence[Any],
    dataset: Any,
    store: RunStore,
    *,
    executor: Any = None,
    log: Log = print,
    plan: RunsPlan | None = None,
    on_done: Callable[[Run], Any] | None = None,
) -> RunsPlan:
    """:func:`plan_runs` (unless ``plan`` is given), then train the missing runs with
    ``executor`` (default :class:`~cifar_core.runs.executors.LocalExecutor`), calling
    ``on_done(run)`` as each is stored, and fill them in."""
    from cifar_core.runs.executors import LocalExecutor

    plan = plan or plan_runs(variants, dataset.fingerprint, store)
    if plan.runs:
        log(plan.summary())
    if not plan.missing:
        return plan
    trained = (executor or LocalExecutor()).train(
        plan.missing, dataset, store, log=log, on_done=on_done
    )
    for run in trained:
        plan.runs[run.key] = run
    warm_model_stats(plan.missing)
    plan.missing = []
    return plan


def warm_model_stats(variants: Iterable[Any]) -> None:
    """Record parameter counts and FLOPs in the model-stats cache while Keras is loaded,
    so that notebooks read them without importing Keras."""
    from cifar_core.models.stats import model_stats

    for family, params in {
        (v.family, json.dumps(dict(v.params), sort_keys=True, default=list)) for v in variants
    }:
        try:
            model_stats(family, json.loads(params))
        except Exception:  # noqa: BLE001 - stats are a nicety; training already succeeded
            pass


def group_by_variant(
    variants: Iterable[Any], runs: Mapping[str, Run | None], fingerprint: str
) -> dict[str, list[Run]]:
    """``{variant name: [its stored runs, one per seed]}`` in the given order."""
    grouped: dict[str, list[Run]] = {}
    for variant in variants:
        run = runs.get(run_key(variant, fingerprint))
        grouped.setdefault(variant.name, [])
        if run is not None and run not in grouped[variant.name]:
            grouped[variant.name].append(run)
    return grouped
