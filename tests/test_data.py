"""Tests of cifar_core.data: sources, safe loading, synthetic data, subsets, splits,
preprocessing, fingerprint and description. Fixtures are generated in tmp dirs."""

from __future__ import annotations

import builtins
import dataclasses
import os
import pickle
import sys
import tarfile
import time
import types
from pathlib import Path

import numpy as np
import pytest

from cifar_core.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    DataError,
    Preprocessor,
    describe,
    format_description,
    load_dataset,
    make_synthetic,
    validation_split,
    write_batches,
    write_pickle,
)
from cifar_core.data.synthetic import CLASS_NAMES as SYNTHETIC_CLASS_NAMES
from cifar_core.experiments.variant import PREPROCESSING

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar-10-sample"
NAMES = tuple(f"class{k}" for k in range(10))


# ---------------------------------------------------------------- fixtures
def _arrays(n_train=60, n_test=20, seed=1):
    """Small random uint8 images with balanced labels, like a real (non-synthetic) set."""
    rng = np.random.default_rng(seed)
    x_train = rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8)
    x_test = rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8)
    return x_train, np.arange(n_train) % 10, x_test, np.arange(n_test) % 10


@pytest.fixture
def official_dir(tmp_path):
    """A non-synthetic ``cifar-10-batches-py`` folder: 3 batches of 20, 20 test images;
    ``batches.meta`` claims 10,000 per batch, as the real sample's does."""
    folder = tmp_path / "data" / "cifar-10-batches-py"
    write_batches(folder, *_arrays(), NAMES, batch_size=20, synthetic=False)
    write_pickle(
        folder / "batches.meta",
        {b"label_names": [n.encode() for n in NAMES], b"num_cases_per_batch": 10000},
    )
    return folder


def _batch(data, labels, label_key=b"labels"):
    return {
        b"data": data,
        label_key: [int(v) for v in labels],
        b"batch_label": b"x",
        b"filenames": [],
    }


# ---------------------------------------------------------------- official format
def test_round_trip_keeps_arrays_and_takes_sizes_from_arrays(official_dir):
    x_train, y_train, x_test, y_test = _arrays()
    ds = load_dataset(official_dir)
    np.testing.assert_array_equal(ds.x_train, x_train)
    np.testing.assert_array_equal(ds.y_train, y_train)
    np.testing.assert_array_equal(ds.x_test, x_test)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert (ds.class_names, ds.name, ds.synthetic) == (NAMES, "cifar10", False)
    assert ds.source == str(official_dir)


def test_reads_channel_planes_row_major(tmp_path):
    """Official rows are 1024 red, then green, then blue values, each row-major."""
    row = np.zeros((1, 3072), np.uint8)
    row[0, 0], row[0, 1024 + 1], row[0, 2048 + 32] = 10, 20, 30
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    write_pickle(folder / "data_batch_1", _batch(row, [3]))
    write_pickle(folder / "test_batch", _batch(row, [4]))
    write_pickle(folder / "batches.meta", {b"label_names": [n.encode() for n in NAMES]})
    image = load_dataset(folder).x_train[0]
    assert (image[0, 0, 0], image[0, 1, 1], image[1, 0, 2]) == (10, 20, 30)
    assert image.sum() == 60


def test_folder_parent_and_tarball_give_the_same_dataset(official_dir, tmp_path, monkeypatch):
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(official_dir, arcname="cifar-10-batches-py")
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    prints = {load_dataset(p).fingerprint for p in (official_dir, official_dir.parent, archive)}
    assert len(prints) == 1
    assert sorted(os.listdir(tmp_path)) == before  # the tarball was not extracted


def test_cifar100_layout_loads_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    x_train, _, x_test, _ = _arrays(30, 10)
    fine = [f"fine{k}" for k in range(100)]
    rows = lambda x: x.transpose(0, 3, 1, 2).reshape(len(x), -1)  # noqa: E731
    for name, x in (("train", x_train), ("test", x_test)):
        batch = _batch(rows(x), np.arange(len(x)) * 3 % 100, b"fine_labels")
        write_pickle(folder / name, {**batch, b"coarse_labels": [0] * len(x)})
    write_pickle(
        folder / "meta",
        {b"fine_label_names": [n.encode() for n in fine], b"coarse_label_names": [b"c"]},
    )
    ds = load_dataset(tmp_path)
    assert (ds.name, ds.num_classes, len(ds.x_train)) == ("cifar100", 100, 30)
    assert ds.y_train[5] == 15
    with pytest.raises(DataError, match="cifar100 batches but name='cifar10'"):
        load_dataset(folder, name="cifar10")


