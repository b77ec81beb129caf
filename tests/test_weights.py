"""The VGG16 weights file: resolution order, verification before training, and the whole
transfer path on a stand-in file of the exact VGG16 topology (random weights: ImageNet
weights cannot be downloaded here)."""

from __future__ import annotations

import os
import sys

import h5py
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")

from cifar_core.models import weights  # noqa: E402
from cifar_core.models.weights import (  # noqa: E402
    WEIGHTS_ENV,
    WEIGHTS_FILE,
    WeightsFileError,
    WeightsUnavailable,
    expected_shapes,
    resolve_vgg16_weights,
    verify_vgg16_weights,
    weights_status,
)


@pytest.fixture(scope="module")
def vgg16_base():
    return keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))


@pytest.fixture(scope="module")
def stand_in(vgg16_base, tmp_path_factory):
    """The stand-in a user would pass: VGG16 no-top saved by Keras 3 (``.weights.h5``)."""
    path = tmp_path_factory.mktemp("weights") / "stand_in_vgg16.weights.h5"
    vgg16_base.save_weights(path)
    return path


@pytest.fixture(scope="module")
def legacy_file(vgg16_base, tmp_path_factory):
    """The same weights in the Keras 2 HDF5 layout of the published Keras-applications file."""
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    path = tmp_path_factory.mktemp("weights") / WEIGHTS_FILE
    with h5py.File(path, "w") as handle:
        save_weights_to_hdf5_group(handle, vgg16_base)
    return path


@pytest.fixture(autouse=True)
def _no_ambient_weights(monkeypatch, tmp_path):
    """Neither the user's environment variable nor their Keras cache leaks into a test."""
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))


def write_legacy_weights(path, layers):
    """A Keras 2 layout file with ``layers`` = [(name, [shape, ...]), ...] (zeros)."""
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [name.encode() for name, _ in layers]
        for name, shapes in layers:
            group = handle.create_group(name)
            names = [f"{name}/w{i}:0" for i in range(len(shapes))]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for n, shape in zip(names, shapes):
                group.create_dataset(n, data=np.zeros(shape, "float32"))
    return path


# ----------------------------------------------------------------------------- the table
def test_expected_shapes_table_is_keras_vgg16_without_top(vgg16_base):
    keras_shapes = {
        layer.name: tuple(tuple(w.shape) for w in layer.weights)
        for layer in vgg16_base.layers
        if layer.weights
    }
    assert list(keras_shapes) == list(expected_shapes())
    assert keras_shapes == expected_shapes()


# ----------------------------------------------------------------------------- good files
def test_stand_in_file_verifies_and_is_described_as_a_user_file(stand_in, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(stand_in))
    resolved = resolve_vgg16_weights()
    assert (resolved.path, resolved.origin, resolved.layout) == (stand_in, "environment", "keras3")
    assert resolved.description == "user file stand_in_vgg16.weights.h5, not verified as ImageNet"
    assert weights_status() == (True, resolved.description)


def test_explicit_path_wins_over_environment_and_cache(
    stand_in, legacy_file, monkeypatch, tmp_path
):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "not-there.h5"))
    resolved = resolve_vgg16_weights(stand_in)
    assert (resolved.path, resolved.origin) == (stand_in, "argument")


def test_keras_cache_is_the_last_resort(legacy_file, monkeypatch, tmp_path):
    cache = tmp_path / "keras-home" / "models" / WEIGHTS_FILE
    cache.parent.mkdir(parents=True)
    cache.write_bytes(legacy_file.read_bytes())
    resolved = resolve_vgg16_weights()
    assert (resolved.path, resolved.origin, resolved.layout) == (cache, "keras-cache", "legacy")
    assert resolved.description.startswith(f"Keras cache ({cache}), not verified as ImageNet")


def test_only_the_published_file_is_called_imagenet(stand_in, monkeypatch):
    assert not weights.is_published_imagenet_file(stand_in)
    import hashlib

    digest = hashlib.md5(stand_in.read_bytes(), usedforsecurity=False).hexdigest()
    monkeypatch.setattr(weights, "IMAGENET_NOTOP_MD5", digest)
    assert (
        "the published ImageNet file (MD5 matches)" in resolve_vgg16_weights(stand_in).description
    )


