"""Training: fit, callbacks, schedules, augmentation, determinism, resume, concurrency.

Everything trains a tiny MLP on a few hundred generated 32×32 images for a few epochs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from cifar_core.data.dataset import Dataset  # noqa: E402
from cifar_core.data.preprocessing import Preprocessor  # noqa: E402
from cifar_core.experiments.variant import Variant, VariantError  # noqa: E402
from cifar_core.runs.augmentation import augmentation_layers, finalize_model  # noqa: E402
from cifar_core.runs.callbacks import KILL_ENV  # noqa: E402
from cifar_core.runs.keys import run_key  # noqa: E402
from cifar_core.runs.predict import predict  # noqa: E402
from cifar_core.runs.schedules import learning_rate_for  # noqa: E402
from cifar_core.runs.store import RunStore  # noqa: E402
from cifar_core.runs.train import (  # noqa: E402
    HISTORY_COLUMNS,
    _train_and_store,
    get_or_train,
    make_optimizer,
    train_many,
)

ROOT = Path(__file__).resolve().parents[1]

DATASET_CODE = """
import numpy as np
from cifar_core.data.dataset import Dataset

def tiny_dataset(n_train=200, n_test=60, seed=0):
    '''Ten classes, each a distinct mean colour plus noise: an MLP learns it in 2 epochs.'''
    rng = np.random.default_rng(seed)
    colours = rng.integers(30, 225, size=(10, 3))
    def draw(n):
        labels = np.arange(n) % 10
        noise = rng.normal(0, 20, size=(n, 32, 32, 3))
        images = np.clip(colours[labels][:, None, None, :] + noise, 0, 255).astype(np.uint8)
        return images, labels.astype(np.int64)
    (x, y), (xt, yt) = draw(n_train), draw(n_test)
    return Dataset(x, y, xt, yt, tuple(f"class{i}" for i in range(10)), "generated-in-test", True)
