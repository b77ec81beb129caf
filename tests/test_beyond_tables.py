"""The tables behind the "beyond the seeds" chapters, on duck-typed runs whose
predictions are known by construction: TTA gains with paired intervals, corruption
summaries, calibration over seeds, per-class change intervals, and their figures."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cifar_core.analysis import comparison_plots, sentences, text
from cifar_core.analysis.views import calibration, per_class, robustness, tta


def onehot(predicted, classes=3, confidence=0.8):
    probs = np.full((len(predicted), classes), (1 - confidence) / (classes - 1))
    probs[np.arange(len(predicted)), predicted] = confidence
    return probs


LABELS = np.array([0, 1, 2] * 20)


def fake_run(seed, predicted=None, **predictions):
    stored = {
        "test_labels": LABELS,
        "test_probs": onehot(LABELS if predicted is None else predicted),
    }
    stored.update(predictions)
    return SimpleNamespace(
        variant=SimpleNamespace(seed=seed), config={}, predictions=lambda: stored
    )


# ----------------------------------------------------------------------------- TTA
def views(run, dataset):
    """One pass gets the first 20 images wrong; the mirror gets the first
    ``config["fixes"]`` of them right with high confidence; the translations agree
    with one pass."""
    predicted = LABELS.copy()
    predicted[:20] = (LABELS[:20] + 1) % 3
    plain = onehot(predicted, confidence=0.6)
    mirrored = predicted.copy()
    fixes = run.config["fixes"]
    mirrored[:fixes] = LABELS[:fixes]
    return {
        "plain": plain,
        "flip": onehot(mirrored, confidence=0.95),
        "translate": np.tile(plain[None, None], (2, 2, 1, 1)),
    }


def tta_run(seed, fixes):
    run = fake_run(seed)
    run.config["fixes"] = fixes
    return run


def test_tta_gain_is_paired_over_images_and_seeds_with_holm_over_the_table():
    from cifar_core.analysis.stats.paired import holm

    runs = {"helped": [tta_run(1, 12), tta_run(0, 12)], "same": [tta_run(0, 0)]}
    table = tta.tta_table(runs, views=views, forward_flops=lambda r: 1e6)
    helped, same = table.loc["helped"], table.loc["same"]
    assert helped["plain"] == pytest.approx(40 / 60) and helped["flip"] == pytest.approx(52 / 60)
    assert helped["flip_gain"] == pytest.approx(12 / 60) and helped["flip_low"] > 0
    assert helped["seeds"] == 2 and same["flip_gain"] == 0 and same["flip_p"] == 1.0
    assert helped["views"] == 6 and helped["translate_extra_flops"] == 5_000_000
    assert helped["flip_extra_flops"] == 1_000_000
    raw = list(table["flip_p"]) + list(table["translate_p"])
    assert list(table["flip_p_holm"]) + list(table["translate_p_holm"]) == pytest.approx(holm(raw))


def test_tta_refuses_runs_scored_on_different_images():
    other = SimpleNamespace(
        variant=SimpleNamespace(seed=1), predictions=lambda: {"test_labels": LABELS[::-1]}
    )
    with pytest.raises(ValueError, match="different test images"):
        tta.tta_table({"v": [tta_run(0, 1), other]}, views=views, forward_flops=lambda r: 1.0)


def test_tta_note_names_the_variants_that_average_views_in_their_own_recipe():
    # demo: "flagship evaluate(s) with test-time augmentation ... for them".
    def recipe(tta_flip):
        return [SimpleNamespace(variant=SimpleNamespace(tta_flip=tta_flip, tta_translate=False))]

    one = tta.tta_notes(pd.DataFrame(), {"flagship": recipe(True), "plain": recipe(False)})
    assert one == [
        "flagship evaluates with test-time augmentation as part of the recipe, so the "
        "accuracy reported elsewhere in this report for it is the averaged one; the one-pass "
        "accuracy here is a single plain pass."
    ]
    (two,) = tta.tta_notes(pd.DataFrame(), {"a": recipe(True), "b": recipe(True)})
    assert two.startswith("a, b evaluate with") and "report for them is" in two


# ----------------------------------------------------------------------------- robustness
def test_robustness_summary_keeps_clean_next_to_the_mean_over_corruptions():
    long = pd.DataFrame(
        {
            "variant": ["a", "a", "b", "b"],
            "corruption": ["noise", "blur"] * 2,
            "severity": [3, 3, 3, 3],
            "accuracy": [0.2, 0.4, 0.5, 0.5],
            "accuracy_std": np.nan,
            "seeds": 1,
        }
    )
    summary = robustness.robustness_summary(long, {"a": 0.6, "b": 0.5})
    assert summary.loc["a", "mean_corrupted"] == pytest.approx(0.3)
    assert summary.loc["a", "drop"] == pytest.approx(0.3) and summary.loc["b", "relative"] == 1.0
    assert summary.loc["a", "worst"] == "noise 3"
    assert list(robustness.corruption_matrix(long).index) == ["a", "b"]


def test_robustness_values_name_every_corruption_tied_for_hardest():
    # the hardest corruption was the first of a tie (idxmin).
    long = pd.DataFrame(
        {
            "variant": ["a"] * 3,
            "corruption": ["gaussian_noise", "gaussian_blur", "contrast"],
            "severity": [3, 3, 3],
            "accuracy": [0.25, 0.25, 0.5],
            "accuracy_std": np.nan,
            "seeds": 1,
        }
    )
    summary = robustness.robustness_summary(long, {"a": 0.6})
    values = robustness.robustness_values(summary, long, "a", [3], 10)
    labels = [robustness.corruption_label(c) for c in ("gaussian_blur", "gaussian_noise")]
    assert values["hardest"] == f"{labels[0]}, tied with {labels[1]}"
    assert values["hardest_accuracy"] == "25.0 %"


def test_most_robust_is_ranked_only_among_variants_well_above_chance():
    # demo: "the most robust is s000_mlp, which keeps 95 %" of a clean 15.0 % (chance 10 %):
    # near chance, corrupted accuracy cannot fall far.
    summary = pd.DataFrame(
        {"clean": [0.15, 0.492, 0.572], "relative": [0.95, 0.78, 0.90]},
        index=["s000_mlp", "s000_cnn2", "s004_final"],
    )
    values = robustness.robustness_values(summary, pd.DataFrame(), None, [3], 10)
    assert values["most_robust"] == "s004_final"
    assert values["most_robust_text"] == (
        "by the share of clean accuracy kept, the most robust of the 2 variants whose clean "
        "accuracy is at least twice chance (20.0 %) is s004_final, which keeps 90 % of its "
        "57.2 % (a ranking of point estimates, without intervals)"
    )
    # one variant above the floor is not a ranking; a tie says "each"; all tied say "all"
    one = robustness.robustness_values(summary.iloc[[0, 2]], pd.DataFrame(), None, [3], 10)
    assert one["most_robust_text"] == (
        "only s004_final has a clean accuracy of at least twice chance (20.0 %), so no "
        "ranking by the share kept; it keeps 90 % of its 57.2 %"
    )
    summary.loc["s000_cnn2", "relative"] = 0.90
    tied = robustness.robustness_values(summary, pd.DataFrame(), None, [3], 10)
    assert tied["most_robust_text"] == (
        "the 2 variants whose clean accuracy is at least twice chance (20.0 %) all keep 90 % "
        "of their clean accuracy"
    )
    summary.loc["s000_cnn3"] = [0.5, 0.6]
    tied = robustness.robustness_values(summary, pd.DataFrame(), None, [3], 10)
    assert tied["most_robust_text"].endswith(
        "(20.0 %) is s000_cnn2, tied with s004_final: each keeps 90 % of its clean accuracy "
        "(a ranking of point estimates, without intervals)"
    )
    none = robustness.robustness_values(summary.iloc[:1], pd.DataFrame(), None, [3], 10)
    assert none["most_robust"] == text.UNKNOWN
    assert none["most_robust_text"].startswith("no variant reaches twice chance (20.0 %)")


def test_calibration_values_name_every_variant_tied_for_the_lowest_and_highest_ece():
    table = pd.DataFrame(
        {
            "ece": [0.05, 0.05, 0.2, 0.2],
            "ece_scaled": 0.01,
            "nll": 1.0,
            "nll_scaled": 0.9,
            "temperature": 1.2,
        },
        index=["a", "b", "c", "d"],
    )
    values = calibration.calibration_values(table, "a")
    assert values["min_ece_variant"] == "a, tied with b" and values["min_ece"] == "5.0 %"
    assert values["max_ece_variant"] == "c, tied with d"


def test_corrupted_examples_keep_shape_and_are_reproducible():
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    grid = robustness.example_grid(image, ["gaussian_noise", "contrast"], [1, 5], seed=3)
    again = robustness.example_grid(image, ["gaussian_noise"], [5], seed=3)
    assert set(grid) == {
        ("Gaussian noise", 1),
        ("Gaussian noise", 5),
        ("contrast", 1),
        ("contrast", 5),
    }
    assert all(v.shape == image.shape and v.dtype == np.uint8 for v in grid.values())
    np.testing.assert_array_equal(grid[("Gaussian noise", 5)], again[("Gaussian noise", 5)])
    fig = comparison_plots.image_variants(grid, clean=image)
    assert len(fig.axes) == 2 * 3


# ----------------------------------------------------------------------------- calibration
def test_calibration_over_seeds_reports_mean_spread_and_the_first_seeds_interval():
    rng = np.random.default_rng(1)

    def run(seed, confidence):
        labels = rng.integers(0, 3, 300)
        correct = rng.random(300) < 0.6  # 60 % right whatever the confidence: over-confident
        predicted = np.where(correct, labels, (labels + 1) % 3)
        probs = onehot(predicted, confidence=confidence)
        return SimpleNamespace(
            variant=SimpleNamespace(seed=seed),
            predictions=lambda: {
                "val_probs": probs,
                "val_labels": labels,
                "test_probs": probs,
                "test_labels": labels,
            },
        )

    table = calibration.calibration_by_variant({"sure": [run(2, 0.95), run(0, 0.9)]})
    row = table.loc["sure"]
    assert row["seeds"] == 2 and row["interval_seed"] == 0
    assert row["ece"] > 0.2 and row["ece_scaled"] < row["ece"] and row["nll_scaled"] < row["nll"]
    assert row["temperature"] > 1 and row["ece_std"] > 0
    assert row["ece_low"] <= row["ece_high"]


# ----------------------------------------------------------------------------- per class
def test_class_change_intervals_use_only_that_class_images():
    base = fake_run(0, predicted=np.where(LABELS == 0, 1, LABELS))  # class 0 always wrong
    better = fake_run(0)  # all right
    runs = {"base": [base], "better": [better]}
    table = per_class.per_class_table(runs, class_names=["a", "b", "c"])
    changes = per_class.comparison_changes(table, {"fix": ("base", "better")})
    with_ci = per_class.change_intervals(changes, runs, ["a", "b", "c"])
    row = with_ci.iloc[0]
    assert (row["class"], row["change"], row["images"]) == ("a", 1.0, 20)
    assert row["low"] == row["high"] == 1.0 and row["p_value"] < 1e-5
    assert row["seeds"] == 1
    assert sentences.class_change_sentence(row).startswith("raises a by 100.0 points")


def test_class_change_intervals_pair_only_the_shared_seeds():
    base = fake_run(0, predicted=np.where(LABELS == 0, 1, LABELS))
    runs = {
        "base": [base],
        "better": [fake_run(0), fake_run(1, predicted=np.where(LABELS == 0, 1, LABELS))],
    }
    table = per_class.per_class_table(runs, class_names=["a", "b", "c"])
    changes = per_class.comparison_changes(table, {"fix": ("base", "better")})
    assert changes.iloc[0]["change"] == 0.5  # all seeds: seed 1 of 'better' misses class a too
    row = per_class.change_intervals(changes, runs, ["a", "b", "c"]).iloc[0]
    assert (row["seeds"], row["change"], row["variant_accuracy"]) == (1, 1.0, 1.0)  # seed 0 only
    disjoint = {"base": [base], "better": [fake_run(1)]}
    row = per_class.change_intervals(changes, disjoint, ["a", "b", "c"]).iloc[0]
    assert row["seeds"] == 0 and np.isnan(row["low"]) and "no shared seeds" in row["test"]


def test_gain_plot_draws_one_interval_per_variant_and_recipe():
    table = pd.DataFrame(
        {"flip_gain": [0.01, -0.02], "flip_low": [0.0, -0.03], "flip_high": [0.02, 0.0]},
        index=["a", "b"],
    )
    fig = comparison_plots.gain_intervals(table, {"flip": "flip"}, xlabel="gain")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"] and ax.get_xlabel() == "gain"


def test_class_changes_are_words_only_when_the_interval_excludes_zero():
    rows = pd.DataFrame(
        [
            {
                "comparison": "depth",
                "baseline": "a",
                "variant": "b",
                "direction": "gain",
                "class": "cat",
                "baseline_accuracy": 0.5,
                "variant_accuracy": 0.54,
                "change": 0.04,
                "low": -0.051,
                "high": 0.14,
                "seeds": 1,
                "images": 100,
                "test": "exact McNemar",
            },
            {
                "comparison": "depth",
                "baseline": "a",
                "variant": "b",
                "direction": "loss",
                "class": "dog",
                "baseline_accuracy": 0.6,
                "variant_accuracy": 0.4,
                "change": -0.2,
                "low": -0.3,
                "high": -0.1,
                "seeds": 1,
                "images": 100,
                "test": "exact McNemar",
            },
        ]
    )
    text = sentences.class_changes_paragraph(rows)
    assert text.startswith(
        "* **depth** (a → b): cat +4.0 points (95 % CI −5.1 to 14.0, 100 images: includes "
        "zero); lowers dog by 20.0 points (95 % CI −30.0 to −10.0, 100 images)."
    )
    assert text.endswith("is no evidence of a class-specific effect.")
    assert "helps" not in text and "raises cat" not in text
    shown = per_class.changes_display(rows)
    assert shown.loc[0, "change pts (95 % CI)"] == "+4.0 (−5.1 to 14.0)"
