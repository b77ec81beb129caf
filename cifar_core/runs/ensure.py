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
from cifar_core.models.stats import model_stats
from cifar_core.project import Log
from cifar_core.runs.executors import LocalExecutor
from cifar_core.runs.keys import run_key
from cifar_core.runs.store import Run, RunCheck, RunStore


@dataclass
class RunsPlan:
    """What a set of variants needs: ``runs`` maps every key to its usable stored run
    (``None`` when missing or damaged), ``missing`` lists the variants to train,
    ``refused`` says why others cannot run on this machine (``{variant name: reason}``),
    ``damaged`` lists ``(variant name, check)`` of runs found incomplete or corrupt
    (trained again after :func:`ensure_runs` moved them aside)."""

    runs: dict[str, Run | None] = field(default_factory=dict)
    missing: list[Any] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    damaged: list[tuple[str, RunCheck]] = field(default_factory=list)

    @property
    def reused(self) -> int:
        return sum(run is not None for run in self.runs.values())

    def summary(self) -> str:
        """One line: how many runs are reused, to train (damaged among them), or
        cannot run here."""
        parts = [
            f"runs: {self.reused} of {len(self.runs)} reused from the store",
            f"{len(self.missing)} to train",
        ]
        if self.damaged:
            states = sorted({check.state for _, check in self.damaged})
            parts[-1] += f" ({len(self.damaged)} of them {' or '.join(states)})"
        if self.refused:
            reasons = "; ".join(sorted(set(self.refused.values())))
            parts.append(
                f"{len(self.runs) - self.reused - len(self.missing)} cannot run here "
                f"({', '.join(sorted(self.refused))}: {reasons})"
            )
        return ", ".join(parts)

    def damage_lines(self) -> list[str]:
        """One line per damaged run: which, which file, what is wrong, what happens."""
        kept = "moved aside (kept until `cifar-report clean`) and trained again"
        return [
            f"{check.state} run {name} [{check.key}]: {check.describe()}; "
            + (kept if check.state == "corrupt" else "trained again")
            for name, check in self.damaged
        ]


def plan_runs(
    variants: Sequence[Any], fingerprint: str, store: RunStore, *, full: bool = False
) -> RunsPlan:
    """Check every variant's run (:meth:`RunStore.check`: by size and time, hashing what
    changed; ``full`` hashes every file). A damaged run counts as missing."""
    plan = RunsPlan()
    for variant in variants:
        key = run_key(variant, fingerprint)
        if key in plan.runs:
            continue
        found = store.check(key, full=full)
        plan.runs[key] = Run(key, store.run_dir(key)) if found.usable else None
        if found.damaged:
            plan.damaged.append((variant.name, found))
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
    """:func:`plan_runs` (unless ``plan`` is given), then — after checking that the store
    can be written (:class:`~cifar_core.runs.store.StoreNotWritable` otherwise) and moving
    corrupt runs aside — train the missing runs with ``executor`` (default
    :class:`~cifar_core.runs.executors.LocalExecutor`), calling ``on_done(run)`` as each
    is stored, and fill them in."""

    plan = plan or plan_runs(variants, dataset.fingerprint, store)
    if plan.runs:
        log(plan.summary())
    if not plan.missing and not plan.damaged:
        return plan
    executor = executor or LocalExecutor()
    if plan.missing:
        executor.check()
    store.check_writable()
    for name, check in plan.damaged:
        aside = store.set_aside(check) if check.state == "corrupt" else None
        if aside is not None:
            log(f"moved {check.state} run {name} [{check.key}] aside to {aside}")
    if not plan.missing:
        return plan
    trained = executor.train(plan.missing, dataset, store, log=log, on_done=on_done)
    for run in trained:
        plan.runs[run.key] = run
    warm_model_stats(plan.missing)
    plan.missing = []
    return plan


def warm_model_stats(variants: Iterable[Any]) -> None:
    """Record parameter counts and FLOPs in the model-stats cache while Keras is loaded,
    so that notebooks read them without importing Keras."""

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
