"""How fast this machine trains and predicts: a short measured calibration, cached per
machine.

The time of one training step is modelled as ``step_overhead_s + flops / flop_rate``:
a fixed cost per step (framework dispatch, the input pipeline, callbacks) plus the
arithmetic at an achieved rate. Two points fix the two unknowns: :func:`measure_speed`
trains a tiny MLP (its steps are nearly all overhead) and seed 001's model_a (about 53
MFLOP per image forward, mostly arithmetic) through the project's own model-building
path (:func:`cifar_core.runs.train.build_compiled_model`: same optimizer, loss and, on a
GPU, mixed precision) for a few seconds each, on random images, in one process.
Prediction (``model.predict`` in batches of :data:`~cifar_core.runs.predict.BATCH_SIZE`,
no backward pass) reaches a higher rate than training on the same model, so each probe
also predicts 2,048 images: model_a's rate is ``predict_flop_rate``, used for the
evaluation of runs and the chapters' derived predictions
(:meth:`MachineSpeed.predict_seconds`).

:func:`machine_speed` returns the cached measurement of this machine or measures and
caches it in ``compute_speed.json`` in the cache directory (``$CIFAR_REPORT_CACHE`` or
``~/.cache/cifar-report``), keyed by :func:`machine_signature`: CPU count and model,
Keras backend, the device request (``CIFAR_REPORT_DEVICE``) and whether an NVIDIA device
is visible. Importing this module does not import Keras; measuring does.

Example
-------
>>> speed = MachineSpeed(flop_rate=50e9, step_overhead_s=0.004, device="cpu",
...                      device_name="cpu", backend="tensorflow", signature={})
>>> round(speed.seconds(flops=100e9, steps=1000), 1)   # 2 s of arithmetic + 4 s of steps
6.0
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cifar_core.data.dataset import Dataset
from cifar_core.data.synthetic import cache_root
from cifar_core.experiments.variant import Variant
from cifar_core.files import write_text_atomic
from cifar_core.models.stats import flops_per_image
from cifar_core.runs.compute_choice import cpu_model
from cifar_core.runs.flops import training_flops
from cifar_core.runs.hardware import Hardware, configure
from cifar_core.runs.predict import BATCH_SIZE as PREDICT_BATCH

SPEED_VERSION = 2  # bump when the measurement changes what it measures
CACHE_FILE = "compute_speed.json"
BATCH = 32
STEPS_PER_EPOCH = 16
PREDICT_IMAGES = 2048
# (name, family, params): an overhead-bound and an arithmetic-bound model.
PROBES = (
    ("mlp_32", "mlp", {"units": [32]}),
    (
        "s001_model_a",
        "cnn",
        {"blocks": [[32, 32], [64, 64]], "padding": "same", "dense": [512], "dense_dropout": 0.5},
    ),
)


@dataclass(frozen=True)
class MachineSpeed:
    """Achieved training speed of one process: ``flop_rate`` (FLOP/s, FLOPs counted as
    in :mod:`cifar_core.models.stats`) and ``step_overhead_s`` (seconds per step that do
    not scale with FLOPs), measured on ``device``/``backend``; ``predict_flop_rate`` the
    forward-only rate of ``model.predict`` (``None``: not measured, the training rate is
    used)."""

    flop_rate: float
    step_overhead_s: float
    device: str
    device_name: str
    backend: str
    signature: dict[str, Any]
    probes: list[dict[str, Any]] = field(default_factory=list)
    measured_at: str = ""
    version: int = SPEED_VERSION
    predict_flop_rate: float | None = None

    def seconds(self, flops: float, steps: float) -> float:
        """Estimated seconds for ``flops`` training FLOPs spread over ``steps`` steps."""
        return steps * self.step_overhead_s + flops / self.flop_rate

    def predict_seconds(self, flops: float, steps: float) -> float:
        """Estimated seconds for ``flops`` FLOPs of prediction in ``steps`` batches.

        >>> speed = MachineSpeed(50e9, 0.004, "cpu", "cpu", "tensorflow", {},
        ...                      predict_flop_rate=100e9)
        >>> round(speed.predict_seconds(flops=100e9, steps=10), 2)   # 1 s + 10 batches
        1.04
        """
        return steps * self.step_overhead_s + flops / (self.predict_flop_rate or self.flop_rate)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MachineSpeed:
        return cls(**data)


# ---------------------------------------------------------------------- the cache
def cache_path() -> Path:
    return cache_root() / CACHE_FILE


def keras_backend_name() -> str:
    """The Keras backend that would load, read as Keras reads it (``KERAS_BACKEND``, then
    ``$KERAS_HOME/keras.json``), without importing Keras."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        return json.loads((home / "keras.json").read_text()).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def machine_signature() -> dict[str, Any]:
    """What a cached measurement is valid for (cheap: no Keras, no device query)."""
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "machine": platform.machine(),
        "backend": keras_backend_name(),
        "device_request": os.environ.get("CIFAR_REPORT_DEVICE", "auto"),
        "nvidia_visible": Path("/dev/nvidia0").exists()
        and os.environ.get("CUDA_VISIBLE_DEVICES") not in ("", "-1"),
        "version": SPEED_VERSION,
    }


def _signature_key(signature: dict[str, Any]) -> str:
    return json.dumps(signature, sort_keys=True, separators=(",", ":"))


