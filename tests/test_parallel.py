"""Parallel training: --jobs parsing, worker processes, and that they fill the store."""

from __future__ import annotations

import os
import re

import pytest

from cifar_core.experiments.variant import Variant
from cifar_core.runs.executors import local
from cifar_core.runs.executors.local import parse_jobs, resolve_jobs, train_runs
from cifar_core.runs.keys import run_key
from cifar_core.runs.store import RunStore

TINY = {
    "family": "mlp",
    "params": {"units": [16]},
    "epochs": 1,
    "batch_size": 50,
    "preprocessing": "unit",
}


@pytest.mark.parametrize("text, expected", [("auto", "auto"), ("AUTO", "auto"), ("3", 3)])
def test_parse_jobs(text, expected):
    assert parse_jobs(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5", ""])
def test_parse_jobs_refuses_what_is_not_a_count(text):
    with pytest.raises(ValueError, match="--jobs takes a whole number >= 1 or 'auto'"):
        parse_jobs(text)


def test_resolve_jobs_never_exceeds_the_runs_or_the_auto_cap(monkeypatch):
    assert resolve_jobs(8, runs=3) == 3
    assert resolve_jobs(2, runs=0) == 1
    monkeypatch.setenv("CIFAR_REPORT_DEVICE", "cpu")
    assert 1 <= resolve_jobs("auto", runs=100) <= min(os.cpu_count() or 1, 4)
    with pytest.raises(ValueError, match="jobs is 0"):
        resolve_jobs(0, runs=3)


def test_two_workers_train_different_runs_into_the_store(tiny_dataset, tmp_path, capfd):
    store = RunStore(tmp_path / "runs")
    variants = [Variant.from_dict({**TINY, "name": f"tiny{i}", "seed": i}) for i in range(3)]

    runs = train_runs(variants, tiny_dataset, store, jobs=2, log=print)

    assert [r.key for r in runs] == [run_key(v, tiny_dataset.fingerprint) for v in variants]
    assert all(store.get(r.key) is not None for r in runs)
    output = capfd.readouterr().out
    assert "in 2 worker processes" in output
    trainers = set(re.findall(r"\[worker (\d+)\] done", output))
    assert len(re.findall(r"\[worker \d+\] done", output)) == 3
    assert len(trainers) == 2 and str(os.getpid()) not in trainers
    assert "[3/3] finished" in output

    again = train_runs(variants[:1], tiny_dataset, store, jobs=2, log=print)
    assert again[0].key == runs[0].key
    assert "reused" in capfd.readouterr().out


def test_a_worker_is_replaced_after_the_runs_its_memory_budget_allows(
    tiny_dataset, tmp_path, capfd, monkeypatch
):
    # A worker keeps memory from every run it trains; with a budget of one run, each run
    # gets a fresh process, and the runs are the same as a long-lived worker's.
    monkeypatch.setattr(local, "WORKER_LEAK_BUDGET", 1)
    assert local.runs_per_worker(tiny_dataset) == 1
    variants = [Variant.from_dict({**TINY, "name": f"tiny{i}", "seed": i}) for i in range(3)]

    runs = train_runs(variants, tiny_dataset, RunStore(tmp_path / "runs"), jobs=2, log=print)

    output = capfd.readouterr().out
    assert "a fresh process every 1 run(s)" in output
    trainers = re.findall(r"\[worker (\d+)\] done", output)
    assert len(trainers) == 3 and len(set(trainers)) == 3
    assert [r.key for r in runs] == [run_key(v, tiny_dataset.fingerprint) for v in variants]
