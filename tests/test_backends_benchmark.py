"""``benchmarks/backends.py``: what it plans, how it summarizes, and that its record is
what ``auto`` (:mod:`cifar_core.runs.compute_choice`) reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cifar_core.runs import compute_choice
from tests.support.fixtures import load_benchmark

ROOT = Path(__file__).resolve().parents[1]
backends = load_benchmark("backends")


def test_the_full_plan_interleaves_settings_and_checks_reproducibility_once():
    runs, layouts = backends.plan(backends.parse_args(["--data", "synthetic"]))
    assert len(runs) == (3 * (len(backends.FAMILIES) - 1) + 1) * len(backends.SETTINGS)
    first = runs[: len(backends.SETTINGS)]
    assert [r["setting"] for r in first] == list(backends.SETTINGS)
    assert {(r["family"], r["seed"]) for r in first} == {("s000_cnn1", 0)}
    assert {(r["family"], r["seed"]) for r in runs if r["repeat"]} == {("s000_cnn1", 0)}
    wrn = next(r for r in runs if r["family"] == "s002_wrn_16_8")
    assert wrn["steps"] == 4 and next(r for r in runs if r["family"] == "flagship")["epochs"] == 64
    cores = os.cpu_count() or 1
    assert {layout["processes"] for layout in layouts} == {1, cores} or cores == 1
    assert all(layout["setting"] == compute_choice.REFERENCE for layout in layouts)


def test_the_quick_plan_is_one_seed_of_short_runs():
    args = backends.parse_args(["--quick", "--thread-settings"])
    runs, layouts = backends.plan(args)
    assert {r["seed"] for r in runs} == {0} and layouts == []
    assert max(r["epochs"] for r in runs) == 2 and args.json == backends.QUICK_JSON


def _run(setting, family, seed, seconds, accuracy):
    return {
        "setting": setting,
        "family": family,
        "seed": seed,
        "epoch_seconds": [seconds / 2, seconds / 2],
        "fit_seconds": seconds,
        "images_per_s": 1000 / seconds,
        "accuracy_curve": [accuracy - 0.1, accuracy],
        "final_plain_accuracy": accuracy,
        "final_accuracy": accuracy,
        "finite": True,
        "jit_compiled": False,
        "error": None,
    }


def test_the_summary_shows_speed_and_an_accuracy_loss_with_intervals():
    runs = [
        _run(setting, "flagship", seed, seconds, accuracy + 0.003 * seed)
        for seed in range(3)
        for setting, seconds, accuracy in (
            ("tensorflow:float32", 10.0, 0.80),
            ("tensorflow:mixed_bfloat16", 8.0, 0.78),
        )
    ]
    summary = backends.summarize({"runs": runs})
    bf16 = summary["by_setting"]["tensorflow:mixed_bfloat16"]["flagship"]
    assert bf16["speedup"] == pytest.approx(1.25)
    low, high = bf16["accuracy_minus_reference"]["ci95"]
    assert low < -0.02 < high and high < 0  # the loss is visible: the interval excludes 0
    assert (
        bf16["accuracy"]["n"] == 3
        and bf16["accuracy"]["ci95"][0] < 0.783 < bf16["accuracy"]["ci95"][1]
    )
    assert bf16["time_to_target_median"] == 8.0  # 95 % of 80.3 % is reached in epoch 2
    assert summary["speedup_geomean"]["tensorflow:mixed_bfloat16"] == pytest.approx(1.25)


@pytest.mark.slow
def test_a_quick_run_writes_a_record_that_auto_reads_and_ignores(tmp_path):
    record_path = tmp_path / "backends.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    argv = ["--data", "synthetic", "--quick", "--settings", "tensorflow", "--families", "s000_cnn1"]
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "backends.py"),
            *argv,
            "--thread-settings",
            "--json",
            str(record_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        "auto would choose: tensorflow:float32 (the measurement is a --quick check" in result.stdout
    )
    record = json.loads(record_path.read_text())
    assert record["complete"] and record["quick"] and record["runs"][0]["deterministic"] is True
    assert record["runs"][0]["finite"] and record["versions"]["tensorflow:float32"]["keras"]
    loaded = compute_choice.load_measurement(record_path)
    winner, reason = compute_choice.pick(
        loaded,
        record["device_signature"],
        compute_choice.Setting("tensorflow"),
        [compute_choice.Setting("tensorflow")],
    )
    assert winner is None and "--quick" in reason


def test_a_setting_far_slower_than_the_reference_runs_one_seed():
    runs = [
        _run("tensorflow:float32", "flagship", 0, 10.0, 0.8),
        _run("jax:float32", "flagship", 0, 40.0, 0.8),
        _run("torch:float32", "flagship", 0, 20.0, 0.8),
    ]
    assert "4.0x slower" in backends.too_slow(runs, "jax:float32", "flagship")
    assert backends.stop_after(runs, "jax:float32", "flagship") == 30.0
    assert backends.stop_after(runs, "tensorflow:float32", "flagship") is None
    assert backends.too_slow(runs, "torch:float32", "flagship") is None
    assert backends.too_slow(runs, "tensorflow:float32", "flagship") is None


def test_the_committed_record_shows_its_table_with_command_machine_and_versions(capsys):
    assert backends.main(["--show", "--json", str(backends.QUICK_JSON)]) == 0
    printed = capsys.readouterr().out
    record = json.loads(backends.QUICK_JSON.read_text())
    assert f"command : {record['command']}" in printed
    assert (
        f"machine : {record['machine']['cpu_model']}, {record['machine']['cpu_count']} cores"
        in printed
    )
    assert "versions: tensorflow:float32" in printed and "tensorflow 2." in printed
    for family in record["config"]["families"]:
        assert f"\n{family} (" in printed
    assert "auto would choose: tensorflow:float32 (the measurement is a --quick check" in printed
