"""Figures a screen reader can read: the description `plots.show` derives from the drawn
values, the build's ``fig-alt`` (caption + description) in the executed notebook, the
``alt`` of the built-in renderer's ``<img>``, and a figure cell without a caption or
alternative text failing with the notebook and the cell label."""

from __future__ import annotations

import base64
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cifar_core.analysis import plots  # noqa: E402
from cifar_core.analysis.figure_text import MAX_CHARS, describe_figure  # noqa: E402
from cifar_core.render import RenderError, render  # noqa: E402
from cifar_core.render.figures import ALT_METADATA_KEY, carry_alt_text  # noqa: E402
from tests.support.render_fixtures import (  # noqa: E402
    EMBEDDED_LABELS,
    code_cell,
    png_bytes,
    stub_project,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --- describing what a figure shows --------------------------------------------------


def test_grouped_bars_are_read_by_tick_and_legend():
    counts = pd.DataFrame(
        {
            "class": ["cat", "dog", "cat", "dog"],
            "split": ["train", "train", "test", "test"],
            "count": [40, 38, 10, 9],
        }
    )
    text = describe_figure(plots.count_bars(counts))
    assert text == "y axis count; bars train: cat 40, dog 38; bars test: cat 10, dog 9."


def test_study_panels_give_each_panel_its_title_axis_and_values():
    table = pd.DataFrame(
        {
            "variant": ["mlp", "cnn"],
            "test_accuracy_mean": [0.464, 0.689],
            "test_accuracy_std": [0.01, 0.02],
        }
    )
    text = describe_figure(plots.study_panels({"baselines": table, "other": table}))
    assert text.startswith(
        "Panel 1, baselines: y axis test accuracy (%); bars: mlp 46.4, cnn 68.9."
    )
    assert "Panel 2, other:" in text


def test_curves_heatmaps_and_reference_lines_give_their_numbers():
    history = pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "loss": [2.0, 1.5, 1.2],
            "val_loss": [2.1, 1.7, 1.6],
            "accuracy": [0.3, 0.5, 0.6],
            "val_accuracy": [0.28, 0.45, 0.52],
        }
    )
    text = describe_figure(plots.learning_curves({"cnn": [history]}))
    assert "cnn (val) from 0.28 at 1 to 0.52 at 3 (range 0.28–0.52)" in text
    cm = pd.DataFrame([[50, 3], [7, 40]], index=["cat", "dog"], columns=["cat", "dog"])
    heat = describe_figure(plots.confusion_heatmap(cm))
    assert "2×2 heatmap, values 3 to 50, largest (cat, cat) 50" in heat
    fig, ax = plt.subplots()
    ax.plot([0, 10], [0.2, 0.6], label="flagship")
    ax.axhline(55.5, label="seed 004")
    assert "seed 004 at 55.5" in describe_figure(fig)


@pytest.mark.parametrize("baseline", [None, "a"])
def test_a_heatmap_without_any_value_is_described_as_such(baseline):
    from cifar_core.analysis.comparison_plots import accuracy_heatmap

    empty = pd.DataFrame(np.nan, index=["a", "b"], columns=["x", "y", "z"])
    assert "2×3 heatmap, no values" in describe_figure(accuracy_heatmap(empty, baseline=baseline))


def test_image_grids_say_how_many_images_and_what_they_are():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (30, 32, 32, 3), dtype=np.uint8)
    table = pd.DataFrame(
        {
            "idx": range(10),
            "true": [0] * 10,
            "pred": [1] * 10,
            "pred_prob": np.linspace(0.9, 0.5, 10),
        }
    )
    text = describe_figure(plots.gallery(images, table, ["cat", "dog"]))
    assert text.startswith("10 images, labelled: cat → dog 0.90, cat → dog 0.86")


def test_a_description_never_exceeds_the_limit():
    fig, axes = plt.subplots(2, 3)
    for ax in axes.flat:
        for i in range(20):
            ax.plot([1, 2, 3], [i, i + 1, i + 2], label=f"a very long variant name number {i}")
        ax.set(title="a panel with a long title", xlabel="epoch", ylabel="accuracy")
    text = describe_figure(fig)
    assert len(text) <= MAX_CHARS and text.endswith("…")


# --- the build writes fig-alt; a figure without caption or alt text fails ---------------


def _figure_cell(options: str, description: str | None) -> nbformat.NotebookNode:
    metadata = {"image/png": {ALT_METADATA_KEY: description}} if description is not None else {}
    output = nbformat.v4.new_output(
        "display_data",
        metadata=metadata,
        data={"image/png": base64.b64encode(png_bytes()).decode(), "text/plain": "<Figure>"},
    )
    return code_cell(options + "\nplots.show(fig)", [output])


