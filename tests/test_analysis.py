"""The read-side analysis library (tables, predictions, flags, presentation):
known inputs, known answers (no Keras)."""

from __future__ import annotations

import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cifar_core.analysis import flags, present, text
from cifar_core.analysis.views import predictions
from cifar_core.analysis.views import runs as tables

CLASSES = ["cat", "dog", "frog"]


def one_hot_probs(predicted, confidence=0.8, num_classes=3):
    """Probability rows whose argmax is ``predicted`` with the given top probability."""
    rest = (1 - confidence) / (num_classes - 1)
    probs = np.full((len(predicted), num_classes), rest)
    probs[np.arange(len(predicted)), predicted] = confidence
    return probs


def fake_run(seed=0, **metrics):
    base = {
        "train_accuracy": 0.9,
        "val_accuracy": 0.8,
        "test_accuracy": 0.78,
        "train_loss": 0.3,
        "val_loss": 0.6,
        "test_loss": 0.62,
        "wall_time_s": 10.0,
        "params": 1000,
    }
    base.update(metrics)
    return SimpleNamespace(metrics=base, variant=SimpleNamespace(seed=seed), history=None)


def test_read_side_does_not_import_keras():
    code = (
        "import sys, cifar_core.analysis.context, cifar_core.analysis.chapter, "
        "cifar_core.analysis.discussion, cifar_core.analysis.views.tta, "
        "cifar_core.analysis.views.robustness, cifar_core.analysis.views.transfer, "
        "cifar_core.analysis.views.compute, cifar_core.analysis.views.calibration, "
        "cifar_core.orchestrate.build, cifar_core.cli.runs, cifar_core.cli.report; "
        "bad = [m for m in ('keras', 'tensorflow') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_confusion_counts_and_normalized():
    labels = [0, 0, 0, 1, 1, 2]
    probs = one_hot_probs([0, 1, 1, 1, 2, 2])
    counts = predictions.confusion(labels, probs, CLASSES)
    assert counts.values.tolist() == [[1, 2, 0], [0, 1, 1], [0, 0, 1]]
    assert list(counts.index) == CLASSES
    rows = predictions.confusion(labels, probs, CLASSES, normalize="true")
    np.testing.assert_allclose(rows.values.sum(axis=1), 1.0)
    assert rows.loc["cat", "dog"] == pytest.approx(2 / 3)
    per_class = predictions.per_class_accuracy(labels, probs, CLASSES)
    assert per_class.tolist() == pytest.approx([1 / 3, 0.5, 1.0])


def test_extreme_names_every_tied_key():
    per_class = pd.Series({"cat": 0.3, "dog": 0.3, "frog": 0.3, "ship": 0.9})
    assert text.extreme(per_class, lowest=True) == "cat, tied with dog and frog"
    assert text.extreme(per_class) == "ship"
    pairs = {"cat → dog": 12, "dog → cat": 12, "ship → plane": 3}
    assert text.extreme(pairs) == "cat → dog, tied with dog → cat"
    assert text.extreme({}) == text.extreme({"x": float("nan")}) == text.UNKNOWN


def test_confusion_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="3 labels but 2"):
        predictions.confusion([0, 1, 2], one_hot_probs([0, 1]), CLASSES)


def test_classification_table_matches_hand_computation():
    labels = [0, 0, 1, 1]
    probs = one_hot_probs([0, 1, 1, 1])
    table = predictions.classification_table(labels, probs, CLASSES)
    assert table.loc["dog", "precision"] == pytest.approx(2 / 3)
    assert table.loc["cat", "recall"] == pytest.approx(0.5)
    assert table.loc["cat", "support"] == 2
    assert table.loc["accuracy", "f1-score"] == pytest.approx(0.75)
    assert {"macro avg", "weighted avg"} <= set(table.index)


def test_most_confused_pairs_orders_by_count_with_reverse():
    cm = pd.DataFrame([[50, 3, 9], [1, 40, 0], [4, 7, 30]], index=CLASSES, columns=CLASSES)
    pairs = predictions.most_confused_pairs(cm, top=2)
    assert pairs[["true", "predicted", "count"]].values.tolist() == [
        ["cat", "frog", 9],
        ["frog", "dog", 7],
    ]
    assert pairs.loc[0, "reverse"] == 4
    assert pairs.loc[0, "share"] == pytest.approx(9 / 62)


