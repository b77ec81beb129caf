"""Seed claims as data: faithful quotes, valid catalog references, and verdicts computed
from runs read back from a run store (including a store where a claimed effect is
reversed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from cifar_core.analysis.discussion import every_comparison
from cifar_core.analysis.records import RunRecord
from cifar_core.analysis.sentences import claim_sentence
from cifar_core.analysis.stats.claims import evaluate_claims
from cifar_core.analysis.stats.findings import SAME_RUN, compare_study
from cifar_core.analysis.views.findings import claims_table
from cifar_core.experiments import catalog
from cifar_core.experiments.claims import (
    CLAIMS,
    HOLDS,
    INCONCLUSIVE,
    NOT_EVALUATED,
    REVERSED,
    Claim,
    claim_pairs,
    claims_for,
)
from cifar_core.runs.keys import run_key
from cifar_core.runs.store import RunStore
from tests.support.fixtures import PLATEAU, comparison

SEEDS = Path(
    os.environ.get("CIFAR_SEEDS_DIR", Path(__file__).resolve().parents[2] / "shared" / "seeds")
)
N_TEST = 600
LABELS = np.arange(N_TEST) % 10


# ----------------------------------------------------------------- the claims themselves
@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed reports are not present")
@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c.seed}-{c.variant}")
def test_every_quote_appears_verbatim_in_its_seed_report(claim):
    text = (SEEDS / catalog.SEED_FILES[claim.seed]).read_text(encoding="utf-8")
    assert claim.quote in text


def test_claims_name_catalog_studies_variants_and_sources():
    assert {c.seed for c in CLAIMS} == set(catalog.SEED_FILES)  # every seed is represented
    for claim in CLAIMS:
        study = catalog.get_study(claim.study)
        assert {claim.variant, claim.baseline} <= set(study.names()), claim
        assert catalog.SEED_FILES[claim.seed] in study.sources, claim
    assert len(set(CLAIMS)) == len(CLAIMS)
    assert catalog.claims() == list(CLAIMS)  # a project without studies/ has the seeds' claims


def test_bad_claims_are_rejected_with_the_reason():
    with pytest.raises(ValueError, match="expected must be"):
        Claim("s", "a", "b", "improves", "a beats b")
    with pytest.raises(ValueError, match="variant and baseline are the same"):
        Claim("s", "a", "a", "better", "a beats a")
    with pytest.raises(ValueError, match="unknown seed '009'"):
        Claim("s", "a", "b", "better", "a beats b", seed="009")


def test_claim_pairs_feed_compare_study():
    assert claim_pairs("depth") == [("s000_cnn3", "s000_cnn2"), ("s002_model2_3", "s002_model2_1")]
    assert claim_pairs("wrn") == []


# ----------------------------------------------------------------- a fake run store
def _write_run(store: RunStore, variant, fingerprint: str, accuracy: float, salt: int) -> None:
    key = run_key(variant, fingerprint)
    if store.get(key, warn=False) is not None:  # a collapsed control: already written
        return
    rng = np.random.default_rng(salt)
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
                {"val_accuracy": 0.6, "val_loss": 1.0, "test_accuracy": float(correct.mean())}
            )
        )
        PLATEAU.to_csv(directory / "history.csv", index=False)
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


def _store_findings(tmp_path, study_name: str, accuracies: dict, profile="sample"):
    """Write fake runs of ``accuracies`` ({variant: test accuracy}) for every profile seed,
    read them back through the store and compute the study's findings with its claims."""
    store, profile = RunStore(tmp_path / "runs"), catalog.get_profile(profile)
    study = catalog.get_study(study_name)
    runs = {}
    for name, accuracy in accuracies.items():
        scaled = [profile.scale(study.variant(name), seed) for seed in profile.seeds]
        for i, variant in enumerate(scaled):
            _write_run(store, variant, "fp", accuracy, salt=sum(map(ord, name)) * 10 + i)
        runs[name] = [store.get(run_key(v, "fp")) for v in scaled]
    return compare_study(
        study.name, runs, study.baseline, variants=study.names(), pairs=claim_pairs(study_name)
    )


