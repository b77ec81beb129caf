"""The flagship "fast" network, in the spirit of airbench (Keller Jordan, 2024).

A compact VGG-like net: a small stem, then three blocks of

    Conv3×3 → MaxPool 2×2 → BatchNorm → GELU → Conv3×3 → BatchNorm → GELU

with widening channels, then global max pooling and a bias-free linear classifier whose
logits are scaled down by a constant (airbench uses 1/9), which keeps early training
calm together with label smoothing. Pooling *before* BN and activation halves the work
of those layers. The recipe around it (flip + 2-pixel translation, label smoothing 0.2,
linear warm-up then decay, test-time flip averaging) lives in the ``flagship`` variant
of the catalog.
"""
from __future__ import annotations

import keras
from keras import layers

from cifar_core.models import register


def _conv_bn_gelu(x, filters, momentum, *, pool=False):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    if pool:
        x = layers.MaxPooling2D(2)(x)
    x = layers.BatchNormalization(momentum=momentum)(x)
    return layers.Activation("gelu")(x)


@register("flagship")
def build_flagship(*, input_shape, num_classes, widths=(32, 64, 128), stem_width=24,
                   bn_momentum=0.9, logit_scale=1 / 9):
    """Stem, one two-conv block per entry of ``widths``, global max pool, scaled logits."""
    inputs = keras.Input(shape=input_shape)
    x = _conv_bn_gelu(inputs, stem_width, bn_momentum)
    for width in widths:
        x = _conv_bn_gelu(x, width, bn_momentum, pool=True)
        x = _conv_bn_gelu(x, width, bn_momentum)
    x = layers.GlobalMaxPooling2D()(x)
    logits = layers.Dense(num_classes, use_bias=False)(x)
    logits = layers.Rescaling(logit_scale)(logits)
    outputs = layers.Activation("softmax")(logits)
    return keras.Model(inputs, outputs, name="flagship")
