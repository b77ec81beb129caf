"""Multi-layer perceptrons (seed 000's MLP, seed 004's Dense 512-256 tanh)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from cifar_core.models import register


@register("mlp")
def build_mlp(
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    units: Sequence[int] = (512, 256),
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> keras.Model:
    """Flatten, then one Dense(+BN)(+Dropout) block per entry of ``units``, then softmax."""
    inputs = keras.Input(shape=input_shape)
    x = layers.Flatten()(inputs)
    for width in units:
        x = layers.Dense(width, use_bias=not batch_norm)(x)
        if batch_norm:
            x = layers.BatchNormalization()(x)
        x = layers.Activation(activation)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="mlp")
