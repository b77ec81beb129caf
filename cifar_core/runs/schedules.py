"""Learning-rate schedules of a variant, as Keras 3 ``LearningRateSchedule`` objects.

Every schedule parameter that refers to time is a *fraction of the total epochs*, so a
profile that scales ``epochs`` keeps the schedule's shape. Steps are optimizer
iterations; ``steps_per_epoch`` converts fractions into steps.

==============  =====================================  ==================================
schedule        ``schedule_params``                    learning rate
==============  =====================================  ==================================
constant        (none)                                 ``learning_rate``
step            ``boundaries`` (fractions, increasing),  ``learning_rate * factors[i]`` from
                ``factors`` (multipliers of the base)  the epoch at ``boundaries[i]`` on
cosine          ``warmup_fraction`` (default 0),       linear warm-up from 0, then cosine
                ``alpha`` (final fraction, default 0)  decay to ``alpha * learning_rate``
inverse_time    ``decay`` (per step, e.g. 1e-6)        ``lr / (1 + decay * step)`` (legacy
                                                       Keras ``decay=``)
warmup_linear   ``warmup_fraction`` (default 0.1),     linear ``initial * lr`` → lr, then
                ``initial``, ``final`` (fractions of   linear → ``final * lr`` at the
                lr, default 0)                         last step
==============  =====================================  ==================================

Only training imports this module (it imports Keras).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from cifar_core.experiments.variant import Variant


def learning_rate_for(
    variant: Variant, steps_per_epoch: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The ``learning_rate`` argument for the variant's optimizer: a float or a schedule."""
    params = variant.schedule_settings()
    lr = float(variant.learning_rate)
    total = max(1, variant.epochs * steps_per_epoch)
    schedules = keras.optimizers.schedules
    if variant.schedule == "constant":
        return lr
    if variant.schedule == "step":
        # PiecewiseConstantDecay keeps values[i] while step <= boundaries[i]; the first
        # step of epoch e is step e * steps_per_epoch, hence the "- 1".
        steps = [
            max(0, round(b * variant.epochs) * steps_per_epoch - 1) for b in params["boundaries"]
        ]
        values = [lr] + [lr * f for f in params["factors"]]
        return schedules.PiecewiseConstantDecay(steps, values)
    if variant.schedule == "inverse_time":
        return schedules.InverseTimeDecay(lr, decay_steps=1, decay_rate=params["decay"])
    warmup = round(params["warmup_fraction"] * total)
    if variant.schedule == "cosine":
        if warmup == 0:
            return schedules.CosineDecay(lr, decay_steps=total, alpha=params["alpha"])
        return schedules.CosineDecay(
            0.0,
            decay_steps=max(1, total - warmup),
            alpha=params["alpha"],
            warmup_target=lr,
            warmup_steps=warmup,
        )
    return WarmupLinearDecay(
        lr, warmup_steps=warmup, total_steps=total, initial=params["initial"], final=params["final"]
    )


@keras.saving.register_keras_serializable(package="cifar_core")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from ``initial * peak`` to ``peak`` over ``warmup_steps``, then
    linear decay to ``final * peak`` at ``total_steps`` (the flagship recipe's schedule;
    airbench's "triangle" with ``initial=0.2, final=0.07``). Uses ``keras.ops`` only."""

    def __init__(
        self,
        peak: float,
        warmup_steps: int,
        total_steps: int,
        initial: float = 0.0,
        final: float = 0.0,
    ):
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.initial, self.final = float(initial), float(final)

    def __call__(self, step):  # a backend tensor in, one out (Keras's schedule protocol)
        step = ops.cast(step, "float32")
        start, end = self.initial * self.peak, self.final * self.peak
        rising = start + (self.peak - start) * step / max(1.0, float(self.warmup_steps))
        falling = end + (self.peak - end) * (self.total_steps - step) / max(
            1.0, float(self.total_steps - self.warmup_steps)
        )
        value = ops.where(step < self.warmup_steps, rising, falling)
        return ops.clip(value, min(start, end), self.peak)

    def get_config(self) -> dict[str, Any]:
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "initial": self.initial,
            "final": self.final,
        }
