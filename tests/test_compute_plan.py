"""The compute plan: FLOP counts against a hand count, sums, cached flags, estimates,
and the cached measurement of this machine's speed."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from cifar_core.experiments.catalog import get_variant
from cifar_core.runs import speed as speed_module
from cifar_core.runs.compute_plan import (
    ACCELERATORS,
    compute_plan,
    makespan,
    plan_runs,
    split_sizes,
)
from cifar_core.runs.speed import MachineSpeed, machine_speed
from cifar_core.runs.store import RunStore
from tests.support.fixtures import store_run

FAKE_SPEED = MachineSpeed(
    flop_rate=2e10,
    step_overhead_s=0.005,
    device="cpu",
    device_name="test cpu",
    backend="tensorflow",
    signature={},
)


def test_seed002_model1_forward_flops_match_a_hand_count():
    # Seed 002's Model 1: Conv32 3x3 (valid) - MaxPool 2 - Conv64 3x3 (valid) - MaxPool 2 -
    # Flatten - Dense 10, on 32x32x3 images. Multiply-adds (MACs) per image:
    conv1 = 30 * 30 * 32 * (3 * 3 * 3)  # 30x30x32 outputs, 27 inputs each = 777,600
    conv2 = 13 * 13 * 64 * (3 * 3 * 32)  # 15x15 after pooling -> 13x13x64, 288 each = 3,115,008
    dense = (6 * 6 * 64) * 10  # 13x13 pooled to 6x6x64 = 2,304 inputs = 23,040
    params = (3 * 3 * 3 * 32 + 32) + (3 * 3 * 32 * 64 + 64) + (6 * 6 * 64 * 10 + 10)
    from cifar_core.models.stats import model_stats

    variant = get_variant("s002_model1_b128")
    stats = model_stats(variant.family, variant.params)

    assert params == stats["params"] == 42_442  # the figure seed 002 prints
    # model_stats counts FLOPs as 2 per multiply-add (a MAC is a multiply and an add).
    assert stats["flops"] == 2 * (conv1 + conv2 + dense) == 7_831_296


def test_training_flops_are_forward_times_three_times_training_images_times_epochs():
    plan = compute_plan("full", names=["s002_model1_b128"], speed=None)

    assert plan.runs["seed"].tolist() == [0, 1, 2]
    row = plan.runs.iloc[0]
    # full CIFAR-10: 50,000 official training images, 20 % held out -> 40,000 trained on
    assert (row.n_train, row.n_val, row.epochs) == (40_000, 10_000, 100)
    assert row.train_flops == 7_831_296 * 3 * 40_000 * 100
    assert row.train_steps == 100 * math.ceil(40_000 / 128)
    assert plan.settings["images_from"] == "profile"


@pytest.mark.parametrize("n", [300, 400, 5085, 1001])
def test_split_sizes_equal_the_real_stratified_validation_split(n):
    from cifar_core.data.splits import validation_split

    labels = np.arange(n) % 10
    train_idx, val_idx = validation_split(labels, 0.2, seed=3)
    assert split_sizes(n, 0.2) == (len(train_idx), len(val_idx))
    assert split_sizes(n, 0.0) == (n, 0)


def _small_plan(**options):
    return compute_plan("smoke", studies=["batch_size", "seed004_lab"], **options)


def test_totals_and_study_sums_are_the_sums_of_the_runs():
    plan = _small_plan(speed=FAKE_SPEED)
    runs, total = plan.runs, plan.total

    assert total["runs"] == len(runs) == 8  # 3 batch sizes + 5 lab models, one seed
    for column in ("train_flops", "eval_flops", "seconds_here", "seconds_accelerator"):
        assert total[column] == pytest.approx(runs[column].sum())
    # every study sums its own runs; a run in several studies counts in each of them
    by_study = plan.studies.set_index("study")
    for study in ("batch_size", "seed004_lab", "dropout"):
        members = runs[
            runs["studies"].str.split(", ").map(lambda names, study=study: study in names)
        ]
        assert by_study.loc[study, "runs"] == len(members)
        assert by_study.loc[study, "train_flops"] == members["train_flops"].sum()
    assert (by_study.loc["batch_size", "runs"], by_study.loc["seed004_lab", "runs"]) == (3, 5)
    assert by_study["runs"].sum() > total["runs"]
    # one device runs them one after another; many devices are bound by the longest run
    spans = total["makespan_accelerator"]
    assert spans[1] == pytest.approx(total["seconds_accelerator"])
    assert spans[16] == pytest.approx(runs["seconds_accelerator"].max())
    # time here = steps x overhead + FLOPs / rate
    first = runs.iloc[0]
    assert first.seconds_here == pytest.approx(
        (first.train_steps + first.eval_steps) * 0.005
        + (first.train_flops + first.eval_flops) / 2e10
    )
    # a measured prediction rate prices the evaluation, and only it
    again = _small_plan(speed=replace(FAKE_SPEED, predict_flop_rate=8e10)).runs.iloc[0]
    assert again.seconds_here == pytest.approx(
        (first.train_steps + first.eval_steps) * 0.005
        + first.train_flops / 2e10
        + first.eval_flops / 8e10
    )


def test_cached_runs_are_flagged_and_left_out_of_what_remains(tmp_path, tiny_dataset):
    store = RunStore(tmp_path / "runs")
    from cifar_core.experiments.catalog import plan as catalog_plan

    runs = catalog_plan("smoke", studies=["batch_size"])
    cached_key = store_run(store, runs[0], tiny_dataset.fingerprint).key

    plan = plan_runs(runs, dataset=tiny_dataset, store=store, speed=None)

    assert plan.runs["cached"].tolist() == [True, False, False]
    assert plan.runs["key"].iloc[0] == cached_key
    assert (plan.total["cached"], plan.total["missing"]["runs"]) == (1, 2)
    assert plan.total["missing"]["train_flops"] == plan.runs["train_flops"].iloc[1:].sum()
    assert plan.summary_line().startswith("to train: 2 of 3 run(s)")
    assert plan.settings["images_from"] == "dataset" and plan.runs["n_train"].iloc[0] == 240


def test_without_a_store_cached_is_unknown_and_everything_counts_as_missing():
    plan = _small_plan(speed=None)
    assert plan.runs["cached"].isna().all() and plan.total["cached"] is None
    assert plan.total["missing"]["runs"] == plan.total["runs"]
    assert plan.total["seconds_here"] is None and "≈" in plan.summary_line()
    assert "here" not in plan.summary_line().split("of training")[1].split("on one")[0]


def test_json_lists_every_run_with_flops_both_estimates_and_the_assumptions():
    plan = _small_plan(speed=FAKE_SPEED)
    data = json.loads(json.dumps(plan.to_dict()))

    assert len(data["runs"]) == data["total"]["runs"] == 8
    for run in data["runs"]:
        assert run["train_flops"] > 0 and run["seconds_here"] > 0 and run["seconds_accelerator"] > 0
    assert sum(r["train_flops"] for r in data["runs"]) == data["total"]["train_flops"]
    assert data["total"]["makespan_accelerator"]["1"] > 0
    text = " ".join(data["assumptions"])
    for phrase in (
        "x 3 (forward + backward)",
        "2 x multiply-adds",
        "25 %",
        "989 TFLOP/s",
        "2 ms per step",
        "20.0 GFLOP/s",
        "5.0 ms overhead per step",
    ):
        assert phrase in text, phrase
    assert data["settings"]["accelerator"]["key"] == "H100-SXM"


def test_accelerator_time_is_flops_over_peak_times_utilization():
    base = _small_plan(speed=None, accelerator="A100", utilization=0.5, accelerator_step_s=0)
    row = base.runs.iloc[0]
    assert row.seconds_accelerator == pytest.approx(
        (row.train_flops + row.eval_flops) / (312e12 * 0.5)
    )
    slower = _small_plan(speed=None, accelerator="a100", utilization=0.25, accelerator_step_s=0)
    assert slower.total["seconds_accelerator"] == pytest.approx(
        2 * base.total["seconds_accelerator"]
    )
    overhead = _small_plan(speed=None, accelerator="A100", utilization=0.5, accelerator_step_s=0.01)
    assert overhead.runs.iloc[0].seconds_accelerator == pytest.approx(
        row.seconds_accelerator + 0.01 * (row.train_steps + row.eval_steps)
    )


@pytest.mark.parametrize(
    "options, message",
    [
        ({"accelerator": "B200"}, "accelerator 'B200' is unknown; choose one of H100-SXM"),
        ({"utilization": 0}, "utilization must be a fraction in"),
        ({"utilization": 25}, "utilization must be a fraction in"),
        ({"accelerator_step_s": -1}, "accelerator_step_s must be >= 0"),
        ({"speed": "fast"}, "speed must be a MachineSpeed, 'auto', 'cached' or None"),
    ],
)
def test_bad_options_are_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        _small_plan(**{"speed": None, **options})


def test_makespan_is_between_the_longest_job_and_the_even_share():
    jobs = [5.0, 1.0, 4.0, 2.0, 2.0, 3.0, 7.0]
    for devices in (1, 2, 3, 10):
        span = makespan(jobs, devices)
        assert max(jobs) <= span and sum(jobs) / devices <= span <= sum(jobs)
    assert makespan(jobs, 1) == sum(jobs) and makespan(jobs, 10) == max(jobs)
    with pytest.raises(ValueError, match="devices must be >= 1"):
        makespan(jobs, 0)


def test_every_listed_accelerator_has_a_plausible_peak():
    assert ACCELERATORS["H100-SXM"].peak_flops == 989e12
    assert all(10e12 < a.peak_flops < 2000e12 for a in ACCELERATORS.values())


# ---------------------------------------------------------------------- machine speed
def test_machine_speed_is_measured_once_per_machine_signature(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR_REPORT_CACHE", str(tmp_path))
    calls = []

    def fake_measure(*, budget_s):
        calls.append(budget_s)
        return MachineSpeed(
            flop_rate=1e9 * len(calls),
            step_overhead_s=0.001,
            device="cpu",
            device_name="fake",
            backend="tensorflow",
            signature=speed_module.machine_signature(),
        )

    monkeypatch.setattr(speed_module, "measure_speed", fake_measure)
    first = machine_speed(budget_s=1.0)
    again = machine_speed(budget_s=1.0)
    assert len(calls) == 1 and again == first
    assert (tmp_path / "compute_speed.json").is_file()

    monkeypatch.setattr(speed_module.os, "cpu_count", lambda: 977)  # another machine
    other = machine_speed(budget_s=1.0)
    assert len(calls) == 2 and other.flop_rate == 2e9
    assert machine_speed(refresh=True).flop_rate == 3e9
    monkeypatch.setenv("KERAS_BACKEND", "jax")  # another backend: not measured yet
    assert speed_module.cached_speed() is None


def test_measure_speed_times_real_training_steps(monkeypatch):
    measured = speed_module.measure_speed(budget_s=0.5)

    assert measured.flop_rate > 1e8 and measured.step_overhead_s >= 0
    assert [p["name"] for p in measured.probes] == ["mlp_32", "s001_model_a"]
    mlp, cnn = measured.probes
    assert cnn["forward_flops_per_image"] == 53_159_936 and mlp["steps"] >= 16
    assert cnn["seconds_per_step"] > mlp["seconds_per_step"]
    assert cnn["predict_images"] == 2048 and cnn["predict_s"] > 0
    assert measured.predict_flop_rate and measured.predict_flop_rate > 1e8
    assert measured.backend == "tensorflow" and measured.device == "cpu"