def test_confident_mistakes_and_least_confident_correct():
    labels = np.array([0, 1, 2, 0, 1])
    probs = np.array(
        [
            [0.9, 0.05, 0.05],  # correct, confident
            [0.1, 0.5, 0.4],  # correct, unsure
            [0.95, 0.0, 0.05],  # wrong, very confident
            [0.3, 0.6, 0.1],  # wrong, less confident
            [0.2, 0.7, 0.1],
        ]
    )  # correct
    mistakes = predictions.confident_mistakes(probs, labels, n=5, class_names=CLASSES)
    assert mistakes["idx"].tolist() == [2, 3]
    assert mistakes.loc[0, "pred_class"] == "cat" and mistakes.loc[0, "true_class"] == "frog"
    assert mistakes.loc[0, "pred_prob"] == pytest.approx(0.95)
    assert mistakes.loc[0, "true_prob"] == pytest.approx(0.05)
    unsure = predictions.least_confident_correct(probs, labels, n=2)
    assert unsure["idx"].tolist() == [1, 4]


def test_pareto_front():
    df = pd.DataFrame(
        {"params": [10, 20, 30, 15, 40, np.nan], "acc": [0.5, 0.7, 0.6, 0.5, 0.8, 0.99]}
    )
    # 15 is dominated by 10 (same acc, cheaper); 30 by 20; NaN never on the front.
    assert tables.pareto_front(df, "params", "acc").tolist() == [
        True,
        True,
        False,
        False,
        True,
        False,
    ]


def test_runs_table_mean_std_and_reported():
    runs = {
        "cnn": [fake_run(0, test_accuracy=0.6), fake_run(1, test_accuracy=0.7)],
        "mlp": [fake_run(0, test_accuracy=0.4, params=5000)],
    }
    table = tables.runs_table(runs, reported={"cnn": 68.9})
    cnn = table.set_index("variant").loc["cnn"]
    assert cnn["seeds"] == 2
    assert cnn["test_accuracy_mean"] == pytest.approx(0.65)
    assert cnn["test_accuracy_std"] == pytest.approx(np.std([0.6, 0.7], ddof=1))
    assert cnn["reported"] == pytest.approx(0.689)
    assert cnn["delta"] == pytest.approx(0.65 - 0.689)
    assert table.set_index("variant").loc["mlp", "test_accuracy_std"] == 0.0
    assert math.isnan(table.set_index("variant").loc["mlp", "reported"])
    shown = tables.display_table(table)
    assert shown.loc[0, "test acc %"] == "65.0 ± 7.1"
    assert shown.loc[1, "params"] == "5k"


def test_chance_level_flagged_like_seed_000():
    found = flags.find_anomalies({"train_accuracy": 0.855, "test_accuracy": 0.102}, None, 10)
    assert [a.kind for a in found] == ["chance_level"]
    assert "10.2 %" in found[0].message and "85.5 %" in found[0].message


def test_chance_level_not_flagged_when_nothing_learned_or_accuracy_fine():
    assert flags.find_anomalies({"train_accuracy": 0.11, "test_accuracy": 0.10}, None, 10) == []
    assert flags.find_anomalies({"train_accuracy": 0.80, "test_accuracy": 0.70}, None, 10) == []


def test_overfitting_history_flagged_and_healthy_history_not():
    overfit = pd.DataFrame(
        {
            "epoch": range(1, 9),
            "loss": [2.0, 1.5, 1.2, 1.0, 0.8, 0.6, 0.4, 0.3],
            "val_loss": [2.0, 1.6, 1.3, 1.2, 1.3, 1.5, 1.7, 1.9],
        }
    )
    healthy = overfit.assign(val_loss=[2.1, 1.7, 1.4, 1.3, 1.2, 1.1, 1.05, 1.0])
    metrics = {"train_accuracy": 0.8, "test_accuracy": 0.75}
    found = flags.find_anomalies(metrics, overfit, 10)
    assert [a.kind for a in found] == ["overfitting"]
    assert "epoch 4" in found[0].message
    assert flags.find_anomalies(metrics, healthy, 10) == []


def test_large_gap_and_nan_loss():
    kinds = [
        a.kind for a in flags.find_anomalies({"train_accuracy": 0.975, "test_accuracy": 0.64}, None)
    ]
    assert kinds == ["large_gap"]
    history = pd.DataFrame({"epoch": [1, 2], "loss": [1.0, float("nan")], "val_loss": [1.0, 1.0]})
    assert "nan_loss" in [a.kind for a in flags.find_anomalies({}, history)]


