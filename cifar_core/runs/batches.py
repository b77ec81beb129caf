"""Training batches augmented in NumPy, airbench style: alternating flips and translations.

Two augmentations are cheaper and better done on the batches than by layers in the model:

* ``translate`` (whole pixels ``r``): each image is cut at a random offset in
  ``[-r, r]²`` out of its reflect-padded copy, a fresh offset every epoch. Integer
  shifts keep the pixels sharp (Keras's ``RandomTranslation`` interpolates).
* ``flip: "alternating"`` (Jordan 2024, §3.6): in the first epoch a random half of the
  images is mirrored; in every later epoch each image is shown the other way round from
  the epoch before. Every image is seen in both orientations every two epochs, which
  random flipping only achieves on average.

:class:`AugmentedBatches` is a ``keras.utils.PyDataset`` that runs on every backend. It
is endless: batch ``i`` is a pure function of ``(seed, i)`` (epoch ``i // steps``, its
own shuffle and offsets), so backend prefetching that reads ahead across an epoch
boundary, and a resumed run, see the same batches as an uninterrupted one. Fit it with
``steps_per_epoch=batches.steps_per_epoch`` and its :meth:`~AugmentedBatches.callback`.

Example
-------
>>> import numpy as np
>>> x = np.arange(4 * 32 * 32 * 3, dtype="float32").reshape(4, 32, 32, 3)
>>> batches = AugmentedBatches(x, np.eye(4, dtype="float32"), batch_size=3,
...                            flip="alternating", translate=2, seed=0)
>>> batches.steps_per_epoch, batches[0][0].shape, batches[1][0].shape
(2, (3, 32, 32, 3), (1, 32, 32, 3))
"""

from __future__ import annotations

import math

import keras
import numpy as np


class AugmentedBatches(keras.utils.PyDataset):
    """Shuffled ``(images, targets)`` batches of ``x``/``y`` (images ``(N, H, W, C)``),
    every epoch, endlessly; the last batch of an epoch holds the remainder. ``flip`` is
    ``False`` or ``"alternating"`` and ``translate`` the largest shift in whole pixels (0:
    none; see the module docstring); the shuffle, the first epoch's flips and the offsets
    follow from ``seed``. Under a rehearsal's ``max_steps_per_epoch``
    (:mod:`cifar_core.runs.step_cap`) each epoch is the first batches of its shuffle.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        batch_size: int,
        flip: bool | str = False,
        translate: int = 0,
        seed: int = 0,
        max_steps_per_epoch: int | None = None,
    ):
        super().__init__(workers=1, use_multiprocessing=False)
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(
                f"x and y must be non-empty and of one length, got {len(x)} and {len(y)}"
            )
        if flip not in (False, "alternating"):
            raise ValueError(
                f"flip is {flip!r}; use False or 'alternating' (random flips "
                "are a layer: augmentation flip=True)"
            )
        if not isinstance(translate, (int, np.integer)) or translate < 0:
            raise ValueError(f"translate is {translate!r}; give whole pixels >= 0")
        if translate >= min(x.shape[1:3]):
            raise ValueError(
                f"translate is {translate}; it must be smaller than the image size {x.shape[1:3]}"
            )
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
        self.flip, self.translate = flip, int(translate)
        self.steps_per_epoch = math.ceil(len(x) / batch_size)
        if max_steps_per_epoch is not None:
            self.steps_per_epoch = max(1, min(self.steps_per_epoch, max_steps_per_epoch))
        self.first_flips = np.random.default_rng([seed, 0x5EED]).random(len(x)) < 0.5
        pad = ((0, 0), (translate, translate), (translate, translate), (0, 0))
        self.padded = np.pad(x, pad, mode="reflect") if translate else x
        self.offset = 0  # batches before this fit's first one (a resumed run)
        self._epoch_cache: tuple[int, np.ndarray, np.ndarray] | None = None

    @property
    def num_batches(self) -> None:
        return None  # endless: fit with steps_per_epoch

    def _epoch_plan(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """The epoch's order of images and each image's (dy, dx) crop offset."""
        if self._epoch_cache is None or self._epoch_cache[0] != epoch:
            rng = np.random.default_rng([self.seed, epoch])
            order = rng.permutation(len(self.x))
            offsets = rng.integers(0, 2 * self.translate + 1, size=(len(self.x), 2))
            self._epoch_cache = (epoch, order, offsets)
        return self._epoch_cache[1], self._epoch_cache[2]

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        epoch, step = divmod(self.offset + index, self.steps_per_epoch)
        order, offsets = self._epoch_plan(epoch)
        chosen = order[step * self.batch_size : (step + 1) * self.batch_size]
        images = self.crop(chosen, offsets[chosen]) if self.translate else self.x[chosen]
        if self.flip == "alternating":
            mirrored = self.first_flips[chosen] ^ bool(epoch % 2)
            images = np.where(mirrored[:, None, None, None], images[:, :, ::-1], images)
        return images, self.y[chosen]

    def crop(self, chosen: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """``x[chosen]`` shifted by ``offsets - translate`` pixels (reflected borders)."""
        height, width = self.x.shape[1:3]
        rows = offsets[:, :1] + np.arange(height)
        cols = offsets[:, 1:] + np.arange(width)
        return self.padded[chosen[:, None, None], rows[:, :, None], cols[:, None, :]]

    def callback(self) -> keras.callbacks.Callback:
        """Aligns the batches with the epoch ``fit`` starts at (after a resume)."""
        batches = self

        class _StartAt(keras.callbacks.Callback):
            def on_train_begin(self, logs: dict | None = None) -> None:
                self.first = True

            def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
                if self.first:
                    batches.offset, self.first = epoch * batches.steps_per_epoch, False

        return _StartAt()
