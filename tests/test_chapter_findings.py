"""The findings as the results chapters show them, on a fake run store read through the
chapters' own context: findings tables, "same run" marks for collapsed controls, the
under-trained column, messages for comparisons that cannot be made, validation-only
selection in every chapter, and (the one slow test) the findings chapter executed with
papermill on a store where a claimed effect is reversed."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cifar_core.analysis import selection
from cifar_core.analysis.context import open_context
from cifar_core.analysis.sentences import convergence_note, findings_markdown, findings_problems
from cifar_core.analysis.stats.findings import NOT_COMPARED, SAME_RUN
from cifar_core.analysis.views.findings import chapter_findings, findings_table
from cifar_core.analysis.views.runs import (
    merged_runs,
    same_run_notes,
    under_trained_column,
    with_run_flags,
)
from cifar_core.experiments import catalog, sample_budget
from cifar_core.runs.keys import run_key
from cifar_core.runs.store import RunStore
from tests.support.fixtures import PLATEAU, comparison

PROJECT = Path(__file__).resolve().parent.parent
N_TEST = 600
LABELS = np.arange(N_TEST) % 10
RISING = PLATEAU.assign(val_loss=np.linspace(2.0, 0.9, 8), val_accuracy=np.linspace(0.3, 0.62, 8))


def write_run(
    store: RunStore,
    variant,
    fingerprint: str,
    accuracy: float,
    *,
    val_accuracy: float = 0.6,
    history: pd.DataFrame = PLATEAU,
) -> str:
    """A complete fake run of ``variant``: ``round(accuracy × N_TEST)`` test images right."""
    key = run_key(variant, fingerprint)
    if store.get(key, warn=False) is not None:  # a collapsed control: already written
        return key
    rng = np.random.default_rng(sum(map(ord, variant.name)) * 10 + variant.seed)
    correct = np.zeros(N_TEST, bool)
    correct[rng.permutation(N_TEST)[: round(accuracy * N_TEST)]] = True
    predicted = np.where(correct, LABELS, (LABELS + 1) % 10)
    with store.atomic_write(key) as directory:
        (directory / "config.json").write_text(
            json.dumps(
                {"key": key, "variant": variant.to_dict(), "dataset": {"fingerprint": fingerprint}}
            )
        )
        (directory / "metrics.json").write_text(
            json.dumps(
                {
                    "val_accuracy": val_accuracy,
                    "val_loss": 1.0,
                    "train_accuracy": 0.9,
                    "test_accuracy": float(correct.mean()),
                    "test_loss": 1.0,
                    "wall_time_s": 1.0,
                }
            )
        )
        history.to_csv(directory / "history.csv", index=False)
        (directory / "model.keras").write_bytes(b"placeholder: the findings never load a model")
        np.savez_compressed(
            directory / "predictions.npz",
            test_probs=np.eye(10)[predicted],
            test_labels=LABELS,
            test_indices=np.arange(N_TEST),
            val_probs=np.eye(10)[:5],
            val_labels=np.arange(5),
            val_indices=np.arange(5),
        )
    return key


def make_project(root: Path, data: Path, profile: str = "sample") -> tuple[RunStore, str]:
    """A project folder whose build context points at ``data`` and a run store in it."""
    from cifar_core.experiments.plan import dataset_for

    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    (root / "analyses").mkdir(exist_ok=True)
    shutil.copy2(PROJECT / "_quarto.yml", root / "_quarto.yml")
    (root / "notebooks" / ".build-context.json").write_text(
        json.dumps({"profile": profile, "data": str(data), "runs_dir": str(root / "runs")})
    )
    return RunStore(root / "runs"), dataset_for(profile, str(data)).fingerprint


def fill(
    store: RunStore,
    fingerprint: str,
    study: str,
    accuracies: dict,
    *,
    profile="sample",
    seeds=None,
    **options,
) -> None:
    """Fake runs of ``{variant: test accuracy}`` of one study, for the profile's seeds."""
    prof = catalog.get_profile(profile)
    for name, accuracy in accuracies.items():
        variant = catalog.get_study(study).variant(name)
        for seed in seeds if seeds is not None else prof.seeds_for(variant):
            write_run(store, prof.scale(variant, seed), fingerprint, accuracy, **options)


