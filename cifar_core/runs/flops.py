"""FLOP formulas: what training and prediction cost, from a model's forward FLOPs.

Forward FLOPs per image are counted by :func:`cifar_core.models.stats.flops_per_image`
(2 × multiply-adds of the Conv2D, DepthwiseConv2D and Dense layers; biases, batch norm,
activations, pooling and augmentation are not counted). From them:

* **training** costs :data:`TRAINING_PASSES` = 3 forward passes per image and epoch: the
  backward pass costs about twice the forward (gradients with respect to the
  activations and to the weights). That overstates a frozen base (transfer learning
  with ``trainable=False`` needs no weight gradients there);
* **prediction** costs one forward pass per test-time view of
  :func:`cifar_core.runs.predict.predict` (:func:`prediction_passes`).

The compute plan (:mod:`cifar_core.runs.compute_plan`), the speed calibration
(:mod:`cifar_core.runs.speed`) and the report's compute chapter
(:mod:`cifar_core.analysis.compute`) all count with these.

Example
-------
>>> training_flops(1_000_000, images=40_000, epochs=10)
1200000000000
>>> [prediction_passes(flip, translate) for flip, translate in ((0, 0), (1, 0), (0, 1), (1, 1))]
[1, 2, 3, 6]
>>> prediction_flops(1_000_000, images=10_000, flip=True)
20000000000
"""

from __future__ import annotations

from typing import TypeVar

from cifar_core.runs.predict import TRANSLATE_SHIFTS

TRAINING_PASSES = 3
"""Forward-pass equivalents of one training step per image (forward + backward)."""

Number = TypeVar("Number", int, float)


def training_flops(forward_flops: Number, images: Number, epochs: Number) -> Number:
    """``forward_flops × 3 × images × epochs``: exact for ints, in this order for floats."""
    return forward_flops * TRAINING_PASSES * images * epochs


def prediction_passes(flip: bool, translate: int) -> int:
    """Forward passes per image of :func:`cifar_core.runs.predict.predict` with these views:
    the images (and their mirror images when ``flip``), and as many again per shift
    of :data:`~cifar_core.runs.predict.TRANSLATE_SHIFTS` when ``translate`` > 0."""
    views = 2 if flip else 1
    return views * (1 + (len(TRANSLATE_SHIFTS) if translate else 0))


def prediction_flops(
    forward_flops: Number, images: Number, *, flip: bool = False, translate: int = 0
) -> Number:
    """FLOPs of predicting ``images`` images with the given test-time views."""
    return forward_flops * prediction_passes(flip, translate) * images
