"""The experiment catalog: coverage of the seeds, studies, profiles, plan and listing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cifar_core.cli.listing import listing
from cifar_core.experiments import catalog
from cifar_core.experiments.catalog import (
    SEED_FILES,
    all_variants,
    get_profile,
    get_study,
    get_variant,
    plan,
    studies,
)
from cifar_core.experiments.flagship import ABLATIONS as FLAGSHIP_ABLATIONS
from cifar_core.experiments.sample_budget import SAMPLE_FULL_ONLY

# Every test accuracy DESIGN.md's catalog quotes from the seeds (rounded to 3 places).
DESIGN_FIGURES = [
    0.464,
    0.689,
    0.102,
    0.644,
    0.621,
    0.636,
    0.643,
    0.678,
    0.618,
    0.370,
    0.510,
    0.662,
    0.672,
    0.683,
    0.809,
    0.809,
    0.832,
    0.876,
    0.894,
    0.890,
    0.862,
    0.781,
    0.785,
    0.730,
    0.822,
    0.816,
    0.830,
    0.835,
    0.485,
    0.663,
    0.653,
    0.701,
    0.758,
]
STUDY_NAMES = [
    "baselines",
    "depth",
    "filters",
    "kernel_size",
    "activation",
    "pooling",
    "batch_size",
    "optimizer",
    "lr_schedule",
    "normalization",
    "dropout",
    "batch_norm",
    "l2",
    "augmentation",
    "seed001_trio",
    "seed002_families",
    "seed004_lab",
    "wrn",
    "transfer",
    "flagship",
]


def test_catalog_import_does_not_import_keras():
    code = "import sys, cifar_core.experiments.catalog as c; c.plan('sample'); print('keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_all_studies_exist():
    assert [s.name for s in studies()] == STUDY_NAMES


def test_every_seed_file_is_cited():
    cited = {source for study in studies() for source in study.sources}
    assert set(SEED_FILES.values()) <= cited


def test_every_design_figure_is_a_reported_variant():
    reported = sorted(round(v, 3) for v in catalog.reported().values())
    remaining = list(reported)
    for figure in DESIGN_FIGURES:
        match = next((r for r in remaining if abs(r - figure) <= 0.0015), None)
        assert match is not None, f"no variant reports {figure}"
        remaining.remove(match)


def test_chance_level_figure_is_flagged():
    study = get_study("depth")
    assert study.reported["s000_cnn3"] == pytest.approx(0.1018)
    assert any("evaluation mismatch" in note for note in study.notes)


def test_variant_names_are_unique_per_config():
    variants = all_variants()
    assert len({v.name for v in variants}) == len(variants)
    assert len({v.config_hash() for v in variants}) == len(variants)
    for study in studies():
        for variant in study.variants:
            assert variant == catalog.get_variant(variant.name)


def test_every_variant_fits_its_family():
    for variant in all_variants():
        variant.check_family()


def test_seed004_pass_marks():
    study = get_study("seed004_lab")
    assert study.pass_marks == {
        "s004_mlp": (">", 0.45),
        "s004_cnn": (">=", 0.62),
        "s004_final": (">=", 0.75, 25),
    }
    assert study.variant("s004_final").epochs <= 25


@pytest.mark.parametrize("name", [p.name for p in catalog.profiles()])
def test_profiles_change_only_epochs_and_seed(name):
    profile = get_profile(name)
    capped = profile.max_steps_per_epoch is not None  # a rehearsal's cap
    allowed = (
        {"epochs", "seed"}
        | ({"validation_fraction", "restore_best"} if profile.seed_protocol else set())
        | ({"max_steps_per_epoch"} if capped else set())
    )
    for variant in all_variants():
        scaled = profile.scale(variant, seed=profile.seeds[-1]).to_dict()
        original = variant.to_dict()
        changed = {k for k in original if original[k] != scaled[k]}
        assert changed <= allowed, (variant.name, changed)
        if variant.name in profile.epochs:  # a per-variant table is taken as given
            assert scaled["epochs"] == profile.epochs[variant.name]
        else:
            assert 1 <= scaled["epochs"] <= variant.epochs


def test_profile_budgets():
    assert max(v.epochs for v in plan("demo")) <= 2
    assert get_profile("demo").dataset_kwargs()["source"] == "synthetic"
    assert len(get_profile("sample").seeds) >= 3 and len(get_profile("full").seeds) >= 3
    full = {(v.name, v.seed): v.epochs for v in plan("full")}
    assert full[("s002_model2_3", 0)] == 200


def test_plan_expands_seeds_and_skips_full_only():
    runs = plan("sample", studies=["wrn", "flagship"])
    assert [(v.name, v.seed) for v in runs][:2] == [("s004_final", 0), ("flagship", 0)]
    assert {(v.name, v.seed) for v in runs[2:]} == {
        (n, 0) for n in FLAGSHIP_ABLATIONS if n not in SAMPLE_FULL_ONLY
    }
    assert {(v.name, v.seed) for v in plan("full", studies=["flagship"])} >= {
        (n, s) for n in FLAGSHIP_ABLATIONS for s in (0, 1, 2)
    }
    assert "s002_wrn_16_8" not in {v.name for v in runs}
    assert {v.name for v in plan("sample", names=["s002_wrn_16_8"])} == {"s002_wrn_16_8"}


def test_unknown_names_suggest_close_matches():
    with pytest.raises(KeyError, match="pooling"):
        plan("sample", studies=["poolin"])
    with pytest.raises(KeyError, match="s004_final"):
        plan("sample", names=["s004_finall"])
    with pytest.raises(KeyError, match="sample"):
        get_profile("sampel")


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    os.environ["CIFAR_REPORT_CACHE"] = str(tmp_path_factory.mktemp("stats"))
    try:
        yield listing("sample")
    finally:
        del os.environ["CIFAR_REPORT_CACHE"]


def test_listing_fields(rows):
    assert len(rows) == len(all_variants()) + 2  # + the derived k-NN entries
    json.dumps(rows)
    for row in rows:
        assert {
            "name",
            "study",
            "source",
            "reported_test_accuracy",
            "params",
            "flops",
            "cached",
        } <= set(row)
    by_name = {r["name"]: r for r in rows}
    assert by_name["s002_model1_b32"]["params"] == 42_442
    assert by_name["s003_vgg16_b3"]["params"] == 2_787_914
    assert by_name["s004_final"]["reported_test_accuracy"] == 0.758
    assert by_name["s004_final"]["source"] == SEED_FILES["004"]
    assert by_name["s002_wrn_16_8"]["profile_note"] == "full profile only"
    assert by_name["s003_vgg16_knn"]["family"] == "knn"


def test_listing_reports_cached_runs():
    from cifar_core.runs.keys import run_key

    profile = get_profile("sample")
    variant = catalog.get_variant("s004_cnn")
    present = {run_key(profile.scale(variant, s), "fp") for s in profile.seeds}

    rows = listing(
        "sample", lambda v: run_key(v, "fp") in present, studies=["seed004_lab"], with_stats=False
    )
    cached = {r["name"]: r["cached"] for r in rows}
    assert cached["s004_cnn"] is True and cached["s004_final"] is False
    assert listing("sample", studies=["seed004_lab"], with_stats=False)[0]["cached"] is None


# ----------------------------------------------------------------- budgets and protocols
def test_sample_budget_gives_every_planned_variant_its_own_line():
    from cifar_core.experiments import sample_budget

    profile = get_profile("sample")
    planned = {v.name for v in all_variants() if profile.includes(v)}
    assert set(sample_budget.epochs()) == planned  # no variant falls back to a global scale
    assert set(sample_budget.seeds()) == planned
    budgeted = [n for b in sample_budget.SAMPLE_BUDGET for n in b.epochs]
    assert len(budgeted) == len(set(budgeted))  # one line each (the catalog refuses twice)
    assert not planned & sample_budget.SAMPLE_FULL_ONLY


def test_sample_epochs_are_chosen_per_family_and_keep_claimed_comparisons_matched():
    from cifar_core.experiments.claims import CLAIMS

    runs = plan("sample")
    epochs = {v.name: v.epochs for v in runs}
    seeds = {}
    for v in runs:
        seeds.setdefault(v.name, []).append(v.seed)
    assert epochs["s000_cnn2"] == 10 > get_variant("s000_cnn2").epochs  # a slice epoch is short
    assert epochs["flagship"] == get_variant("flagship").epochs  # its full budget
    assert epochs["s004_final"] == 20 and epochs["s002_model1_b32"] < 100 // 2
    assert seeds["s002_model1_b32"] == [0, 1] and seeds["flagship"] == [0]
    assert "s002_model2_3" not in epochs  # never reaches a plateau on the slice: full only
    assert seeds["s000_cnn2"] == [0, 1, 2] and "s002_model3_3" not in epochs  # full only
    for claim in CLAIMS:
        if "at equal epochs" in claim.statement:
            assert epochs[claim.variant] == epochs[claim.baseline], claim.statement
    # the step schedule is a fraction of the epochs: it shrinks with them
    step = next(v for v in runs if v.name == "s003_net_l2_step")
    assert dict(step.schedule_params) == {"boundaries": (0.5,), "factors": (0.5,)}


def test_controls_stay_distinct_or_are_one_run_on_purpose():
    from tests.support.fixtures import collapsed

    variants = all_variants()
    pairs = {
        name: {frozenset(p) for p in collapsed(get_profile(name), variants)}
        for name in ("demo", "smoke", "sample", "full")
    }
    assert pairs["demo"] == set() and pairs["full"] == set()  # demo scales one, not both
    demo = {v.name: v.epochs for v in plan("demo", names=["s000_cnn1", "ctl_cnn1_e5"])}
    assert demo == {"s000_cnn1": 2, "ctl_cnn1_e5": 1}
    assert frozenset({"s000_cnn1", "ctl_cnn1_e5"}) in pairs["smoke"]  # 1 epoch: cannot split
    # sample gives a few variants their epoch-matched control's budget: one run each
    assert pairs["sample"] == {
        frozenset({"s000_cnn1", "ctl_cnn1_e5"}),
        frozenset({"s004_cnn_dropout", "ctl_s004_dropout_e15"}),
    }


def test_seed_protocol_profile_trains_on_every_image_and_keeps_the_last_epoch():
    from cifar_core.runs.keys import run_key

    full = {(v.name, v.seed): v for v in plan("full")}
    seed = {(v.name, v.seed): v for v in plan("full-seed-protocol")}
    assert seed.keys() == full.keys()
    for key, variant in seed.items():
        assert (variant.validation_fraction, variant.restore_best) == (0.0, False)
        assert (full[key].validation_fraction, full[key].restore_best) == (0.2, True)
        assert variant.epochs == full[key].epochs
        assert run_key(variant, "fp") != run_key(full[key], "fp")


def test_no_study_title_states_epochs_the_profile_sets():
    # A study's title heads its findings paragraph in every profile: "Batch size (seed 002
    # Model 1, 100 epochs)" headed comparisons of 2-epoch runs in the demo build.
    import re

    titles = {s.name: s.title for s in catalog.studies()}
    assert not [t for t in titles.values() if re.search(r"\d+ epochs", t)]
    assert titles["batch_size"] == "Batch size (seed 002 Model 1)"