def test_callout_markdown():
    anomaly = flags.Anomaly("chance_level", "Test accuracy is at chance level.")
    text = present.callout([("cnn-depth3 (seed 0)", anomaly)])
    assert text.startswith("::: {.callout-warning}\n## Chance level: cnn-depth3 (seed 0)")
    assert text.rstrip().endswith(":::")
    assert present.callout([]) == ""


def test_run_anomalies_labels_seed():
    runs = {"deep": [fake_run(3, train_accuracy=0.855, test_accuracy=0.102)]}
    [(who, anomaly)] = flags.run_anomalies(runs, 10)
    assert who == "deep (seed 3)" and anomaly.kind == "chance_level"


def test_check_pass_marks():
    marks = {"mlp": (">", 45), "cnn": (">=", 0.62), "final": (">=", 75, 25), "absent": (">", 0.1)}
    table = flags.check_pass_marks(
        {"mlp": 0.485, "cnn": 0.61, "final": 0.76}, marks, epochs={"final": 30}
    ).set_index("variant")
    assert table.loc["mlp", "passed"] is True or table.loc["mlp", "passed"] == True  # noqa: E712
    assert not table.loc["cnn", "passed"]
    assert not table.loc["final", "passed"]  # accuracy fine but 30 > 25 epochs
    assert table.loc["absent", "passed"] is None
    assert table.loc["final", "mark"] == ">= 75 % in ≤ 25 epochs"
    with pytest.raises(ValueError, match="unknown operator"):
        flags.check_pass_marks({}, {"x": ("=>", 1)})


def test_generalization_gap_long_format():
    gaps = tables.generalization_gap({"a": [fake_run(0), fake_run(1, val_accuracy=0.7)]})
    assert gaps["train − val"].tolist() == pytest.approx([0.1, 0.2])
    assert gaps["seed"].tolist() == [0, 1]


def test_plots_draw_what_they_are_given():
    import matplotlib.pyplot as plt

    from cifar_core.analysis import plots

    labels = np.array([0, 0, 1, 2, 2, 2])
    probs = one_hot_probs([0, 1, 1, 2, 2, 0])
    counts = predictions.confusion(labels, probs, CLASSES)
    fig = plots.confusion_pair(
        counts, predictions.confusion(labels, probs, CLASSES, normalize="true")
    )
    left = fig.axes[0]
    assert [t.get_text() for t in left.texts][:3] == ["1", "1", "0"]  # first row of counts
    plt.close(fig)

    history = pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "loss": [2, 1.5, 1.0],
            "accuracy": [0.2, 0.4, 0.5],
            "val_loss": [2.1, 1.7, 1.6],
            "val_accuracy": [0.2, 0.3, 0.4],
        }
    )
    fig = plots.learning_curves({"a": [history, history.assign(loss=history["loss"] + 0.2)]})
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2  # train + val for one variant
    plt.close(fig)

    table = pd.DataFrame(
        {
            "variant": ["a", "b", "c"],
            "study": ["s"] * 3,
            "params": [10, 100, 1000],
            "test_accuracy_mean": [0.5, 0.4, 0.7],
            "val_accuracy_mean": [0.5, 0.4, 0.7],
        }
    )
    fig = plots.tradeoff_scatter(table, "params")
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["a", "c"]  # b is dominated
    # the rightmost label is drawn to the left of its point, inside the axes
    assert [t.get_ha() for t in fig.axes[0].texts] == ["left", "right"]
    plt.close(fig)
    # the front is chosen on validation, as the compute chapter's: on test accuracy c
    # beat b, on validation b beats c; a variant without validation is never on it.
    fig = plots.tradeoff_scatter(
        table.assign(val_accuracy_mean=[float("nan"), 0.6, 0.55]), "params"
    )
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["b"]
    plt.close(fig)

    images = np.zeros((6, 32, 32, 3), np.uint8)
    fig = plots.gallery(images, predictions.confident_mistakes(probs, labels, 4, CLASSES), CLASSES)
    assert sum(bool(ax.images) for ax in fig.axes) == 2  # two mistakes in the data
    plt.close(fig)


