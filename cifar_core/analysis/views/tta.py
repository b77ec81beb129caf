"""Test-time augmentation of stored runs: accuracy with flip TTA and with airbench's flip
+ translate set, the gain over one forward pass with a paired interval and test, and
the inference FLOPs it adds.

For each run the views come from :mod:`cifar_core.runs.derived_predictions` (cached
beside the store; Keras only on a cache miss): one forward pass on the clean test set,
one on its mirror image, and the two one-pixel translations of airbench, each also
mirrored. Per test image and seed, *correct without TTA* and *correct with TTA* pair
up, so the gain is tested with :func:`cifar_core.analysis.stats.paired.paired_difference`
(exact bootstrap interval over test images; exact McNemar with one seed, an exact
sign-flip permutation test with several), and the p-values of a table are
Holm-adjusted together. A variant whose recipe has ``tta_flip``/``tta_translate`` (the flagship) stores
averaged predictions; here its "one pass" column is a single plain pass, like the others.

Example
-------
>>> import numpy as np
>>> from types import SimpleNamespace
>>> labels = np.array([0, 1, 1, 0])
>>> views = {"plain": np.eye(2)[[0, 0, 1, 1]] * 0.6 + 0.2,
...          "flip": np.eye(2)[[0, 1, 1, 0]] * 0.9 + 0.05,
...          "translate": np.tile((np.eye(2)[[0, 1, 1, 0]] * 0.6 + 0.2)[None, None], (2, 2, 1, 1))}
>>> run = SimpleNamespace(variant=SimpleNamespace(seed=0),
...                       predictions=lambda: {"test_labels": labels})
>>> row = tta_table({"toy": [run]}, views=lambda run, dataset: views,
...                 forward_flops=lambda run: 1000.0).iloc[0]
>>> [float(row[c]) for c in ("plain", "flip", "flip_gain", "flip_extra_flops", "translate_extra_flops")]
[0.5, 1.0, 0.5, 1000.0, 5000.0]
>>> tta_values(row.to_frame().T, "toy")["best_flip_gain"]
'+50.0 points'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cifar_core.analysis import text
from cifar_core.analysis.records import RunLike
from cifar_core.analysis.stats.paired import holm, paired_difference
from cifar_core.analysis.views.compute import forward_flops as stats_forward_flops
from cifar_core.data import Dataset
from cifar_core.runs import derived_predictions as dp
from cifar_core.runs.store import Run

Views = Callable[[Run, Dataset | None], Mapping[str, np.ndarray]]

RECIPES = ("flip", "translate")
"""The TTA recipes of a row: mirror (2 views) and airbench's flip + translate (6 views)."""


def run_views(run: Run, dataset: Dataset | None = None) -> dict[str, np.ndarray]:
    """``{"plain", "flip", "translate"}`` probabilities of one run (cached derived
    predictions; ``dataset`` is needed only to compute a missing one)."""
    return {
        "plain": dp.plain_test_probs(run, dataset),
        "flip": dp.flipped_test_probs(run, dataset),
        "translate": dp.translated_test_probs(run, dataset),
    }


def correctness(
    runs: Sequence[Run], dataset: Dataset | None = None, *, views: Views = run_views
) -> tuple[dict[str, np.ndarray], int]:
    """Per-image correctness ``{"plain", "flip", "translate"}`` as ``(seeds, images)``
    boolean matrices (rows in seed order, so two variants pair up), and the number of
    forward passes of the translate recipe."""
    rows: dict[str, list[np.ndarray]] = {"plain": [], "flip": [], "translate": []}
    passes, labels_seen = 0, None
    for run in sorted(runs, key=lambda run: run.variant.seed):
        labels = np.asarray(run.predictions()["test_labels"])
        if labels_seen is not None and not np.array_equal(labels, labels_seen):
            raise ValueError("the runs of one variant were scored on different test images")
        labels_seen = labels
        got = views(run, dataset)
        plain, flipped, translated = got["plain"], got["flip"], got["translate"]
        rows["plain"].append(np.asarray(plain).argmax(axis=1) == labels)
        rows["flip"].append(dp.tta_probs(plain, flipped).argmax(axis=1) == labels)
        rows["translate"].append(
            dp.translate_tta_probs(plain, flipped, translated).argmax(axis=1) == labels
        )
        # forward passes of flip + translate: the pair, plus each shift and its mirror
        passes = 2 + int(np.prod(np.asarray(translated).shape[:2]))
    return {name: np.vstack(matrix) for name, matrix in rows.items()}, passes