def test_a_store_whose_better_arm_is_worse_reverses_the_claim_and_the_text_says_worse(tmp_path):
    findings = _store_findings(
        tmp_path, "batch_norm", {"ctl_s004_dropout_e15": 0.70, "s004_cnn_bn": 0.50}
    )
    results = {
        r.claim.variant: r
        for r in evaluate_claims(claims_for("batch_norm"), {"batch_norm": findings})
    }
    bn = results["s004_cnn_bn"]
    assert bn.claim.expected == "better" and bn.outcome == REVERSED and bn.verdict == "worse"
    assert bn.diff == pytest.approx(-0.20) and bn.ci_high < 0 and bn.n_seeds == 3
    sentence = claim_sentence(bn)
    assert sentence.startswith("Seed 004 claims “it helps the optimization converge faster")
    assert ": reversed; s004_cnn_bn is worse than ctl_s004_dropout_e15 by 20.0 points" in sentence
    text = every_comparison({"batch_norm": findings}, [])
    assert "s004_cnn_bn is worse than the baseline ctl_s004_dropout_e15 by 20.0 points" in text
    assert "better" not in text
    seed000 = results["s000_cnn1_bn"]  # its runs are not in the store
    assert seed000.outcome == NOT_EVALUATED
    assert "no runs of s000_cnn1_bn in the run store" in claim_sentence(seed000)
    # The Discussion's block promises every claim, one sentence each: a claim that could
    # not be evaluated gets its sentence too, with the reason (it was only counted).
    block = every_comparison({"batch_norm": findings}, list(results.values()))
    assert claim_sentence(seed000) in block


def test_claims_hold_or_are_inconclusive_as_the_runs_say_and_orientation_is_respected(tmp_path):
    findings = _store_findings(
        tmp_path,
        "baselines",
        {"s000_cnn2": 0.65, "s000_mlp": 0.45, "s004_cnn": 0.60, "s004_mlp": 0.60},
    )
    # the study compares s000_mlp against the baseline s000_cnn2; the claim is the reverse
    assert comparison(findings, "s000_mlp").diff == pytest.approx(-0.20)
    (claim,) = evaluate_claims(claims_for("baselines"), [findings])
    assert claim.outcome == HOLDS and claim.diff == pytest.approx(0.20) and claim.ci_low > 0
    assert "holds; s000_cnn2 is better than s000_mlp by 20.0 points" in claim_sentence(claim)
    lab = _store_findings(tmp_path / "lab", "seed004_lab", {"s004_cnn": 0.60, "s004_mlp": 0.60})
    (cnn,) = evaluate_claims(claims_for("seed004_lab"), [lab])
    assert cnn.outcome == INCONCLUSIVE
    assert (
        "inconclusive at this budget; no detectable difference between s004_cnn and s004_mlp"
        in claim_sentence(cnn)
    )


def test_no_difference_claims_need_a_tight_interval_to_hold():
    base = np.arange(2000) % 2 == 0
    near = base.copy()
    near[:10] = ~near[:10]  # 10 images flip: Δ = 0, CI well inside ±1 point
    far = base.copy()
    far[1:400:2] = True  # +10 points: a detected difference
    claim = claims_for("dropout")[0]
    arms = {
        "ctl_s004_cnn_e10": [RunRecord("b", 0, base, history=PLATEAU)],
        "s004_cnn_dropout": [RunRecord("v", 0, near, history=PLATEAU)],
    }
    tight = compare_study("dropout", arms, "ctl_s004_cnn_e10")
    assert evaluate_claims([claim], [tight])[0].outcome == HOLDS
    wide = evaluate_claims([claim], [tight], equivalence_margin=0.0001)[0]
    assert wide.outcome == INCONCLUSIVE
    arms["s004_cnn_dropout"] = [RunRecord("v", 0, far, history=PLATEAU)]
    differ = compare_study("dropout", arms, "ctl_s004_cnn_e10")
    assert evaluate_claims([claim], [differ])[0].outcome == REVERSED


