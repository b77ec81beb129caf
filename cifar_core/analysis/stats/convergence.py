"""Is a run under-trained? A flag read from its per-epoch validation history.

A run is **under-trained** when its validation metrics were still improving when
training stopped, so more epochs would probably have changed its test accuracy. With
``n`` epochs that have a validation loss and a final window of
``w = max(min_window, ceil(window_fraction * n))`` epochs, the run is flagged when

1. its lowest validation loss lies in the final window (the best weights, which the
   trainer restores, come from the last epochs), **and**
2. its best validation accuracy in the final window beats the best one before the
   window by more than ``min_gain`` (accuracy was still rising, not just noisy).

Runs that cannot be judged are flagged too, with the reason: fewer than
``min_epochs`` epochs, or no validation history at all. A run stopped early by
``EarlyStopping`` has its best epoch before the end and is not flagged.

A run whose learning rate was annealed to (nearly) zero by its last epoch — linear
decay to zero, cosine to zero — improves until its last epoch by construction, so
rule 1–2 cannot tell it from an under-trained one; it is not flagged, and the reason
says so (whether its budget was long enough is what an epochs ablation of the same
recipe, e.g. ``ctl_flagship_e32``, shows).

Example
-------
>>> import pandas as pd
>>> rising = pd.DataFrame({"val_loss": [2.0, 1.6, 1.3, 1.1, 1.0],
...                        "val_accuracy": [0.30, 0.42, 0.50, 0.55, 0.58]})
>>> convergence(rising).under_trained
True
>>> flat = pd.DataFrame({"val_loss": [2.0, 1.2, 1.0, 1.01, 1.02],
...                      "val_accuracy": [0.30, 0.55, 0.60, 0.60, 0.59]})
>>> convergence(flat).under_trained
False
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_EPOCHS = 3
"""Fewer epochs than this cannot show a plateau: such runs are flagged."""


@dataclass(frozen=True)
class Convergence:
    """The verdict on one run's history.

    ``under_trained`` is the flag; ``reason`` says why in words (also when not
    flagged): where the history allows, the epoch of the lowest validation loss and the
    rise of the best validation accuracy in the final window over the best before it;
    ``epochs`` counts epochs with a validation loss.
    """

    under_trained: bool
    reason: str
    epochs: int


def _column(history: pd.DataFrame | None, name: str) -> np.ndarray:
    if history is None or name not in getattr(history, "columns", ()):
        return np.array([], dtype=float)
    return np.asarray(history[name], dtype=float)


def convergence(
    history: pd.DataFrame | None,
    *,
    window_fraction: float = 0.2,
    min_window: int = 2,
    min_epochs: int = MIN_EPOCHS,
    min_gain: float = 0.005,
    annealed_below: float = 0.05,
) -> Convergence:
    """Decide whether a run with this per-epoch ``history`` is under-trained (the rule
    and its parameters: the module docstring).

    ``history`` has one row per epoch with ``val_loss`` and ``val_accuracy`` (the run
    store's ``history.csv``; rows whose ``val_loss`` is NaN are ignored). ``min_gain`` is
    a fraction (0.005 = 0.5 points); a final learning rate (the history's ``lr``) at most
    ``annealed_below`` of its peak counts as annealed.

    Examples
    --------
    >>> import pandas as pd
    >>> convergence(pd.DataFrame({"val_loss": [1.0, 0.9], "val_accuracy": [0.5, 0.6]})).reason
    'only 2 epochs with a validation loss (< 3): too few to tell whether it converged'
    """
    if not 0 < window_fraction < 1:
        raise ValueError(f"window_fraction must lie in (0, 1), got {window_fraction!r}")
    loss, acc = _column(history, "val_loss"), _column(history, "val_accuracy")
    if acc.size != loss.size:
        acc = np.full(loss.size, np.nan)
    keep = ~np.isnan(loss)
    loss, acc = loss[keep], acc[keep]
    n = int(loss.size)
    if n == 0:
        return Convergence(True, "no validation history: convergence cannot be checked", 0)
    if n < min_epochs:
        return Convergence(
            True,
            f"only {n} epoch{'s' * (n != 1)} with a validation loss "
            f"(< {min_epochs}): too few to tell whether it converged",
            n,
        )
    window = min(n - 1, max(min_window, math.ceil(window_fraction * n)))
    best = int(np.argmin(loss)) + 1
    late_best = best > n - window
    gain = (
        float(np.nanmax(acc[-window:]) - np.nanmax(acc[:-window]))
        if not np.isnan(acc).all()
        else math.nan
    )
    rising = not math.isnan(gain) and gain > min_gain
    lr = _column(history, "lr")[keep] if _column(history, "lr").size == keep.size else np.array([])
    annealed = lr.size > 0 and np.nanmax(lr) > 0 and lr[-1] <= annealed_below * np.nanmax(lr)
    if late_best and rising and annealed:
        return Convergence(
            False,
            f"learning rate annealed to {lr[-1] / np.nanmax(lr):.0%} of its "
            f"peak by epoch {n}: its late gains come from the schedule, not "
            "from too few epochs",
            n,
        )
    if late_best and rising:
        reason = (
            f"still improving: lowest validation loss at epoch {best} of {n} and "
            f"validation accuracy up {gain * 100:.1f} points in the last {window} epochs"
        )
    elif late_best and math.isnan(gain):
        reason = (
            f"lowest validation loss at epoch {best} of {n}; no validation accuracy "
            "to tell whether it was still rising"
        )
    elif late_best:
        reason = (
            f"lowest validation loss at epoch {best} of {n}, but validation accuracy "
            f"rose only {gain * 100:.1f} points in the last {window} epochs: plateaued"
        )
    else:
        reason = f"lowest validation loss at epoch {best} of {n}, before the last {window} epochs"
    return Convergence(late_best and rising, reason, n)
