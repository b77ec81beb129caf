"""Plain convolutional networks: stacks of conv blocks, then a dense head.

One configurable family expresses every plain CNN of the seeds:

* a **block** is a list of filter counts, one ``Conv2D`` per entry, followed by an
  optional pooling layer and an optional dropout;
* batch norm may sit *before* the activation (seed 001's model_c, seed 004) or *after*
  it (seed 000, seed 002's VGG-style Model 3, seed 003), with or without biases;
* the head is ``Flatten`` (or global pooling), optional hidden ``Dense`` layers, and a
  softmax ``Dense``.

Examples
--------
Seed 002's Model 1 (42,442 parameters)::

    build_model("cnn", {"blocks": [[32], [64]], "dense": []})

Seed 001's model_a (2,168,362 parameters)::

    build_model("cnn", {"blocks": [[32, 32], [64, 64]], "padding": "same",
                        "dense": [512], "dense_dropout": 0.5})
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import keras
from keras import layers

from cifar_core.models import register

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "gelu", "elu")
POOLS = ("max", "average", None)
GLOBAL_POOLS = ("average", "max", None)
BN_POSITIONS = ("before_activation", "after_activation")


def _per_block(value: float | Sequence[float], count: int, key: str) -> list[float]:
    """Broadcast a scalar to one value per block, or check a per-block list."""
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"params.{key} has {len(value)} entries for {count} blocks")
        return list(value)
    return [cast(float, value)] * count


def _check_choice(key: str, value: str | None, choices: Sequence[str | None]) -> None:
    if value not in choices:
        raise ValueError(f"params.{key} is {value!r}; choose one of {choices}")


POOL_LAYERS = {"max": layers.MaxPooling2D, "average": layers.AveragePooling2D}
HEAD_LAYERS = {"average": layers.GlobalAveragePooling2D, "max": layers.GlobalMaxPooling2D}


@register("cnn")
def build_cnn(
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    blocks: Sequence[Sequence[int]] = ((32,), (64,)),
    kernel_size: int = 3,
    padding: str = "valid",
    activation: str = "relu",
    batch_norm: bool = False,
    bn_position: str = "before_activation",
    bn_momentum: float = 0.99,
    use_bias: bool | None = None,
    pool: str | None = "max",
    pool_size: int = 2,
    pool_padding: str = "valid",
    block_dropout: float | Sequence[float] = 0.0,
    global_pool: str | None = None,
    dense: Sequence[int] = (),
    dense_activation: str = "relu",
    dense_dropout: float = 0.0,
    dense_batch_norm: bool = False,
    l2: float = 0.0,
) -> keras.Model:
    """Build a plain CNN.

    Args:
        blocks: one list of conv filter counts per block, e.g. ``[[32, 32], [64, 64]]``.
        kernel_size, padding: of every ``Conv2D`` (``"valid"`` is the Keras default).
        activation: of the convolutions; one of ``ACTIVATIONS``.
        batch_norm: add ``BatchNormalization`` after each convolution.
        bn_position: ``"before_activation"`` or ``"after_activation"``.
        bn_momentum: the BN layers' moving-average momentum (Keras convention).
        use_bias: biases of convs and hidden dense layers; ``None`` means "off exactly
            when batch norm comes right after the layer" (before the activation).
        pool, pool_size, pool_padding: pooling after each block (``None``: no pooling).
        block_dropout: dropout rate after each block (a float or one per block).
        global_pool: ``"average"``/``"max"`` pools the last feature map globally instead
            of flattening it.
        dense, dense_activation, dense_dropout, dense_batch_norm: the hidden dense head.
        l2: L2 penalty on the convolution kernels (seed 003 uses 1e-4).
    """
    _check_choice("activation", activation, ACTIVATIONS)
    _check_choice("dense_activation", dense_activation, ACTIVATIONS)
    _check_choice("pool", pool, POOLS)
    _check_choice("global_pool", global_pool, GLOBAL_POOLS)
    _check_choice("bn_position", bn_position, BN_POSITIONS)
    if not blocks:
        raise ValueError("params.blocks must hold at least one block of filters")
    dropouts = _per_block(block_dropout, len(blocks), "block_dropout")

    def bias(norm: bool) -> bool:  # off exactly when BN comes right after the layer
        return not (norm and bn_position == "before_activation") if use_bias is None else use_bias

    def unit(x: keras.KerasTensor, layer: layers.Layer, act: str, norm: bool) -> keras.KerasTensor:
        """``layer``, then BN (when ``norm``) and activation ``act`` in the configured order."""
        x = layer(x)
        if norm and bn_position == "before_activation":
            x = layers.BatchNormalization(momentum=bn_momentum)(x)
        x = layers.Activation(act)(x)
        if norm and bn_position == "after_activation":
            x = layers.BatchNormalization(momentum=bn_momentum)(x)
        return x

    inputs = keras.Input(shape=input_shape)
    x = inputs
    for filters_list, rate in zip(blocks, dropouts):
        for filters in filters_list:
            conv = layers.Conv2D(
                filters,
                kernel_size,
                padding=padding,
                use_bias=bias(batch_norm),
                kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
            )
            x = unit(x, conv, activation, batch_norm)
        if pool is not None:
            x = POOL_LAYERS[pool](pool_size, padding=pool_padding)(x)
        if rate:
            x = layers.Dropout(rate)(x)
    x = HEAD_LAYERS.get(global_pool or "", layers.Flatten)()(x)
    for width in dense:
        dense_layer = layers.Dense(width, use_bias=bias(dense_batch_norm))
        x = unit(x, dense_layer, dense_activation, dense_batch_norm)
        if dense_dropout:
            x = layers.Dropout(dense_dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="cnn")
