"""Wide residual networks (Zagoruyko & Komodakis, 2016), as seed 002 tried (WRN-16-8).

WRN-``depth``-``width``: a 3×3 stem with 16 filters, then three groups of
``(depth - 4) / 6`` pre-activation residual blocks with ``16·k``, ``32·k`` and ``64·k``
filters (the second and third groups halve the resolution), then BN–ReLU, global
average pooling and a softmax classifier. Dropout, when set, sits between the two
convolutions of each block, as in the paper.
"""

from __future__ import annotations

import keras
from keras import layers

from cifar_core.models import register


@register("wide_resnet")
def build_wide_resnet(
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    depth: int = 16,
    width: int = 8,
    dropout: float = 0.0,
    bn_momentum: float = 0.9,
    l2: float = 0.0,
) -> keras.Model:
    """Build WRN-``depth``-``width``; ``depth`` must be 6·n + 4 (10, 16, 22, 28, …)."""
    if depth < 10 or (depth - 4) % 6:
        raise ValueError(
            f"params.depth is {depth}; a wide ResNet needs depth = 6n + 4 (e.g. 16, 28)"
        )
    if width < 1:
        raise ValueError(f"params.width is {width}; it must be >= 1")

    def bn_relu(x: keras.KerasTensor) -> keras.KerasTensor:
        x = layers.BatchNormalization(momentum=bn_momentum)(x)
        return layers.Activation("relu")(x)

    def conv(filters: int, kernel_size: int, strides: int) -> layers.Conv2D:
        regularizer = keras.regularizers.L2(l2) if l2 else None
        return layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding="same",
            use_bias=False,
            kernel_regularizer=regularizer,
        )

    def residual_block(x: keras.KerasTensor, filters: int, strides: int) -> keras.KerasTensor:
        """Pre-activation block: BN-ReLU-conv3×3 (-dropout) -BN-ReLU-conv3×3, plus shortcut."""
        activated = bn_relu(x)
        if strides != 1 or x.shape[-1] != filters:
            shortcut = conv(filters, 1, strides)(activated)
        else:
            shortcut = x
        y = bn_relu(conv(filters, 3, strides)(activated))
        if dropout:
            y = layers.Dropout(dropout)(y)
        y = conv(filters, 3, 1)(y)
        return layers.Add()([shortcut, y])

    blocks_per_group = (depth - 4) // 6
    inputs = keras.Input(shape=input_shape)
    x = conv(16, 3, 1)(inputs)
    for group, base in enumerate((16, 32, 64)):
        for index in range(blocks_per_group):
            x = residual_block(x, base * width, 2 if group > 0 and index == 0 else 1)
    x = bn_relu(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=f"wrn_{depth}_{width}")
