"""The transfer-learning view: whether each variant ran (and why not), and k-NN on the
penultimate features of a trained network (seed 003's method), read from the
derived-results cache beside the run store (Keras only to compute a missing result)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cifar_core.analysis import text
from cifar_core.analysis.views.runs import accuracy_text, as_fraction, runs_table
from cifar_core.runs.knn import knn_for_run

if TYPE_CHECKING:
    from cifar_core.analysis.context import AnalysisContext


def variant_status(ctx: AnalysisContext, name: str) -> str:
    """``"run"``, or ``"not run: <why>"`` for a variant of the chapter."""
    if ctx.runs.get(name):
        return "run"
    if name in ctx.not_run:
        return f"not run: {ctx.not_run[name]}"
    return f"not run: full profile only (profile {ctx.profile.name})"


def _accuracy(values: np.ndarray) -> str:
    return text.accuracy(values.mean(), values.std(ddof=1) if len(values) > 1 else None)


def knn_summary(ctx: AnalysisContext, entry: Mapping[str, Any]) -> dict[str, str]:
    """``{"status", "test_acc", "base_test_acc"}`` of k-NN on the features of each seed's
    run of ``entry["base"]`` (mean ± std over seeds), beside that network's own softmax."""
    base_runs = ctx.runs.get(entry["base"]) or []
    if not base_runs:
        status = variant_status(ctx, entry["base"])
        return {"status": status, "test_acc": text.UNKNOWN, "base_test_acc": text.UNKNOWN}
    k = entry.get("k", 5)
    knn = np.array([knn_for_run(run, ctx.dataset, k=k)["test_accuracy"] for run in base_runs])
    base = np.array([run.metrics["test_accuracy"] for run in base_runs])
    return {"status": "run", "test_acc": _accuracy(knn), "base_test_acc": _accuracy(base)}


def transfer_table(ctx: AnalysisContext, study: str = "transfer") -> tuple[pd.DataFrame, dict]:
    """The transfer study as text — each variant's status and test accuracy against the
    seed's figure, then each k-NN entry of the study — and ``{entry name: knn_summary}``."""
    found = ctx.study(study)
    runs = runs_table(ctx.study_runs(study))
    rows = [
        {
            "variant": name,
            "status": variant_status(ctx, name),
            "test acc %": accuracy_text(runs, name).removesuffix(" %"),
            "reported %": text.number(as_fraction(found.reported[name]) * 100)
            if name in found.reported
            else text.UNKNOWN,
        }
        for name in found.names()
    ]
    knn_results = {}
    for entry in found.derived:
        knn = knn_results[entry["name"]] = knn_summary(ctx, entry)
        softmax = f": {knn['base_test_acc']} with its softmax" if knn["status"] == "run" else ""
        rows.append(
            {
                "variant": f"{entry['name']} (k-NN, k={entry.get('k', 5)}, on {entry['base']}{softmax})",
                "status": knn["status"],
                "test acc %": knn["test_acc"].removesuffix(" %"),
                "reported %": text.number(entry["reported_test_accuracy"] * 100)
                if entry.get("reported_test_accuracy")
                else text.UNKNOWN,
            }
        )
    return pd.DataFrame(rows), knn_results
