"""The transfer-learning chapter's rows: whether each variant ran (and why not), and
k-NN on the penultimate features of a trained network (seed 003's method), read from
the derived-results cache beside the run store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cifar_core.analysis.tables import mean_std


def variant_status(ctx: Any, name: str) -> str:
    """``"run"``, or ``"not run: <why>"`` for a variant of the chapter."""
    if ctx.runs.get(name):
        return "run"
    if name in ctx.not_run:
        return f"not run: {ctx.not_run[name]}"
    return f"not run: full profile only (profile {ctx.profile.name})"


def knn_summary(ctx: Any, entry: Mapping[str, Any]) -> dict[str, str]:
    """``{"status", "test_acc", "base_test_acc"}`` of k-NN on the features of each seed's
    run of ``entry["base"]`` (mean ± std over seeds); Keras is imported only to compute
    a result that is not cached yet."""
    from cifar_core.runs.knn import knn_for_run

    base_runs = ctx.runs.get(entry["base"]) or []
    if not base_runs:
        return {
            "status": variant_status(ctx, entry["base"]),
            "test_acc": "n/a",
            "base_test_acc": "n/a",
        }
    knn = np.array(
        [knn_for_run(run, ctx.dataset, k=entry.get("k", 5))["test_accuracy"] for run in base_runs]
    )
    base = np.array([run.metrics["test_accuracy"] for run in base_runs])
    return {
        "status": "run",
        "test_acc": mean_std(knn.mean(), knn.std()) + " %",
        "base_test_acc": mean_std(base.mean(), base.std()) + " %",
    }