@pytest.fixture
def project(tmp_path, synthetic_dir):
    store, fingerprint = make_project(tmp_path, synthetic_dir)
    return tmp_path, store, fingerprint


# ----------------------------------------------------------------- collapsed controls
def test_a_control_the_profile_collapses_is_marked_same_run_in_the_chapter_tables(tmp_path):
    # smoke trains one epoch: s004_cnn (5 epochs in the seed) and its 10-epoch control
    # ctl_s004_cnn_e10 become one configuration, inside the dropout study
    store, fp = make_project(tmp_path, "synthetic", profile="smoke")
    fill(
        store,
        fp,
        "dropout",
        {"ctl_s004_cnn_e10": 0.60, "s004_cnn": 0.60, "s004_cnn_dropout": 0.62},
        profile="smoke",
    )
    ctx = open_context("05-regularization", studies=["dropout"], root=tmp_path)
    runs = ctx.study_runs("dropout")
    assert {r.key for r in runs["s004_cnn"]} == {r.key for r in runs["ctl_s004_cnn_e10"]}
    findings = chapter_findings(ctx, ["dropout"])
    row = comparison(findings["dropout"], "s004_cnn")
    assert row.verdict == SAME_RUN and row.result is None  # never compared with itself
    table = findings_table(findings).set_index("variant")
    assert table.loc["s004_cnn", "note"] == "same run as ctl_s004_cnn_e10 under this profile"
    assert table.loc["s004_cnn", "Δ test acc (pts)"] == "–"
    assert table.loc["s004_cnn_dropout", "shared seeds"] == "1"
    shown = with_run_flags(
        pd.DataFrame({"variant": list(runs)}), runs, baselines=["ctl_s004_cnn_e10"]
    ).set_index("variant")
    assert shown.loc["s004_cnn", "note"] == "same run as ctl_s004_cnn_e10 under this profile"
    assert shown.loc["s004_cnn_dropout", "note"] == ""
    # a baseline named by two studies is still not "the same run as" itself
    assert same_run_notes(runs, baselines=["ctl_s004_cnn_e10"] * 2) == {
        "s004_cnn": "same run as ctl_s004_cnn_e10 under this profile"
    }
    assert "same run" not in findings_problems(findings)  # not a problem, just a fact


def test_sample_runs_tables_name_the_run_two_studies_share(project):
    root, store, fp = project
    # sample gives s004_cnn_dropout (10 epochs in the seed) its 15-epoch control's budget
    fill(store, fp, "dropout", {"ctl_s004_cnn_e10": 0.6, "s004_cnn_dropout": 0.6})
    fill(store, fp, "batch_norm", {"ctl_s004_dropout_e15": 0.6, "s004_cnn_bn": 0.7})
    ctx = open_context("05-regularization", studies=["dropout", "batch_norm"], root=root)
    by_study = {s: ctx.study_runs(s) for s in ("dropout", "batch_norm")}
    merged = merged_runs(by_study)
    shown = with_run_flags(
        pd.DataFrame({"variant": list(merged)}),
        merged,
        baselines=["ctl_s004_cnn_e10", "ctl_s004_dropout_e15"],
    )
    notes = dict(zip(shown["variant"], shown["note"]))
    assert notes["s004_cnn_dropout"] == "same run as ctl_s004_dropout_e15 under this profile"
    assert notes["ctl_s004_dropout_e15"] == notes["s004_cnn_bn"] == ""
    findings = chapter_findings(ctx, ["dropout", "batch_norm"])
    assert comparison(findings["batch_norm"], "s004_cnn_bn").n_seeds == len(
        sample_budget.seeds()["s004_cnn_bn"]
    )


