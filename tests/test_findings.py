"""The findings layer: paired statistics against known cases (the exact bootstrap and
permutation distributions against enumeration and scipy), verdicts, Holm, messages for
bad input, collapsed controls, the convergence flag, validation-only selection and the
generated sentences."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats import binomtest
from statsmodels.stats.multitest import multipletests

from cifar_core.analysis.discussion import every_comparison
from cifar_core.analysis.records import RunRecord, record_from_run
from cifar_core.analysis.selection import (
    TestDataInSelectionError,
    best_by_validation,
    rank_by_validation,
    validation_view,
)
from cifar_core.analysis.sentences import finding_sentence
from cifar_core.analysis.stats.convergence import convergence
from cifar_core.analysis.stats.findings import (
    BETTER,
    NO_DIFFERENCE,
    NOT_COMPARED,
    SAME_RUN,
    WORSE,
    compare_study,
)
from cifar_core.analysis.stats.paired import (
    MCNEMAR,
    PERMUTATION,
    bootstrap_interval,
    mcnemar_exact,
    paired_difference,
    sign_flip_p,
)
from cifar_core.analysis.views.findings import findings_table
from tests.support.fixtures import comparison

N = 1000
PLATEAU = pd.DataFrame(
    {
        "epoch": range(1, 11),
        "val_loss": [2.0, 1.5, 1.2, 1.0, 0.95, 0.93, 0.94, 0.95, 0.97, 0.99],
        "val_accuracy": [0.30, 0.45, 0.55, 0.60, 0.62, 0.63, 0.63, 0.62, 0.63, 0.62],
    }
)
RISING = pd.DataFrame(
    {
        "epoch": range(1, 11),
        "val_loss": [2.0, 1.8, 1.6, 1.45, 1.3, 1.2, 1.1, 1.0, 0.92, 0.85],
        "val_accuracy": [0.20, 0.28, 0.34, 0.40, 0.45, 0.49, 0.53, 0.56, 0.59, 0.62],
    }
)


def correct(accuracy: float, seed: int, n: int = N) -> np.ndarray:
    """Exactly ``round(accuracy * n)`` correct images, at random positions."""
    out = np.zeros(n, bool)
    out[np.random.default_rng(seed).permutation(n)[: round(accuracy * n)]] = True
    return out


def arm(name: str, accuracy: float, seeds=(0, 1, 2), *, history=PLATEAU, offset=0) -> list:
    return [
        RunRecord(
            f"{name}-{s}",
            s,
            correct(accuracy, 1000 * offset + 17 * s + sum(map(ord, name))),
            history=history,
        )
        for s in seeds
    ]


# ----------------------------------------------------------------- known cases
def test_exact_mcnemar_p_equals_binomial_test_on_the_discordant_pairs():
    # both right 50, only baseline right 12, only variant right 25, both wrong 13
    base = np.array([1] * 50 + [1] * 12 + [0] * 25 + [0] * 13, bool)
    var = np.array([1] * 50 + [0] * 12 + [1] * 25 + [0] * 13, bool)
    p, table = mcnemar_exact(base, var)
    assert table.tolist() == [[50, 12], [25, 13]]
    assert p == pytest.approx(binomtest(12, 37, 0.5).pvalue, rel=1e-12)
    found = compare_study(
        "s", {"b": [RunRecord("kb", 0, base)], "v": [RunRecord("kv", 0, var)]}, "b"
    ).comparisons[0]
    assert found.result.test == MCNEMAR
    assert found.p_value == pytest.approx(p) and found.diff == pytest.approx(13 / 100)


def test_identical_arms_show_no_detectable_difference():
    same = arm("a", 0.6)
    twin = [RunRecord(f"twin-{r.seed}", r.seed, r.correct, history=PLATEAU) for r in same]
    row = compare_study("s", {"a": same, "twin": twin}, "a").comparisons[0]
    assert row.verdict == NO_DIFFERENCE
    assert (row.diff, row.ci_low, row.ci_high, row.p_value) == (0.0, 0.0, 0.0, 1.0)


@pytest.mark.parametrize("seeds, test", [((0,), MCNEMAR), ((0, 1, 2), PERMUTATION)])
def test_strongly_different_arms_are_detected_in_the_right_direction(seeds, test):
    arms = {
        "base": arm("base", 0.5, seeds),
        "good": arm("good", 0.7, seeds),
        "bad": arm("bad", 0.3, seeds),
    }
    found = compare_study("s", arms, "base")
    good, bad = comparison(found, "good"), comparison(found, "bad")
    assert good.verdict == BETTER and good.ci_low > 0 and good.p_holm < 0.01
    assert bad.verdict == WORSE and bad.ci_high < 0
    assert good.diff == pytest.approx(0.2) and good.result.test == test
    assert good.n_seeds == len(seeds) and good.n_images == N


def test_permutation_effect_is_the_mean_of_per_seed_differences():
    base, var = arm("b", 0.5), arm("v", 0.55)
    result = paired_difference(
        np.stack([r.correct for r in base]), np.stack([r.correct for r in var])
    )
    per_seed = [v.correct.mean() - b.correct.mean() for b, v in zip(base, var)]
    assert result.diff == pytest.approx(np.mean(per_seed))
    assert result.ci_low < result.diff < result.ci_high


def test_holm_adjusts_the_study_p_values_as_statsmodels_does():
    arms = {
        "base": arm("base", 0.50, (0,)),
        "a": arm("a", 0.53, (0,)),
        "b": arm("b", 0.55, (0,)),
        "c": arm("c", 0.49, (0,)),
    }
    found = compare_study("s", arms, "base")
    raw = [c.p_value for c in found.comparisons]
    expected = multipletests(raw, alpha=0.05, method="holm")[1]
    assert [c.p_holm for c in found.comparisons] == pytest.approx(list(expected))


def test_a_raw_p_below_alpha_is_not_a_finding_when_holm_says_otherwise():
    # 12 vs 25 discordant images: raw exact McNemar p ≈ 0.047 (< 0.05); four
    # comparisons make its Holm p > 0.05, so the verdict must stay inconclusive.
    base = np.array([1] * 50 + [1] * 12 + [0] * 25 + [0] * 13, bool)
    var = np.array([1] * 50 + [0] * 12 + [1] * 25 + [0] * 13, bool)
    arms = {
        "base": [RunRecord("kb", 0, base, history=PLATEAU)],
        "v": [RunRecord("kv", 0, var, history=PLATEAU)],
        **{f"n{i}": [RunRecord(f"kn{i}", 0, base, history=PLATEAU)] for i in range(3)},
    }
    row = comparison(compare_study("s", arms, "base"), "v")
    assert row.p_value < 0.05 < row.p_holm
    assert row.verdict == NO_DIFFERENCE
    assert "better" not in finding_sentence(row)


# ----------------------------------------------------------------- bad input
def test_arms_without_shared_seeds_are_reported_not_compared():
    found = compare_study("s", {"base": arm("base", 0.5, (0,)), "v": arm("v", 0.7, (1, 2))}, "base")
    row = found.comparisons[0]
    assert row.verdict == NOT_COMPARED and row.result is None
    assert row.message == (
        "not compared: no shared seeds (baseline seeds [0], variant seeds [1, 2])"
    )
    assert finding_sentence(row) == (
        "v was not compared with base: no shared seeds (baseline seeds [0], variant seeds [1, 2])."
    )


def test_a_study_with_one_variant_gives_a_message_not_an_exception():
    found = compare_study("wrn", {"s002_wrn_16_8": arm("w", 0.8)}, "s002_wrn_16_8")
    assert found.comparisons == ()
    assert found.message == (
        "Study wrn has only one variant (s002_wrn_16_8): there is nothing to compare it with."
    )
    table = findings_table([found])
    assert table.loc[0, "note"] == found.message and table.loc[0, "verdict"] == NOT_COMPARED
    assert table.loc[0, "Δ test acc (pts)"] == table.loc[0, "under-trained"] == "–"


def test_an_arm_whose_runs_are_missing_is_named():
    found = compare_study(
        "s", {"base": arm("base", 0.5), "v": []}, "base", variants=["base", "v", "w"]
    )
    assert [c.message for c in found.comparisons] == [
        "not compared: no runs of v in the run store",
        "not compared: no runs of w in the run store",
    ]
    gone = compare_study("s", {"base": arm("base", 0.5), "v": [None, None]}, "base")  # store misses
    assert gone.comparisons[0].message == "not compared: no runs of v in the run store"
    missing_base = compare_study("s", {"v": arm("v", 0.5)}, "base", variants=["base", "v"])
    assert missing_base.comparisons[0].message == ("not compared: no runs of base in the run store")


def test_runs_on_different_test_sets_are_not_compared():
    short = [RunRecord("k", 0, correct(0.5, 1, n=500))]
    row = compare_study("s", {"base": arm("base", 0.5, (0,)), "v": short}, "base").comparisons[0]
    assert row.verdict == NOT_COMPARED and "different test sets (500, 1000" in row.message


# ----------------------------------------------------------------- collapsed controls
def test_a_variant_scaled_into_the_baseline_run_is_marked_same_run_and_not_tested():
    base = arm("s000_cnn1", 0.6)
    found = compare_study(
        "filters",
        {"s000_cnn1": base, "ctl_cnn1_e5": list(base), "f64": arm("f64", 0.7)},
        "s000_cnn1",
    )
    row = comparison(found, "ctl_cnn1_e5")
    assert row.verdict == SAME_RUN and row.result is None and np.isnan(row.p_holm)
    assert row.message == "same run as s000_cnn1 under this profile"
    assert finding_sentence(row) == (
        "ctl_cnn1_e5 is the same run as s000_cnn1 under this "
        "profile, so it is not compared with s000_cnn1."
    )
    assert comparison(found, "f64").p_holm == comparison(found, "f64").p_value  # family of one


def test_two_variants_collapsed_into_one_run_are_tested_once():
    base, twin = arm("base", 0.5), arm("x", 0.7)
    found = compare_study("s", {"base": base, "x": twin, "y": list(twin)}, "base")
    assert comparison(found, "x").verdict == BETTER
    y = comparison(found, "y")
    assert y.verdict == SAME_RUN and y.message == "same run as x under this profile (see its row)"
    assert sum(c.tested for c in found.comparisons) == 1


# ----------------------------------------------------------------- convergence
def test_convergence_flags_a_still_rising_history_and_not_a_plateau():
    rising, flat = convergence(RISING), convergence(PLATEAU)
    assert rising.under_trained and rising.reason == (
        "still improving: lowest validation loss at epoch 10 of 10 and validation accuracy "
        "up 6.0 points in the last 2 epochs"
    )
    assert not flat.under_trained
    assert flat.reason == "lowest validation loss at epoch 6 of 10, before the last 2 epochs"


def test_convergence_flags_runs_too_short_to_tell_and_spares_early_best():
    assert convergence(RISING.head(2)).under_trained
    assert "too few to tell" in convergence(RISING.head(2)).reason
    assert convergence(None).under_trained
    late_loss_flat_acc = PLATEAU.assign(val_loss=np.linspace(2, 1, 10))
    assert not convergence(late_loss_flat_acc).under_trained  # loss falls, accuracy flat
    assert not convergence(RISING, min_gain=0.1).under_trained


def test_findings_resting_on_under_trained_runs_say_so():
    arms = {"base": arm("base", 0.5), "v": arm("v", 0.7, history=RISING)}
    row = compare_study("s", arms, "base").comparisons[0]
    assert row.under_trained == ("v seed 0", "v seed 1", "v seed 2")
    assert "rests on under-trained runs (v seed 0, v seed 1, v seed 2)" in finding_sentence(row)
    assert (
        findings_table([compare_study("s", arms, "base")]).loc[0, "note"]
        == "rests on under-trained runs"
    )
    text = every_comparison({"s": compare_study("s", arms, "base")}, [])
    assert text.lower().count("under-trained") == 1
    assert "**Under-trained runs.** Every tested comparison (1) rests on runs" in text
    two = {**arms, "w": arm("w", 0.6, history=RISING)}
    text = every_comparison({"s": compare_study("s", two, "base")}, [])
    assert "Every tested comparison (2) rests on runs" in text  # "every ..." is singular


# ----------------------------------------------------------------- selection
def _runs_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variant": ["adam", "sgd", "rmsprop"],
            "val_accuracy_mean": [0.70, 0.74, 0.71],
            "val_loss_mean": [0.9, 0.8, 0.85],
            "test_accuracy_mean": [0.80, 0.70, 0.72],
            "delta": [0.1, 0.0, 0.0],
        }
    )


def test_selection_refuses_test_derived_input():
    select, table = rank_by_validation, _runs_table()
    with pytest.raises(TestDataInSelectionError, match="'test_accuracy_mean' is test-derived"):
        select(table, by="val_accuracy_mean")
    with pytest.raises(TestDataInSelectionError, match="validation metric"):
        select(validation_view(table), by="test_accuracy_mean")
    with pytest.raises(TestDataInSelectionError):
        select(table.set_index("variant")["test_accuracy_mean"], by="val_accuracy_mean")
    with pytest.raises(TestDataInSelectionError, match="test_probs"):
        select({"adam": {"test_probs": np.ones((2, 10))}}, by="val_accuracy")
    with pytest.raises(TestDataInSelectionError, match="predictions"):
        select(SimpleNamespace(predictions=lambda: {}), by="val_accuracy")


def test_selection_uses_validation_even_when_test_would_choose_otherwise():
    view = validation_view(_runs_table())
    assert list(view.columns) == ["variant", "val_accuracy_mean", "val_loss_mean"]
    assert best_by_validation(_runs_table()) == "sgd"  # test accuracy would pick adam
    assert best_by_validation(_runs_table(), by="val_loss_mean") == "sgd"
    series = view.set_index("variant")["val_accuracy_mean"]
    assert rank_by_validation(series, by="val_accuracy_mean")["variant"].tolist()[0] == "sgd"
    with pytest.raises(ValueError, match="non-validation columns"):
        rank_by_validation(_runs_table()[["variant", "val_accuracy_mean", "delta"]])
    with pytest.raises(TestDataInSelectionError):
        best_by_validation(_runs_table(), by="test_accuracy_mean")


# ----------------------------------------------------------------- sentences & tables
def test_sentences_state_exactly_what_the_verdicts_support():
    arms = {
        "base": arm("base", 0.5),
        "good": arm("good", 0.62),
        "bad": arm("bad", 0.4),
        "same": arm("same", 0.5, offset=1),
    }
    found = compare_study("s", arms, "base")
    for row in found.comparisons:
        text = finding_sentence(row)
        assert ("is better than" in text) == (row.verdict == BETTER)
        assert ("is worse than" in text) == (row.verdict == WORSE)
        assert ("no detectable difference" in text) == (row.verdict == NO_DIFFERENCE)
    good = finding_sentence(comparison(found, "good"))
    assert good.startswith("good is better than the baseline base by 12.0 points (95 % CI ")
    assert "; Holm p < 0.001; 3 shared seeds, 1,000 test images)." in good
    bad = finding_sentence(comparison(found, "bad"))
    assert bad.startswith("bad is worse than the baseline base by 10.0 points (95 % CI −")
    text = every_comparison({"s": found}, [], titles={"s": "A study"})
    assert text.startswith("**A study.** ") and "same shows" not in text


def test_findings_table_has_readable_columns_and_numbers_in_points():
    found = compare_study("s", {"base": arm("base", 0.5), "good": arm("good", 0.7)}, "base")
    row = found.comparisons[0]
    assert row.result.test == PERMUTATION
    shown = findings_table([found])
    assert shown.loc[0, "Δ test acc (pts)"] == "+20.0" and " to " in shown.loc[0, "95 % CI (pts)"]
    assert shown.loc[0, "shared seeds"] == "3" and shown.loc[0, "p (Holm)"] == "< 0.001"


# ----------------------------------------------------------------- adapter
def _fake_run(key, seed, probs, labels, order):
    return SimpleNamespace(
        key=key,
        variant=SimpleNamespace(name=key, seed=seed),
        metrics={"val_accuracy": 0.5, "val_loss": 1.0},
        history=PLATEAU,
        predictions=lambda: {
            "test_probs": probs[order],
            "test_labels": labels[order],
            "test_indices": order,
        },
    )


def test_run_objects_are_read_in_test_index_order_and_paired_by_seed():
    labels = np.array([0, 1, 2, 0, 1, 2])
    good = np.eye(3)[labels]
    bad = np.eye(3)[(labels + 1) % 3]
    shuffled = np.array([5, 3, 1, 0, 2, 4])
    record = record_from_run(_fake_run("g", 0, good, labels, shuffled))
    assert record.correct.all() and record.test_labels.tolist() == labels.tolist()
    assert record.seed == 0 and record.history is PLATEAU
    found = compare_study(
        "s",
        {
            "bad": [_fake_run("b", 0, bad, labels, np.arange(6))],
            "good": [_fake_run("g", 0, good, labels, shuffled)],
        },
        "bad",
    )
    row = found.comparisons[0]  # 6 images only "good" gets right, none only "bad": p = 2 / 2**6
    assert row.diff == 1.0 and row.p_value == pytest.approx(binomtest(0, 6, 0.5).pvalue)


def test_a_run_annealed_to_zero_is_not_flagged_for_its_late_gains():
    rising = pd.DataFrame(
        {"val_loss": [2.0, 1.6, 1.3, 1.1, 1.0], "val_accuracy": [0.30, 0.42, 0.50, 0.55, 0.58]}
    )
    annealed = convergence(rising.assign(lr=[0.2, 0.15, 0.1, 0.05, 0.002]))
    assert not annealed.under_trained and "annealed to 1% of its peak" in annealed.reason
    assert convergence(rising.assign(lr=0.2)).under_trained  # a constant rate: still rising
    assert convergence(rising.assign(lr=[0.2, 0.2, 0.1, 0.1, 0.05])).under_trained  # 25 %


# ----------------------------------------------------------------- exact distributions
def _enumerated(steps: np.ndarray) -> np.ndarray:
    """Every resample of ``steps`` (n**n of them): the bootstrap distribution of the sum."""
    n = len(steps)
    index = np.stack(np.meshgrid(*[np.arange(n)] * n, indexing="ij"), -1).reshape(-1, n)
    return np.sort(steps[index].sum(axis=1))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_the_bootstrap_distribution_is_exact(k):
    """The BCa interval's quantiles come from the distribution of every resample; with
    no skew and no bias its levels are the percentile interval's."""
    rng = np.random.default_rng(k)
    steps = np.array([-k, 0, k, 0, -k, k])  # symmetric: no acceleration, no bias
    sums = _enumerated(steps) / (k * len(steps))
    low, high = (sums[int(np.ceil(q * len(sums))) - 1] for q in (0.1, 0.9))
    assert bootstrap_interval(steps, k, 0.8) == pytest.approx((low, high))
    for _ in range(3):  # skewed data: BCa as scipy computes it, from every resample
        steps = rng.integers(-k, k + 1, 6)
        if len(set(steps)) > 1:
            assert _bca_from(sums=_enumerated(steps), steps=steps, k=k) == pytest.approx(
                bootstrap_interval(steps, k, 0.8)
            )