def test_study_notes_print_a_shared_remark_once_naming_its_studies():
    from cifar_core.experiments import catalog
    from cifar_core.experiments.seeds import s000

    studies = [catalog.get_study(s) for s in ("depth", "filters", "kernel_size", "pooling")]
    text = present.study_notes(studies)
    assert text.count(s000.NOTE) == 1
    assert f"**Depth, Width, Kernel size, Pooling.** {s000.NOTE}" in text
    assert f"**Depth.** {s000.DEPTH3_NOTE}" in text
    assert "**Pooling.** In seed 000, global average pooling ran 5 epochs" in text


def test_time_curves_average_seeds_per_epoch_and_plot_seconds_in_percent():
    import matplotlib.pyplot as plt

    from cifar_core.analysis import plots

    history = pd.DataFrame({"epoch": [1, 2], "val_accuracy": [0.4, 0.6]})
    fast = [
        SimpleNamespace(metrics={"fit_time_s": 4.0, "epochs_run": 2}, history=history),
        SimpleNamespace(
            metrics={"fit_time_s": 8.0, "epochs_run": 2},
            history=history.assign(val_accuracy=[0.6, 0.8]),
        ),
    ]
    slow = [
        SimpleNamespace(
            metrics={"fit_time_s": 30.0, "epochs_run": 3},
            history=pd.DataFrame({"epoch": [1, 2, 3], "val_accuracy": [0.1, 0.2, 0.3]}),
        )
    ]
    curves = tables.time_curves({"fast": fast, "slow": slow})
    fast_rows = curves[curves["variant"] == "fast"]
    assert fast_rows["seconds"].tolist() == [3.0, 6.0]  # mean of 2 s and 4 s per epoch
    assert fast_rows["mean"].tolist() == pytest.approx([0.5, 0.7])
    assert fast_rows["std"].tolist() == pytest.approx([0.1414, 0.1414], abs=1e-4)
    assert curves[curves["variant"] == "slow"]["seconds"].tolist() == [10.0, 20.0, 30.0]
    fig = plots.time_curves(curves, target=0.5, target_label="target")
    lines = fig.axes[0].lines
    assert [line.get_label() for line in lines] == ["fast", "slow", "target"]
    assert list(lines[0].get_xdata()) == [3.0, 6.0] and list(lines[0].get_ydata()) == pytest.approx(
        [50, 70]
    )
    plt.close(fig)
    table = tables.runs_table(
        {
            "fast": [SimpleNamespace(metrics={"wall_time_s": 45.0})],
            "slow": [SimpleNamespace(metrics={"wall_time_s": 300.0})],
        }
    )
    assert (
        tables.seconds_text(table, "fast") == "45 s"
        and tables.seconds_text(table, "slow") == "5.0 min"
    )
    assert tables.seconds_text(table, "absent") == text.UNKNOWN


def test_flagged_runs_are_one_callout_with_a_row_each_and_each_meaning_once():
    runs = {
        "deep": [fake_run(3, train_accuracy=0.855, test_accuracy=0.102)],
        "wide": [
            fake_run(0, train_accuracy=0.975, test_accuracy=0.64),
            fake_run(1, train_accuracy=0.95, test_accuracy=0.70),
        ],
    }
    text = present.callout(flags.run_anomalies(runs, 10))
    assert text.count("::: {.callout-warning}") == 1 and "## Flagged runs (3)" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows == [
        "| run | flag | numbers |",
        "| deep (seed 3) | chance level | test 10.2 %, train 85.5 % |",
        "| wide (seed 0) | large gap | train 97.5 %, test 64.0 %: gap 33.5 points |",
        "| wide (seed 1) | large gap | train 95.0 %, test 70.0 %: gap 25.0 points |",
    ]
    # The gap is measured; memorization is not (a 2-epoch run at 42 % training accuracy
    # was said to memorize its training set).
    assert "memoriz" not in text
    assert text.count("the model fits its training images far better than unseen ones") == 1
    assert (
        "**Large gap** (2 runs): training accuracy exceeds test accuracy by more than 15 "
        "points" in text
    )
    assert "**Chance level** (1 run):" in text and "Do not interpret it." in text


def test_tables_are_shown_as_markdown_and_text_never_html(monkeypatch):

    shown = []
    monkeypatch.setattr(present, "display", lambda data, raw=False: shown.append(data))
    present.show_table(pd.DataFrame({"variant": ["a"], "acc": [0.5]}), synthetic=True)
    [bundle] = shown
    assert set(bundle) == {"text/markdown", "text/plain"}  # text/html makes Quarto use CDNs
    assert "variant [SYNTHETIC DATA]" in bundle["text/markdown"]