# ----------------------------------------------------------------- convergence column
def test_runs_and_findings_tables_show_the_under_trained_flag(project):
    root, store, fp = project
    fill(store, fp, "normalization", {"s003_net": 0.5, "ctl_s003_net_unit": 0.5})
    fill(store, fp, "normalization", {"s003_net_zscore": 0.7}, history=RISING)
    ctx = open_context("04-training", studies=["normalization"], root=root)
    runs = ctx.study_runs("normalization")
    flags = under_trained_column(runs)
    assert flags == {
        "s003_net": "no",
        "ctl_s003_net_unit": "no",
        "s003_net_zscore": "yes (2 of 2 seeds)",
    }
    note = convergence_note(runs)
    assert note.startswith("**Convergence.** 4 of 6 runs are free of the under-trained flag")
    assert "s003_net_zscore (still improving: lowest validation loss at epoch 8 of 8" in note
    table = findings_table(chapter_findings(ctx, ["normalization"]))
    row = table.set_index("variant").loc["s003_net_zscore"]
    assert row["verdict"] == "better" and row["under-trained"] == "s003_net_zscore (2 seeds)"
    assert row["note"] == "rests on under-trained runs"
    assert table.set_index("variant").loc["ctl_s003_net_unit", "under-trained"] == "no"


# ----------------------------------------------------------------- bad input
def test_comparisons_that_cannot_be_made_are_explained_in_the_chapter(project):
    root, store, fp = project
    fill(store, fp, "kernel_size", {"ctl_cnn1_e5": 0.6}, seeds=[0])
    fill(store, fp, "kernel_size", {"s000_cnn1_k2": 0.5}, seeds=[1])
    ctx = open_context("03-architecture", studies=["kernel_size", "wrn", "transfer"], root=root)
    findings = chapter_findings(ctx, ["kernel_size", "wrn", "transfer"])
    k2 = comparison(findings["kernel_size"], "s000_cnn1_k2")
    assert k2.verdict == NOT_COMPARED
    assert "no shared seeds (baseline seeds [0], variant seeds [1])" in k2.message
    k5 = comparison(findings["kernel_size"], "ctl_cnn1_k5")
    assert "ctl_cnn1_k5 was not run (not trained yet" in k5.message
    assert findings["wrn"].message.startswith("Study wrn has only one variant")
    assert (
        "s003_vgg16_full is not run in profile sample (full profile only)"
        in comparison(findings["transfer"], "s003_vgg16_full").message
    )
    text = findings_problems(findings)
    assert text.startswith("::: {.callout-warning}\n## Comparisons that could not be made")
    assert "**kernel_size**: s000_cnn1_k2 vs ctl_cnn1_e5: no shared seeds" in text
    assert "**wrn**: Study wrn has only one variant (s002_wrn_16_8)" in text
    shown = findings_table(findings)
    assert (shown["verdict"] == NOT_COMPARED).sum() >= 4 and "n/a" not in shown.to_string()
    assert "no shared seeds" in findings_markdown(findings)


# ----------------------------------------------------------------- selection
def test_best_picks_see_validation_columns_only(monkeypatch):
    table = pd.DataFrame(
        {
            "variant": ["a", "b", "c"],
            "study": "s",
            "val_accuracy_mean": [0.60, 0.70, 0.65],
            "test_accuracy_mean": [0.80, 0.50, 0.60],
            "gap_mean": [0.1, 0.2, 0.3],
        }
    )
    seen = []
    real = selection.rank_by_validation

    def spy(scores, by="val_accuracy_mean", **kw):
        seen.append(list(scores.columns))
        return real(scores, by=by, **kw)

    monkeypatch.setattr(selection, "rank_by_validation", spy)
    assert selection.best_by_validation(table) == "b"  # test accuracy would pick "a"
    assert seen == [["variant", "study", "val_accuracy_mean"]]
    assert selection.sort_by_validation(table)["variant"].tolist() == ["b", "c", "a"]
    assert seen[-1] == ["variant", "study", "val_accuracy_mean"]
    assert selection.best_by_validation(table.assign(val_accuracy_mean=np.nan)) is None
    with pytest.raises(selection.TestDataInSelectionError):
        selection.best_by_validation(table, by="test_accuracy_mean")