def test_the_build_puts_caption_and_description_into_fig_alt(tmp_path):
    path = tmp_path / "03-x.ipynb"
    cells = [
        _figure_cell('#| label: fig-a\n#| fig-cap: "Accuracy per variant"', "bars: mlp 46.4."),
        _figure_cell('#| label: fig-b\n#| fig-cap: "Own."\n#| fig-alt: "Written by hand."', "x"),
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    assert carry_alt_text(path) == []
    written = nbformat.read(str(path), as_version=4).cells
    assert written[0].metadata["fig-alt"] == "Accuracy per variant. bars: mlp 46.4."
    assert "fig-alt" not in written[1].metadata  # the cell's own option wins


@pytest.mark.parametrize(
    "options, description, needle",
    [
        (
            "#| label: fig-nocap",
            "bars: a 1.",
            "figure cell 'fig-nocap' in .*03-x.ipynb has no caption",
        ),
        (
            '#| label: fig-noalt\n#| fig-cap: "Shown with display()."',
            None,
            "figure cell 'fig-noalt' in .*03-x.ipynb has no alternative text.*plots.show",
        ),
    ],
)
def test_a_figure_without_caption_or_alt_text_is_named(tmp_path, options, description, needle):
    path = tmp_path / "03-x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[_figure_cell(options, description)]), str(path))
    problems = carry_alt_text(path)
    assert len(problems) == 1 and re.search(needle, problems[0]), problems


def test_a_chapter_with_a_figure_without_caption_fails_the_build(tmp_path):
    import shutil

    from tests.test_build import PROJECT, build, write_chapter

    (tmp_path / "analyses").mkdir()
    shutil.copy2(PROJECT / "_quarto.yml", tmp_path / "_quarto.yml")
    figure = (
        "\n# %%\n#| label: fig-bars\nimport matplotlib.pyplot as plt\n"
        "from cifar_core.analysis import plots\n"
        "fig, ax = plt.subplots()\nax.bar(['a', 'b'], [1, 2])\nplots.show(fig)\n"
    )
    write_chapter(tmp_path, "a1", body=figure)
    write_chapter(
        tmp_path,
        "a2",
        body=figure.replace("#| label: fig-bars", '#| label: fig-bars\n#| fig-cap: "Two bars."'),
    )
    result, log = build(tmp_path)
    assert [c.name for c in result.failed] == ["a1"] and result.executed == ["a2"]
    assert "figure cell 'fig-bars'" in log and "a1.failed.ipynb" in log and "no caption" in log
    cell = [
        c
        for c in nbformat.read(str(tmp_path / "notebooks/a2.ipynb"), as_version=4).cells
        if "fig-bars" in c.source
    ][0]
    assert cell.metadata["fig-alt"] == "Two bars. bars: a 1, b 2."


# --- both renderers ------------------------------------------------------------------


@pytest.fixture()
def project(tmp_path):
    return stub_project(tmp_path, png_bytes())


def test_the_builtin_html_writes_fig_alt_as_the_image_alt(project):
    html = (
        render(project, renderer="builtin", profile="smoke", to="html", log=None)[0]
    ).read_text()
    figures = re.findall(r'<figure id="(fig-[\w-]+)"[^>]*>\s*<img ([^>]*)>', html)
    alts = {label: re.search(r'\balt="([^"]*)"', img).group(1) for label, img in figures}
    figures_embedded = {label for _, label in EMBEDDED_LABELS if label.startswith("fig-")}
    assert set(alts) == figures_embedded and all(
        alt == f"Stub figure {label}. x axis epoch; lines: val from 0.2 to 0.7."
        for label, alt in alts.items()
    )
    assert not re.search(r'<img(?![^>]*\balt="[^"]+")', html), "an image without alt text"


def test_a_figure_cell_without_alt_text_fails_both_renderers(project):
    path = project / "notebooks" / "01-data.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if "fig-data-counts" in cell.source:
            del cell.metadata["fig-alt"]
    nbformat.write(nb, str(path))
    message = r"figure cell 'fig-data-counts' in .*01-data\.ipynb has no alternative text"
    with pytest.raises(RenderError, match=message):
        render(project, renderer="builtin", profile="smoke", to="html", log=None)
    from cifar_core.render.check import check

    assert any(re.search(message, p) for p in check(project, "smoke"))  # Quarto's pre-check
