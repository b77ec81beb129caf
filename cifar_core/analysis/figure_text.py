"""A figure in words, for its alternative text: per panel the title, the axis labels
and the values drawn (bar heights by tick label, line end points and ranges, heatmap
extremes, scatter points, image panel titles), read back from the matplotlib artists.

`cifar_core.analysis.plots.show` attaches it to the figure's output; the build puts
"caption. description" into the cell's ``fig-alt`` option, which Quarto and the
built-in renderer write as the image's ``alt`` (`cifar_core.render.figures`).

Example
-------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> fig, ax = plt.subplots()
>>> _ = ax.bar(["mlp", "cnn"], [46.4, 68.9])
>>> _ = ax.set(title="Baselines", ylabel="test accuracy (%)")
>>> describe_figure(fig)
'Baselines: y axis test accuracy (%); bars: mlp 46.4, cnn 68.9.'
>>> plt.close(fig)
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.container import BarContainer
from matplotlib.patches import Polygon

MAX_CHARS = 1200  # screen readers read all of it; longer helps nobody
MAX_ITEMS = 12  # bars, lines or points listed per panel


def _num(value: float) -> str:
    """3 significant digits, spelled the way a screen reader reads well.

    >>> [_num(v) for v in (0.1234, 68.94, 12_230_010, -1.25, 3e-5)]
    ['0.123', '68.9', '12,200,000', '-1.25', '3e-05']
    """
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0 or 1e-3 <= abs(value) < 1000:
        return f"{value:.3g}"
    if abs(value) >= 1000:
        return f"{float(f'{value:.3g}'):,.0f}"
    return f"{value:.2g}"


def _listing(items: list[str]) -> str:
    shown = items[:MAX_ITEMS]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _tick_labels(ax, axis: str) -> dict[float, str]:
    ticks = ax.get_xticks() if axis == "x" else ax.get_yticks()
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return {float(t): lab.get_text() for t, lab in zip(ticks, labels) if lab.get_text()}


def _nearest(ticks: dict[float, str], where: float, spacing: float) -> str:
    """The tick label within half a tick spacing of ``where`` ("" when none)."""
    if not ticks:
        return ""
    tick = min(ticks, key=lambda t: abs(t - where))
    return ticks[tick] if abs(tick - where) <= spacing / 2 + 1e-9 else ""


def _bars(ax) -> list[str]:
    containers = [c for c in ax.containers if isinstance(c, BarContainer) and c.patches]
    if not containers:
        return []
    legend = ax.get_legend()
    names = [t.get_text() for t in legend.get_texts()] if legend else []
    if len(names) != len(containers):
        names = [c.get_label() for c in containers]
    groups = []
    for name, container in zip(names, containers):
        horizontal = getattr(container, "orientation", "vertical") == "horizontal"
        ticks = _tick_labels(ax, "y" if horizontal else "x")
        spacing = min(np.diff(sorted(ticks)), default=1.0)  # 1 with fewer than two ticks
        items = []
        for patch in container.patches:
            if horizontal:
                where, value = patch.get_y() + patch.get_height() / 2, patch.get_width()
            else:
                where, value = patch.get_x() + patch.get_width() / 2, patch.get_height()
            items.append(f"{_nearest(ticks, where, spacing)} {_num(value)}".strip())
        groups.append((name if name and not name.startswith("_") else "", items))
    if all(len(items) == 1 for _, items in groups):  # one bar per colour (seaborn hue=x)
        return [f"bars: {_listing([items[0] for _, items in groups])}"]
    return [
        f"bars {name}: {_listing(items)}" if name else f"bars: {_listing(items)}"
        for name, items in groups
    ]


def _lines(ax) -> list[str]:
    items = []
    for line in ax.get_lines():
        label = line.get_label()
        x, y = (np.asarray(v, dtype=float) for v in line.get_data())
        finite = np.isfinite(y)
        if label.startswith("_") or not finite.any():
            continue
        x, y = x[finite], y[finite]
        if len(y) == 2 and y[0] == y[1] and line.get_transform() is not ax.transData:
            items.append(f"{label} at {_num(y[0])}")  # axhline: x in axes coordinates
        elif len(y) == 1:
            items.append(f"{label} {_num(y[0])} at {_num(x[0])}")
        else:
            items.append(
                f"{label} from {_num(y[0])} at {_num(x[0])} to {_num(y[-1])} at "
                f"{_num(x[-1])} (range {_num(y.min())}–{_num(y.max())})"
            )
    return [f"lines: {'; '.join(items[:MAX_ITEMS])}"] if items else []


def _meshes(ax) -> list[str]:
    parts = []
    for collection in ax.collections:
        if isinstance(collection, QuadMesh):
            values = np.asarray(collection.get_array(), dtype=float)
            coords = np.asarray(collection.get_coordinates())
            rows, cols = coords.shape[0] - 1, coords.shape[1] - 1
            if values.size != rows * cols:
                continue
            grid = values.reshape(rows, cols)
            if np.isnan(grid).all():
                parts.append(f"{rows}×{cols} heatmap, no values")
                continue
            i, j = np.unravel_index(np.nanargmax(grid), grid.shape)
            xt, yt = _tick_labels(ax, "x"), _tick_labels(ax, "y")
            at = (
                f" ({yt.get(round(i + 0.5, 6), i)}, {xt.get(round(j + 0.5, 6), j)})"
                if xt or yt
                else ""
            )
            parts.append(
                f"{rows}×{cols} heatmap, values {_num(np.nanmin(grid))} to "
                f"{_num(np.nanmax(grid))}, largest{at} {_num(grid[i, j])}"
            )
        elif isinstance(collection, PathCollection):
            offsets = np.asarray(collection.get_offsets(), dtype=float)
            if offsets.size == 0:
                continue
            label = str(collection.get_label())
            head = f"points {label}" if label and not label.startswith("_") else "points"
            names = [t.get_text() for t in ax.texts]
            if len(names) == len(offsets):
                items = [f"{n} ({_num(x)}, {_num(y)})" for n, (x, y) in zip(names, offsets)]
            elif len(offsets) <= MAX_ITEMS:
                items = [f"({_num(x)}, {_num(y)})" for x, y in offsets]
            else:
                x, y = offsets[:, 0], offsets[:, 1]
                top = offsets[np.argsort(-y, kind="stable")[:3]]
                items = [
                    f"x {_num(x.min())} to {_num(x.max())}, y {_num(y.min())} to "
                    f"{_num(y.max())}, highest y at "
                    + ", ".join(f"({_num(a)}, {_num(b)})" for a, b in top)
                ]
            parts.append(f"{len(offsets)} {head}: {_listing(items)}")
    return parts


def _histograms(ax) -> list[str]:
    """Step histograms (``ax.hist(histtype="step")``): range and peak per label."""
    items = []
    for patch in ax.patches:
        label = patch.get_label()
        if not isinstance(patch, Polygon) or not label or label.startswith("_"):
            continue
        xy = np.asarray(patch.get_xy(), dtype=float)
        if len(xy) < 3:
            continue
        peak = xy[np.argmax(xy[:, 1]), 0]
        items.append(
            f"{label} from {_num(xy[:, 0].min())} to {_num(xy[:, 0].max())}, peak at {_num(peak)}"
        )
    return [f"histograms: {'; '.join(items[:MAX_ITEMS])}"] if items else []


def _images(ax) -> list[str]:
    parts = []
    for image in ax.get_images():
        array = np.asarray(image.get_array())
        if array.ndim == 2:
            parts.append(
                f"{array.shape[0]}×{array.shape[1]} heatmap, values "
                f"{_num(np.nanmin(array))} to {_num(np.nanmax(array))}"
            )
        else:
            parts.append("image")
    return parts


def describe_axes(ax) -> str:
    """One panel in words ("" for a hidden panel)."""
    if not ax.get_visible() or not (ax.axison or ax.get_images() or ax.get_title()):
        return ""
    bits = []
    xlabel, ylabel = ax.get_xlabel(), ax.get_ylabel()
    if xlabel:
        bits.append(f"x axis {xlabel}")
    if ylabel:
        bits.append(f"y axis {ylabel}")
    bits += _bars(ax) + _histograms(ax) + _lines(ax) + _meshes(ax) + _images(ax)
    title = ax.get_title() or ax.get_title("left")
    if bits == ["image"]:  # a picture: what its title or text says about it
        return " ".join((title or " ".join(t.get_text() for t in ax.texts)).split())
    text = "; ".join(bits)
    return f"{title}: {text}" if title and text else title or text


def describe_figure(fig) -> str:
    """The whole figure in words (see the module docstring), at most ``MAX_CHARS``."""
    panels = [
        p for p in (describe_axes(ax) for ax in fig.axes if ax.get_label() != "<colorbar>") if p
    ]
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    images = sum(1 for ax in fig.axes if ax.get_images())
    if images > 4 and images >= len(panels) - 1:
        # an image grid: how many images, and what their titles or labels say
        text = f"{images} images" + (f", labelled: {_listing(panels)}" if panels else "")
    elif len(panels) > 1:
        text = " ".join(f"Panel {i}, {p}." for i, p in enumerate(panels, 1))
    else:
        text = (panels[0] + ".") if panels else ""
    text = f"{suptitle}. {text}" if suptitle else text
    return _clip(" ".join(text.split()))


def _clip(text: str, limit: int = MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"