def tta_table(
    runs_by_variant: Mapping[str, Sequence[Run]],
    dataset: Dataset | None = None,
    *,
    views: Views = run_views,
    forward_flops: Callable[[Any], float] = stats_forward_flops,
) -> pd.DataFrame:
    """One row per variant: accuracy with one forward pass (``plain``), with flip TTA
    (``flip``) and with flip + translate TTA (``translate``), each recipe's ``_gain``
    (fraction), ``_low``/``_high`` (bootstrap interval), ``_p`` (raw), ``_p_holm``
    (Holm over every test of the table) and ``_extra_flops`` (inference FLOPs added
    per image: forward FLOPs × (views − 1)); ``seeds``, ``images``, ``test`` (the paired
    test used), ``forward_flops`` and ``views`` (passes of the translate recipe).

    ``dataset`` is needed only to compute predictions not cached yet; ``views`` and
    ``forward_flops`` (a run's forward FLOPs per image) can be replaced by test doubles.
    """
    rows = []
    for name, runs in runs_by_variant.items():
        runs = list(runs)
        if not runs:
            continue
        correct, passes = correctness(runs, dataset, views=views)
        flops = float(forward_flops(runs[0]))
        row: dict[str, Any] = {
            "variant": name,
            "seeds": len(runs),
            "images": correct["plain"].shape[1],
            "forward_flops": flops,
            "views": passes,
            "plain": float(correct["plain"].mean()),
        }
        for recipe, count in (("flip", 2), ("translate", passes)):
            result = paired_difference(correct["plain"], correct[recipe])
            row.update(
                {
                    recipe: float(correct[recipe].mean()),
                    f"{recipe}_gain": result.diff,
                    f"{recipe}_low": result.ci_low,
                    f"{recipe}_high": result.ci_high,
                    f"{recipe}_p": result.p_value,
                    f"{recipe}_extra_flops": int(round(flops * (count - 1))),
                }
            )
            row["test"] = result.test
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    adjusted = holm([p for recipe in RECIPES for p in table[f"{recipe}_p"]])
    for index, recipe in enumerate(RECIPES):
        table[f"{recipe}_p_holm"] = adjusted[index * len(table) : (index + 1) * len(table)]
    return table.set_index("variant")


def tta_display(
    table: pd.DataFrame, runs_by_variant: Mapping[str, Sequence[RunLike]]
) -> pd.DataFrame:
    """:func:`tta_table` as text: accuracy with one pass and each recipe, each gain with
    its interval and Holm p, whether the variant trained with flips, and the inference
    FLOPs each recipe adds per image."""
    return pd.DataFrame(
        [
            {
                "variant": name,
                "seeds": int(row["seeds"]),
                "trained with flips": "yes"
                if (runs_by_variant[str(name)][0].variant.augmentation or {}).get("flip")
                else "no",
                "1 pass %": text.number(row["plain"] * 100),
                "flip %": text.number(row["flip"] * 100),
                "flip gain pts (95 % CI)": text.effect(
                    row["flip_gain"], row["flip_low"], row["flip_high"]
                ),
                "flip p (Holm)": text.p_value(row["flip_p_holm"]),
                "flip+translate %": text.number(row["translate"] * 100),
                "f+t gain pts (95 % CI)": text.effect(
                    row["translate_gain"], row["translate_low"], row["translate_high"]
                ),
                "f+t p (Holm)": text.p_value(row["translate_p_holm"]),
                "extra FLOPs/img (flip, f+t)": f"{text.si(row['flip_extra_flops'])}, "
                f"{text.si(row['translate_extra_flops'])}",
            }
            for name, row in table.iterrows()
        ]
    )


def tta_values(table: pd.DataFrame, best: str | None) -> dict[str, str]:
    """What the article quotes of :func:`tta_table`: the gains (with intervals) of
    ``best`` (chosen on validation accuracy), the mean gains, and how many flip gains
    stay significant after Holm's correction."""
    row = table.loc[best] if best is not None and best in table.index else pd.Series(dtype=float)
    known = len(table) > 0
    significant: pd.Series | list[bool] = (
        (table["flip_p_holm"] < 0.05) & (table["flip_gain"] > 0) if known else []
    )
    return {
        "n_variants": str(len(table)),
        "best_variant": best or text.UNKNOWN,
        "best_plain": text.percent(row.get("plain")),  # unknown without a best row
        "best_flip_gain": text.points(row.get("flip_gain"), signed=True, unit=True),
        "best_flip_ci": text.interval(row.get("flip_low"), row.get("flip_high"), unit=True),
        "best_translate_gain": text.points(row.get("translate_gain"), signed=True, unit=True),
        "best_translate_ci": text.interval(
            row.get("translate_low"), row.get("translate_high"), unit=True
        ),
        "n_flip_significant": str(int(sum(significant))),
        "mean_flip_gain": text.points(table["flip_gain"].mean(), signed=True, unit=True)
        if known
        else text.UNKNOWN,
        "mean_translate_gain": text.points(table["translate_gain"].mean(), signed=True, unit=True)
        if known
        else text.UNKNOWN,
        "translate_views": str(int(table["views"].iloc[0])) if known else "6",
    }


def tta_notes(table: pd.DataFrame, runs_by_variant: Mapping[str, Sequence[RunLike]]) -> list[str]:
    """How to read :func:`tta_display`: what the intervals assume, and which variants
    average views as part of their own recipe."""
    notes = []
    if len(table):
        notes.append(
            f"Intervals and tests treat the {text.count(table['images'].iloc[0])} test images as "
            f"independent and condition on the trained models ({table['test'].iloc[0]})."
        )
    own = [
        n
        for n, rs in runs_by_variant.items()
        if rs[0].variant.tta_flip or rs[0].variant.tta_translate
    ]
    if own:
        notes.append(
            f"{', '.join(own)} {'evaluates' if len(own) == 1 else 'evaluate'} with test-time "
            "augmentation as part of the recipe, so the accuracy reported elsewhere in this "
            f"report for {'it' if len(own) == 1 else 'them'} is the averaged one; the one-pass "
            "accuracy here is a single plain pass."
        )
    return notes
