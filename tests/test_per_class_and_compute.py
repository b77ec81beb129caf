"""Per-class accuracy across variants and the compute-controlled comparison, on
duck-typed runs whose predictions and metrics are known by construction."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cifar_core.analysis import text
from cifar_core.analysis.views import compute, per_class

CLASSES = ["plane", "car", "bird"]
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])


def fake_run(predicted, *, seed=0, metrics=None, family="cnn"):
    probs = np.eye(3)[np.asarray(predicted)]
    return SimpleNamespace(
        variant=SimpleNamespace(seed=seed, family=family, params={}),
        config={"dataset": {"class_names": CLASSES}},
        metrics=metrics or {},
        predictions=lambda: {"test_probs": probs, "test_labels": LABELS},
    )


# ----------------------------------------------------------------------------- per class
def test_per_class_table_has_variants_as_rows_and_classes_as_columns():
    table = per_class.per_class_table(
        {
            "mlp": [fake_run([0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 2])],
            "cnn": [
                fake_run([0, 0, 0, 0, 1, 1, 0, 0, 2, 2, 2, 2], seed=0),
                fake_run([0, 0, 0, 1, 1, 1, 1, 0, 2, 2, 2, 2], seed=1),
            ],
        },
        CLASSES,
    )
    assert list(table.index) == ["mlp", "cnn"] and list(table.columns) == CLASSES
    assert table.loc["mlp"].tolist() == [0.5, 1.0, 0.25]
    assert table.loc["cnn"].tolist() == [pytest.approx(0.875), 0.625, 1.0]  # mean of two seeds


def test_largest_changes_against_the_baseline():
    table = pd.DataFrame(
        {"plane": [0.5, 0.9], "car": [0.8, 0.6], "bird": [0.4, 0.5]}, index=["mlp", "cnn"]
    )
    changes = per_class.largest_changes(table, "mlp", "cnn", n=1)
    assert changes[["direction", "class"]].values.tolist() == [["gain", "plane"], ["loss", "car"]]
    assert changes["change"].round(3).tolist() == [0.4, -0.2]
    both_gain = per_class.largest_changes(table, "mlp", "cnn", n=5)
    assert both_gain["direction"].tolist() == ["gain", "gain", "loss"]
    with pytest.raises(KeyError, match="'resnet' is not a row"):
        per_class.largest_changes(table, "mlp", "resnet")


def test_comparison_changes_label_each_pair_and_skip_missing_variants():
    table = pd.DataFrame(
        {"plane": [0.5, 0.9, 0.7], "car": [0.8, 0.6, 0.9]}, index=["mlp", "cnn", "cnn_aug"]
    )
    out = per_class.comparison_changes(
        table,
        {
            "convolution": ("mlp", "cnn"),
            "augmentation": ("cnn", "cnn_aug"),
            "depth": ("cnn", "cnn_deep"),
        },
    )
    assert (
        out["comparison"].tolist() == ["convolution"] * 2 + ["augmentation"] * 2
    )  # depth: no cnn_deep
    assert out.columns[0] == "comparison"


def test_unequal_epochs_names_the_changes_not_trained_for_the_same_epochs():
    # The demo profile trains ctl_s004_cnn_e10 for 2 epochs and s004_cnn_dropout for 1:
    # the article may not say the changes were "trained for the same epochs".
    def run(epochs):
        return SimpleNamespace(variant=SimpleNamespace(epochs=epochs))

    runs = {"a": [run(2)], "b": [run(2)], "c": [run(1)], "d": [run(2), run(2)]}
    pairs = {"same": ("a", "b"), "dropout": ("a", "c"), "seeds": ("b", "d"), "gone": ("a", "x")}
    assert per_class.unequal_epochs(runs, pairs) == ["dropout (a: 2 epochs, c: 1)"]
    article = (Path(__file__).resolve().parents[1] / "index.qmd").read_text()
    assert "changes trained for the same epochs" not in " ".join(article.split())


def test_per_class_correctness_pairs_seeds_in_seed_order():
    runs = [fake_run([0] * 12, seed=1), fake_run(LABELS, seed=0)]
    labels, correct = per_class.per_class_correctness(runs)
    assert correct.shape == (2, 12)
    assert correct[0].all() and correct[1].sum() == 4  # seed 0 first
    other = fake_run(LABELS, seed=2)
    other.predictions = lambda: {"test_probs": np.eye(3)[LABELS[:6]], "test_labels": LABELS[:6]}
    with pytest.raises(ValueError, match="different test images"):
        per_class.per_class_correctness([runs[0], other])


# ----------------------------------------------------------------------------- compute
def test_training_flops_are_forward_times_three_times_images_times_epochs():
    assert compute.training_flops(2e6, images=40_000, epochs=5) == 2e6 * 3 * 40_000 * 5


def test_compute_table_means_seeds_and_marks_both_pareto_fronts(monkeypatch):
    def run(acc, seconds, epochs, seed=0):
        return fake_run(
            LABELS,
            seed=seed,
            metrics={
                "test_accuracy": acc,
                "val_accuracy": acc,
                "n_train": 1000,
                "epochs_run": epochs,
                "fit_time_s": seconds,
                "device_name": "cpu",
            },
        )

    flops = {"small": 1e6, "big": 1e7, "wasteful": 2e7}
    runs = {
        "small": [run(0.60, 10, 5, 0), run(0.62, 12, 5, 1)],
        "big": [run(0.70, 100, 5)],
        "wasteful": [run(0.65, 5, 5)],
    }  # fast but FLOP-heavy: on the time front only
    lookup = {id(r): flops[name] for name, rs in runs.items() for r in rs}
    monkeypatch.setattr(compute, "forward_flops", lambda r: lookup[id(r)])
    table = compute.compute_table(runs)
    assert table.loc["small", "test_accuracy"] == pytest.approx(0.61)
    assert table.loc["small", "test_accuracy_std"] == pytest.approx(np.std([0.6, 0.62], ddof=1))
    assert table.loc["small", "train_flops"] == pytest.approx(1e6 * 3 * 1000 * 5)
    assert table["pareto_flops"].to_dict() == {"small": True, "big": True, "wasteful": False}
    assert table["pareto_time"].to_dict() == {"small": False, "big": True, "wasteful": True}
    assert math.isnan(table.loc["big", "test_accuracy_std"])


def test_pareto_fronts_are_chosen_on_validation_not_test(monkeypatch):
    def run(val, test, seconds):
        return fake_run(
            LABELS,
            metrics={
                "val_accuracy": val,
                "test_accuracy": test,
                "n_train": 10,
                "epochs_run": 1,
                "fit_time_s": seconds,
            },
        )

    runs = {"cheap": [run(0.6, 0.7, 1)], "dear": [run(0.5, 0.9, 10)]}  # dear wins only on test
    monkeypatch.setattr(compute, "forward_flops", lambda r: 1e6 if r is runs["cheap"][0] else 1e7)
    table = compute.compute_table(runs)
    assert table["pareto_flops"].to_dict() == {"cheap": True, "dear": False}
    assert table["pareto_time"].to_dict() == {"cheap": True, "dear": False}
    with pytest.raises(ValueError, match="test column"):
        compute.compute_table(runs, select_on="test_accuracy")


def test_forward_flops_default_to_the_model_stats_cache(monkeypatch):

    seen = []
    monkeypatch.setattr(
        compute,
        "model_stats",
        lambda family, params, num_classes=10, **k: (
            seen.append((family, num_classes)) or {"flops": 5.0}
        ),
    )
    row = compute.run_compute(
        fake_run(
            LABELS,
            family="mlp",
            metrics={"test_accuracy": 0.5, "n_train": 10, "epochs_run": 2, "fit_time_s": 1.0},
        )
    )
    assert seen == [("mlp", 3)] and row["train_flops"] == 5.0 * 3 * 10 * 2


def test_reference_points_apply_only_to_full_cifar10():
    full = compute.reference_points("full")
    assert full["applicable"].all() and compute.reference_note("full") is None
    airbench = full.set_index("name").loc["airbench94 (Muon)"]
    assert (airbench["accuracy"], airbench["wall_time_s"], airbench["citation"]) == (
        0.9401,
        2.59,
        "jordan2024airbench",
    )
    assert (
        "A100" in airbench["hardware"]
        and (full["data"] == "full CIFAR-10 (50,000 training images)").all()
    )
    assert not compute.reference_points("sample")["applicable"].any()
    # full-seed-protocol trains on all 50,000 images of full CIFAR-10: the note said it
    # "trains on 50,000 official training images, so ... not comparable".
    assert compute.reference_points("full-seed-protocol")["applicable"].all()
    assert compute.reference_note("full-seed-protocol", 50_000) is None
    assert compute.reference_points(None, n_train=50_000)["applicable"].all()
    note = compute.reference_note("sample", 5_085)
    assert "5,085 official training images" in note and "not comparable" in note
    # rehearsal on real CIFAR-10 trains on all 50,000 images: the note gave them as the
    # reason; its cap of 2 optimizer steps per epoch is.
    note = compute.reference_note("rehearsal", 50_000, 2)
    assert "50,000 official training images for at most 2 optimizer steps per epoch" in note
    assert compute.reference_source(full.iloc[0]) == (
        "full CIFAR-10, one NVIDIA A100 (400 W) [jordan2024airbench]"
    )


def test_reference_citations_exist_in_the_bibliography():
    from pathlib import Path

    bib = (Path(__file__).resolve().parents[1] / "references.bib").read_text()
    for point in compute.REFERENCE_POINTS:
        assert f"{{{point['citation']}," in bib


# ----------------------------------------------------------------------------- figures
def test_heatmap_shows_the_baseline_as_accuracy_and_others_as_changes():
    from cifar_core.analysis.comparison_plots import accuracy_heatmap

    table = pd.DataFrame({"cat": [0.5, 0.6], "dog": [0.7, 0.65]}, index=["mlp", "cnn"])
    texts = [t.get_text() for t in accuracy_heatmap(table, baseline="mlp").axes[0].texts]
    assert texts == ["50", "70", "+10", "-5"]
    with pytest.raises(KeyError, match="baseline 'resnet'"):
        accuracy_heatmap(table, baseline="resnet")


def test_the_heatmap_caption_reads_its_colours_as_higher_or_lower_not_as_verdicts():
    # A cell's colour is the sign of a change with no interval: "better"/"worse" are the
    # verdicts of a test, which the heatmap does not make.
    source = (Path(__file__).resolve().parents[1] / "analyses" / "13-per-class.py").read_text()
    caption = next(line for line in source.splitlines() if "label: fig-per-class" in line)
    caption = source.split(caption)[1].splitlines()[1]
    assert "(blue: higher, red: lower)" in caption
    assert "better" not in caption and "worse" not in caption


@pytest.mark.parametrize("profile, stars", [("full", 4), ("sample", 0)])
def test_compute_scatter_draws_reference_points_only_where_they_apply(profile, stars):
    from cifar_core.analysis.comparison_plots import compute_scatter

    table = pd.DataFrame(
        {"test_accuracy": [0.5, 0.7], "train_flops": [1e12, 1e13], "pareto_flops": [True, True]},
        index=["a", "b"],
    )
    fig = compute_scatter(
        table, pareto="pareto_flops", references=compute.reference_points(profile)
    )
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert sum("%)" in text for text in labels) == stars
    assert {"a", "b"} <= set(labels) and ax.get_xscale() == "log"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("jordan2024airbench" in text for text in legend) == bool(stars)


def test_the_compute_front_and_values_are_text():
    table = pd.DataFrame(
        {
            "train_flops": [3.1e15, 2.5e12],
            "fit_time_s": [181.0, 12.34],
            "val_accuracy": [0.7, 0.5],
            "test_accuracy": [0.71, 0.52],
            "test_accuracy_std": [0.004, np.nan],
            "pareto_flops": [True, True],
            "pareto_time": [True, False],
        },
        index=pd.Index(["big", "small"], name="variant"),
    )
    front = compute.front_table(table)
    assert front["variant"].tolist() == ["small", "big"]  # cheapest first
    assert front.loc[1, "training FLOPs"] == "3.1 PFLOPs" and front.loc[0, "wall time s"] == "12.3"
    assert front.loc[1, "front"] == "FLOPs + time" and front.loc[1, "test acc %"] == "71.0 ± 0.4"
    values = compute.compute_values(table, "big", None)
    assert (values["best_flops"], values["best_time"], values["best_test_acc"]) == (
        "3.1 PFLOPs",
        "3.0 min",
        "71.0 ± 0.4 %",
    )
    assert compute.compute_values(table.iloc[0:0], None, "note")["best_flops"] == text.UNKNOWN
    # a best variant without a cost row (as calibration, tta and robustness treat it)
    assert compute.compute_values(table, "absent", None)["best_flops"] == text.UNKNOWN


def test_the_published_number_of_changes_counts_only_those_the_table_shows():
    # the article says "@tbl-per-class-changes lists ... from N one-factor changes": a
    # comparison whose variant did not run is left out of the table ("Not shown ...").
    source = (Path(__file__).resolve().parents[1] / "analyses" / "13-per-class.py").read_text()
    assert '"n_changes": str(len(pairs) - len(skipped)),' in source
    assert source.index("skipped = [") < source.index('"n_changes"')
