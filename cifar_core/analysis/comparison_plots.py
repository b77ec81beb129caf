"""Figures for the per-class, robustness and compute comparisons (display only; the
tables come from :mod:`.per_class`, :mod:`cifar_core.runs.derived_predictions` and
:mod:`.compute`). Each function returns one :class:`matplotlib.figure.Figure`.

Example
-------
>>> import pandas as pd
>>> table = pd.DataFrame({"cat": [0.5, 0.6], "dog": [0.7, 0.65]}, index=["mlp", "cnn"])
>>> fig = accuracy_heatmap(table, baseline="mlp")
>>> len(fig.axes[0].texts)   # one annotation per cell
4
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

# plots chooses the backend (Agg outside a notebook) and the seaborn theme
from cifar_core.analysis.plots import front_step
from cifar_core.analysis.views.compute import reference_source


def accuracy_heatmap(table: pd.DataFrame, *, baseline: str | None = None) -> plt.Figure:
    """Accuracy (%) per row and column, e.g. variants × classes or variants × corruption
    and severity. With ``baseline`` (a row), the other rows show their difference to it
    in percentage points on a diverging scale and the baseline row its accuracy."""
    data = table.astype(float) * 100
    if baseline is None:
        shown = data
        options = {
            "cmap": "viridis",
            "vmin": 0,
            "vmax": 100,
            "annot": True,
            "fmt": ".0f",
            "cbar_kws": {"label": "accuracy (%)"},
        }
    else:
        if baseline not in data.index:
            raise KeyError(f"baseline {baseline!r} is not a row; rows: {list(data.index)}")
        change = data.sub(data.loc[baseline], axis=1)  # the baseline row: 0, white
        values = np.abs(change.to_numpy())
        limit = max(1.0, float(np.nanmax(values))) if np.isfinite(values).any() else 1.0
        annotations = change.map(lambda v: "" if np.isnan(v) else f"{v:+.0f}")
        annotations.loc[baseline] = data.loc[baseline].map(
            lambda v: "" if np.isnan(v) else f"{v:.0f}"
        )
        shown = change.rename(index={baseline: f"{baseline} (accuracy %)"})
        options = {
            "cmap": "RdBu",
            "center": 0,
            "vmin": -limit,
            "vmax": limit,
            "annot": annotations.to_numpy(),
            "fmt": "",
            "cbar_kws": {"label": f"change vs {baseline} (points)"},
        }
    rows, cols = data.shape
    fig = plt.figure(figsize=(max(5.0, 0.75 * cols + 2.5), max(2.5, 0.42 * rows + 1.3)))
    ax = fig.add_subplot()
    sns.heatmap(shown, ax=ax, annot_kws={"fontsize": 7}, **options)
    ax.set(xlabel=data.columns.name or "", ylabel=data.index.name or "")
    ax.tick_params(labelsize=8)
    fig.tight_layout()
    return fig


def compute_scatter(
    table: pd.DataFrame,
    cost: str = "train_flops",
    *,
    pareto: str | None = None,
    references: pd.DataFrame | None = None,
    reference_cost: str | None = None,
    xlabel: str | None = None,
) -> plt.Figure:
    """Test accuracy (%) against a cost on a log axis: runs as dots, the Pareto front
    (boolean column ``pareto``, e.g. ``pareto_flops``) as a step line with labels, and
    the ``applicable`` rows of ``references`` (:func:`.compute.reference_points`) as
    black stars labelled with their name and accuracy, their setting and source in the
    legend (``reference_cost`` is their cost column, ``train_flops`` or ``wall_time_s``)."""
    data = table.dropna(subset=[cost, "test_accuracy"])
    data = data[data[cost] > 0]
    fig = plt.figure(figsize=(7.5, 4.8))
    ax = fig.add_subplot()
    ax.scatter(
        data[cost],
        100 * data["test_accuracy"],
        s=30,
        color=sns.color_palette("tab10")[0],
        label="runs here (mean over seeds)",
        zorder=3,
    )
    if pareto and pareto in data:
        front = data[data[pareto].astype(bool)].sort_values(cost)
        front_step(ax, front[cost], 100 * front["test_accuracy"], front.index, zorder=2)
    if references is not None and len(references):
        shown = references[references["applicable"].astype(bool)]
        column = reference_cost or cost
        points = shown.dropna(subset=[column]).sort_values(column)
        ax.scatter(
            points[column], 100 * points["accuracy"], marker="*", s=110, color="black", zorder=4
        )
        ax.set_xscale("log")
        low, high = np.log10(ax.get_xlim())
        for index, (_, row) in enumerate(points.iterrows()):
            right_half = np.log10(row[column]) > (low + high) / 2
            ax.annotate(
                f"{row['name']} ({100 * row['accuracy']:.2f} %)",
                (row[column], 100 * row["accuracy"]),
                fontsize=6.5,
                xytext=(-4 if right_half else 4, -9 - 8 * (index % 2)),
                textcoords="offset points",
                style="italic",
                ha="right" if right_half else "left",
            )
        if len(shown):
            sources = "; ".join(sorted({reference_source(row) for _, row in shown.iterrows()}))
            ax.scatter([], [], marker="*", s=110, color="black", label=f"published: {sources}")
    ax.set_xscale("log")
    ax.set(xlabel=xlabel or cost, ylabel="test accuracy (%)")
    ax.legend(fontsize="x-small", loc="lower right", frameon=False)
    fig.tight_layout()
    return fig


def image_variants(images: dict, *, clean: np.ndarray | None = None) -> plt.Figure:
    """A grid of one image's copies ``{(row label, column label): image}`` (e.g.
    corruption × severity), with the ``clean`` image first in its own column."""
    rows = list(dict.fromkeys(r for r, _ in images))
    cols = list(dict.fromkeys(c for _, c in images))
    extra = clean is not None
    fig, axes = plt.subplots(
        len(rows),
        len(cols) + extra,
        squeeze=False,
        figsize=(1.25 * (len(cols) + extra) + 1.2, 1.25 * len(rows) + 0.3),
    )
    for i, row in enumerate(rows):
        panels = ([("clean", clean)] if extra else []) + [(c, images.get((row, c))) for c in cols]
        for j, (title, image) in enumerate(panels):
            ax = axes[i][j]
            ax.set(xticks=[], yticks=[])
            ax.grid(False)
            if image is not None:
                ax.imshow(image)
            if i == 0:
                ax.set_title(str(title) if title == "clean" else f"severity {title}", fontsize=8)
            if j == 0:
                ax.set_ylabel(str(row), fontsize=8, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def gain_intervals(table: pd.DataFrame, recipes: dict[str, str], *, xlabel: str) -> plt.Figure:
    """Gains with intervals (a forest plot): one row per index entry of ``table`` and one
    marker per ``{column prefix: label}`` of ``recipes``, reading ``<prefix>_gain``,
    ``<prefix>_low`` and ``<prefix>_high`` (fractions, drawn in percentage points)."""
    fig = plt.figure(figsize=(6.5, 0.45 * len(table) + 1.4))
    ax = fig.add_subplot()
    positions = np.arange(len(table))
    offsets = np.linspace(-0.15, 0.15, len(recipes)) if len(recipes) > 1 else [0.0]
    colors = sns.color_palette("tab10", len(recipes))
    for offset, color, (prefix, label) in zip(offsets, colors, recipes.items()):
        gain = 100 * table[f"{prefix}_gain"].to_numpy(float)
        low = 100 * table[f"{prefix}_low"].to_numpy(float)
        high = 100 * table[f"{prefix}_high"].to_numpy(float)
        ax.errorbar(
            gain,
            positions + offset,
            xerr=[gain - low, high - gain],
            fmt="o",
            color=color,
            capsize=3,
            markersize=4,
            label=label,
        )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(positions, [str(i) for i in table.index], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel=xlabel)
    ax.legend(fontsize="x-small", frameon=False, loc="best")
    fig.tight_layout()
    return fig
