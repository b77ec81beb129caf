"""Lookahead weight averaging with a ramped decay, as in airbench (Jordan 2024).

Every ``every`` optimizer steps, a slow copy of the weights moves towards the trained
weights, ``slow ← slow + (1 - α)(fast - slow)``, and the trained weights are reset to it.
The decay ramps up over training, ``α = decay**every * (t / T)**power`` at step ``t`` of
``T``: early on (``α ≈ 0``) the slow copy just follows, late in training it averages
over the last few hundred steps, which smooths the noise of the final steps the way an
exponential moving average does — and, unlike an EMA kept on the side, the training
continues from the average. All floating-point weights take part, batch-norm statistics
included, so they always match the weights. After the last step of the last epoch the
weights are the slow copy.

Only ``keras.ops`` and variable ``assign`` are used, so every backend runs it. The slow
copy is not part of a ``BackupAndRestore`` checkpoint: a resumed run restarts it from
the restored weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
from keras import ops


class Lookahead(keras.callbacks.Callback):
    """Keras callback; put it first, so later callbacks see the averaged weights.

    Every ``every`` optimizer steps it averages, with the per-step ``decay`` (in [0, 1))
    that the ramp ``(t / T)**power`` reaches at the end of training (``power`` 0:
    constant decay).

    Example
    -------
    >>> Lookahead(every=5, decay=0.95, power=3).alpha(step=50, total=100)  # doctest: +ELLIPSIS
    0.0967...
    """

    def __init__(self, every: int, decay: float, power: float):
        super().__init__()
        if every < 1 or not 0 <= decay < 1 or power < 0:
            raise ValueError(
                f"lookahead needs every >= 1, 0 <= decay < 1, power >= 0; got "
                f"every={every}, decay={decay}, power={power}"
            )
        self.every, self.decay, self.power = int(every), float(decay), float(power)
        self.slow: list = []  # the slow copy, one tensor per floating-point weight
        self.step: int | None = None

    @classmethod
    def from_config_mapping(cls, config: Mapping[str, Any]) -> Lookahead:
        """From a variant's ``lookahead`` mapping (``every``, ``decay``, ``power``)."""
        return cls(config["every"], config["decay"], config["power"])

    def alpha(self, step: int, total: int) -> float:
        """The weight of the slow copy at ``step`` of ``total``."""
        return self.decay**self.every * min(1.0, step / max(1, total)) ** self.power

    def _weights(self) -> list:
        return [w for w in self.model.weights if "float" in str(w.dtype)]

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.step = None  # the slow copy starts at the first batch, after any restore
        self.total = int(self.params["epochs"]) * int(self.params["steps"])

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        # The hook before a step (not after) leaves Keras's asynchronous dispatch on;
        # ``step`` counts the steps finished so far.
        if self.step is None:  # first batch of this fit (after a possible restore)
            self.step = int(ops.convert_to_numpy(self.model.optimizer.iterations))
            self.slow = [ops.copy(w.value) for w in self._weights()]
        elif self.step % self.every == 0:
            self.average(self.alpha(self.step, self.total))
        self.step += 1

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 == self.params["epochs"] and self.step is not None:
            self.average(self.alpha(self.step, self.total))

    def average(self, alpha: float) -> None:
        """``slow ← slow + (1 - alpha)(fast - slow)``; then ``fast ← slow``."""
        for i, weight in enumerate(self._weights()):
            fast = weight.value
            slow = ops.cast(self.slow[i], fast.dtype)
            self.slow[i] = slow + (1.0 - alpha) * (fast - slow)
            # a copy: JAX's trainer frees the buffers it takes from the variables
            weight.assign(ops.copy(self.slow[i]))
