"""Keras callbacks of the trainer that Keras does not ship.

The test hook :class:`KillAfterEpoch` exists only so the test-suite can prove that a
``kill -9`` mid-run leaves no complete entry and that a rerun resumes: it is active only
when the environment variable ``CIFAR_REPORT_TEST_KILL_AFTER_EPOCH`` is set.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import keras

KILL_ENV = "CIFAR_REPORT_TEST_KILL_AFTER_EPOCH"


class LearningRateLogger(keras.callbacks.Callback):
    """Adds ``lr`` (the rate in use at the start of the epoch) to the epoch logs, so
    ``CSVLogger`` and the history record it. Put it before ``CSVLogger``."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        # the rate at the optimizer's current iteration (a schedule evaluated)
        self._lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["lr"] = self._lr


class ResumeReporter(keras.callbacks.Callback):
    """Says "resuming from epoch N" when ``BackupAndRestore`` (placed before it) restored
    a previous run's state; remembers the epoch in :attr:`initial_epoch` (0-based)."""

    def __init__(self, log: Callable[[str], object]):
        super().__init__()
        self.log = log
        self.initial_epoch = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.initial_epoch = int(getattr(self.model, "_initial_epoch", None) or 0)
        if self.initial_epoch:
            self.log(
                f"resuming from epoch {self.initial_epoch + 1} "
                f"({self.initial_epoch} finished epochs restored)"
            )


class KillAfterEpoch(keras.callbacks.Callback):
    """TEST HOOK: ``SIGKILL`` this process after epoch ``epoch`` (1-based) has finished
    and been backed up — simulates ``kill -9``. Put it last in the callback list."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


def kill_hook_from_env() -> list[keras.callbacks.Callback]:
    """``[KillAfterEpoch(N)]`` when ``CIFAR_REPORT_TEST_KILL_AFTER_EPOCH=N``, else ``[]``."""
    value = os.environ.get(KILL_ENV)
    return [KillAfterEpoch(int(value))] if value else []
