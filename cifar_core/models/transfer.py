"""Transfer learning from VGG16 (seed 003): an ImageNet-trained base plus a small head.

The base is ``keras.applications.VGG16(include_top=False)``, cut after block 3
(``cut="block3_pool"``, seed 003's 2,787,914-parameter model on 32×32 inputs) or kept
whole (``cut="block5_pool"``). The head is seed 003's: Flatten – Dense 256 (ReLU) –
BatchNorm – Dropout – Dense softmax. ``trainable=False`` freezes the base.

ImageNet weights never come from the network here: :mod:`cifar_core.models.weights`
resolves and verifies the local file (an explicit path, ``CIFAR_REPORT_VGG16_WEIGHTS``,
then the Keras cache) before the model is built, and raises :class:`WeightsUnavailable`
(or its subclass :class:`WeightsFileError` for a file of the wrong kind) saying which
file to put where. A model is never silently trained from random weights under a
transfer name; ``weights="random"`` asks for that explicitly.
"""

from __future__ import annotations

import keras
from keras import layers

from cifar_core.models import register
from cifar_core.models.weights import resolve_vgg16_weights

CUTS = ("block1_pool", "block2_pool", "block3_pool", "block4_pool", "block5_pool")


def vgg16_base(input_shape: tuple[int, ...], *, weights: str, cut: str) -> keras.Model:
    """VGG16 without its top, with ``weights`` loaded, cut after layer ``cut``."""
    if cut not in CUTS:
        raise ValueError(f"params.cut is {cut!r}; choose one of {CUTS}")
    if weights not in ("imagenet", "random"):
        raise ValueError(f"params.weights is {weights!r}; choose 'imagenet' or 'random'")
    full = keras.applications.VGG16(include_top=False, weights=None, input_shape=input_shape)
    if weights == "imagenet":
        full.load_weights(str(resolve_vgg16_weights().path))
    return keras.Model(full.input, full.get_layer(cut).output, name=f"vgg16_to_{cut}")


@register("vgg16_transfer")
def build_vgg16_transfer(
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    cut: str = "block3_pool",
    weights: str = "imagenet",
    trainable: bool = True,
    dense: int = 256,
    dropout: float = 0.5,
) -> keras.Model:
    """VGG16 base (cut at ``cut``) + Dense(``dense``)–BN–Dropout–softmax head."""
    base = vgg16_base(input_shape, weights=weights, cut=cut)
    base.trainable = bool(trainable)
    inputs = keras.Input(shape=input_shape)
    x = base(inputs)
    x = layers.Flatten()(x)
    x = layers.Dense(dense, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="vgg16_transfer")
