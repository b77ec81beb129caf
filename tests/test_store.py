"""The run store: keys, atomic writes, checksums, states, cleaning, locks (no Keras)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import cifar_core.runs.manifest as manifest_module
from cifar_core.experiments.variant import Variant
from cifar_core.files import temp_name
from cifar_core.project import default_runs_dir
from cifar_core.runs.keys import run_key
from cifar_core.runs.manifest import MANIFEST, RUN_FILES, file_sha256, write_manifest
from cifar_core.runs.store import DamagedRunError, RunStore, StoreNotWritable, json_ready
from tests.support.fixtures import VARIANT, flip_byte, store_run, truncate

PROJECT = Path(__file__).resolve().parents[1]


def write_fake_run(store: RunStore, fingerprint: str = "f" * 16, code=None) -> str:
    return store_run(store, VARIANT, fingerprint, code=code).key


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


def test_write_run_writes_every_file_and_a_manifest_last(tmp_path):
    store = RunStore(tmp_path)
    run = store_run(store)
    assert run.path == tmp_path / run.key and store.check(run.key).state == "cached"
    manifest = json.loads((run.path / "manifest.json").read_text())
    assert manifest["version"] == 2 and sorted(manifest["files"]) == sorted(RUN_FILES)
    entry = manifest["files"]["predictions.npz"]
    assert entry["size"] == (run.path / "predictions.npz").stat().st_size
    assert entry["sha256"] == file_sha256(run.path / "predictions.npz")
    assert run.variant == VARIANT and run.name == "mlp-small" and not run.stale
    assert run.metrics["test_accuracy"] == 0.5
    assert list(run.history["epoch"]) == [1, 2] and "lr" in run.history
    np.testing.assert_array_equal(run.predictions()["test_labels"], np.arange(4))
    assert [r.key for r in store.runs()] == [run.key]
    assert not list((tmp_path / ".tmp").iterdir()), "the temp dir was renamed away"


def test_write_run_turns_nan_into_null_and_numpy_scalars_into_numbers(tmp_path):
    run = store_run(
        RunStore(tmp_path), metrics={"val_accuracy": float("nan"), "epochs": np.int64(3)}
    )
    assert json.loads((run.path / "metrics.json").read_text()) == {
        "val_accuracy": None,
        "epochs": 3,
    }


def test_json_ready_writes_keys_as_json_dumps_does_and_refuses_what_it_refuses():
    plain = {"a": 1, 2: 2, 2.5: 3, True: 4, None: 5}
    assert json.dumps(json_ready(plain)) == json.dumps(plain)
    assert json_ready({np.int64(7): 1, np.bool_(False): 2}) == {"7": 1, "false": 2}
    with pytest.raises(TypeError, match="JSON key"):
        json_ready({(1, 2): "a tuple key"})


def test_failed_write_leaves_nothing(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(RuntimeError, match="boom"):
        with store.atomic_write("k" * 16) as directory:
            (directory / "config.json").write_text("{}")
            raise RuntimeError("boom")
    assert not (tmp_path / ("k" * 16)).exists()
    assert not list((tmp_path / ".tmp").iterdir())
    assert store.get("k" * 16) is None and store.entries() == []


@pytest.mark.parametrize("damage", [flip_byte, truncate])
@pytest.mark.parametrize("name", [*RUN_FILES, "manifest.json"])
def test_every_damaged_file_makes_the_run_corrupt_and_names_the_file(tmp_path, name, damage):
    store = RunStore(tmp_path)
    key = store_run(store).key
    damage(tmp_path / key / name)
    found = store.check(key)
    assert found.state == "corrupt" and found.file == name, found
    assert store.get(key, warn=False) is None
    row = store.entries()[0]
    assert row["state"] == "corrupt" and row["problem"].startswith(f"{name}: ")


def test_a_flip_that_keeps_size_and_time_is_found_by_full_verification_only(tmp_path):
    store = RunStore(tmp_path)
    key = store_run(store).key
    flip_byte(tmp_path / key / "predictions.npz", keep_time=True)
    assert store.check(key).usable  # size and time as recorded: not hashed
    found = store.check(key, full=True)
    assert (found.state, found.file) == ("corrupt", "predictions.npz")
    assert found.problem == "does not match its sha256 in manifest.json"
    assert store.entries(verify=True)[0]["state"] == "corrupt"


def test_a_copy_with_new_times_is_hashed_once_then_trusted(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "a")
    key = store_run(store).key
    shutil.copytree(tmp_path / "a", tmp_path / "b", copy_function=shutil.copy)  # cp -r
    copied = RunStore(tmp_path / "b")
    hashed: list[str] = []
    real = manifest_module.file_sha256
    monkeypatch.setattr(manifest_module, "file_sha256", lambda p: hashed.append(p.name) or real(p))
    assert copied.check(key).usable and sorted(hashed) == sorted(RUN_FILES)
    hashed.clear()
    assert copied.check(key).usable and hashed == []  # .verified/ remembers the new times
    truncate(tmp_path / "b" / key / "history.csv")
    assert copied.check(key).file == "history.csv"


def test_missing_manifest_is_incomplete_and_a_missing_file_is_corrupt(tmp_path):
    store = RunStore(tmp_path)
    key = store_run(store).key
    (tmp_path / key / "model.keras").unlink()
    assert store.check(key).describe() == "model.keras: missing"
    (tmp_path / key / "manifest.json").unlink()
    assert store.check(key).state == "incomplete"
    assert store.check("0" * 16).state == "missing"


def test_a_damaged_run_is_moved_aside_with_the_reason_and_rewritten(tmp_path):
    store = RunStore(tmp_path)
    key = store_run(store).key
    truncate(tmp_path / key / "predictions.npz")
    aside = store.set_aside(store.check(key))
    assert (
        aside is not None
        and aside.parent == tmp_path / ".corrupt"
        and not store.run_dir(key).exists()
    )
    reason = json.loads(aside.with_suffix(".json").read_text())
    assert reason["file"] == "predictions.npz" and reason["variant"] == "mlp-small"
    assert "truncated" in reason["problem"] and reason["state"] == "corrupt"
    assert [row["key"] for row in store.set_aside_entries()] == [key]
    assert store_run(store).key == key and store.check(key).usable  # trained again
    assert aside.is_dir()  # kept until clean
    assert set(store.clean()) == {aside, aside.with_suffix(".json")}
    assert store.set_aside_entries() == [] and store.check(key).usable


def test_writing_over_a_corrupt_entry_moves_it_aside(tmp_path):
    store = RunStore(tmp_path)
    key = store_run(store).key
    flip_byte(tmp_path / key / "metrics.json")
    store_run(store)
    assert store.check(key).usable and len(store.set_aside_entries()) == 1


def test_a_run_that_passes_the_check_but_cannot_be_read_names_the_file_and_the_fix(tmp_path):
    store = RunStore(tmp_path)
    run = store_run(store)
    flip_byte(run.path / "predictions.npz", keep_time=True)
    with pytest.raises(DamagedRunError) as error:
        store.get(run.key).predictions()
    message = str(error.value)
    assert f"run mlp-small [{run.key}]" in message and "predictions.npz cannot be read" in message
    assert "cifar-report build --verify" in message


def test_states_and_clean(tmp_path):
    store = RunStore(tmp_path)
    cached = write_fake_run(store)
    stale = write_fake_run(store, fingerprint="s" * 16, code="old-training-code")
    broken = write_fake_run(store, fingerprint="b" * 16)
    (tmp_path / broken / "history.csv").write_text("tampered")
    unfinished = tmp_path / ("u" * 16)
    unfinished.mkdir()
    orphan = tmp_path / ".tmp" / f"{'o' * 16}-pid999999999-abcd"
    orphan.mkdir()
    live = tmp_path / ".tmp" / f"{'l' * 16}-pid1-abcd"
    live.mkdir()
    ours = tmp_path / ".tmp" / temp_name("q" * 16)
    ours.mkdir()
    leftover_partial = store.partial_dir(cached)
    leftover_partial.mkdir(parents=True)
    resumable_partial = store.partial_dir("r" * 16)
    (resumable_partial / "backup").mkdir(parents=True)
    (resumable_partial / "backup" / "training_metadata.json").write_text('{"epoch": 1}')
    (resumable_partial / "backup" / "latest.weights.h5").write_bytes(b"weights")
    (resumable_partial / "history.csv").write_text("epoch,loss\n0,2.3\n")
    killed_early = store.partial_dir("k" * 16)  # killed before its first backup
    (killed_early / "history.csv").parent.mkdir(parents=True)
    (killed_early / "history.csv").write_text("epoch,loss\n")
    derived = tmp_path / ".derived" / cached
    derived.mkdir(parents=True)
    (derived / ".flip-v2.pid999999999.x.tmp").write_bytes(b"half")
    (derived / f".tta-v2.pid{os.getpid()}.x.tmp").write_bytes(b"being written")
    states = {row["key"]: row["state"] for row in store.entries(verify=True)}
    assert states == {cached: "cached", stale: "stale", broken: "corrupt", "u" * 16: "incomplete"}
    assert {r.key for r in store.runs()} == {cached, stale}

    trash = tmp_path / f".trash-{'t' * 16}-abcd"
    (trash / "model.keras").parent.mkdir(parents=True)
    (trash / "model.keras").write_bytes(b"left by an interrupted removal")

    leftovers = {orphan, leftover_partial, killed_early, trash}
    leftovers.add(derived / ".flip-v2.pid999999999.x.tmp")
    assert set(store.leftovers()) == leftovers
    expected = {tmp_path / broken, unfinished} | leftovers
    with store.lock("l" * 16):  # a live trainer owns `live`
        assert set(store.clean(dry_run=True)) == expected
        assert all(path.exists() for path in expected)
        assert set(store.clean(stale=True, dry_run=True)) == expected | {tmp_path / stale}
        assert set(store.clean(stale=True)) == expected | {tmp_path / stale}
    assert not any(path.exists() for path in expected)
    assert live.exists() and ours.exists() and resumable_partial.exists()
    assert [row["key"] for row in store.entries()] == [cached]


@pytest.mark.parametrize("name", ["config.json", "metrics.json"])
def test_clean_removes_a_run_whose_files_match_their_checksums_but_cannot_be_read(tmp_path, name):
    """A run written unreadable (its manifest lists the bad bytes) is corrupt to status,
    and clean removes it instead of stopping on it (or keeping it)."""
    store = RunStore(tmp_path)
    run = store_run(store)
    (run.path / name).write_text("{not json")
    (run.path / MANIFEST).unlink()
    write_manifest(run.path)
    [row] = store.entries(verify=True)
    assert row["state"] == "corrupt" and f"{name} cannot be read" in row["problem"]
    assert store.clean(dry_run=True) == [run.path] and run.path.exists()
    assert store.clean() == [run.path] and not run.path.exists()


def test_clean_never_removes_a_run_that_a_live_build_is_writing(tmp_path):
    """A build holds the key's lock while it replaces an incomplete entry with the real
    run; `clean` running meanwhile must leave that run in place."""
    store = RunStore(tmp_path)
    key = run_key(VARIANT, "f" * 16)
    (tmp_path / key).mkdir()
    (tmp_path / key / "config.json").write_text("{}")  # incomplete: no manifest
    writer = (
        f"import sys, time; sys.path.insert(0, {str(PROJECT)!r})\n"
        "from tests.support.fixtures import store_run; from cifar_core.runs.store import RunStore\n"
        f"store = RunStore({str(tmp_path)!r})\n"
        f"with store.lock({key!r}):\n"
        "    print('locked', flush=True); time.sleep(1.5); store_run(store)\n"
    )
    build = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    assert build.stdout.readline().strip() == "locked"
    assert store.clean() == []  # the incomplete entry is the live build's: left alone
    assert build.wait(timeout=60) == 0
    assert store.get(key) is not None
    assert store.clean() == [] and store.get(key) is not None


def test_a_store_that_cannot_be_written_is_refused_before_anything_is_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreNotWritable, match=r"the run store .* cannot be written .*--runs DIR"):
        RunStore(blocker / "runs").check_writable()
    RunStore(tmp_path / "runs").check_writable()
    assert list((tmp_path / "runs" / ".tmp").iterdir()) == []


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


def test_status_names_the_damaged_file_and_clean_removes_what_was_set_aside(tmp_path, capsys):
    from cifar_core.cli import main

    store = RunStore(tmp_path)
    good, bad = write_fake_run(store), write_fake_run(store, fingerprint="b" * 16)
    flip_byte(tmp_path / bad / "predictions.npz", keep_time=True)
    assert main(["status", "--runs", str(tmp_path)]) == 0
    assert " corrupt" not in capsys.readouterr().out  # size and time as recorded
    assert main(["status", "--runs", str(tmp_path), "--verify"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if bad in line)
    assert "corrupt" in row and "predictions.npz: does not match its sha256" in row
    assert "1 damaged run(s): `cifar-report build` moves them aside" in out
    aside = store.set_aside(store.check(bad, full=True))
    assert main(["status", "--runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "damaged runs moved aside (1; `cifar-report clean` removes them):" in out
    assert f"{aside.name}: mlp-small - predictions.npz: does not match" in out
    assert main(["clean", "--runs", str(tmp_path)]) == 0
    assert "removed 2 entries" in capsys.readouterr().out
    assert store.set_aside_entries() == [] and store.check(good).usable


def test_a_store_write_error_is_exit_1_with_its_message(tmp_path, monkeypatch, capsys):
    """The CLI's handling of :class:`RunStoreError` (a full disk while a run is written,
    tests/test_faults.py): one line on stderr and exit 1."""
    from cifar_core.cli import main
    from cifar_core.runs.store import RunStoreError

    def full_disk(self, *args, **kwargs):
        raise RunStoreError("could not write run x [k]: No space left on device")

    monkeypatch.setattr(RunStore, "entries", full_disk)
    assert main(["status", "--runs", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        "error: could not write run x [k]: No space left on device\n"
    )
