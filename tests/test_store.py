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

import cifar_core.runs.store as store_module
from cifar_core.experiments.variant import Variant
from cifar_core.project import default_runs_dir
from cifar_core.runs.keys import key_inputs, run_key
from cifar_core.runs.store import RunStore

PROJECT = Path(__file__).resolve().parents[1]

VARIANT = Variant.from_dict(
    {"name": "mlp-small", "family": "mlp", "params": {"units": [8]}, "epochs": 2}
)


def write_fake_run(
    store: RunStore,
    variant: Variant = VARIANT,
    fingerprint: str = "f" * 16,
    code: str | None = None,
) -> str:
    """A run entry with every file a real one has (the model is placeholder bytes);
    ``code`` replaces the training-code hash it was trained with."""
    key = run_key(variant, fingerprint)
    inputs = key_inputs(variant, fingerprint)
    if code is not None:
        inputs["training_code"] = code
    with store.atomic_write(key) as directory:
        config = {
            "key": key,
            "key_inputs": inputs,
            "variant": variant.to_dict(),
            "dataset": {"fingerprint": fingerprint, "source": "test", "synthetic": True},
        }
        (directory / "config.json").write_text(json.dumps(config))
        (directory / "metrics.json").write_text(
            json.dumps({"test_accuracy": 0.5, "wall_time_s": 1.5})
        )
        (directory / "history.csv").write_text(
            "epoch,loss,accuracy,val_loss,val_accuracy,lr\n"
            "1,2.0,0.2,2.1,0.2,0.001\n2,1.5,0.4,1.8,0.3,0.001\n"
        )
        np.savez(
            directory / "predictions.npz",
            test_probs=np.full((4, 10), 0.1),
            test_labels=np.arange(4),
            test_indices=np.arange(4),
        )
        (directory / "model.keras").write_bytes(b"model")
    return key


def test_run_key_hashes_config_data_code_and_environment(monkeypatch):
    key = run_key(VARIANT, "a" * 16)
    assert len(key) == 16 and int(key, 16) >= 0
    assert run_key(VARIANT.replace(name="other-name"), "a" * 16) == key
    assert run_key(VARIANT.replace(epochs=3), "a" * 16) != key
    assert run_key(VARIANT, "b" * 16) != key
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert run_key(VARIANT, "a" * 16) != key
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setenv("CIFAR_REPORT_MIXED_PRECISION", "0")
    assert run_key(VARIANT, "a" * 16) == key  # precision only changes on a GPU


def test_one_config_spelled_two_ways_has_one_key():
    implicit = Variant.from_dict(
        {
            "name": "a",
            "family": "cnn",
            "params": {"blocks": [[32]]},
            "schedule": "cosine",
            "learning_rate": 1,
        }
    )
    explicit = Variant.from_dict(
        {
            "name": "b",
            "family": "cnn",
            "params": {
                "blocks": [[32]],
                "kernel_size": 3,
                "padding": "valid",
                "pool": "max",
                "dense": [],
            },
            "schedule": "cosine",
            "schedule_params": {"warmup_fraction": 0.0},
            "learning_rate": 1.0,
            "momentum": 0,
        }
    )
    assert run_key(implicit, "a" * 16) == run_key(explicit, "a" * 16)
    other = explicit.replace(params={**explicit.params, "kernel_size": 5})
    assert run_key(other, "a" * 16) != run_key(implicit, "a" * 16)


def test_family_defaults_read_without_keras_agree_with_the_registry():
    from cifar_core.models import families, family_parameters
    from cifar_core.models.signatures import family_defaults

    for family in families():
        declared = {
            k: v
            for k, v in family_parameters(family).items()
            if v is not __import__("inspect").Parameter.empty
        }
        assert family_defaults(family) == declared, family


def _key_in_copy(package_parent: Path) -> str:
    code = (
        "from cifar_core.experiments.variant import Variant; from cifar_core.runs.keys import run_key;"
        "print(run_key(Variant(name='m', family='mlp', params={'units': [8]}), 'f' * 16))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=package_parent,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(package_parent)},
    )
    return done.stdout.strip()


