"""The flagship "fast" network, in the spirit of airbench (Keller Jordan, 2024).

A compact VGG-like net: a fixed patch-whitening stem, then three blocks of

    Conv3×3 → MaxPool 2×2 → BatchNorm → GELU → Conv3×3 → BatchNorm → GELU

with widening channels, then global max pooling and a bias-free linear classifier whose
logits are scaled down by a constant (airbench uses 1/9), which keeps early training
calm together with label smoothing. Pooling *before* BN and activation halves the work
of those layers. The recipe around it (its hyper-parameters, augmentation, schedule,
test-time augmentation and its evidence) lives in :mod:`cifar_core.experiments.flagship`.

The stem is what makes the first epochs count: its 2×2 filters are the eigenvectors of
the training images' 2×2-patch covariance, scaled to unit variance (ZCA-like whitening),
in both signs so that GELU keeps the information. They are computed from the training
images before ``fit`` (:meth:`PatchWhitening.adapt`, called by the trainer) and stay
fixed; only the stem's bias learns. On the real sample this halves the time to seed
004's accuracy (``benchmarks/time_to_accuracy.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from cifar_core.models import register

#: at most this many images are used to estimate the patch covariance
WHITENING_IMAGES = 2048


@keras.saving.register_keras_serializable(package="cifar_core")
class PatchWhitening(layers.Layer):
    """A fixed ``patch_size``×``patch_size`` "valid" convolution that whitens patches.

    Outputs ``2 * patch_size² * channels`` maps (each whitening filter and its negative).
    Until :meth:`adapt` has seen images its kernel is zero, so a model must be adapted
    before training; the trainer does it for every layer with ``adapt_before_fit``.

    >>> layer = PatchWhitening(patch_size=2)                          # doctest: +SKIP
    >>> layer.adapt(np.random.rand(64, 32, 32, 3).astype("float32"))  # doctest: +SKIP
    >>> layer(np.zeros((1, 32, 32, 3))).shape                         # doctest: +SKIP
    (1, 31, 31, 24)
    """

    adapt_before_fit = True

    def __init__(self, patch_size: int = 2, epsilon: float = 5e-4, **kwargs: Any):
        super().__init__(**kwargs)
        self.patch_size, self.epsilon = patch_size, epsilon

    def build(self, input_shape):  # Keras's layer protocol: (batch, height, width, channels)
        channels = input_shape[-1]
        size = self.patch_size
        self.kernel = self.add_weight(
            shape=(size, size, channels, 2 * size * size * channels),
            initializer="zeros",
            trainable=False,
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(2 * size * size * channels,), initializer="zeros", name="bias"
        )

    def adapt(self, images: np.ndarray) -> None:
        """Set the filters from the patch covariance of (at most 2,048 of) ``images``."""
        images = np.asarray(images, "float32")
        if not self.built:
            self.build(images.shape)
        images = images[:: max(1, len(images) // WHITENING_IMAGES)]
        size, channels = self.patch_size, images.shape[-1]
        patches = np.lib.stride_tricks.sliding_window_view(images, (size, size), axis=(1, 2))
        patches = patches.transpose(0, 1, 2, 4, 5, 3).reshape(-1, size * size * channels)
        eigenvalues, eigenvectors = np.linalg.eigh(np.cov(patches, rowvar=False))
        filters = eigenvectors / np.sqrt(np.maximum(eigenvalues, 0) + self.epsilon)
        filters = filters.reshape(size, size, channels, -1)
        self.kernel.assign(np.concatenate([filters, -filters], axis=-1).astype("float32"))

    def call(self, inputs):  # a backend tensor in, one out (Keras's layer protocol)
        return ops.conv(inputs, ops.cast(self.kernel, inputs.dtype), padding="valid") + ops.cast(
            self.bias, inputs.dtype
        )

    def compute_output_shape(self, input_shape):  # Keras's layer protocol
        trim = self.patch_size - 1
        spatial = [None if d is None else d - trim for d in input_shape[1:3]]
        return (input_shape[0], *spatial, 2 * self.patch_size**2 * input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "patch_size": self.patch_size, "epsilon": self.epsilon}


def _conv_bn_gelu(
    x: keras.KerasTensor, filters: int, momentum: float, *, pool: bool = False
) -> keras.KerasTensor:
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    if pool:
        x = layers.MaxPooling2D(2)(x)
    x = layers.BatchNormalization(momentum=momentum)(x)
    return layers.Activation("gelu")(x)


@register("flagship")
def build_flagship(
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    widths: Sequence[int] = (32, 64, 128),
    whitening_patch: int = 2,
    bn_momentum: float = 0.9,
    logit_scale: float = 1 / 9,
) -> keras.Model:
    """Whitening stem, one two-conv block per entry of ``widths``, global max pool,
    scaled logits. Call ``adapt`` on the stem (layer ``whitening``) before training."""
    inputs = keras.Input(shape=input_shape)
    x = PatchWhitening(whitening_patch, name="whitening")(inputs)
    x = layers.Activation("gelu")(x)
    for width in widths:
        x = _conv_bn_gelu(x, width, bn_momentum, pool=True)
        x = _conv_bn_gelu(x, width, bn_momentum)
    x = layers.GlobalMaxPooling2D()(x)
    logits = layers.Dense(num_classes, use_bias=False)(x)
    logits = layers.Rescaling(logit_scale)(logits)
    outputs = layers.Activation("softmax", dtype="float32")(logits)
    return keras.Model(inputs, outputs, name="flagship")
