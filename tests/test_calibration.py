"""Calibration: ECE on predictors whose calibration is known by construction, temperature
scaling on an over-confident predictor, and the row/table of a (duck-typed) run."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve

from cifar_core.analysis.stats import calibration as cal
from cifar_core.analysis.views.calibration import calibration_by_variant, calibration_table


def _two_class(confidence: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities whose top-1 confidence is ``confidence`` (class 0), labels right
    exactly where ``correct``."""
    probs = np.stack([confidence, 1 - confidence], axis=1)
    return probs, np.where(correct, 0, 1)


def _sampled(n: int, scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ten-class softmax probabilities, labels *drawn from* them (calibrated in
    expectation): then ``apply_temperature(p, 1/k)`` is over-confident by factor k."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 10)) * scale
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    cumulative = probs.cumsum(axis=1)
    labels = (rng.random((n, 1)) > cumulative).sum(axis=1)
    return probs, np.minimum(labels, 9)


def test_ece_of_a_perfectly_calibrated_predictor_is_zero():
    # Confidence 0.8 in every image and exactly 80 % right; 0.55 and 55 % right.
    confidence = np.r_[np.full(100, 0.8), np.full(100, 0.55)]
    correct = np.r_[np.arange(100) < 80, np.arange(100) < 55]
    probs, labels = _two_class(confidence, correct)
    assert cal.expected_calibration_error(probs, labels) == pytest.approx(0.0, abs=1e-12)


def test_ece_of_labels_drawn_from_the_predictions_is_near_zero():
    # Finite-sample ECE is positive but small; 20,000 images keep it below 2 points.
    probs, labels = _sampled(20_000, scale=2.0, seed=0)
    assert cal.expected_calibration_error(probs, labels) < 0.02


def test_ece_of_an_over_confident_predictor_is_the_confidence_gap():
    confidence, correct = np.full(200, 0.99), np.arange(200) < 120  # 60 % right
    probs, labels = _two_class(confidence, correct)
    assert cal.expected_calibration_error(probs, labels) == pytest.approx(0.39)


def test_reliability_table_agrees_with_sklearn_calibration_curve():
    probs, labels = _sampled(3000, scale=1.5, seed=1)
    table = cal.reliability_table(probs, labels)
    filled = table[table["count"] > 0]
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    accuracy, mean_confidence = calibration_curve(correct, confidence, n_bins=15)
    np.testing.assert_allclose(filled["accuracy"], accuracy)
    np.testing.assert_allclose(filled["confidence"], mean_confidence)
    assert table["count"].sum() == 3000 and len(table) == 15


def test_confidence_on_a_bin_edge_belongs_to_the_bin_below():
    probs, labels = _two_class(np.array([1.0, 2 / 3]), np.array([True, True]))
    table = cal.reliability_table(probs, labels, n_bins=3)
    assert table["count"].tolist() == [0, 1, 1]


def test_temperature_scaling_lowers_nll_of_an_over_confident_predictor():
    probs, labels = _sampled(6000, scale=1.5, seed=2)
    sharp = cal.apply_temperature(probs, 1 / 3)  # logits × 3: over-confident
    val, test = slice(0, 3000), slice(3000, None)
    temperature = cal.fit_temperature(sharp[val], labels[val])
    assert temperature == pytest.approx(3.0, rel=0.15)  # undoes the sharpening
    scaled = cal.apply_temperature(sharp[test], temperature)
    assert (
        cal.negative_log_likelihood(scaled, labels[test])
        < cal.negative_log_likelihood(sharp[test], labels[test]) - 0.05
    )
    assert (
        cal.expected_calibration_error(scaled, labels[test])
        < cal.expected_calibration_error(sharp[test], labels[test]) / 2
    )
    np.testing.assert_array_equal(scaled.argmax(axis=1), sharp[test].argmax(axis=1))


def test_temperature_of_an_under_confident_predictor_is_below_one():
    probs, labels = _sampled(4000, scale=1.5, seed=3)
    assert cal.fit_temperature(cal.apply_temperature(probs, 2.0), labels) < 0.7


def test_log_probabilities_are_the_logits_up_to_a_row_constant():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(5, 10)) * 4
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = np.exp(logits / 2.5) / np.exp(logits / 2.5).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(cal.apply_temperature(probs, 2.5), expected, rtol=1e-10)


def test_nll_is_sklearn_log_loss_and_handles_a_zero_probability():
    probs = np.array([[1.0, 0.0], [0.25, 0.75]], dtype="float32")
    labels = np.array([0, 1])
    assert cal.negative_log_likelihood(probs, labels) == pytest.approx(-np.log(0.75) / 2)
    assert np.isfinite(cal.negative_log_likelihood(probs, np.array([1, 1])))


