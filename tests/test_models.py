"""Model families: the seeds' parameter counts, FLOPs, options, transfer weights, k-NN."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cifar_core.models import build_model, families  # noqa: E402
from cifar_core.models.stats import (  # noqa: E402
    count_params,
    flops_per_image,
    model_stats,
    stats_key,
)
from cifar_core.models.weights import WEIGHTS_ENV, WEIGHTS_FILE, WeightsUnavailable  # noqa: E402
from cifar_core.runs.train import adapt_to_training_images  # noqa: E402

# (family, params, parameter count printed by the seed)
SEED_MODELS = {
    "seed002_model1": ("cnn", {"blocks": [[32], [64]], "dense": []}, 42_442),
    "seed003_net": (
        "cnn",
        {
            "blocks": [[32, 32], [64, 64]],
            "batch_norm": True,
            "bn_position": "after_activation",
            "block_dropout": [0.2, 0.3],
            "dense": [],
        },
        82_346,
    ),
    "seed004_cnn": ("cnn", {"blocks": [[96], [80]], "kernel_size": 5, "dense": [256]}, 714_202),
    "seed004_cnn_bn": (
        "cnn",
        {
            "blocks": [[96], [80]],
            "kernel_size": 5,
            "dense": [256],
            "batch_norm": True,
            "dense_batch_norm": True,
            "use_bias": True,
            "bn_momentum": 0.75,
            "block_dropout": 0.25,
            "dense_dropout": 0.5,
        },
        715_930,
    ),
    "seed004_mlp": ("mlp", {"units": [512, 256], "activation": "tanh"}, 1_707_274),
    "seed004_final": (
        "cnn",
        {
            "blocks": [[64], [128]],
            "kernel_size": 5,
            "batch_norm": True,
            "use_bias": True,
            "bn_momentum": 0.8,
            "block_dropout": [0.25, 0.3],
            "dense": [512],
            "dense_batch_norm": True,
            "dense_dropout": 0.5,
        },
        1_856_650,
    ),
    "seed001_model_a": (
        "cnn",
        {"blocks": [[32, 32], [64, 64]], "padding": "same", "dense": [512], "dense_dropout": 0.5},
        2_168_362,
    ),
    "seed003_vgg16_block3": (
        "vgg16_transfer",
        {"cut": "block3_pool", "weights": "random"},
        2_787_914,
    ),
}


def test_every_family_is_registered():
    assert {"mlp", "cnn", "wide_resnet", "vgg16_transfer", "flagship"} <= set(families())


@pytest.mark.parametrize("name", sorted(SEED_MODELS))
def test_parameter_counts_equal_the_seeds(name):
    family, params, expected = SEED_MODELS[name]
    assert count_params(build_model(family, params))["params"] == expected


def test_flops_of_seed002_model1_by_hand():
    model = build_model("cnn", {"blocks": [[32], [64]], "dense": []})
    conv1 = 2 * 30 * 30 * 32 * (3 * 3 * 3)
    conv2 = 2 * 13 * 13 * 64 * (3 * 3 * 32)
    dense = 2 * 2304 * 10
    assert flops_per_image(model) == conv1 + conv2 + dense


def test_the_stats_key_reads_mappings_and_names_what_json_cannot_hold():
    from types import MappingProxyType

    assert stats_key("mlp", {"units": [16]}) == stats_key("mlp", MappingProxyType({"units": [16]}))
    with pytest.raises(TypeError, match="model parameter of type set is not JSON serializable"):
        stats_key("mlp", {"units": {16}})


def test_model_stats_are_memoized(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR_REPORT_CACHE", str(tmp_path))
    first = model_stats("mlp", {"units": [8]})
    assert first == {
        "params": 3072 * 8 + 8 + 8 * 10 + 10,
        "trainable_params": 24674,
        "flops": 2 * (3072 * 8 + 8 * 10),
    }
    assert (tmp_path / "model_stats.json").exists()
    assert model_stats("mlp", {"units": [8]}) == first


def test_batch_norm_before_activation_drops_biases():
    model = build_model(
        "cnn", {"blocks": [[8]], "batch_norm": True, "dense": [4], "dense_batch_norm": True}
    )
    convs = [
        layer
        for layer in model.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
    ]
    assert [layer.use_bias for layer in convs] == [False, False, True]


def test_pooling_options_shape_the_feature_map():
    def flat_size(**params):
        model = build_model("cnn", {"blocks": [[4]], "dense": [], **params})
        return model.get_layer(index=-2).output.shape[-1]

    assert flat_size(pool_size=3) == 10 * 10 * 4
    assert flat_size(pool="average", pool_size=4) == 7 * 7 * 4
    assert flat_size(pool=None, global_pool="average") == 4


@pytest.mark.parametrize(
    "params, message",
    [
        ({"activation": "swish"}, "params.activation"),
        ({"pool": "median"}, "params.pool"),
        ({"blocks": [[8], [8]], "block_dropout": [0.1]}, "params.block_dropout"),
    ],
)
def test_cnn_rejects_bad_options(params, message):
    with pytest.raises(ValueError, match=message):
        build_model("cnn", params)


def test_wide_resnet_16_8_size_and_depth_check():
    assert 10.9e6 < build_model("wide_resnet", {"depth": 16, "width": 8}).count_params() < 11.1e6
    with pytest.raises(ValueError, match="6n"):
        build_model("wide_resnet", {"depth": 15})


# --------------------------------------------------------------------- transfer weights
@pytest.fixture(scope="module")
def saved_vgg16(tmp_path_factory):
    """A randomly initialised VGG16 (no top) saved as a weights file, with its kernels."""
    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path_factory.mktemp("weights") / "vgg16_notop.weights.h5"
    base.save_weights(path)
    return path, {layer.name: layer.get_weights() for layer in base.layers if layer.get_weights()}


def test_transfer_model_loads_the_weights_file(saved_vgg16, monkeypatch):
    path, saved = saved_vgg16
    monkeypatch.setenv(WEIGHTS_ENV, str(path))
    model = build_model("vgg16_transfer", {"cut": "block3_pool", "trainable": False})
    base = model.get_layer("vgg16_to_block3_pool")
    assert not base.trainable
    assert "block4_conv1" not in [layer.name for layer in base.layers]
    for name in ("block1_conv1", "block3_conv3"):
        for loaded, expected in zip(base.get_layer(name).get_weights(), saved[name]):
            np.testing.assert_array_equal(loaded, expected)


def test_missing_weights_raise_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailable) as error:
        build_model("vgg16_transfer", {})
    assert WEIGHTS_ENV in str(error.value)
    assert str(tmp_path / "models" / WEIGHTS_FILE) in str(error.value)
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "nowhere.h5"))
    with pytest.raises(WeightsUnavailable, match="nowhere.h5"):
        build_model("vgg16_transfer", {})


# --------------------------------------------------------------------- k-NN and flagship
def test_knn_on_penultimate_features():
    from cifar_core.runs.knn import knn_on_features

    rng = np.random.default_rng(0)
    x = rng.random((40, 32, 32, 3), dtype="float32")
    y = np.repeat(np.arange(10), 4)
    model = build_model("cnn", {"blocks": [[4]], "dense": [16]})
    result = knn_on_features(model, x, y, x[:10], y[:10], k=1)
    assert result["feature_dim"] == 16
    assert result["train_accuracy"] == 1.0 and result["test_accuracy"] == 1.0
    with pytest.raises(ValueError, match="k is 0"):
        knn_on_features(model, x, y, x, y, k=0)


def test_flagship_smoke_fit_one_epoch():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((200, 32, 32, 3), dtype="float32")
    y = keras.utils.to_categorical(rng.integers(0, 10, 200), 10)
    model = build_model("flagship", {"widths": [16, 32, 32]})
    adapt_to_training_images(model, x)
    model.compile(
        optimizer=keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.2),
    )
    history = model.fit(x, y, batch_size=50, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    probs = model.predict(x[:5], verbose=0)
    assert probs.shape == (5, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_patch_whitening_whitens_training_patches_and_survives_saving(tmp_path):
    from cifar_core.models.flagship import PatchWhitening

    rng = np.random.default_rng(0)
    # Correlated channels and neighbouring pixels, as in real images.
    base = rng.normal(size=(300, 33, 33, 1)).astype("float32")
    smooth = base[:, 1:, 1:] + base[:, :-1, :-1]
    images = np.concatenate(
        [smooth, 0.5 * smooth + 0.1 * rng.normal(size=smooth.shape), rng.normal(size=smooth.shape)],
        axis=-1,
    ).astype("float32")
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, PatchWhitening(2, name="whitening")(inputs))
    assert not np.any(model.get_layer("whitening").kernel.numpy()), "zero until adapted"

    adapt_to_training_images(model, images)
    out = np.asarray(model.predict(images[:100], verbose=0))
    assert out.shape == (100, 31, 31, 24)
    whitened = out[..., :12].reshape(-1, 12)
    np.testing.assert_allclose(np.cov(whitened, rowvar=False), np.eye(12), atol=0.1)
    np.testing.assert_allclose(out[..., 12:], -out[..., :12], atol=1e-5)

    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(images[:4], verbose=0), out[:4], atol=1e-5)


def test_trainer_adapts_layers_inside_the_augmented_model():
    from cifar_core.runs.augmentation import finalize_model

    network = build_model("flagship", {"widths": [8, 8, 8]})
    model = finalize_model(network, {"flip": True})
    assert model is not network
    images = np.random.default_rng(1).random((20, 32, 32, 3), dtype="float32")
    adapt_to_training_images(model, images)
    assert np.any(network.get_layer("whitening").kernel.numpy())
