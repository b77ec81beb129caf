"""Figures for the analysis notebooks (matplotlib with the Agg backend, seaborn styling).

Every function returns a :class:`matplotlib.figure.Figure` and draws nothing else, so a
notebook cell shows exactly one figure under its Quarto label. Only
:func:`augmentation_preview` imports Keras, inside the function.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any, cast

import matplotlib

if "ipykernel" not in sys.modules:  # notebooks keep their inline backend
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from IPython.display import display  # noqa: E402

from cifar_core.analysis.figure_text import describe_figure  # noqa: E402
from cifar_core.analysis.views.runs import pareto_front  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook")
PALETTE = "tab10"


#: Where :func:`show` puts the figure's description in the image output's metadata.
ALT_METADATA_KEY = "cifar-report/alt"


def show(fig: plt.Figure) -> None:
    """Display ``fig`` as exactly one image output of the current cell, then close it.

    The output's ``image/png`` metadata carries a description of what the figure shows
    (:func:`cifar_core.analysis.figure_text.describe_figure`); the build puts the cell's
    caption and this description into its ``fig-alt`` option."""
    display(fig, metadata={"image/png": {ALT_METADATA_KEY: describe_figure(fig)}})
    plt.close(fig)


def figure_of(ax: plt.Axes) -> plt.Figure:
    """The figure an axes belongs to (matplotlib types it as a figure or a subfigure)."""
    return cast(plt.Figure, ax.get_figure(root=True))


def _palette(n: int) -> list:
    return sns.color_palette(PALETTE, max(n, 1))


# --------------------------------------------------------------------------- curves
def _band(ax: plt.Axes, x, mean, std, color, style="-", *, label: Any, scale=1.0) -> None:
    """A mean line with markers (a 1-epoch run is one point) and a ±std band."""
    ax.plot(x, mean * scale, style, marker="o", markersize=3, color=color, label=label)
    ax.fill_between(x, (mean - std) * scale, (mean + std) * scale, color=color, alpha=0.15)


def _stack(histories: Sequence[pd.DataFrame], column: str) -> pd.DataFrame:
    """Per-epoch mean and std of ``column`` over runs (runs may differ in length)."""
    frames = [
        h.set_index("epoch")[column] if "epoch" in h else h[column]
        for h in histories
        if column in h
    ]
    if not frames:
        return pd.DataFrame(columns=["mean", "std"])
    wide = pd.concat(frames, axis=1)
    return pd.DataFrame({"mean": wide.mean(axis=1), "std": wide.std(axis=1, ddof=1).fillna(0.0)})


def learning_curves(histories_by_variant: Mapping[str, Sequence[pd.DataFrame]]) -> plt.Figure:
    """Loss and accuracy, train (solid) and validation (dashed) curves per variant, mean ±
    std band over seeds."""
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 3.8), squeeze=False)
    colors = _palette(len(histories_by_variant))
    for ax, metric in zip(axes[0], ("loss", "accuracy")):
        for color, (name, histories) in zip(colors, histories_by_variant.items()):
            for prefix, style in (("", "-"), ("val_", "--")):
                curve = _stack(histories, prefix + metric)
                if curve.empty:
                    continue
                label = f"{name} ({'val' if prefix else 'train'})"
                _band(ax, curve.index, curve["mean"], curve["std"], color, style, label=label)
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
    axes[0][-1].legend(fontsize="x-small", loc="best", ncol=1 + len(histories_by_variant) // 6)
    fig.tight_layout()
    return fig


def time_curves(curves: pd.DataFrame, *, target: float | None, target_label: str) -> plt.Figure:
    """One line per variant of :func:`cifar_core.analysis.views.runs.time_curves` (accuracy in
    percent against training seconds, ±std band); ``target`` draws a dotted level."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for color, (name, curve) in zip(
        _palette(curves["variant"].nunique()), curves.groupby("variant", sort=False)
    ):
        _band(ax, curve["seconds"], curve["mean"], curve["std"], color, label=name, scale=100)
    if target is not None:
        ax.axhline(target * 100, color="grey", ls=":", label=target_label or None)
    ax.set(xlabel="fit time (s)", ylabel="validation accuracy (%)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- bars
def study_panels(
    tables: Mapping[str, pd.DataFrame], *, baselines: Mapping[str, str] | None = None
) -> plt.Figure:
    """One panel per study: mean test accuracy per variant with ±std error bars (each
    table from :func:`cifar_core.analysis.views.runs.runs_table`); the baseline is hatched."""
    tables = {k: t for k, t in tables.items() if not t.empty}
    fig, axes = _panel_grid(len(tables), height=3.6)
    for ax, (study, table) in zip(axes.flat, tables.items()):
        colors = _palette(len(table))
        bars = ax.bar(
            range(len(table)),
            table["test_accuracy_mean"] * 100,
            yerr=table["test_accuracy_std"].fillna(0) * 100,
            capsize=3,
            color=colors,
        )
        for bar, name in zip(bars, table["variant"]):
            if baselines and baselines.get(study) == name:
                bar.set_hatch("//")
        ax.set_xticks(range(len(table)), table["variant"], rotation=35, ha="right", fontsize=7)
        ax.set(title=study, ylabel="test accuracy (%)", ylim=(0, 100))
    fig.tight_layout()
    return fig


def _panel_grid(panels: int, *, height: float):
    """A figure with ``panels`` axes laid out up to three wide; unused axes are hidden."""
    cols = max(1, min(3, panels))
    rows = max(1, math.ceil(panels / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, height * rows), squeeze=False)
    for ax in axes.flat[panels:]:
        ax.axis("off")
    return fig, axes


def curve_panels(
    histories_by_study: Mapping[str, Mapping[str, Sequence[pd.DataFrame]]], *, metric: str
) -> plt.Figure:
    """One panel per study: ``metric`` per epoch for each variant, mean ± std over seeds."""
    studies = {k: v for k, v in histories_by_study.items() if v}
    fig, axes = _panel_grid(len(studies), height=3.4)
    for ax, (study, histories_by_variant) in zip(axes.flat, studies.items()):
        for color, (name, histories) in zip(
            _palette(len(histories_by_variant)), histories_by_variant.items()
        ):
            curve = _stack(histories, metric)
            if curve.empty:
                continue
            _band(ax, curve.index, curve["mean"], curve["std"], color, label=name)
        ax.set(title=study, xlabel="epoch", ylabel=metric)
        ax.legend(fontsize="xx-small")
    fig.tight_layout()
    return fig


def gap_bars(gaps: pd.DataFrame) -> plt.Figure:
    """Generalization gap (train − val accuracy, points) per variant, mean ± std over seeds,
    from :func:`cifar_core.analysis.views.runs.generalization_gap`."""
    fig, ax = plt.subplots(figsize=(max(5.0, 0.8 * gaps["variant"].nunique() + 2), 3.5))
    data = gaps.assign(gap=gaps["train − val"] * 100)
    sns.barplot(
        data=data,
        x="variant",
        y="gap",
        errorbar="sd",
        capsize=0.2,
        ax=ax,
        hue="variant",
        palette=PALETTE,
        legend=False,
    )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set(ylabel="train − val accuracy (points)", xlabel="")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def count_bars(counts: pd.DataFrame) -> plt.Figure:
    """Images per class and split, from a long DataFrame (``class``, ``split``, ``count``)."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    sns.barplot(data=counts, x="class", y="count", hue="split", ax=ax, palette=PALETTE)
    ax.set(xlabel="")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def per_class_bars(accuracy: pd.Series | pd.DataFrame) -> plt.Figure:
    """Per-class accuracy (%), one bar per class; a DataFrame gives one hue per column."""
    frame = accuracy.to_frame() if isinstance(accuracy, pd.Series) else accuracy
    long = (
        (frame * 100)
        .rename_axis("class")
        .reset_index()
        .melt(id_vars="class", var_name="model", value_name="accuracy")
    )
    fig, ax = plt.subplots(figsize=(8, 3.5))
    sns.barplot(
        data=long,
        x="class",
        y="accuracy",
        hue="model" if frame.shape[1] > 1 else None,
        ax=ax,
        palette=PALETTE if frame.shape[1] > 1 else None,
    )
    ax.set(ylabel="accuracy (%)", ylim=(0, 100), xlabel="")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- confusion
def confusion_heatmap(
    cm: pd.DataFrame, *, normalized: bool = False, ax: plt.Axes | None = None
) -> plt.Figure:
    """Seaborn heatmap of a labelled confusion matrix (counts or row-normalized)."""
    fig = figure_of(ax) if ax is not None else plt.figure(figsize=(6.5, 5.5))
    ax = ax or fig.add_subplot()
    sns.heatmap(
        cm * 100 if normalized else cm,
        annot=True,
        fmt=".0f" if normalized else "d",
        cmap="Blues",
        cbar=False,
        square=True,
        ax=ax,
        annot_kws={"size": 7},
    )
    ax.set(
        xlabel="predicted",
        ylabel="true",
        title="row-normalized (%)" if normalized else "counts",
    )
    ax.tick_params(axis="x", rotation=45)
    ax.tick_params(axis="y", rotation=0)
    return fig


def confusion_pair(counts: pd.DataFrame, normalized: pd.DataFrame) -> plt.Figure:
    """Counts and row-normalized confusion heatmaps side by side."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.8))
    confusion_heatmap(counts, ax=left)
    confusion_heatmap(normalized, normalized=True, ax=right)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- images
def image_grid(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    per_class: int = 8,
    seed: int = 0,
) -> plt.Figure:
    """One row per class with ``per_class`` random images of it."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(
        len(class_names),
        per_class,
        figsize=(per_class * 0.9, len(class_names) * 0.95),
        squeeze=False,
    )
    for row, name in enumerate(class_names):
        members = np.flatnonzero(np.asarray(labels) == row)  # none: no draw, no image
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False)
        for ax in axes[row]:
            ax.axis("off")
        for ax, index in zip(axes[row], chosen):
            ax.imshow(images[index])
        axes[row][0].text(-4, 16, name, ha="right", va="center", fontsize=8)
    fig.subplots_adjust(left=0.15, wspace=0.05, hspace=0.05)
    return fig


def gallery(images: np.ndarray, table: pd.DataFrame, class_names: Sequence[str]) -> plt.Figure:
    """Images named by ``table["idx"]`` (from ``confident_mistakes`` and friends), eight a
    row, with "true → predicted (probability)" under each; green when correct, red when
    wrong."""
    cols = 8
    rows = math.ceil(max(len(table), 1) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.35, rows * 1.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, record in zip(axes.flat, table.to_dict("records")):
        ax.imshow(images[record["idx"]])
        color = "green" if record["true"] == record["pred"] else "red"
        ax.set_title(
            f"{class_names[record['true']]}\n→ {class_names[record['pred']]} {record['pred_prob']:.2f}",
            fontsize=7,
            color=color,
        )
    fig.tight_layout()
    return fig


def pixel_histograms(
    arrays: Mapping[str, np.ndarray], *, bins: int = 60, sample: int = 200_000, seed: int = 0
) -> plt.Figure:
    """One panel per preprocessing mode: per-channel (R, G, B) pixel value histograms."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(1, len(arrays), figsize=(3.6 * len(arrays), 3.0), squeeze=False)
    for ax, (name, array) in zip(axes[0], arrays.items()):
        flat = np.asarray(array, dtype=np.float32).reshape(-1, array.shape[-1])
        if len(flat) > sample:
            flat = flat[rng.choice(len(flat), sample, replace=False)]
        for channel, color in zip(range(flat.shape[1]), ("tab:red", "tab:green", "tab:blue")):
            ax.hist(
                flat[:, channel],
                bins=bins,
                histtype="step",
                color=color,
                density=True,
                label="RGB"[channel],
            )
        ax.set(title=name, xlabel="pixel value", yticks=[])
    axes[0][0].legend(fontsize="small")
    fig.tight_layout()
    return fig


def augmentation_preview(
    images: np.ndarray,
    augmentation: Mapping[str, Any],
    *,
    n: int = 8,
    copies: int = 3,
    seed: int = 0,
) -> plt.Figure:
    """Originals (first row) and ``copies`` augmented versions of ``n`` images, through the
    same Keras layers training uses (imports Keras; only the data notebook calls it)."""
    from cifar_core.runs.augmentation import augmentation_layers  # Keras: only 01-data draws this

    layers = augmentation_layers(augmentation, seed)
    if layers is None:
        raise ValueError("augmentation is empty: give rotation, shift and/or flip")
    originals = np.asarray(images[:n])
    batches = [originals] + [
        np.clip(np.asarray(layers(originals.astype("float32"), training=True)), 0, 255).astype(
            "uint8"
        )
        for _ in range(copies)
    ]
    fig, axes = plt.subplots(copies + 1, n, figsize=(n * 1.1, (copies + 1) * 1.15), squeeze=False)
    for row, batch in enumerate(batches):
        for col in range(n):
            axes[row][col].imshow(batch[col])
            axes[row][col].axis("off")
        axes[row][0].set_title(
            "original" if row == 0 else f"augmented #{row}", fontsize=7, loc="left"
        )
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- trade-offs
def front_step(ax: plt.Axes, xs: pd.Series, ys: pd.Series, labels, **options: Any) -> None:
    """A Pareto front as a black step line, each point named by ``labels`` (if any)."""
    ax.step(xs, ys, where="post", color="black", linewidth=1, label="Pareto front", **options)
    for i, (name, x, y) in enumerate(zip(labels, xs, ys)):
        left = i == len(xs) - 1  # the rightmost label would run past the axes into the legend
        ax.annotate(
            str(name),
            (x, y),
            fontsize=7,
            xytext=(-3 if left else 3, 3),
            textcoords="offset points",
            ha="right" if left else "left",
        )


def tradeoff_scatter(
    table: pd.DataFrame, x: str, *, xlabel: str | None = None, ax: plt.Axes | None = None
) -> plt.Figure:
    """Test accuracy against a cost (parameters, FLOPs, seconds), coloured by study where
    the table has one; the Pareto front, chosen on validation accuracy as the compute
    chapter's (:func:`~cifar_core.analysis.views.runs.pareto_front` on
    ``val_accuracy_mean``: no variant both cheaper and more accurate on validation; one
    without a validation split is never on it), is drawn at test accuracy as a step line
    and its points labelled."""
    y = "test_accuracy_mean"
    data = table.dropna(subset=[x, y]).copy()
    data["accuracy_pct"] = data[y] * 100
    fig = figure_of(ax) if ax is not None else plt.figure(figsize=(7.5, 4.8))
    ax = ax or fig.add_subplot()
    hue = "study" if "study" in data else None
    sns.scatterplot(
        data=data,
        x=x,
        y="accuracy_pct",
        hue=hue,
        ax=ax,
        s=45,
        palette=sns.color_palette("tab20", data[hue].nunique()) if hue else None,
    )
    front = data[pareto_front(data, x, "val_accuracy_mean")].sort_values(x)
    if not front.empty:
        front_step(ax, front[x], front["accuracy_pct"], front["variant"])
    if (data[x] > 0).all() and len(data):
        ax.set_xscale("log")
    ax.set(xlabel=xlabel or x, ylabel="test accuracy (%)")
    ax.legend(fontsize="xx-small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def tradeoff_panels(table: pd.DataFrame, costs: Mapping[str, str]) -> plt.Figure:
    """:func:`tradeoff_scatter` side by side for several costs (``{column: axis label}``)."""
    fig, axes = plt.subplots(1, len(costs), figsize=(7.5 * len(costs), 4.8), squeeze=False)
    for ax, (column, label) in zip(axes[0], costs.items()):
        tradeoff_scatter(table, column, xlabel=label, ax=ax)
    fig.tight_layout()
    return fig
