"""Transfer learning from VGG16 (seed 003): an ImageNet-trained base plus a small head.

The base is ``keras.applications.VGG16(include_top=False)``, cut after block 3
(``cut="block3_pool"``, seed 003's 2,787,914-parameter model on 32×32 inputs) or kept
whole (``cut="block5_pool"``). The head is seed 003's: Flatten – Dense 256 (ReLU) –
BatchNorm – Dropout – Dense softmax. ``trainable=False`` freezes the base.

ImageNet weights never come from the network here. They are read from a local file:

1. the path in the environment variable ``CIFAR_REPORT_VGG16_WEIGHTS``, else
2. the Keras cache, ``~/.keras/models/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5``.

When neither exists, building raises :class:`WeightsUnavailable`, which says which file
to put where. A model is never silently trained from random weights under a transfer
name; ``weights="random"`` asks for that explicitly.
"""
from __future__ import annotations

import os
from pathlib import Path

import keras
from keras import layers

from cifar_core.models import register
from cifar_core.models.weights import WEIGHTS_ENV, WEIGHTS_FILE, WEIGHTS_URL, keras_cache_path

CUTS = ("block1_pool", "block2_pool", "block3_pool", "block4_pool", "block5_pool")


class WeightsUnavailable(RuntimeError):
    """The ImageNet weights for a transfer-learning model are not on this machine."""


def resolve_vgg16_weights() -> Path:
    """The local VGG16 ImageNet weights file, or :class:`WeightsUnavailable`."""
    explicit = os.environ.get(WEIGHTS_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_file():
            return path
        raise WeightsUnavailable(
            f"{WEIGHTS_ENV} points to {path}, which is not a file. Set it to the VGG16 "
            f"no-top ImageNet weights ({WEIGHTS_FILE}, from {WEIGHTS_URL})."
        )
    cached = keras_cache_path()
    if cached.is_file():
        return cached
    raise WeightsUnavailable(
        f"VGG16 ImageNet weights not found: set {WEIGHTS_ENV} to a local copy of "
        f"{WEIGHTS_FILE} or place it at {cached} (download it from {WEIGHTS_URL} on a "
        "machine with network). Transfer-learning variants are not run without them."
    )


def vgg16_base(input_shape, *, weights: str, cut: str):
    """VGG16 without its top, with ``weights`` loaded, cut after layer ``cut``."""
    if cut not in CUTS:
        raise ValueError(f"params.cut is {cut!r}; choose one of {CUTS}")
    if weights not in ("imagenet", "random"):
        raise ValueError(f"params.weights is {weights!r}; choose 'imagenet' or 'random'")
    full = keras.applications.VGG16(include_top=False, weights=None, input_shape=input_shape)
    if weights == "imagenet":
        full.load_weights(str(resolve_vgg16_weights()))
    return keras.Model(full.input, full.get_layer(cut).output, name=f"vgg16_to_{cut}")


@register("vgg16_transfer")
def build_vgg16_transfer(*, input_shape, num_classes, cut="block3_pool", weights="imagenet",
                         trainable=True, dense=256, dropout=0.5):
    """VGG16 base (cut at ``cut``) + Dense(``dense``)–BN–Dropout–softmax head."""
    base = vgg16_base(input_shape, weights=weights, cut=cut)
    base.trainable = bool(trainable)
    inputs = keras.Input(shape=input_shape)
    x = base(inputs)
    x = layers.Flatten()(x)
    x = layers.Dense(dense, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="vgg16_transfer")
