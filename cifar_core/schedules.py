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

from cifar_core.variants import Variant, VariantError

SCHEDULE_PARAMS = {
    "constant": {},
    "step": {"boundaries": None, "factors": None},
    "cosine": {"warmup_fraction": 0.0, "alpha": 0.0},
    "inverse_time": {"decay": None},
    "warmup_linear": {"warmup_fraction": 0.1, "initial": 0.0, "final": 0.0},
}


def check_schedule(variant: Variant) -> dict[str, Any]:
    """Validate ``variant.schedule_params``; return them with defaults filled in.

    Raises :class:`VariantError` naming the variant and the key, before any training.
    """
    known = SCHEDULE_PARAMS[variant.schedule]
    params = dict(variant.schedule_params)

    def fail(key: str, problem: str) -> None:
        raise VariantError(f"variant {variant.name!r}: schedule_params.{key} {problem} "
                           f"(schedule {variant.schedule!r})")

    for key in params:
        if key not in known:
            fail(key, f"is unknown; known: {', '.join(known) or '(none)'}")
    for key, default in known.items():
        if default is None and key not in params:
            fail(key, "is required")
        params.setdefault(key, default)
    if variant.schedule == "step":
        boundaries, factors = list(params["boundaries"]), list(params["factors"])
        if len(boundaries) != len(factors) or not boundaries:
            fail("factors", "needs one factor per boundary (and at least one boundary)")
        if any(not 0 < b <= 1 for b in boundaries) or boundaries != sorted(boundaries):
            fail("boundaries", f"must be increasing fractions in (0, 1], got {boundaries}")
        if any(f <= 0 for f in factors):
            fail("factors", f"must be positive multipliers, got {factors}")
    for key in ("warmup_fraction", "alpha"):
        if key in params and not 0 <= params[key] < 1:
            fail(key, f"must be in [0, 1), got {params[key]!r}")
    for key in ("initial", "final"):
        if key in params and not 0 <= params[key] <= 1:
            fail(key, f"must be a fraction of the learning rate in [0, 1], got {params[key]!r}")
    if "decay" in params and not params["decay"] >= 0:
        fail("decay", f"must be >= 0, got {params['decay']!r}")
    return params


def learning_rate_for(variant: Variant, steps_per_epoch: int):
    """The ``learning_rate`` argument for the variant's optimizer: a float or a schedule."""
    params = check_schedule(variant)
    lr = float(variant.learning_rate)
    total = max(1, variant.epochs * steps_per_epoch)
    schedules = keras.optimizers.schedules
    if variant.schedule == "constant":
        return lr
    if variant.schedule == "step":
        # PiecewiseConstantDecay keeps values[i] while step <= boundaries[i]; the first
        # step of epoch e is step e * steps_per_epoch, hence the "- 1".
        steps = [max(0, round(b * variant.epochs) * steps_per_epoch - 1)
                 for b in params["boundaries"]]
        values = [lr] + [lr * f for f in params["factors"]]
        return schedules.PiecewiseConstantDecay(steps, values)
    if variant.schedule == "inverse_time":
        return schedules.InverseTimeDecay(lr, decay_steps=1, decay_rate=params["decay"])
    warmup = round(params["warmup_fraction"] * total)
    if variant.schedule == "cosine":
        if warmup == 0:
            return schedules.CosineDecay(lr, decay_steps=total, alpha=params["alpha"])
        return schedules.CosineDecay(0.0, decay_steps=max(1, total - warmup),
                                     alpha=params["alpha"], warmup_target=lr,
                                     warmup_steps=warmup)
    return WarmupLinearDecay(lr, warmup_steps=warmup, total_steps=total,
                             initial=params["initial"], final=params["final"])


@keras.saving.register_keras_serializable(package="cifar_core")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from ``initial * peak`` to ``peak`` over ``warmup_steps``, then
    linear decay to ``final * peak`` at ``total_steps`` (the flagship recipe's schedule;
    airbench's "triangle" with ``initial=0.2, final=0.07``). Uses ``keras.ops`` only."""

    def __init__(self, peak: float, warmup_steps: int, total_steps: int,
                 initial: float = 0.0, final: float = 0.0):
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.initial, self.final = float(initial), float(final)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        start, end = self.initial * self.peak, self.final * self.peak
        rising = start + (self.peak - start) * step / max(1.0, float(self.warmup_steps))
        falling = end + (self.peak - end) * (self.total_steps - step) / max(
            1.0, float(self.total_steps - self.warmup_steps))
        value = ops.where(step < self.warmup_steps, rising, falling)
        return ops.clip(value, min(start, end), self.peak)

    def get_config(self) -> dict[str, Any]:
        return {"peak": self.peak, "warmup_steps": self.warmup_steps,
                "total_steps": self.total_steps, "initial": self.initial, "final": self.final}