def _bca_from(sums: np.ndarray, steps: np.ndarray, k: int) -> tuple[float, float]:
    """scipy's BCa formulas (``scipy.stats._resampling._bca_interval``) on enumerated resamples."""
    from scipy.special import ndtr, ndtri

    n, total = len(steps), steps.sum()
    z0 = ndtri(((sums < total).mean() + (sums <= total).mean()) / 2)
    u = steps - steps.mean()
    a = (u**3).sum() / 6 / ((u**2).sum() ** 1.5)
    levels = [ndtr(z0 + (z0 + z) / (1 - a * (z0 + z))) for z in (ndtri(0.1), ndtri(0.9))]
    return tuple(sums[int(np.ceil(q * len(sums))) - 1] / (k * n) for q in levels)


def test_the_bootstrap_interval_matches_scipy_bca_with_many_resamples():
    base, var = arm("b", 0.6, (0, 1, 2)), arm("v", 0.63, (0, 1, 2))
    result = paired_difference(
        np.stack([r.correct for r in base]), np.stack([r.correct for r in var])
    )
    d = np.mean([v.correct.astype(float) - b.correct for b, v in zip(base, var)], axis=0)
    scipy_ci = stats.bootstrap(
        (d,), np.mean, n_resamples=100_000, method="BCa", batch=5000, rng=0
    ).confidence_interval
    # 100,000 resamples: the Monte Carlo quantiles sit within ~0.1 point of the exact ones
    assert result.ci_low == pytest.approx(scipy_ci.low, abs=0.0015)
    assert result.ci_high == pytest.approx(scipy_ci.high, abs=0.0015)
    again = paired_difference(
        np.stack([r.correct for r in base]), np.stack([r.correct for r in var])
    )
    assert again == result  # no random state: the same numbers every time