# ---------------------------------------------------------------- safety
class _RunsCommand:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return os.system, (f"touch {self.target}",)


class _OpensFile(_RunsCommand):
    def __reduce__(self):
        return builtins.open, (str(self.target), "w")


@pytest.mark.parametrize("payload, global_name", [(_RunsCommand, "system"), (_OpensFile, "open")])
def test_malicious_pickle_is_refused_and_nothing_runs(official_dir, tmp_path, payload, global_name):
    target = tmp_path / "pwned"
    (official_dir / "data_batch_2").write_bytes(
        pickle.dumps({b"data": payload(target), b"labels": [0]}, protocol=2)
    )
    with pytest.raises(DataError, match=rf"data_batch_2: refused .*{global_name}'"):
        load_dataset(official_dir)
    assert not target.exists()


# ---------------------------------------------------------------- errors
def _damage(folder: Path, how: str) -> str:
    """Break ``folder`` in one way; return a regex the error message must match."""
    batch = folder / "data_batch_1"
    good = pickle.loads(batch.read_bytes())
    if how == "truncated":
        batch.write_bytes(batch.read_bytes()[:5000])
        return "data_batch_1: the file is truncated or corrupted"
    if how == "corrupted":
        batch.write_bytes(os.urandom(4000))
        return "data_batch_1: the file is truncated or corrupted"
    if how == "missing keys":
        write_pickle(batch, {b"images": good[b"data"]})
        return r"data_batch_1: not a CIFAR batch, missing key\(s\) \['data', 'labels'\]"
    if how == "not a dict":
        write_pickle(batch, [1, 2, 3])
        return "data_batch_1: expected a pickled dict"
    if how == "count mismatch":
        write_pickle(batch, {**good, b"labels": good[b"labels"][:-1]})
        return "data_batch_1: 20 images but 19 labels"
    if how == "label out of range":
        write_pickle(batch, {**good, b"labels": [10] + good[b"labels"][1:]})
        return "data_batch_1: label 10 is out of range for 10 classes"
    if how == "wrong shape":
        write_pickle(batch, {**good, b"data": good[b"data"][:, :100]})
        return r"data_batch_1: 'data' must be a uint8 array of shape \(N, 3072\)"
    batch.with_name("test_batch").unlink()
    return r"incomplete cifar10 batches, missing \['test_batch'\]"


@pytest.mark.parametrize(
    "how",
    [
        "truncated",
        "corrupted",
        "missing keys",
        "not a dict",
        "count mismatch",
        "label out of range",
        "wrong shape",
        "missing test batch",
    ],
)
def test_damaged_batches_raise_a_clear_error(official_dir, how):
    with pytest.raises(DataError, match=_damage(official_dir, how)):
        load_dataset(official_dir)


def test_missing_path_and_folder_without_batches(tmp_path):
    with pytest.raises(DataError, match=r"nowhere does not exist; pass the 'cifar-10-batches-py'"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DataError, match="is a folder without CIFAR batches"):
        load_dataset(tmp_path)
    with pytest.raises(DataError, match="is a file but not a tar archive"):
        load_dataset(tmp_path / "notes.txt")


def test_truncated_tarball_names_the_archive(official_dir, tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(official_dir, arcname="cifar-10-batches-py")
    archive.write_bytes(archive.read_bytes()[:3000])
    with pytest.raises(DataError, match="cifar-10-python.tar.gz"):
        load_dataset(archive)


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"limit_per_batch": 0}, "limit_per_batch"),
        ({"synthetic_train": -5}, "synthetic_train"),
        ({"name": "mnist"}, "name"),
        ({"stratified_limit": 50}, "stratified_limit"),
        ({"stratified_limit": (500, 10)}, "stratified_limit"),
    ],
)
def test_bad_parameters_are_named(official_dir, kwargs, parameter):
    with pytest.raises(DataError, match=parameter):
        load_dataset(official_dir, **kwargs)


