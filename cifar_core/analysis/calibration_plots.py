"""Reliability diagrams (display only; the numbers come from :mod:`.calibration`).

Each function returns a :class:`matplotlib.figure.Figure` and draws nothing else, as
the other figure helpers of the project do.

Example
-------
>>> import numpy as np
>>> probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
>>> fig = reliability_diagram(probs, np.array([0, 1, 1, 0]), title="toy")
>>> [ax.get_ylabel() for ax in fig.axes]
['accuracy', 'share of images']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

# plots chooses the backend (Agg outside a notebook) and the seaborn theme
from cifar_core.analysis.plots import figure_of
from cifar_core.analysis.stats.calibration import (
    N_BINS,
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    reliability_table,
)


def _draw(ax_acc, ax_hist, probs, labels, n_bins: int, *, label: str, color, bars: bool) -> None:
    """Bars of accuracy per bin (``bars``) or, for a second set, points at each bin's
    mean confidence joined by a line; the confidence histogram as bars or an outline."""
    table = reliability_table(probs, labels, n_bins)
    centres, width = (table["lower"] + table["upper"]) / 2, 1.0 / n_bins
    filled = table["count"] > 0
    ece = expected_calibration_error(probs, labels, n_bins)
    text = f"{label} (ECE {100 * ece:.1f} %)"
    if bars:
        style = {
            "width": width,
            "color": color,
            "alpha": 0.8,
            "edgecolor": "black",
            "linewidth": 0.5,
        }
        ax_acc.bar(centres[filled], table.loc[filled, "accuracy"], label=text, **style)
        ax_hist.bar(centres, table["share"], **style)
    else:
        ax_acc.plot(
            table.loc[filled, "confidence"],
            table.loc[filled, "accuracy"],
            marker="o",
            markersize=3.5,
            color=color,
            linewidth=1.2,
            label=text,
        )
        ax_hist.stairs(table["share"], np.r_[table["lower"], 1.0], color=color, linewidth=1.5)


def reliability_diagram(
    probs: np.ndarray,
    labels: np.ndarray,
    *,
    n_bins: int = N_BINS,
    scaled_probs: np.ndarray | None = None,
    title: str | None = None,
    axes: tuple[plt.Axes, plt.Axes] | None = None,
) -> plt.Figure:
    """Accuracy per confidence bin against the diagonal of perfect calibration, above a
    histogram of the images' top-1 confidence. Bars below the diagonal are
    over-confident. ``scaled_probs`` (e.g. after temperature scaling) are drawn as points
    at each bin's mean confidence and an outlined histogram; the legend gives each ECE."""
    if axes is None:
        fig, (ax_acc, ax_hist) = plt.subplots(
            2, 1, figsize=(4.2, 4.8), sharex=True, gridspec_kw={"height_ratios": (3, 1)}
        )
    else:
        ax_acc, ax_hist = axes
        fig = figure_of(ax_acc)
    colors = sns.color_palette("tab10", 2)
    _draw(ax_acc, ax_hist, probs, labels, n_bins, label="as trained", color=colors[0], bars=True)
    if scaled_probs is not None:
        _draw(
            ax_acc,
            ax_hist,
            scaled_probs,
            labels,
            n_bins,
            label="temperature-scaled",
            color=colors[1],
            bars=False,
        )
    ax_acc.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1, label="calibrated")
    ax_acc.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy", title=title or "")
    ax_acc.legend(fontsize="x-small", loc="upper left", frameon=False)
    ax_hist.set(xlim=(0, 1), xlabel="top-1 confidence", ylabel="share of images")
    if axes is None:
        fig.tight_layout()
    return fig


def reliability_panels(runs: Mapping[str, Any], *, n_bins: int = N_BINS) -> plt.Figure:
    """:func:`reliability_diagram` of the test predictions of each ``{name: run}``, three
    a row, with the temperature fitted on the run's validation split drawn over it (when
    it has one)."""
    if not runs:
        raise ValueError("reliability_panels needs at least one run")
    cols = min(3, len(runs))
    rows = math.ceil(len(runs) / cols)
    fig, axes = plt.subplots(
        2 * rows,
        cols,
        figsize=(4.0 * cols, 4.6 * rows),
        squeeze=False,
        sharex=True,
        gridspec_kw={"height_ratios": (3, 1) * rows},
    )
    panels = list(zip(axes[0::2].flat, axes[1::2].flat))  # (accuracy, histogram) per run
    for (name, run), (ax_acc, ax_hist) in zip(runs.items(), panels):
        predictions = run.predictions()
        probs, labels = predictions["test_probs"], predictions["test_labels"]
        scaled = None
        if len(predictions["val_labels"]):
            t = fit_temperature(predictions["val_probs"], predictions["val_labels"])
            scaled = apply_temperature(probs, t)
            name = f"{name} (T = {t:.2f})"
        reliability_diagram(
            probs, labels, n_bins=n_bins, scaled_probs=scaled, title=name, axes=(ax_acc, ax_hist)
        )
        ax_acc.title.set_fontsize("small")
    for ax_acc, ax_hist in panels[len(runs) :]:
        ax_acc.set_visible(False)
        ax_hist.set_visible(False)
    fig.tight_layout()
    return fig