SELECTION_HELPERS = {"best_by_validation", "rank_by_validation", "sort_by_validation", "best"}


def test_chapters_choose_best_only_through_the_validation_guard():
    for path in sorted((PROJECT / "analyses").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                where = f"{path.name}:{node.lineno}: {ast.unparse(node)}"
                assert name != "best_row", f"{where}: selection outside the validation guard"
                if name in {
                    "sort_values",
                    "idxmax",
                    "idxmin",
                    "nlargest",
                    "nsmallest",
                    "max",
                    "min",
                }:
                    # ranking variants by a metric column is selection: only via the guard
                    assert not re.search(r"(accuracy|loss)_mean", ast.unparse(node)), where
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in {"best", "ranked"} for t in node.targets
            ):
                called = {
                    getattr(n.func, "attr", getattr(n.func, "id", ""))
                    for n in ast.walk(node.value)
                    if isinstance(n, ast.Call)
                }
                assert called & SELECTION_HELPERS, f"{path.name}:{node.lineno}: {ast.unparse(node)}"


# ----------------------------------------------------------------- the report level (slow)
def test_findings_chapter_says_reversed_when_the_store_reverses_a_claim(tmp_path, synthetic_dir):
    """Execute analyses/09-findings.py with papermill on a store where seed 004's claim
    "batch norm improves the CNN" is reversed, and read the cells the article embeds."""
    from cifar_core.orchestrate import notebooks
    from cifar_core.render.notebooks import cell_outputs

    store, fp = make_project(tmp_path, synthetic_dir)
    shutil.copy2(PROJECT / "analyses" / "09-findings.py", tmp_path / "analyses")
    fill(
        store,
        fp,
        "batch_norm",
        {
            "ctl_s004_dropout_e15": 0.70,
            "s004_cnn_bn": 0.50,
            "s001_model_a": 0.60,
            "s001_model_c": 0.60,
            "ctl_cnn1_e5": 0.55,
            "s000_cnn1_bn": 0.56,
        },
    )
    execution = notebooks.execute(
        tmp_path, "09-findings", {"studies": ["batch_norm"], "table_studies": ["batch_norm"]}
    )
    assert execution.ok, execution.error
    notebook = tmp_path / "notebooks" / "09-findings.ipynb"
    text = "\n".join(cell_outputs(notebook, "findings-discussion").markdown)
    assert "s004_cnn_bn is worse than the baseline ctl_s004_dropout_e15 by 20.0 points" in text
    assert re.search(
        r"Seed 004 claims “it helps the optimization converge faster[^”]*” "
        r"\(Batch norm improves seed 004's CNN with dropout \(at equal epochs\)\.\): "
        r"reversed; s004_cnn_bn is worse than ctl_s004_dropout_e15 by 20\.0 points",
        text,
    )
    assert "1 is reversed" in text and "s004_cnn_bn is better" not in text
    claims = "\n".join(cell_outputs(notebook, "tbl-findings-claims").markdown)
    row = next(
        line for line in claims.splitlines() if "s004_cnn_bn vs ctl_s004_dropout_e15" in line
    )
    assert re.search(r"\|\s*reversed\s*\|", row) and "−20.0" in row
    published = json.loads((tmp_path / "notebooks" / "09-findings.vars.json").read_text())
    assert published["findings"]["claims"]["reversed"] == "1"


def test_runs_without_a_validation_split_are_not_called_under_trained():
    from cifar_core.analysis.records import RunRecord

    no_val = PLATEAU.assign(val_loss=np.nan, val_accuracy=np.nan)  # a seed-protocol run
    runs = {
        "a": [RunRecord("k", 0, np.ones(4, bool), history=no_val)],
        "b": [RunRecord("j", 0, np.ones(4, bool), history=RISING)],
    }
    assert under_trained_column(runs) == {"a": "not checked (no validation split)", "b": "yes"}
    many = {f"n{i}": [RunRecord(f"k{i}", 0, np.ones(4, bool), history=no_val)] for i in range(13)}
    assert "no validation history: n0, n1, " in convergence_note(many)  # > 12: grouped by kind