# ---------------------------------------------------------------- source order
@pytest.fixture
def no_local_data(monkeypatch, tmp_path):
    """No CIFAR10_DIR, and an empty Keras home."""
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    (tmp_path / "keras-home").mkdir()
    return tmp_path / "keras-home" / "datasets"


def _fake_keras(monkeypatch, get_file):
    """A stand-in Keras whose ``utils.get_file`` runs ``get_file()``; its
    ``datasets.cifar10.load_data`` (which unpickles unsafely) must never be called."""

    def unsafe_load_data():
        pytest.fail("keras.datasets.cifar10.load_data unpickles with the stock pickle")

    fake = types.SimpleNamespace(
        utils=types.SimpleNamespace(get_file=lambda fname, origin, extract: get_file()),
        datasets=types.SimpleNamespace(cifar10=types.SimpleNamespace(load_data=unsafe_load_data)),
    )
    monkeypatch.setitem(sys.modules, "keras", fake)


def test_failed_download_explains_the_alternatives(monkeypatch, no_local_data):
    def offline():
        raise OSError("URL fetch failure: no network")

    _fake_keras(monkeypatch, offline)
    with pytest.raises(DataError) as caught:
        load_dataset()
    message = str(caught.value)
    for hint in (
        "no network",
        "--data PATH",
        "CIFAR10_DIR",
        "--data synthetic",
        str(no_local_data),
    ):
        assert hint in message


def test_download_then_read_from_the_keras3_cache(monkeypatch, no_local_data):
    def download():  # what Keras 3 leaves behind
        write_batches(
            no_local_data / "cifar-10-batches-py-target" / "cifar-10-batches-py",
            *_arrays(),
            NAMES,
            synthetic=False,
        )

    _fake_keras(monkeypatch, download)
    ds = load_dataset()
    assert ds.source.startswith("keras-download:") and len(ds.x_train) == 60
    _fake_keras(monkeypatch, lambda: pytest.fail("downloaded although cached"))
    assert load_dataset().source.startswith("keras-cache:")


def test_a_downloaded_poisoned_batch_is_refused_and_nothing_runs(
    monkeypatch, no_local_data, tmp_path
):
    target = tmp_path / "pwned"

    def download_poison():
        folder = no_local_data / "cifar-10-batches-py-target" / "cifar-10-batches-py"
        write_batches(folder, *_arrays(), NAMES, synthetic=False)
        (folder / "data_batch_1").write_bytes(
            pickle.dumps({b"data": _RunsCommand(target), b"labels": [0]}, protocol=2)
        )

    _fake_keras(monkeypatch, download_poison)
    with pytest.raises(DataError, match=r"data_batch_1: refused .*system'"):
        load_dataset()
    assert not target.exists()


def test_a_poisoned_batch_in_the_keras_cache_is_refused(monkeypatch, no_local_data, tmp_path):
    target = tmp_path / "pwned"
    folder = no_local_data / "cifar-10-batches-py"
    write_batches(folder, *_arrays(), NAMES, synthetic=False)
    (folder / "test_batch").write_bytes(
        pickle.dumps({b"data": _OpensFile(target), b"labels": [0]}, protocol=2)
    )
    _fake_keras(monkeypatch, lambda: pytest.fail("downloaded although cached"))
    with pytest.raises(DataError, match=rf"{folder / 'test_batch'}: refused .*open'"):
        load_dataset()
    assert not target.exists()


def test_cifar10_dir_comes_before_the_keras_cache(monkeypatch, no_local_data, official_dir):
    write_batches(no_local_data / "cifar-10-batches-py", *_arrays(seed=7), NAMES, synthetic=False)
    assert load_dataset().source.startswith("keras-cache:")
    monkeypatch.setenv("CIFAR10_DIR", str(official_dir.parent))
    assert load_dataset().source == str(official_dir)
    monkeypatch.setenv("CIFAR10_DIR", str(official_dir / "missing"))
    with pytest.raises(DataError, match="CIFAR10_DIR .*missing does not exist"):
        load_dataset()


