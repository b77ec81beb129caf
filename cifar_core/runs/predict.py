"""Inference: a model's class probabilities on test images, with test-time views.

:func:`predict` is the one prediction function: training scores its splits with it
(:func:`cifar_core.runs.train.fit_variant`, the variant's ``tta_flip`` and
``tta_translate``) and the predictions derived later from a stored model use it too
(:mod:`cifar_core.runs.derived_predictions`). Its views follow airbench's
``infer(model, loader, tta_level)`` (Jordan 2024):

* **plain**: one forward pass in inference mode;
* **flip** (``flip=True``): the mean of the images and their mirror images;
* **translate** (``translate=t`` pixels): half of the above, and a quarter each of the
  same for the images shifted by ``(-t, -t)`` and ``(t, t)`` (:data:`TRANSLATE_SHIFTS`
  at one pixel), borders reflected.

:func:`average_views` is that weighting alone, for views already predicted (the TTA
chapter combines cached single passes with it). The arithmetic order is part of the
result: it fixes the bits of every stored ``test_probs``. Nothing here imports Keras;
the model brings it.

Example
-------
>>> class LeftHalf:   # a stand-in model: P(class 1) = brightness of the left half
...     output_shape = (None, 2)
...     def predict(self, x, batch_size, verbose):
...         p = x[:, :, : x.shape[2] // 2].mean(axis=(1, 2, 3))
...         return np.stack([1 - p, p], axis=1).astype("float32")
>>> x = np.zeros((1, 4, 4, 1), "float32")
>>> x[:, :, :2] = 1   # the left half is white, so its mirror image is dark there
>>> predict(LeftHalf(), x).tolist(), predict(LeftHalf(), x, flip=True).tolist()
([[0.0, 1.0]], [[0.5, 0.5]])
>>> predict(LeftHalf(), x, translate=1).tolist()   # up-left, the left half is half white
[[0.125, 0.875]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

BATCH_SIZE = 256
"""Images per ``model.predict`` batch."""

TRANSLATE_SHIFTS: tuple[tuple[int, int], ...] = ((-1, -1), (1, 1))
"""airbench's translations (``tta_level=2``): one pixel up-left and one pixel
down-right, rows and columns as ``(dy, dx)``; each is also mirrored under flip."""


def flip_images(images: np.ndarray) -> np.ndarray:
    """Mirror ``(N, H, W, C)`` images left to right (a view, not a copy)."""
    return np.asarray(images)[:, :, ::-1, :]


def translate_images(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Shift ``(N, H, W, C)`` images by ``dy`` rows down and ``dx`` columns right (negative:
    up/left); the uncovered border is filled by reflection (``numpy.pad(mode="reflect")``).

    >>> translate_images(np.arange(3).reshape(1, 1, 3, 1), 0, 1)[0, 0, :, 0].tolist()
    [1, 0, 1]
    """
    images = np.asarray(images)
    height, width = images.shape[1:3]
    if abs(dy) >= height or abs(dx) >= width:
        raise ValueError(f"shift ({dy}, {dx}) is not smaller than the {height}×{width} images")
    py, px = abs(dy), abs(dx)
    padded = np.pad(images, ((0, 0), (py, py), (px, px), (0, 0)), mode="reflect")
    top, left = py - dy, px - dx
    return padded[:, top : top + height, left : left + width, :]


def translate_shifts(pixels: int) -> tuple[tuple[int, int], ...]:
    """The ``(dy, dx)`` shifts of translate TTA by ``pixels`` (:data:`TRANSLATE_SHIFTS` at 1)."""
    return tuple((dy * pixels, dx * pixels) for dy, dx in TRANSLATE_SHIFTS)


def average_views(
    plain: np.ndarray,
    flipped: np.ndarray | None = None,
    translated: Sequence[Sequence[np.ndarray]] | np.ndarray | None = None,
) -> np.ndarray:
    """airbench's weighting of test-time views, computed in the inputs' dtype: ``plain``
    (one forward pass, ``(N, classes)``) averaged with ``flipped`` (the pass on the mirror
    images) when given; ``translated`` (``(shifts, views, N, classes)``: per shift, the
    pass on the shifted images and, with ``flipped``, on the shifted mirror images) then
    shares half of the weight.

    >>> average_views(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]])).tolist()
    [[0.75, 0.25]]
    >>> average_views(np.array([[1.0, 0.0]]), translated=[[np.array([[0.0, 1.0]])]] * 2).tolist()
    [[0.5, 0.5]]
    """
    probs = plain if flipped is None else (plain + flipped) / 2
    if translated is None:
        return probs
    per_shift = [views[0] if flipped is None else (views[0] + views[1]) / 2 for views in translated]
    return probs / 2 + sum(per_shift) / (2 * len(per_shift))


def predict(
    model: keras.Model,
    images: np.ndarray,
    *,
    flip: bool = False,
    translate: int = 0,
    batch_size: int = BATCH_SIZE,
) -> np.ndarray:
    """Class probabilities (float32) of ``model`` on preprocessed ``images`` in inference
    mode: one plain pass, or the views ``flip`` and ``translate`` (pixels) combined by
    :func:`average_views`. Each view is one ``model.predict`` call."""
    if len(images) == 0:
        return np.zeros((0,) + tuple(model.output_shape[1:]), "float32")

    def passes(view: np.ndarray) -> list[np.ndarray]:
        views = (view, flip_images(view)) if flip else (view,)
        return [model.predict(v, batch_size=batch_size, verbose=0) for v in views]

    plain = passes(images)
    translated = (
        [passes(translate_images(images, dy, dx)) for dy, dx in translate_shifts(translate)]
        if translate
        else None
    )
    probs = average_views(plain[0], plain[1] if flip else None, translated)
    return np.asarray(probs, "float32")