@pytest.mark.parametrize("layout", ["keras3", "legacy"])
def test_keras_loads_each_verified_layout_through_vgg16_weights(
    layout, stand_in, legacy_file, vgg16_base
):
    path = stand_in if layout == "keras3" else legacy_file
    assert verify_vgg16_weights(path) == layout
    loaded = keras.applications.VGG16(include_top=False, weights=str(path), input_shape=(32, 32, 3))
    for name in ("block1_conv1", "block5_conv3"):
        np.testing.assert_array_equal(
            loaded.get_layer(name).get_weights()[0], vgg16_base.get_layer(name).get_weights()[0]
        )


# ----------------------------------------------------------------------------- wrong files
def test_missing_file_names_the_file_and_the_variable(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere.h5"
    monkeypatch.setenv(WEIGHTS_ENV, str(missing))
    with pytest.raises(
        WeightsUnavailable, match=rf"\${WEIGHTS_ENV} points to {missing}, which is not a file"
    ):
        resolve_vgg16_weights()
    with pytest.raises(WeightsUnavailable, match="the weights path is .*nowhere.h5"):
        resolve_vgg16_weights(missing)
    monkeypatch.delenv(WEIGHTS_ENV)
    with pytest.raises(
        WeightsUnavailable, match=str(tmp_path / "keras-home" / "models" / WEIGHTS_FILE)
    ):
        resolve_vgg16_weights()
    assert weights_status()[0] is False


def test_corrupt_file_is_refused_with_the_expected_shapes(tmp_path):
    corrupt = tmp_path / "vgg16.h5"
    corrupt.write_bytes(os.urandom(4096))
    with pytest.raises(WeightsFileError) as error:
        resolve_vgg16_weights(corrupt)
    message = str(error.value)
    assert str(corrupt) in message and "not a readable HDF5 file" in message
    assert "block1_conv1 (3, 3, 3, 64)" in message


def test_truncated_hdf5_file_is_refused(stand_in, tmp_path):
    truncated = tmp_path / "truncated.weights.h5"
    truncated.write_bytes(stand_in.read_bytes()[:100_000])
    with pytest.raises(WeightsFileError, match="truncated.weights.h5"):
        verify_vgg16_weights(truncated)


def test_other_topology_names_the_layer_and_the_expected_shape(tmp_path):
    layers = [
        (name, [kernel[:3] + (kernel[3] // 2,), (bias[0] // 2,)])
        if i == 0
        else (name, [kernel, bias])
        for i, (name, (kernel, bias)) in enumerate(expected_shapes().items())
    ]
    path = write_legacy_weights(tmp_path / "half_width.h5", layers)
    with pytest.raises(WeightsFileError) as error:
        verify_vgg16_weights(path)
    assert str(path) in str(error.value)
    assert "block1_conv1" in str(error.value) and "(3, 3, 3, 32)" in str(error.value)
    assert "expects kernel (3, 3, 3, 64) and bias (64,)" in str(error.value)


def test_vgg19_is_refused_by_layer_count(tmp_path):
    vgg19 = keras.applications.VGG19(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "vgg19.weights.h5"
    vgg19.save_weights(path)
    with pytest.raises(
        WeightsFileError, match=r"holds 16 layers with weights .*VGG16 without its top has 13"
    ):
        verify_vgg16_weights(path)


def test_file_with_the_classifier_top_is_refused(tmp_path):
    layers = [(name, list(shapes)) for name, shapes in expected_shapes().items()]
    layers += [("fc1", [(8, 4), (4,)]), ("fc2", [(4, 4), (4,)]), ("predictions", [(4, 2), (2,)])]
    path = write_legacy_weights(tmp_path / "vgg16_with_top.h5", layers)
    with pytest.raises(WeightsFileError, match=f"with\\* its classifier top.*{WEIGHTS_FILE}"):
        verify_vgg16_weights(path)


def test_hdf5_that_is_not_a_weights_file_is_refused(tmp_path):
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("x", data=np.zeros(3))
    with pytest.raises(WeightsFileError, match="not a Keras weights file"):
        verify_vgg16_weights(path)


def test_file_name_that_keras_would_read_with_the_other_layout_is_refused(
    stand_in, legacy_file, tmp_path
):
    renamed = tmp_path / "stand_in.h5"
    renamed.write_bytes(stand_in.read_bytes())
    with pytest.raises(WeightsFileError, match="rename it to stand_in.weights.h5"):
        verify_vgg16_weights(renamed)
    renamed = tmp_path / "legacy.weights.h5"
    renamed.write_bytes(legacy_file.read_bytes())
    with pytest.raises(WeightsFileError, match="Keras 2 HDF5 layout"):
        verify_vgg16_weights(renamed)


def test_weights_module_does_not_import_keras():
    import subprocess

    code = (
        "import sys, cifar_core.models.weights as w; w.expected_shapes(); "
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.getcwd())


# ----------------------------------------------------------------------------- the transfer path
@pytest.fixture
def frozen_transfer_variant():
    from cifar_core.experiments import catalog

    return catalog.get_variant("ctl_vgg16_b3_frozen").replace(epochs=1, batch_size=64)


@pytest.mark.slow
def test_transfer_variant_trains_on_the_stand_in_weights(
    stand_in, vgg16_base, tiny_dataset, frozen_transfer_variant, tmp_path, monkeypatch
):
    from cifar_core.runs.store import RunStore
    from cifar_core.runs.train import get_or_train

    monkeypatch.setenv(WEIGHTS_ENV, str(stand_in))
    run = get_or_train(
        frozen_transfer_variant,
        tiny_dataset,
        RunStore(tmp_path / "runs"),
        verbose=0,
        log=lambda _: None,
    )
    assert run.metrics["epochs_run"] == 1
    assert 0.0 <= run.metrics["test_accuracy"] <= 1.0
    assert np.isfinite(run.metrics["train_loss"])
    from cifar_core.runs.knn import classifier_network

    base = classifier_network(run.load_model()).get_layer("vgg16_to_block3_pool")
    for name in ("block1_conv1", "block3_conv3"):  # frozen: still exactly the file's weights
        for got, want in zip(
            base.get_layer(name).get_weights(), vgg16_base.get_layer(name).get_weights()
        ):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("case", ["missing", "corrupt", "other topology"])
def test_wrong_weights_fail_before_training(
    case, tiny_dataset, frozen_transfer_variant, tmp_path, monkeypatch
):
    from cifar_core.runs.keys import run_key
    from cifar_core.runs.store import RunStore
    from cifar_core.runs.train import get_or_train

    path = tmp_path / "vgg16.h5"
    if case == "corrupt":
        path.write_bytes(b"not an HDF5 file")
    elif case == "other topology":
        write_legacy_weights(path, [("block1_conv1", [(3, 3, 3, 64), (64,)])])
    monkeypatch.setenv(WEIGHTS_ENV, str(path))
    fitted = []
    monkeypatch.setattr(keras.Model, "fit", lambda *a, **k: fitted.append(1))
    store = RunStore(tmp_path / "runs")
    expected = {
        "missing": WeightsUnavailable,
        "corrupt": WeightsFileError,
        "other topology": WeightsFileError,
    }[case]
    with pytest.raises(expected, match=str(path)):
        get_or_train(frozen_transfer_variant, tiny_dataset, store, verbose=0, log=lambda _: None)
    assert not fitted
    key = run_key(frozen_transfer_variant, tiny_dataset.fingerprint)
    assert store.get(key) is None and not store.partial_dir(key).exists()


def test_build_planning_refuses_a_wrong_file_before_any_run_starts(
    frozen_transfer_variant, stand_in, tmp_path, monkeypatch
):
    from cifar_core.experiments.plan import not_runnable
    from cifar_core.project import ProjectError

    corrupt = tmp_path / "vgg16.h5"
    corrupt.write_bytes(b"\x00" * 64)
    monkeypatch.setenv(WEIGHTS_ENV, str(corrupt))
    with pytest.raises(ProjectError, match="not a readable HDF5 file"):
        not_runnable(frozen_transfer_variant)
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "absent.h5"))
    with pytest.raises(ProjectError, match="absent.h5, which is not a file"):
        not_runnable(frozen_transfer_variant)
    monkeypatch.setenv(WEIGHTS_ENV, str(stand_in))
    assert not_runnable(frozen_transfer_variant) is None
    assert weights_status() == (
        True,
        "user file stand_in_vgg16.weights.h5, not verified as ImageNet",
    )
    monkeypatch.delenv(WEIGHTS_ENV)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    assert "not found" in not_runnable(frozen_transfer_variant)  # no file at all: simply not run