# ---------------------------------------------------------------- synthetic
def test_make_synthetic_is_deterministic_balanced_and_fast():
    start = time.perf_counter()
    x_train, y_train, x_test, y_test, names = make_synthetic(5000, 1000, seed=3)
    assert time.perf_counter() - start < 4  # about 0.7 s on 2 busy cores
    assert x_train.shape == (5000, 32, 32, 3) and x_train.dtype == np.uint8
    assert names == SYNTHETIC_CLASS_NAMES and len(names) == 10
    assert set(np.bincount(y_train)) == {500} and set(np.bincount(y_test)) == {100}
    again = make_synthetic(50, 10, seed=3)
    np.testing.assert_array_equal(again[0], make_synthetic(50, 10, seed=3)[0])
    assert not np.array_equal(again[0], make_synthetic(50, 10, seed=4)[0])


def test_synthetic_class_is_not_its_mean_colour():
    """A classifier on per-image mean colour stays far from what shapes allow."""
    from sklearn.linear_model import LogisticRegression

    x_train, y_train, x_test, y_test, _ = make_synthetic(2000, 500, seed=0)
    colour = lambda x: x.reshape(len(x), -1, 3).mean(axis=1) / 255  # noqa: E731
    model = LogisticRegression(max_iter=500).fit(colour(x_train), y_train)
    assert model.score(colour(x_test), y_test) < 0.35


def test_load_synthetic_is_cached_marked_and_read_back(monkeypatch, tmp_path):
    monkeypatch.setenv("CIFAR_REPORT_CACHE", str(tmp_path))
    ds = load_dataset("synthetic", synthetic_train=100, synthetic_test=30, seed=2)
    x_train, y_train, *_ = make_synthetic(100, 30, seed=2)
    np.testing.assert_array_equal(ds.x_train, x_train)
    np.testing.assert_array_equal(ds.y_train, y_train)
    assert (ds.synthetic, ds.source, ds.class_names) == (True, "synthetic", SYNTHETIC_CLASS_NAMES)
    assert [p.name[:10] for p in tmp_path.iterdir()] == ["synthetic-"]
    monkeypatch.setattr(
        "cifar_core.data.synthetic.make_synthetic",
        lambda *a: pytest.fail("regenerated although cached"),
    )
    assert (
        load_dataset("synthetic", synthetic_train=100, synthetic_test=30, seed=2).fingerprint
        == ds.fingerprint
    )


def test_synthetic_fixture_is_flagged(tiny_dataset):
    assert tiny_dataset.synthetic and tiny_dataset.source == "synthetic"
    assert (len(tiny_dataset.x_train), len(tiny_dataset.x_test)) == (300, 100)


# ---------------------------------------------------------------- subsets and splits
def test_limit_per_batch_keeps_the_first_images_of_each_batch(synthetic_dir, tiny_dataset):
    ds = load_dataset(synthetic_dir, limit_per_batch=10)
    assert (len(ds.x_train), len(ds.x_test)) == (30, 10)
    first = np.concatenate([tiny_dataset.y_train[i : i + 10] for i in (0, 100, 200)])
    np.testing.assert_array_equal(ds.y_train, first)
    np.testing.assert_array_equal(ds.x_test, tiny_dataset.x_test[:10])


def test_stratified_limit_is_balanced_and_seeded(synthetic_dir):
    ds = load_dataset(synthetic_dir, stratified_limit=(100, 50), seed=1)
    assert set(np.bincount(ds.y_train)) == {10} and set(np.bincount(ds.y_test)) == {5}
    same = load_dataset(synthetic_dir, stratified_limit=(100, 50), seed=1)
    other = load_dataset(synthetic_dir, stratified_limit=(100, 50), seed=2)
    assert same.fingerprint == ds.fingerprint != other.fingerprint