def cached_speed() -> MachineSpeed | None:
    """The cached measurement for this machine's signature, or ``None``."""
    try:
        entry = json.loads(cache_path().read_text())[_signature_key(machine_signature())]
        return MachineSpeed.from_dict(entry)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(speed: MachineSpeed) -> None:
    """Add ``speed`` to the cache file atomically (a cache that cannot be written only
    costs a new measurement later)."""
    path = cache_path()
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        entries = {}
    entries[_signature_key(speed.signature)] = speed.to_dict()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(entries, indent=1, sort_keys=True))
    except OSError:
        pass


def machine_speed(
    *, budget_s: float = 4.0, refresh: bool = False, log: Callable[[str], object] | None = None
) -> MachineSpeed:
    """This machine's cached speed, or a new measurement (about ``budget_s`` seconds of
    timed training, shared between the probe models, plus the framework's start-up),
    cached for next time; ``refresh`` measures again anyway; ``log`` is told once when a
    measurement starts."""
    if not refresh and (speed := cached_speed()) is not None:
        return speed
    if log is not None:
        log(
            f"measuring this machine's training speed (once, about {budget_s:.0f} s "
            f"plus start-up; cached in {cache_path()})"
        )
    speed = measure_speed(budget_s=budget_s)
    _store(speed)
    return speed


# ---------------------------------------------------------------------- measuring
def measure_speed(*, budget_s: float = 4.0) -> MachineSpeed:
    """Time training steps of the :data:`PROBES` and solve for overhead and FLOP rate;
    ``budget_s``: seconds of timed training in all (at least one epoch of 16 steps per
    probe)."""
    if budget_s <= 0:
        raise ValueError(f"budget_s must be > 0 seconds, got {budget_s!r}")
    signature = machine_signature()
    hardware = configure()
    probes = [
        _time_probe(name, family, params, hardware, budget_s / len(PROBES))
        for name, family, params in PROBES
    ]
    (f1, t1), (f2, t2) = ((p["flops_per_step"], p["seconds_per_step"]) for p in probes)
    seconds_per_flop = (t2 - t1) / (f2 - f1)
    if seconds_per_flop <= 0:  # the big probe was no slower: arithmetic is noise here
        seconds_per_flop = t2 / f2
    overhead = max(0.0, t1 - seconds_per_flop * f1)
    big = probes[1]
    # On a busy machine the per-step overhead can come out larger than a predict batch
    # takes: keep at least half the measured time as arithmetic.
    predict_s = max(big["predict_s"] - big["predict_batches"] * overhead, big["predict_s"] / 2)
    return MachineSpeed(
        flop_rate=1.0 / seconds_per_flop,
        step_overhead_s=overhead,
        predict_flop_rate=big["forward_flops_per_image"] * big["predict_images"] / predict_s,
        device=hardware.device,
        device_name=hardware.name,
        backend=hardware.backend,
        signature=signature,
        probes=probes,
        measured_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )


def _time_probe(
    name: str, family: str, params: dict[str, Any], hardware: Hardware, budget_s: float
) -> dict[str, Any]:
    """Seconds per training step of one probe model: a warm-up fit (tracing), one timed
    epoch, then as many more epochs as ``budget_s`` allows, timed as one fit."""
    import keras  # measuring trains: Keras only then, never for a cached speed

    from cifar_core.runs.train import build_compiled_model, one_hot  # imports Keras

    variant = Variant(
        name=f"speed_{name}", family=family, params=params, batch_size=BATCH, epochs=1
    )
    rng = np.random.default_rng(0)
    x = rng.random((BATCH * STEPS_PER_EPOCH, 32, 32, 3), dtype=np.float32)
    labels = rng.integers(0, 10, len(x))
    images = Dataset(x, labels, x[:0], labels[:0], tuple(map(str, range(10))), "random")
    y = one_hot(labels, 10)
    keras.utils.set_random_seed(0)
    model = build_compiled_model(variant, images, hardware, STEPS_PER_EPOCH, x)
    model.fit(x[: 2 * BATCH], y[: 2 * BATCH], batch_size=BATCH, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    one_epoch = time.perf_counter() - started
    epochs = max(1, int((budget_s - one_epoch) / one_epoch))
    if budget_s - one_epoch >= one_epoch:
        started = time.perf_counter()
        model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0)
        seconds, steps = time.perf_counter() - started, epochs * STEPS_PER_EPOCH
    else:
        seconds, steps = one_epoch, STEPS_PER_EPOCH
    forward = flops_per_image(model)
    predict_x = np.concatenate([x] * math.ceil(PREDICT_IMAGES / len(x)))[:PREDICT_IMAGES]
    model.predict(predict_x[:PREDICT_BATCH], batch_size=PREDICT_BATCH, verbose=0)  # warm-up
    started = time.perf_counter()
    model.predict(predict_x, batch_size=PREDICT_BATCH, verbose=0)
    return {
        "name": name,
        "family": family,
        "batch_size": BATCH,
        "steps": steps,
        "forward_flops_per_image": forward,
        "flops_per_step": training_flops(forward, BATCH, epochs=1),
        "seconds_per_step": seconds / steps,
        "predict_images": PREDICT_IMAGES,
        "predict_batches": math.ceil(PREDICT_IMAGES / PREDICT_BATCH),
        "predict_s": time.perf_counter() - started,
    }
