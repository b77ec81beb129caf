"""Planning which runs exist, which to train and which cannot run on this machine; a
damaged run is said, moved aside and trained again; a store that cannot be written is
refused before anything trains."""

from __future__ import annotations

import pytest

from cifar_core.experiments import catalog
from cifar_core.runs.ensure import ensure_runs, plan_runs
from cifar_core.runs.keys import run_key
from cifar_core.runs.store import RunStore, StoreNotWritable
from tests.support.fixtures import FakeTrainer, store_run


class Data:
    fingerprint = "f" * 16


def test_plan_says_what_is_reused_trained_and_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("CIFAR_REPORT_VGG16_WEIGHTS", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # no weights anywhere: simply not run
    cached, missing, refused = catalog.plan(
        "demo", names=["s000_cnn2", "s004_cnn", "s003_vgg16_b3"]
    )
    store = RunStore(tmp_path / "runs")
    cached_key = store_run(store, cached).key
    plan = plan_runs([cached, missing, refused], "f" * 16, store)
    assert plan.runs[cached_key].key == cached_key and list(plan.runs.values()).count(None) == 2
    assert plan.missing == [missing] and list(plan.refused) == ["s003_vgg16_b3"]
    assert plan.damaged == []
    assert plan.summary().startswith(
        "runs: 1 of 3 reused from the store, 1 to train, 1 cannot run here (s003_vgg16_b3: "
        "VGG16 ImageNet weights not found"
    )


def test_a_corrupt_run_is_said_moved_aside_and_trained_again(tmp_path):
    good, bad = catalog.plan("demo", names=["s000_cnn2", "s004_cnn"])
    store = RunStore(tmp_path / "runs")
    store_run(store, good)
    bad_key = store_run(store, bad).key
    (store.run_dir(bad_key) / "predictions.npz").write_bytes(b"not an archive")
    plan = plan_runs([good, bad], "f" * 16, store)
    assert plan.missing == [bad] and [name for name, _ in plan.damaged] == ["s004_cnn"]
    assert plan.summary() == "runs: 1 of 2 reused from the store, 1 to train (1 of them corrupt)"
    (line,) = plan.damage_lines()
    assert line.startswith(f"corrupt run s004_cnn [{bad_key}]: predictions.npz: ")
    assert "moved aside (kept until `cifar-report clean`) and trained again" in line
    executor, logged = FakeTrainer(), []
    ensure_runs([good, bad], Data(), store, executor=executor, plan=plan, log=logged.append)
    assert executor.trained == ["s004_cnn"] and store.check(bad_key).usable
    (aside,) = store.set_aside_entries()
    assert aside["file"] == "predictions.npz" and aside["variant"] == "s004_cnn"
    assert any(line.startswith(f"moved corrupt run s004_cnn [{bad_key}] aside") for line in logged)
    assert plan_runs([good, bad], "f" * 16, store).missing == []


def test_a_store_that_cannot_be_written_is_refused_before_training(tmp_path):
    (variant,) = catalog.plan("demo", names=["s000_cnn2"])
    (tmp_path / "file").write_text("a file where the store should be")
    store = RunStore(tmp_path / "file" / "runs")
    executor = FakeTrainer()
    with pytest.raises(StoreNotWritable, match="cannot be written"):
        ensure_runs([variant], Data(), store, executor=executor, log=lambda _: None)
    assert executor.trained == []
    assert run_key(variant, "f" * 16)  # planning itself needed no write