def test_validation_split_is_stratified_seeded_and_disjoint():
    labels = np.repeat(np.arange(10), [50, 50, 50, 50, 50, 30, 30, 30, 30, 30])
    train, val = validation_split(labels, 0.2, seed=0)
    assert len(val) == 80 and np.intersect1d(train, val).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(400))
    np.testing.assert_array_equal(np.bincount(labels[val]), [10] * 5 + [6] * 5)
    np.testing.assert_array_equal(val, validation_split(labels, 0.2, seed=0)[1])
    assert not np.array_equal(val, validation_split(labels, 0.2, seed=1)[1])
    assert len(validation_split(labels, 0.0)[1]) == 0
    with pytest.raises(DataError, match="validation fraction"):
        validation_split(labels, 1.0)


# ---------------------------------------------------------------- preprocessing
def test_preprocessing_modes_use_training_statistics():
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    x_train[..., 2] //= 4  # channels differ
    x_test = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    out = {m: Preprocessor.fit(m, x_train).transform(x_test) for m in PREPROCESSING}
    assert all(v.dtype == np.float32 for v in out.values())
    np.testing.assert_allclose(out["raw"], x_test)
    np.testing.assert_allclose(out["unit"], x_test / 255, rtol=1e-6)
    as_float = x_train.astype(np.float64)
    np.testing.assert_allclose(
        out["zscore"], (x_test - as_float.mean()) / as_float.std(), rtol=1e-4
    )
    channel = Preprocessor.fit("channel_zscore", x_train).transform(x_train)
    np.testing.assert_allclose(channel.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(channel.std(axis=(0, 1, 2)), 1, atol=1e-4)
    expected = (x_test / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(out["imagenet"], expected, rtol=1e-4, atol=1e-5)


def test_preprocessor_stats_round_trip_and_unknown_mode():
    x = np.random.default_rng(1).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    fitted = Preprocessor.fit("channel_zscore", x)
    assert Preprocessor.from_stats(fitted.stats) == fitted
    assert fitted.stats["mode"] == "channel_zscore" and len(fitted.stats["std"]) == 3
    with pytest.raises(DataError, match="preprocessing: unknown mode 'minmax'"):
        Preprocessor.fit("minmax", x)


# ---------------------------------------------------------------- fingerprint, describe
def test_fingerprint_changes_with_one_pixel_or_one_label(tiny_dataset):
    pixel = tiny_dataset.x_train.copy()
    pixel[7, 3, 4, 1] ^= 1
    label = tiny_dataset.y_test.copy()
    label[0] = (label[0] + 1) % 10
    copy = dataclasses.replace(tiny_dataset, x_train=tiny_dataset.x_train.copy())
    assert copy.fingerprint == tiny_dataset.fingerprint
    assert dataclasses.replace(tiny_dataset, x_train=pixel).fingerprint != tiny_dataset.fingerprint
    assert dataclasses.replace(tiny_dataset, y_test=label).fingerprint != tiny_dataset.fingerprint


def test_describe_counts_and_statistics(tiny_dataset):
    desc = describe(tiny_dataset, validation_fraction=0.2, seed=0)
    counts = desc["counts"]
    assert desc["sizes"] == {"train": 240, "val": 60, "test": 100}
    assert list(counts.loc["circle"]) == [24, 6, 10]
    pixels = desc["pixels"]
    np.testing.assert_allclose(pixels["mean"], tiny_dataset.x_train.mean(axis=(0, 1, 2)))
    np.testing.assert_allclose(pixels["std"], tiny_dataset.x_train.std(axis=(0, 1, 2)), rtol=1e-6)
    text = format_description(desc)
    for part in ("SYNTHETIC", tiny_dataset.fingerprint, "circle", "blob", "blue", "val"):
        assert part in text


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="the real CIFAR-10 sample is not present")
def test_real_sample_variants_agree():  # pragma: no cover - needs ../shared
    prints = {
        load_dataset(p, limit_per_batch=50).fingerprint
        for p in (SAMPLE, SAMPLE / "cifar-10-batches-py")
    }
    assert len(prints) == 1


@pytest.mark.parametrize("mode", ["zscore", "channel_zscore"])
@pytest.mark.parametrize("images", [None, np.zeros((0, 32, 32, 3), np.uint8)])
def test_a_fitted_preprocessing_without_training_images_is_refused(mode, images):
    with pytest.raises(DataError, match=f"preprocessing '{mode}' needs training images"):
        Preprocessor.fit(mode, images)