def test_collapsed_controls_in_the_smoke_profile_are_the_same_run(tmp_path):
    # smoke caps epochs at 1: s000_cnn1 (10 epochs) and ctl_cnn1_e5 (5) become one config
    # (demo, capped at 2, keeps them apart: 2 and 1 epochs)
    findings = _store_findings(
        tmp_path, "kernel_size", {"ctl_cnn1_e5": 0.6, "s000_cnn1_k2": 0.5}, profile="smoke"
    )
    assert comparison(findings, "s000_cnn1_k2").tested
    store = RunStore(tmp_path / "runs")
    smoke = catalog.get_profile("smoke")
    e5 = store.get(run_key(smoke.scale(catalog.get_variant("ctl_cnn1_e5")), "fp"))
    cnn1 = store.get(run_key(smoke.scale(catalog.get_variant("s000_cnn1")), "fp"))
    assert cnn1 is not None and cnn1.key == e5.key
    row = compare_study("x", {"s000_cnn1": [cnn1], "ctl_cnn1_e5": [e5]}, "s000_cnn1").comparisons[0]
    assert row.verdict == SAME_RUN and row.result is None
    (claim,) = evaluate_claims(
        [Claim("x", "ctl_cnn1_e5", "s000_cnn1", "better", "s", seed="000", quote="q")],
        {"x": compare_study("x", {"s000_cnn1": [cnn1], "ctl_cnn1_e5": [e5]}, "s000_cnn1")},
    )
    assert claim.outcome == NOT_EVALUATED and "same run as s000_cnn1" in claim_sentence(claim)
    demo = catalog.get_profile("demo")
    assert run_key(demo.scale(catalog.get_variant("ctl_cnn1_e5")), "fp") != run_key(
        demo.scale(catalog.get_variant("s000_cnn1")), "fp"
    )


def test_claims_table_lists_quote_expectation_and_outcome(tmp_path):
    findings = _store_findings(tmp_path, "normalization", {"s003_net": 0.6, "s003_net_zscore": 0.7})
    table = claims_table(evaluate_claims(claims_for("normalization"), [findings]))
    row = table.iloc[0]
    assert (row["seed"], row["outcome"]) == ("003", HOLDS) and "expected better" in row["claim"]
    assert row["Δ test acc (pts)"] == "+10.0" and row["shared seeds"] == "3"
    assert row["quote"].startswith("“After only normalization")


def test_claims_table_notes_a_claim_whose_arms_trained_for_different_epochs():
    # demo trains ctl_s004_cnn_e10 for 2 epochs and s004_cnn_dropout for 1: the claim
    # "Dropout does not change test accuracy (at equal epochs)" was judged without a word.
    base = np.arange(2000) % 2 == 0
    arms = {
        "ctl_s004_cnn_e10": [RunRecord("b", 0, base, history=PLATEAU)],
        "s004_cnn_dropout": [RunRecord("v", 0, base, history=PLATEAU)],
    }
    results = evaluate_claims(
        claims_for("dropout"), [compare_study("dropout", arms, "ctl_s004_cnn_e10")]
    )
    unequal = {"ctl_s004_cnn_e10": "2", "s004_cnn_dropout": "1"}
    note = claims_table(results, epochs=unequal).iloc[0]["note"]
    assert "trained for different epochs here (s004_cnn_dropout: 1, ctl_s004_cnn_e10: 2)" in note
    equal = {"ctl_s004_cnn_e10": "2", "s004_cnn_dropout": "2"}
    assert "epochs" not in claims_table(results, epochs=equal).iloc[0]["note"]
    assert "epochs" not in claims_table(results).iloc[0]["note"]