def test_calibration_row_of_a_duck_typed_run():
    probs, labels = _sampled(4000, scale=1.5, seed=5)
    sharp = cal.apply_temperature(probs, 0.5).astype("float32")
    run = SimpleNamespace(
        variant=SimpleNamespace(seed=0),
        predictions=lambda: {
            "val_probs": sharp[:2000],
            "val_labels": labels[:2000],
            "test_probs": sharp[2000:],
            "test_labels": labels[2000:],
        },
    )
    row = cal.calibration_row(run)
    assert row["temperature"] > 1.5 and row["nll_scaled"] < row["nll"]
    assert row["ece_scaled"] < row["ece"]
    assert row["accuracy"] == pytest.approx(np.mean(sharp[2000:].argmax(1) == labels[2000:]))
    assert (row["n_val"], row["n_test"]) == (2000, 2000)
    low, high = cal.ece_interval(sharp[2000:], labels[2000:], n_resamples=2000)
    assert low <= row["ece"] <= high
    scaled = cal.apply_temperature(sharp[2000:], row["temperature"])
    assert cal.ece_interval(scaled, labels[2000:], n_resamples=2000)[1] < low  # beyond noise
    table = calibration_by_variant({"a": [run], "b": [run]}, interval=False)
    assert list(table.index) == ["a", "b"] and table.index.name == "variant"
    shown = calibration_table(
        calibration_by_variant({"a": [run]}, n_bins=15).assign(ece_low=0.012, ece_high=0.034)
    )
    assert shown.loc[0, "ECE 95 % CI"] == "1.2 to 3.4 (seed 0)" and shown.loc[0, "seeds"] == 1


def test_calibration_needs_a_validation_split():
    probs, labels = _sampled(10, scale=1.0, seed=6)
    with pytest.raises(ValueError, match="validation split"):
        cal.calibration_summary(probs[:0], labels[:0], probs, labels)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="3 rows but there are 2 labels"):
        cal.expected_calibration_error(np.full((3, 2), 0.5), np.array([0, 1]))
    with pytest.raises(ValueError, match="n_bins"):
        cal.reliability_table(np.full((3, 2), 0.5), np.array([0, 1, 1]), n_bins=0)
    with pytest.raises(ValueError, match="temperature must be positive"):
        cal.apply_temperature(np.full((3, 2), 0.5), 0.0)


def test_reliability_panels_draw_one_diagram_per_run():
    from cifar_core.analysis.calibration_plots import reliability_panels

    probs, labels = _sampled(400, scale=1.5, seed=7)
    run = SimpleNamespace(
        variant=SimpleNamespace(seed=0),
        predictions=lambda: {
            "val_probs": probs[:200],
            "val_labels": labels[:200],
            "test_probs": probs[200:],
            "test_labels": labels[200:],
        },
    )
    fig = reliability_panels({"a": run, "b": run, "c": run, "d": run})
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 8
    assert visible[0].get_title().startswith("a (T = ")
    legend = [text.get_text() for text in visible[0].get_legend().get_texts()]
    assert sorted(t.split(" (ECE")[0] for t in legend if "ECE" in t) == [
        "as trained",
        "temperature-scaled",
    ]


def test_ece_interval_is_finite_for_constant_data_and_covers_the_estimate():
    probs, labels = _two_class(np.full(50, 0.8), np.ones(50, bool))  # all right at 0.8: ECE 0.2
    assert cal.ece_interval(probs, labels, n_resamples=2000) == pytest.approx((0.2, 0.2))
    probs, labels = _sampled(1000, scale=1.5, seed=8)
    low, high = cal.ece_interval(cal.apply_temperature(probs, 0.8), labels, n_resamples=2000)
    assert low < cal.expected_calibration_error(cal.apply_temperature(probs, 0.8), labels) < high


def test_the_scaled_profile_note_is_left_out_where_the_profile_is_not_scaled():
    # full-seed-protocol trains the seeds' epochs on all 50,000 images: it does not
    # "train briefly on a subset".
    from cifar_core.analysis.views.calibration import calibration_notes

    empty = pd.DataFrame({"temperature": []}, dtype=float)
    assert any("trains briefly" in n for n in calibration_notes(empty, {}, "sample"))
    for profile in ("full", "full-seed-protocol"):
        assert not any("trains briefly" in n for n in calibration_notes(empty, {}, profile))


def test_the_scaled_profile_note_cites_what_the_literature_found_not_the_seeds():
    # No run measured the seeds' models: "the seeds' full budgets make them over-confident"
    # stated a result about them; Guo et al. (2017) measured other networks.
    from cifar_core.analysis.views.calibration import calibration_notes

    empty = pd.DataFrame({"temperature": []}, dtype=float)
    (note,) = [n for n in calibration_notes(empty, {}, "demo") if "trains briefly" in n]
    assert "the seeds' full budgets make them" not in note and "tends to" not in note
    assert "Guo et al. (2017) found" in note