"""
namespace: dict = {}
exec(DATASET_CODE, namespace)  # the same code runs in the subprocesses below
tiny_dataset = namespace["tiny_dataset"]

BASE = {
    "name": "tiny",
    "family": "mlp",
    "params": {"units": [32]},
    "epochs": 3,
    "batch_size": 16,
    "preprocessing": "channel_zscore",
    "seed": 1,
}


def variant(**changes) -> Variant:
    return Variant.from_dict({**BASE, **changes})


class Lines(list):
    """A ``log`` callable that keeps the lines."""

    def __call__(self, line: str) -> None:
        self.append(line)

    def text(self) -> str:
        return "\n".join(self)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return tiny_dataset()


@pytest.fixture(scope="module")
def flagship_like():
    """One run with most options on: warm-up schedule, augmentation, TTA, best restore."""
    return variant(
        name="tiny-flag",
        schedule="warmup_linear",
        schedule_params={"warmup_fraction": 0.34},
        learning_rate=0.003,
        optimizer="adamw",
        weight_decay=1e-4,
        label_smoothing=0.1,
        augmentation={"flip": True, "shift": 0.1},
        tta_flip=True,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory, dataset, flagship_like):
    store = RunStore(tmp_path_factory.mktemp("runs"))
    log = Lines()
    run = get_or_train(flagship_like, dataset, store, verbose=0, log=log)
    return store, run, log


def test_run_directory_holds_everything(trained, dataset, flagship_like):
    store, run, log = trained
    assert run.key == run_key(flagship_like, dataset.fingerprint)
    assert sorted(p.name for p in run.path.iterdir()) == sorted(
        [
            "config.json",
            "history.csv",
            "metrics.json",
            "predictions.npz",
            "model.keras",
            "manifest.json",
        ]
    )
    assert log[0].startswith("training tiny-flag [") and log[-1].startswith("done     tiny-flag")
    m = run.metrics
    for key in (
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "test_loss",
        "test_accuracy",
        "best_epoch",
        "epochs_run",
        "wall_time_s",
        "images_per_s",
        "params",
        "device",
        "mixed_precision",
        "backend",
        "versions",
        "key",
    ):
        assert key in m, key
    assert m["device"] == "cpu" and m["mixed_precision"] == "float32"
    assert m["n_train"] == 160 and m["n_val"] == 40 and m["n_test"] == 60
    assert m["test_accuracy"] > 0.5  # far above the 10 % chance level
    assert m["params"] == 32 * 32 * 3 * 32 + 32 + 32 * 10 + 10
    assert run.config["dataset"]["synthetic"] is True
    assert run.variant == flagship_like
    assert not store.partial_dir(run.key).exists(), "resume scratch must go once complete"


def test_history_records_epochs_and_the_schedule(trained):
    _, run, _ = trained
    history = run.history
    assert list(history.columns[:6]) == HISTORY_COLUMNS
    assert list(history["epoch"]) == [1, 2, 3]
    # warmup_linear with 1/3 warm-up: 0 at the first step, peak after, then decaying.
    lr = list(history["lr"])
    assert lr[0] == pytest.approx(0.0) and lr[1] == pytest.approx(0.003, rel=0.05) and lr[2] < lr[1]


def test_best_epoch_is_the_lowest_validation_loss(trained):
    _, run, _ = trained  # the weights themselves: see the resume test (no TTA there)
    best = run.history.loc[run.history["val_loss"].idxmin()]
    assert run.metrics["best_epoch"] == int(best["epoch"])


def test_saved_model_and_predictions_agree_with_tta(trained, dataset):
    _, run, _ = trained
    predictions = run.predictions()
    assert predictions["test_probs"].shape == (60, 10)
    np.testing.assert_array_equal(predictions["test_labels"], dataset.y_test)
    np.testing.assert_array_equal(predictions["test_indices"], np.arange(60))
    assert predictions["val_probs"].shape == (40, 10) and len(predictions["val_indices"]) == 40
    model = run.load_model()
    x = Preprocessor.from_stats(run.metrics["preprocessing"]).transform(dataset.x_test)
    plain = predict(model, x)
    flipped = predict(model, x[:, :, ::-1])
    np.testing.assert_allclose(predict(model, x, flip=True), (plain + flipped) / 2, atol=1e-6)
    np.testing.assert_allclose(predictions["test_probs"], (plain + flipped) / 2, atol=1e-5)
    assert np.abs(plain - flipped).max() > 1e-4, "an MLP is not mirror-symmetric"


def test_knn_on_a_stored_runs_features_skips_the_augmentation_wrapper(trained, dataset):
    from cifar_core.runs.knn import classifier_network, knn_for_run

    _, run, _ = trained
    model = run.load_model()
    assert model.layers[1].name == "augmentation"  # the stored model wraps the network
    network = classifier_network(model)
    assert network is not model and network.layers[-1].units == 10
    result = knn_for_run(run, dataset, k=3)
    assert result["feature_dim"] == 32  # the MLP's hidden layer, not the softmax
    assert result["test_accuracy"] > 0.5


def test_knn_for_run_is_cached_so_a_rerun_needs_no_model(trained, dataset, monkeypatch):
    import cifar_core.runs.knn as knn

    _, run, _ = trained
    first = knn.knn_for_run(run, dataset, k=1)
    monkeypatch.setattr(knn, "knn_on_features", lambda *a, **k: pytest.fail("not cached"))
    assert knn.knn_for_run(run, dataset, k=1) == first
    assert list((run.path.parent / ".derived" / run.key).glob("knn-k1-*.json"))
    assert run.path.parent.joinpath(".derived").is_dir() and run.key in {
        r.key for r in RunStore(run.path.parent).runs()
    }  # the store ignores the cache dir


def test_second_call_reuses_and_same_seed_is_deterministic(
    trained, dataset, flagship_like, tmp_path
):
    store, run, _ = trained
    log = Lines()
    again = get_or_train(flagship_like.replace(name="renamed"), dataset, store, log=log)
    assert again.key == run.key and log == [
        f"reused   renamed [{run.key}] test acc {run.metrics['test_accuracy']:.3f}"
    ]
    fresh = get_or_train(flagship_like, dataset, RunStore(tmp_path), verbose=0, log=Lines())
    for key in ("train_loss", "val_loss", "test_loss", "test_accuracy", "best_epoch"):
        assert fresh.metrics[key] == run.metrics[key], key
    np.testing.assert_array_equal(
        fresh.predictions()["test_probs"], run.predictions()["test_probs"]
    )
    # A corrupted entry is reported and retrained.
    (fresh.path / "predictions.npz").write_bytes(b"garbage")
    log = Lines()
    retrained = get_or_train(flagship_like, dataset, RunStore(tmp_path), verbose=0, log=log)
    assert (
        log[0].startswith("training") and retrained.metrics["test_loss"] == run.metrics["test_loss"]
    )


def test_early_stopping_and_no_validation(dataset, tmp_path):
    diverging = variant(
        name="diverge",
        optimizer="sgd",
        learning_rate=1e4,
        epochs=6,
        validation_fraction=0.0,
        early_stopping_patience=1,
    )
    run = get_or_train(diverging, dataset, RunStore(tmp_path), verbose=0, log=Lines())
    assert run.metrics["epochs_run"] < 6
    assert run.metrics["n_val"] == 0 and run.metrics["val_accuracy"] is None
    assert run.metrics["best_epoch"] == run.metrics["epochs_run"]
    assert run.history["val_loss"].isna().all()


def test_train_many_validates_everything_before_training(dataset, tmp_path):
    store = RunStore(tmp_path)
    good = variant(name="good")
    bad = variant(name="bad", params={"units": [8], "widht": 3})
    with pytest.raises(VariantError, match="'bad'.*widht"):
        train_many([good, bad], dataset, store, log=Lines())
    with pytest.raises(VariantError, match="schedule_params.boundaries is required"):
        train_many([good, variant(name="s", schedule="step")], dataset, store, log=Lines())
    assert store.runs() == [] and not store.root.joinpath(".tmp").exists()


def test_schedules_follow_their_definitions():
    def lr_at(v, step, steps_per_epoch=10):
        schedule = learning_rate_for(v, steps_per_epoch)
        return float(keras.ops.convert_to_numpy(schedule(step)))

    assert learning_rate_for(variant(learning_rate=0.1), 10) == 0.1
    step = variant(
        epochs=10,
        learning_rate=1.0,
        schedule="step",
        schedule_params={"boundaries": [0.5, 0.8], "factors": [0.5, 0.3]},
    )
    assert [lr_at(step, s) for s in (0, 49, 50, 79, 80, 99)] == pytest.approx(
        [1, 1, 0.5, 0.5, 0.3, 0.3]
    )
    cosine = variant(
        epochs=10, learning_rate=1.0, schedule="cosine", schedule_params={"warmup_fraction": 0.2}
    )
    assert [lr_at(cosine, s) for s in (0, 10, 20, 60, 100)] == pytest.approx(
        [0, 0.5, 1, 0.5, 0], abs=1e-6
    )
    inverse = variant(learning_rate=1.0, schedule="inverse_time", schedule_params={"decay": 0.5})
    assert lr_at(inverse, 2) == pytest.approx(0.5)
    linear = variant(
        epochs=10,
        learning_rate=1.0,
        schedule="warmup_linear",
        schedule_params={"warmup_fraction": 0.1},
    )
    assert [lr_at(linear, s) for s in (0, 5, 10, 55, 100)] == pytest.approx([0, 0.5, 1, 0.5, 0])
    for params, message in (
        ({"boundaries": [0.5], "factors": []}, "one factor per boundary"),
        ({"boundaries": [0.8, 0.5], "factors": [1, 1]}, "increasing"),
        ({"boundaries": [0.5], "factors": [0.1], "gamma": 1}, "gamma"),
    ):
        with pytest.raises(VariantError, match=message):
            variant(schedule="step", schedule_params=params).schedule_settings()


def test_optimizers_take_the_variant_settings():
    sgd = make_optimizer(variant(optimizer="sgd", momentum=0.9, nesterov=True), 10)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.nesterov and sgd.momentum == 0.9
    adamw = make_optimizer(variant(optimizer="adamw", weight_decay=0.05), 10)
    assert isinstance(adamw, keras.optimizers.AdamW) and adamw.weight_decay == 0.05
    rms = make_optimizer(variant(optimizer="rmsprop", learning_rate=0.002), 10)
    assert isinstance(rms, keras.optimizers.RMSprop)
    assert float(keras.ops.convert_to_numpy(rms.learning_rate)) == pytest.approx(0.002)
    assert isinstance(make_optimizer(variant(optimizer="adam"), 10), keras.optimizers.Adam)


def test_augmentation_is_horizontal_and_only_in_training():
    images = np.random.default_rng(0).random((64, 32, 32, 3)).astype("float32")
    flip = augmentation_layers({"flip": True}, seed=3)
    out = keras.ops.convert_to_numpy(flip(images, training=True))
    same = [np.allclose(o, x) for o, x in zip(out, images)]
    mirrored = [np.allclose(o, x[:, ::-1]) for o, x in zip(out, images)]
    assert all(s or m for s, m in zip(same, mirrored)) and any(mirrored) and any(same)
    assert augmentation_layers({}) is None
    rotate = augmentation_layers({"rotation": 15, "shift": 0.1})
    assert [type(layer).__name__ for layer in rotate.layers] == [
        "RandomRotation",
        "RandomTranslation",
    ]
    assert rotate.layers[0].factor == (-15 / 360, 15 / 360)
    network = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model = finalize_model(network, {"rotation": 15, "shift": 0.1, "flip": True}, seed=0)
    inference = keras.ops.convert_to_numpy(model(images, training=False))
    np.testing.assert_allclose(inference, keras.ops.convert_to_numpy(network(images)), atol=1e-6)
    training = keras.ops.convert_to_numpy(model(images, training=True))
    assert np.abs(training - inference).max() > 1e-3
    assert finalize_model(network, {}) is network


SUBPROCESS = (
    DATASET_CODE
    + """