def test_touching_a_training_module_changes_the_key_and_a_report_module_does_not(tmp_path):
    import shutil

    shutil.copytree(
        PROJECT / "cifar_core",
        tmp_path / "cifar_core",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    before = _key_in_copy(tmp_path)
    plots = tmp_path / "cifar_core" / "analysis" / "plots.py"
    plots.write_text(plots.read_text() + "\n# an edit outside the training path\n")
    assert _key_in_copy(tmp_path) == before
    augmentation = tmp_path / "cifar_core" / "runs" / "augmentation.py"
    augmentation.write_text(augmentation.read_text() + "\n# an edit on the training path\n")
    assert _key_in_copy(tmp_path) != before


def test_training_path_is_found_by_following_imports():
    from cifar_core.runs.keys import training_modules

    modules = training_modules()
    for expected in (
        "cifar_core.runs.train",
        "cifar_core.runs.augmentation",
        "cifar_core.runs.schedules",
        "cifar_core.data.preprocessing",
        "cifar_core.data.splits",
        "cifar_core.models.cnn",
        "cifar_core.models.flagship",
        "cifar_core.experiments.variant",
    ):
        assert expected in modules
    assert "cifar_core.runs.store" not in modules and "cifar_core.analysis.plots" not in modules


def test_default_root_is_project_runs_or_env(monkeypatch, tmp_path):
    monkeypatch.delenv("CIFAR_REPORT_RUNS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert RunStore().root == tmp_path / "runs" == default_runs_dir()
    (tmp_path / "analyses").mkdir()
    (tmp_path / "_quarto.yml").write_text("project: {}\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert RunStore().root == tmp_path / "runs"  # the project's store, from a subfolder
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


@pytest.mark.parametrize(
    "damage, bad_file",
    [
        (lambda d: (d / "metrics.json").write_text('{"test_accuracy": 0.99}'), "metrics.json"),
        (lambda d: (d / "model.keras").unlink(), "model.keras"),
        (lambda d: (d / "manifest.json").unlink(), "manifest.json"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "manifest.json"),
    ],
)
def test_damaged_run_is_reported_and_not_reused(tmp_path, caplog, damage, bad_file):
    store = RunStore(tmp_path)
    key = write_fake_run(store)
    assert store.get(key) is not None  # verified once, then damaged
    damage(tmp_path / key)
    with caplog.at_level(logging.WARNING, logger="cifar_core.runs.store"):
        assert store.get(key) is None
    assert f"run {key} is incomplete/corrupt ({bad_file}): will retrain" in caplog.text
    assert store.entries(verify=True)[0]["state"] == "incomplete"
    assert store.entries(verify=True)[0]["variant"] == "mlp-small"


def test_states_and_clean(tmp_path):
    store = RunStore(tmp_path)
    cached = write_fake_run(store)
    stale = write_fake_run(store, fingerprint="s" * 16, code="old-training-code")
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
    states = {row["key"]: row["state"] for row in store.entries(verify=True)}
    assert states == {cached: "cached", stale: "stale", broken: "incomplete"}
    assert {r.key for r in store.runs()} == {cached, stale}

    trash = tmp_path / f".trash-{'t' * 16}-abcd"
    (trash / "model.keras").parent.mkdir(parents=True)
    (trash / "model.keras").write_bytes(b"left by an interrupted removal")
    assert {r["key"]: r["state"] for r in store.entries()}[broken] == "cached"  # not verified

    expected = {tmp_path / broken, orphan, leftover_partial, trash}
    with store.lock("l" * 16):  # a live trainer owns `live`
        assert set(store.clean(dry_run=True)) == expected
        assert all(path.exists() for path in expected)
        assert set(store.clean(stale=True, dry_run=True)) == expected | {tmp_path / stale}
        assert set(store.clean(stale=True)) == expected | {tmp_path / stale}
    assert not any(path.exists() for path in expected)
    assert live.exists() and resumable_partial.exists()
    assert [row["key"] for row in store.entries()] == [cached]


def test_clean_never_removes_a_run_that_a_live_build_is_writing(tmp_path):
    """A build holds the key's lock while it replaces an incomplete entry with the real
    run; `clean` running meanwhile must leave that run in place."""
    store = RunStore(tmp_path)
    key = run_key(VARIANT, "f" * 16)
    (tmp_path / key).mkdir()
    (tmp_path / key / "config.json").write_text("{}")  # incomplete: no manifest
    writer = (
        f"import sys, time; sys.path.insert(0, {str(PROJECT)!r})\n"
        "from tests.test_store import write_fake_run; from cifar_core.runs.store import RunStore\n"
        f"store = RunStore({str(tmp_path)!r})\n"
        f"with store.lock({key!r}):\n"
        "    print('locked', flush=True); time.sleep(1.5); write_fake_run(store)\n"
    )
    build = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    assert build.stdout.readline().strip() == "locked"
    assert store.clean() == []  # the incomplete entry is the live build's: left alone
    assert build.wait(timeout=60) == 0
    assert store.get(key) is not None
    assert store.clean() == [] and store.get(key) is not None


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
    assert events == [
        f"waiting   for another process training [{'x' * 16}] …",
        "first releases",
        "second got it",
    ]
    assert not store.is_locked("x" * 16)


def test_read_side_does_not_import_keras():
    code = (
        "import sys, cifar_core.runs.store, cifar_core.cli; "
        "print(sorted(m for m in ('keras', 'tensorflow', 'torch', 'jax') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        check=True,
    )
    assert result.stdout.strip() == "[]"
