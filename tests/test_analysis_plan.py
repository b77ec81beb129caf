"""``cifar-report plan`` prices the chapters' derived predictions, not only training."""

from __future__ import annotations

import json
from pathlib import Path

from cifar_core.cli import main
from cifar_core.data.corruptions import CORRUPTIONS
from cifar_core.experiments.catalog import get_profile, get_variant
from cifar_core.models.stats import model_stats
from cifar_core.orchestrate import analysis_plan as ap
from cifar_core.orchestrate import notebooks

ROOT = Path(__file__).resolve().parents[1]


def test_the_chapters_that_predict_again_exist():
    assert set(ap.CHAPTER_WORK) <= set(notebooks.analysis_names(ROOT))


def test_plan_full_prices_training_and_analysis_and_sums_both(capsys):
    assert main(["plan", "--profile", "full", "--measure", "never", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    analysis = data["analysis"]
    chapters = {row["chapter"] for row in analysis["chapters"]}
    assert chapters == {"06-transfer", "11-tta", "12-robustness"}
    robustness = [w for w in analysis["work"] if w["chapter"] == "12-robustness"]
    flagship = next(w for w in robustness if w["name"] == "flagship")
    assert flagship["passes"] == len(CORRUPTIONS) * 3 * 6  # flip + translate recipe: 6 passes
    assert flagship["images"] == 10_000
    forward = model_stats("flagship", get_variant("flagship").params)["flops"]
    assert flagship["flops"] == forward * flagship["passes"] * 10_000
    assert len(robustness) == 5 * 3  # five main variants, three seeds
    assert analysis["total"]["flops"] == sum(w["flops"] for w in analysis["work"])
    total = data["total"]
    assert data["whole_build"]["flops"] == (
        total["train_flops"] + total["eval_flops"] + analysis["total"]["flops"]
    )
    knn = [w for w in analysis["work"] if w["chapter"] == "06-transfer"]
    assert {w["images"] for w in knn} == {40_000 + 10_000}  # training split + test set


def test_plan_text_has_the_analysis_table_and_its_assumptions(capsys):
    assert main(["plan", "--profile", "full", "--measure", "never"]) == 0
    out = capsys.readouterr().out
    assert "Analysis: predictions the chapters compute again" in out
    assert "whole build (training + analysis):" in out
    assert "- analysis: the runs of 06-transfer" in out
    assert "- training only:" not in out  # the chapters are priced right above
    assert main(["plan", "--profile", "full", "--measure", "never", "--study", "wrn"]) == 0
    assert "- training only:" in capsys.readouterr().out  # a study alone: training only


def test_a_chapters_overrides_change_its_price(monkeypatch):
    profile = get_profile("full")
    before = ap.chapter_work(ROOT, profile, n_images=50_000, n_test=10_000)
    monkeypatch.setattr(
        notebooks,
        "load_overrides",
        lambda root, name: {"12-robustness": {"severities": [5], "seeds": 1}},
    )
    after = ap.chapter_work(ROOT, profile, n_images=50_000, n_test=10_000)

    def robustness(work):
        return sum(w.flops for w in work if w.chapter == "12-robustness")

    assert robustness(after) * 9 == robustness(before)  # 1 of 3 severities, 1 of 3 seeds


def test_a_capped_profile_says_so_in_the_assumptions():
    from dataclasses import replace

    from cifar_core.runs.compute_plan import compute_plan

    capped = replace(get_profile("full"), max_steps_per_epoch=2)
    plan = compute_plan(capped, names=["s002_model1_b128"], speed=None)
    assert plan.runs["train_steps"].tolist() == [2 * 100] * 3  # 2 steps x 100 epochs, 3 seeds
    assert any("training capped (a rehearsal): at most 2" in a for a in plan.assumptions)
