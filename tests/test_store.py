"""The run store: keys, atomic writes, checksums, states, cleaning, locks (no Keras)."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import cifar_core.store as store_module
from cifar_core.store import RunStore, default_runs_dir, run_key
from cifar_core.variants import Variant
from cifar_core.version import TRAINING_CODE_VERSION

VARIANT = Variant.from_dict({"name": "mlp-small", "family": "mlp", "params": {"units": [8]},
                             "epochs": 2})


def write_fake_run(store: RunStore, variant: Variant = VARIANT, fingerprint: str = "f" * 16,
                   version: str = TRAINING_CODE_VERSION) -> str:
    """A run entry with every file a real one has (the model is placeholder bytes)."""
    key = run_key(variant, fingerprint)
    with store.atomic_write(key) as directory:
        config = {"key": key, "training_code_version": version, "variant": variant.to_dict(),
                  "dataset": {"fingerprint": fingerprint, "source": "test", "synthetic": True}}
        (directory / "config.json").write_text(json.dumps(config))
        (directory / "metrics.json").write_text(json.dumps({"test_accuracy": 0.5,
                                                            "wall_time_s": 1.5}))
        (directory / "history.csv").write_text("epoch,loss,accuracy,val_loss,val_accuracy,lr\n"
                                               "1,2.0,0.2,2.1,0.2,0.001\n2,1.5,0.4,1.8,0.3,0.001\n")
        np.savez(directory / "predictions.npz", test_probs=np.full((4, 10), 0.1),
                 test_labels=np.arange(4), test_indices=np.arange(4))
        (directory / "model.keras").write_bytes(b"model")
    return key


def test_run_key_hashes_config_data_and_code_version(monkeypatch):
    key = run_key(VARIANT, "a" * 16)
    assert len(key) == 16 and int(key, 16) >= 0
    assert run_key(VARIANT.replace(name="other-name"), "a" * 16) == key
    assert run_key(VARIANT.replace(epochs=3), "a" * 16) != key
    assert run_key(VARIANT, "b" * 16) != key
    monkeypatch.setattr(store_module, "TRAINING_CODE_VERSION", "changed")
    assert run_key(VARIANT, "a" * 16) != key


def test_default_root_is_cwd_runs_or_env(monkeypatch, tmp_path):
    monkeypatch.delenv("CIFAR_REPORT_RUNS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert RunStore().root == tmp_path / "runs" == default_runs_dir()
    monkeypatch.setenv("CIFAR_REPORT_RUNS", str(tmp_path / "elsewhere"))
    assert RunStore().root == tmp_path / "elsewhere"
    assert RunStore(tmp_path / "given").root == tmp_path / "given"


def test_complete_run_reads_back(tmp_path):
    store = RunStore(tmp_path)
    key = write_fake_run(store)
    run = store.get(key)
    assert run is not None and run.path == tmp_path / key
    manifest = json.loads((run.path / "manifest.json").read_text())["files"]
    assert sorted(manifest) == sorted(store_module.RUN_FILES)
    assert run.variant == VARIANT and run.name == "mlp-small" and not run.stale
    assert run.metrics["test_accuracy"] == 0.5
    assert list(run.history["epoch"]) == [1, 2] and "lr" in run.history
    np.testing.assert_array_equal(run.predictions()["test_labels"], np.arange(4))
    assert [r.key for r in store.runs()] == [key]
    assert not list((tmp_path / ".tmp").iterdir()), "the temp dir was renamed away"


def test_failed_write_leaves_nothing(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(RuntimeError, match="boom"):
        with store.atomic_write("k" * 16) as directory:
            (directory / "config.json").write_text("{}")
            raise RuntimeError("boom")
    assert not (tmp_path / ("k" * 16)).exists()
    assert not list((tmp_path / ".tmp").iterdir())
    assert store.get("k" * 16) is None and store.entries() == []


@pytest.mark.parametrize("damage, bad_file", [
    (lambda d: (d / "metrics.json").write_text('{"test_accuracy": 0.99}'), "metrics.json"),
    (lambda d: (d / "model.keras").unlink(), "model.keras"),
    (lambda d: (d / "manifest.json").unlink(), "manifest.json"),
    (lambda d: (d / "manifest.json").write_text("{not json"), "manifest.json"),
])
def test_damaged_run_is_reported_and_not_reused(tmp_path, caplog, damage, bad_file):
    store = RunStore(tmp_path)
    key = write_fake_run(store)
    assert store.get(key) is not None  # verified once, then damaged
    damage(tmp_path / key)
    with caplog.at_level(logging.WARNING, logger="cifar_core.store"):
        assert store.get(key) is None
    assert f"run {key} is incomplete/corrupt ({bad_file}): will retrain" in caplog.text
    assert store.entries()[0]["state"] == "incomplete"
    assert store.entries()[0]["variant"] == "mlp-small"


def test_states_and_clean(tmp_path):
    store = RunStore(tmp_path)
    cached = write_fake_run(store)
    stale = write_fake_run(store, fingerprint="s" * 16, version="0-old")
    broken = write_fake_run(store, fingerprint="b" * 16)
    (tmp_path / broken / "history.csv").write_text("tampered")
    orphan = tmp_path / ".tmp" / f"{'o' * 16}-999999-abcd"
    orphan.mkdir()
    live = tmp_path / ".tmp" / f"{'l' * 16}-1-abcd"
    live.mkdir()
    leftover_partial = store.partial_dir(cached)
    leftover_partial.mkdir(parents=True)
    resumable_partial = store.partial_dir("r" * 16)
    resumable_partial.mkdir(parents=True)
    states = {row["key"]: row["state"] for row in store.entries()}
    assert states == {cached: "cached", stale: "stale", broken: "incomplete"}
    assert {r.key for r in store.runs()} == {cached, stale}

    expected = {tmp_path / stale, tmp_path / broken, orphan, leftover_partial}
    with store.lock("l" * 16):  # a live trainer owns `live`
        assert set(store.clean(dry_run=True)) == expected
        assert all(path.exists() for path in expected)
        assert set(store.clean()) == expected
    assert not any(path.exists() for path in expected)
    assert live.exists() and resumable_partial.exists()
    assert [row["key"] for row in store.entries()] == [cached]


def test_lock_makes_a_second_holder_wait(tmp_path):
    store = RunStore(tmp_path)
    events: list[str] = []

    def second():
        with store.lock("x" * 16, log=events.append):
            events.append("second got it")

    with store.lock("x" * 16):
        assert store.is_locked("x" * 16)
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        events.append("first releases")
    thread.join(timeout=10)
    assert events == [f"waiting   for another process training [{'x' * 16}] …",
                      "first releases", "second got it"]
    assert not store.is_locked("x" * 16)


def test_read_side_does_not_import_keras():
    code = ("import sys, cifar_core.store, cifar_core.cli; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'torch', 'jax') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], check=True)
    assert result.stdout.strip() == "[]"
