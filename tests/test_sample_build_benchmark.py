"""``benchmarks/sample_build.py`` (the sample build timed from an empty store) and
``benchmarks/sample_budget.py --seeds N`` (what N seeds per study would cost): what they
run and how they judge, without building or training anything of their own (the claims
test reads the session's smoke build)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cifar_core.experiments import catalog
from tests.support.fixtures import load_benchmark

ROOT = Path(__file__).resolve().parents[1]


sample_build = load_benchmark("sample_build")
sample_budget = load_benchmark("sample_budget")


def test_the_slower_build_counts_and_a_failed_build_fails_the_budget():
    quick, slow = {"wall_s": 30 * 60.0, "rc": 0}, {"wall_s": 46 * 60.0, "rc": 0}
    assert sample_build.verdict([quick])["within_budget"] is True
    both = sample_build.verdict([quick, slow])
    assert both["slowest_s"] == 46 * 60.0 and both["within_budget"] is False
    assert sample_build.verdict([quick, {**quick, "rc": 1}])["within_budget"] is False
    assert sample_build.verdict([])["within_budget"] is False


def test_the_timed_build_is_the_sample_profile_into_a_new_store(tmp_path, capsys):
    assert sample_build.main(["--data", str(tmp_path), "--dry-run", "--precision", "float32"]) == 0
    printed = capsys.readouterr().out
    assert "2 build(s) of:" in printed
    assert (
        f"-m cifar_core.cli build --profile sample --data {tmp_path} --runs '<copy>/runs' "
        "--jobs 2 --precision float32" in printed
    )


def test_the_record_lists_the_seeds_of_every_study_the_sample_runs():
    seeds = sample_build.seeds_per_study()
    assert set(seeds) == {s.name for s in catalog.studies()}
    profile = catalog.get_profile("sample")
    assert seeds["activation"]["s000_cnn1"] == list(
        profile.seeds_for(catalog.get_variant("s000_cnn1"))
    )
    assert "s002_wrn_16_8" not in seeds["wrn"]  # full profile only: not in the sample


def test_the_seeds_what_if_changes_the_seeds_and_nothing_else():
    sample, three = catalog.plan("sample"), catalog.plan(sample_budget.with_seeds("sample", 3))
    seeds: dict[str, set[int]] = {}
    for variant in three:
        seeds.setdefault(variant.name, set()).add(variant.seed)
    assert set(seeds) == {v.name for v in sample}  # the same variants
    assert all(s == {0, 1, 2} for s in seeds.values())
    epochs = {v.name: v.epochs for v in sample}
    assert all(v.epochs == epochs[v.name] for v in three)  # the same epochs
    assert sample_budget.with_seeds("sample", None) == catalog.get_profile("sample")


@pytest.mark.parametrize("count", [1, 2])
def test_fewer_seeds_in_the_what_if_train_fewer_runs(count):
    assert len(catalog.plan(sample_budget.with_seeds("sample", count))) < len(
        catalog.plan(sample_budget.with_seeds("sample", 3))
    )


def test_every_variant_the_sample_trains_has_a_cost_class():
    priced = {v for members in sample_budget.CLASSES.values() for v in members.split()}
    planned = {v.name for v in catalog.plan("sample")}
    assert planned - set(sample_budget.UNPRICED) <= priced


def test_the_claims_are_judged_as_the_report_judges_them_and_by_fewer_seeds(smoke_build):
    root, _, _ = smoke_build
    published = json.loads((root / "notebooks" / "09-findings.vars.json").read_text())
    as_built = sample_build.claim_outcomes(root)
    assert len(as_built) == int(published["findings"]["n_claims"]) > 0
    counts = sample_build.build_outcome(root)["claims"]
    assert sum(counts.values()) == len(as_built)
    assert sample_build.claim_outcomes(root, seeds=None) == as_built
    # with no seeds left, no claim can be judged
    assert set(sample_build.claim_outcomes(root, seeds={}).values()) == {"not evaluated"}


def test_the_ceiling_sets_each_cost_class_against_the_peak():
    from cifar_core.models.stats import model_stats

    variant = catalog.get_variant("s000_cnn2")
    per_epoch = 3 * model_stats(variant.family, variant.params)["flops"] * 4_000
    costs = {"costs": {"s000_cnn2": {"cpu_per_epoch_s": per_epoch / 50e9, "overhead_s": 0}}}
    rows = [("s000_cnn2", 0, 10, 10 * per_epoch / 50e9)]
    lines = sample_budget.ceiling(costs, 5_000, 100.0, rows, workers=2)
    assert lines[1].split()[0] == "s000_cnn2" and lines[1].split()[2:] == ["50.0", "50%"]
    # 10 epochs of 4,000 images (5,000 less the 20 % validation split) at 2 x 100 GFLOP/s
    assert f"{10 * per_epoch / 200e9 / 60:.1f} min;" in lines[-1]
    assert "50.0 GFLOP/s a thread on average (50% of the peak)" in lines[-1]


def test_a_costs_file_with_a_zero_cost_is_refused_naming_the_file_and_the_class(tmp_path):
    for shipped in (ROOT / "benchmarks").glob("sample_costs*.json"):
        assert sample_budget.read_costs(shipped)["costs"]
    costs = json.loads((ROOT / "benchmarks" / "sample_costs.json").read_text())
    name = next(iter(costs["costs"]))
    costs["costs"][name]["cpu_per_epoch_s"] = 0
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(costs))
    with pytest.raises(
        SystemExit, match=rf"costs\.json: cost class '{name}' has cpu_per_epoch_s 0"
    ):
        sample_budget.read_costs(path)
    for broken in ("{", json.dumps({"costs": {}})):  # not JSON; no date of measurement
        path.write_text(broken)
        with pytest.raises(SystemExit, match=r"costs\.json: not a costs file"):
            sample_budget.read_costs(path)