def test_the_sign_flip_p_value_is_exact():
    rng = np.random.default_rng(3)
    for _ in range(3):
        steps = rng.integers(-3, 4, 14)
        exact = stats.permutation_test(
            (steps / 3,), np.mean, permutation_type="samples", n_resamples=np.inf, vectorized=True
        ).pvalue
        assert sign_flip_p(steps) == pytest.approx(exact, rel=1e-9)
    one_seed = np.array([1] * 25 + [-1] * 12 + [0] * 63)  # one seed: the exact McNemar test
    assert sign_flip_p(one_seed) == pytest.approx(binomtest(12, 37, 0.5).pvalue, rel=1e-9)


def test_the_methods_state_the_annealed_learning_rate_exception():
    # convergence() spares a run whose learning rate anneals to (nearly) zero (the
    # flagship's linear decay): the Methods' rule must say so, or a reader finds such a
    # run unflagged against the stated rule.
    from pathlib import Path

    article = " ".join((Path(__file__).resolve().parents[1] / "index.qmd").read_text().split())
    methods = article.split("# Methods")[1].split("# Results")[0]
    assert "a run whose learning rate anneals to (nearly) zero is not flagged" in methods
    lr = PLATEAU.assign(val_loss=np.linspace(2, 1, 10), lr=np.linspace(0.1, 0.0, 10))
    rising = lr.assign(val_accuracy=np.linspace(0.3, 0.6, 10))
    assert convergence(rising.drop(columns="lr")).under_trained
    assert not convergence(rising).under_trained