import json, sys
from cifar_core.runs.store import RunStore
from cifar_core.runs.train import get_or_train
from cifar_core.experiments.variant import Variant
run = get_or_train(Variant.from_dict(json.loads(sys.argv[2])), tiny_dataset(), RunStore(sys.argv[1]),
                   verbose=0, log=lambda line: print(line, flush=True))
print("KEY", run.key, flush=True)
"""
)


def start_trainer(store: RunStore, v: Variant, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SUBPROCESS, str(store.root), json.dumps(v.to_dict())],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_until(process: subprocess.Popen, prefix: str) -> str:
    """The subprocess's output up to and including the first line starting with
    ``prefix`` (or everything, if it exits first)."""
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith(prefix):
            break
    return "".join(seen)


def test_second_process_waits_for_the_trainer_and_reuses(dataset, tmp_path):
    store, v = RunStore(tmp_path), variant(name="shared", epochs=1)
    key = run_key(v, dataset.fingerprint)
    with store.lock(key):  # this process is "the trainer"
        waiter = start_trainer(store, v)
        watchdog = threading.Timer(120, waiter.kill)  # never hang the suite
        watchdog.start()
        seen = read_until(waiter, "waiting   for another process training")
        assert seen.endswith(f"[{key}] …\n"), seen
        mine = _train_and_store(v, dataset, store, key, verbose=0, log=Lines())
    output = waiter.communicate(timeout=120)[0]
    watchdog.cancel()
    assert waiter.returncode == 0, seen + output
    assert f"reused   shared [{key}]" in output and "training" not in output
    assert f"KEY {mine.key}" in output


def test_killed_run_leaves_nothing_complete_and_resumes(dataset, tmp_path):
    store = RunStore(tmp_path)
    # lr x300 from epoch 3 on: the best validation loss comes before the kill.
    v = variant(
        name="resumable",
        epochs=5,
        schedule="step",
        schedule_params={"boundaries": [0.4], "factors": [300]},
    )
    key = run_key(v, dataset.fingerprint)
    killed = start_trainer(store, v, **{KILL_ENV: "2"})
    output = killed.communicate(timeout=120)[0]
    assert killed.returncode == -9, output
    assert store.get(key) is None and store.runs() == []
    assert (store.partial_dir(key) / "backup").is_dir()
    # The same scratch with its history cut short (a kill while it was being removed):
    # never resumed into a run missing epochs, trained from the start instead.
    cut = RunStore(tmp_path / "cut")
    shutil.copytree(store.partial_dir(key), cut.partial_dir(key))
    history = cut.partial_dir(key) / "history.csv"
    history.write_text(history.read_text().splitlines()[0] + "\n")
    log = Lines()
    run = get_or_train(v, dataset, cut, verbose=0, log=log)
    assert "cannot be used (history.csv lacks epoch(s) 1, 2 of the 2 backed up)" in log.text()
    assert list(run.history["epoch"]) == [1, 2, 3, 4, 5] and "resuming" not in log.text()
    log = Lines()
    run = get_or_train(v, dataset, store, verbose=0, log=log)
    assert "resuming from epoch 3 (2 finished epochs restored)" in log.text()
    assert list(run.history["epoch"]) == [1, 2, 3, 4, 5]
    assert run.metrics["resumed_from_epoch"] == 2 and run.metrics["epochs_run"] == 5
    # The best weights of epoch <= 2 (killed process) survive the resume and are restored.
    assert run.metrics["best_epoch"] <= 2
    assert run.metrics["val_loss"] == pytest.approx(run.history["val_loss"].min(), rel=1e-4)
    assert run.history["val_loss"].iloc[-1] > run.metrics["val_loss"]
    assert not store.partial_dir(key).exists()
