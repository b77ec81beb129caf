"""A rehearsal's training cap: what ``Variant.max_steps_per_epoch`` bounds.

A rehearsal trains every variant with its real architecture, batch size, seeds and
data, but only a few steps, so that every code path (data loading, preprocessing of
the whole training split, model building, scoring, every chapter) runs at full size
in bounded time. The cap bounds the work that grows with training, and nothing that
the analysis reads:

* optimizer steps per epoch (:func:`steps_per_epoch`; the learning-rate schedule spans
  the capped steps, so it still runs its whole course);
* validation batches per epoch (:func:`validation_steps`: the checkpoint's
  ``val_loss`` comes from those batches);
* the training split's final score (:func:`scored_training_images`: train accuracy is
  measured on the first images of the split).

The validation and test splits are still predicted in full and stored, as in a real
run: that is what the chapters read.

>>> from cifar_core.experiments.variant import Variant
>>> real = Variant(name="m", family="mlp", batch_size=32)
>>> capped = real.replace(max_steps_per_epoch=2)
>>> steps_per_epoch(real, 40_000), steps_per_epoch(capped, 40_000)
(1250, 2)
>>> validation_steps(real), validation_steps(capped)
(None, 2)
>>> scored_training_images(real, 40_000), scored_training_images(capped, 40_000)
(40000, 512)
"""

from __future__ import annotations

import math

from cifar_core.experiments.variant import Variant
from cifar_core.runs.predict import BATCH_SIZE as PREDICT_BATCH


def steps_per_epoch(variant: Variant, n_train: int) -> int:
    """Optimizer steps in one epoch over ``n_train`` images, capped by the variant."""
    steps = math.ceil(n_train / variant.batch_size)
    cap = variant.max_steps_per_epoch
    return steps if cap is None else max(1, min(steps, cap))


def validation_steps(variant: Variant) -> int | None:
    """``model.fit``'s ``validation_steps``: ``None`` (the whole split) unless capped."""
    return variant.max_steps_per_epoch


def scored_training_images(variant: Variant, n_train: int) -> int:
    """How many training images the final score predicts (all of them unless capped)."""
    cap = variant.max_steps_per_epoch
    return n_train if cap is None else min(n_train, cap * PREDICT_BATCH)
