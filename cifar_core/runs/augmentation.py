"""Data augmentation as Keras preprocessing layers, active only while training.

A variant's ``augmentation`` mapping has up to three layer keys (seed 001 / seed 002
style): ``rotation`` (degrees), ``shift`` (fraction of width and height) and ``flip``
(``True``: horizontal only — a vertically flipped CIFAR image is not a plausible
image). The layers live inside the model, in front of the network: Keras random layers
are inactive at inference, so evaluation and the saved model see unaugmented images,
and the same code runs on the TensorFlow, PyTorch and JAX backends.

Two keys are applied to the training batches instead (airbench style, see
:mod:`cifar_core.runs.batches`): ``translate`` (whole pixels) and ``flip: "alternating"``;
:func:`batch_augmentation` picks them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
from keras import layers


def augmentation_layers(augmentation: Mapping[str, Any], seed: int = 0) -> keras.Sequential | None:
    """A ``keras.Sequential`` of random layers for ``augmentation``, or ``None`` if empty."""
    steps = []
    if augmentation.get("rotation"):
        steps.append(layers.RandomRotation(augmentation["rotation"] / 360.0, seed=seed))
    if augmentation.get("shift"):
        shift = augmentation["shift"]
        steps.append(layers.RandomTranslation(shift, shift, seed=seed + 1))
    if augmentation.get("flip") is True:
        steps.append(layers.RandomFlip("horizontal", seed=seed + 2))
    return keras.Sequential(steps, name="augmentation") if steps else None


def batch_augmentation(augmentation: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``augmentation`` applied to the batches rather than by layers.

    >>> batch_augmentation({"flip": "alternating", "translate": 2, "rotation": 10})
    {'flip': 'alternating', 'translate': 2}
    >>> batch_augmentation({"flip": True, "shift": 0.1})
    {}
    """
    chosen = {}
    if augmentation.get("flip") == "alternating":
        chosen["flip"] = "alternating"
    if augmentation.get("translate"):
        chosen["translate"] = augmentation["translate"]
    return chosen


def finalize_model(
    network: keras.Model,
    augmentation: Mapping[str, Any],
    *,
    seed: int = 0,
    float32_output: bool = False,
) -> keras.Model:
    """``network`` with the augmentation layers in front and, under mixed precision, a
    float32 output cast (softmax probabilities must not be float16). Returns
    ``network`` itself when neither is needed; otherwise the network is the inner
    layer named after it."""
    augment = augmentation_layers(augmentation, seed)
    if augment is None and not float32_output:
        return network
    inputs = keras.Input(shape=network.input_shape[1:])
    x = augment(inputs) if augment is not None else inputs
    x = network(x)
    if float32_output:
        x = layers.Activation("linear", dtype="float32", name="float32_output")(x)
    return keras.Model(inputs, x, name=network.name)
