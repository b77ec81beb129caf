"""Which Keras backend and precision train the runs: as asked, or the measured winner.

Two choices, each from the command line (``--backend``, ``--precision`` of ``train``,
``build`` and ``analysis``), else the environment, else ``auto``:

``CIFAR_REPORT_BACKEND``
    ``tensorflow``; ``tensorflow-xla`` (TensorFlow with XLA-compiled training steps,
    Keras's ``jit_compile=True``); ``jax``; ``torch``; or ``auto``.
``CIFAR_REPORT_PRECISION``
    ``float32``, ``mixed_bfloat16``, ``mixed_float16`` or ``auto``.

``auto`` takes the winner of the measurement that ``benchmarks/backends.py`` writes
(``benchmarks/backends.json`` in the project, or ``$CIFAR_REPORT_BACKENDS_FILE``), and
only when that measurement finished, is not a ``--quick`` check and was made on this
device (CPU model and core count, GPU model): never a guess. Without one, ``auto`` is the default it always was — the backend
of ``$KERAS_BACKEND`` (else TensorFlow), float32 on a CPU and ``mixed_float16`` on a GPU
(``CIFAR_REPORT_MIXED_PRECISION=0``: float32) — and :attr:`Choice.reason` says why.
``KERAS_BACKEND``, when set, limits ``auto`` to settings of that library.

The rule (:func:`pick`): a setting qualifies when every family the reference
(:data:`REFERENCE`, TensorFlow float32) was measured on trained without an error or a
NaN, with at least two seeds per family where accuracy was measured, a mean test
accuracy at most :data:`ACCURACY_TOLERANCE` below the reference's in each of those, and
reproducible training where that was checked. The winner is the qualifying setting with
the largest speed-up (the geometric mean over families of the reference's training
time for the same epochs divided by the setting's), if it beats the default by at least
:data:`MIN_SPEEDUP`; otherwise the default stays.

The resolved setting is part of every run key (:func:`cifar_core.runs.keys.environment`)
and of every run's metrics (:func:`training_label`). Nothing here imports Keras.

>>> Setting.parse("tensorflow-xla:mixed_bfloat16").jit_compile
True
>>> Setting.parse("jax").name
'jax:float32'
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import platform
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cifar_core.project import ProjectError, find_project_root

BACKEND_ENV = "CIFAR_REPORT_BACKEND"
PRECISION_ENV = "CIFAR_REPORT_PRECISION"
MEASUREMENT_ENV = "CIFAR_REPORT_BACKENDS_FILE"
MIXED_PRECISION_ENV = "CIFAR_REPORT_MIXED_PRECISION"
MEASUREMENT_FILE = Path("benchmarks") / "backends.json"
SCHEMA = 1

BACKENDS = ("tensorflow", "tensorflow-xla", "jax", "torch")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
LIBRARY = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
"""The Python package each Keras backend needs."""

REFERENCE = "tensorflow:float32"
ACCURACY_TOLERANCE = 0.005
"""Largest loss of mean test accuracy (a fraction: half a point) a faster setting may have."""
MIN_SPEEDUP = 1.05
"""Smallest speed-up over the default that replaces it (below it: noise, keep the default)."""


class ComputeChoiceError(ProjectError):
    """A backend or precision that cannot be used as asked (exit status 2)."""


@dataclass(frozen=True)
class Setting:
    """One way to train: a :data:`BACKENDS` name and a :data:`PRECISIONS` dtype policy."""

    backend: str
    precision: str = "float32"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ComputeChoiceError(
                f"backend {self.backend!r} is not one of {', '.join(BACKENDS)} (or auto)"
            )
        if self.precision not in PRECISIONS:
            raise ComputeChoiceError(
                f"precision {self.precision!r} is not one of {', '.join(PRECISIONS)} (or auto)"
            )

    @classmethod
    def parse(cls, text: str) -> Setting:
        """``BACKEND[:PRECISION]`` (precision float32 when left out)."""
        backend, _, precision = text.strip().partition(":")
        return cls(backend, precision or "float32")

    @property
    def name(self) -> str:
        return f"{self.backend}:{self.precision}"

    @property
    def keras_backend(self) -> str:
        """The ``KERAS_BACKEND`` value: ``tensorflow-xla`` is TensorFlow."""
        return self.backend.removesuffix("-xla")

    @property
    def jit_compile(self) -> bool | str:
        """``model.compile``'s ``jit_compile``: ``True`` for ``tensorflow-xla``, else
        ``"auto"`` (Keras's default: off for TensorFlow on a CPU and for PyTorch, XLA for
        JAX when every layer supports it)."""
        return True if self.backend.endswith("-xla") else "auto"


@dataclass(frozen=True)
class Choice:
    """The setting runs train with, and why (``"asked"``, or what ``auto`` found)."""

    setting: Setting
    reason: str

    def describe(self) -> str:
        return f"{self.setting.backend}, {self.setting.precision} ({self.reason})"


# ---------------------------------------------------------------------- the device
def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_model() -> str | None:
    """The first NVIDIA GPU's model as the driver names it (no CUDA library needed)."""
    folder = Path("/proc/driver/nvidia/gpus")
    try:
        for gpu in sorted(folder.iterdir()):
            for line in (gpu / "information").read_text().splitlines():
                if line.startswith("Model:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


@cache
def _machine() -> tuple[str, int, str | None]:
    return cpu_model(), os.cpu_count() or 1, _gpu_model()


def device_signature(device: str) -> dict[str, Any]:
    """What a measurement must have been made on to decide for this machine's ``device``
    (``"cpu"`` or ``"gpu"``): the CPU model and core count, and the GPU model on a GPU."""
    cpu, cores, gpu = _machine()
    signature: dict[str, Any] = {"device": device, "cpu_model": cpu, "cpu_count": cores}
    if device == "gpu":
        signature["gpu_model"] = gpu
    return signature


@cache
def installed(backend: str) -> bool:
    """Whether the library of ``backend`` (a :data:`BACKENDS` name) can be imported."""
    return importlib.util.find_spec(LIBRARY[backend.removesuffix("-xla")]) is not None


# ---------------------------------------------------------------------- the measurement
def measurement_path() -> Path | None:
    """``$CIFAR_REPORT_BACKENDS_FILE``, else ``benchmarks/backends.json`` of the project
    (found from the working directory, else next to this package)."""
    if os.environ.get(MEASUREMENT_ENV):
        return Path(os.environ[MEASUREMENT_ENV])
    root = find_project_root() or Path(__file__).resolve().parents[2]
    return root / MEASUREMENT_FILE


_LOADED: dict[Path, tuple[int, dict[str, Any] | None]] = {}


def load_measurement(path: Path | None) -> dict[str, Any] | None:
    """The measurement in ``path`` (re-read when the file changes), ``None`` when absent.

    Raises :class:`ComputeChoiceError` when the file exists but is not a measurement."""
    if path is None:
        return None
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    if path in _LOADED and _LOADED[path][0] == stamp:
        return _LOADED[path][1]
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ComputeChoiceError(
            f"{path} is not a backend measurement ({error}); rewrite it with "
            "benchmarks/backends.py or remove it"
        ) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or "runs" not in data:
        raise ComputeChoiceError(
            f"{path} is not a backend measurement of schema {SCHEMA} (no 'schema'/'runs'); "
            "rewrite it with benchmarks/backends.py or remove it"
        )
    _LOADED[path] = (stamp, data)
    return data


@dataclass(frozen=True)
class Summary:
    """One setting on one family, over its runs (seeds)."""

    runs: int
    ok: bool  # every run finished with finite losses
    fit_seconds: float  # median training time of a run (all epochs, compilation included)
    accuracies: tuple[float, ...]  # final test accuracy per seed (empty: not measured)
    deterministic: bool | None  # a repeated run gave identical weights (None: not checked)

    @property
    def mean_accuracy(self) -> float:
        return statistics.fmean(self.accuracies) if self.accuracies else math.nan


def summarize(runs: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Summary]]:
    """``{setting: {family: Summary}}`` of a measurement's ``runs`` records."""
    grouped: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for run in runs:
        grouped.setdefault((run["setting"], run["family"]), []).append(run)
    table: dict[str, dict[str, Summary]] = {}
    for (setting, family), group in grouped.items():
        ok = all(not r.get("error") and r.get("finite", False) for r in group)
        times = [float(r["fit_seconds"]) for r in group if r.get("fit_seconds") is not None]
        checks = [r["deterministic"] for r in group if r.get("deterministic") is not None]
        table.setdefault(setting, {})[family] = Summary(
            runs=len(group),
            ok=ok and bool(times),
            fit_seconds=statistics.median(times) if times else math.nan,
            accuracies=tuple(
                float(r["final_accuracy"]) for r in group if r.get("final_accuracy") is not None
            ),
            deterministic=all(checks) if checks else None,
        )
    return table


def speedups(table: Mapping[str, Mapping[str, Summary]]) -> dict[str, float]:
    """Geometric-mean speed-up of each setting over :data:`REFERENCE` across the
    reference's families (NaN when a family is missing or failed)."""
    reference = table.get(REFERENCE, {})
    result = {}
    for setting, families in table.items():
        ratios = []
        for family, ref in reference.items():
            mine = families.get(family)
            if mine is None or not mine.ok or not ref.ok:
                ratios = [math.nan]
                break
            ratios.append(ref.fit_seconds / mine.fit_seconds)
        result[setting] = (
            math.exp(statistics.fmean(math.log(r) for r in ratios)) if ratios else math.nan
        )
    return result


def disqualification(setting: str, table: Mapping[str, Mapping[str, Summary]]) -> str | None:
    """Why ``setting`` may not be chosen, or ``None`` when it qualifies (see the module)."""
    reference = table[REFERENCE]
    for family, ref in reference.items():
        mine = table[setting].get(family)
        if mine is None:
            return f"not measured on {family}"
        if not mine.ok:
            return f"failed, was stopped as too slow, or produced NaN on {family}"
        if mine.deterministic is False:
            return f"not reproducible on {family} (a repeated run differed)"
        if ref.accuracies:
            if len(mine.accuracies) < 2 or len(ref.accuracies) < 2:
                return f"fewer than 2 seeds with accuracy on {family}"
            loss = ref.mean_accuracy - mine.mean_accuracy
            if loss > ACCURACY_TOLERANCE:
                return (
                    f"{100 * loss:.1f} points less accurate than {REFERENCE} on {family} "
                    f"(tolerance {100 * ACCURACY_TOLERANCE:.1f})"
                )
    return None


def pick(
    measurement: Mapping[str, Any],
    signature: Mapping[str, Any],
    default: Setting,
    allowed: Iterable[Setting],
) -> tuple[Setting | None, str]:
    """The measured winner among ``allowed`` settings for a device with ``signature``,
    or ``None`` (keep ``default``), with the reason either way."""
    if measurement.get("quick"):
        return None, "the measurement is a --quick check, not a measurement"
    if not measurement.get("complete"):
        return None, "the measurement did not finish (benchmarks/backends.py --resume completes it)"
    measured_on = measurement.get("device_signature")
    if measured_on != dict(signature):
        return None, f"the measurement was made on {_device_text(measured_on)}, not on this device"
    table = summarize(measurement["runs"])
    if REFERENCE not in table:
        return None, f"the measurement lacks the reference {REFERENCE}"
    speed = speedups(table)
    allowed = list(allowed)
    why_not = {s: disqualification(s.name, table) for s in allowed if s.name in table}
    candidates = [
        (speed[s.name], s)
        for s, why in why_not.items()
        if why is None and not math.isnan(speed[s.name])
    ]
    if not candidates:
        names = ", ".join(s.name for s in allowed) or "none"
        return None, f"no setting that may be chosen ({names}) was measured and qualifies"
    best_speed, best = max(candidates, key=lambda pair: pair[0])
    baseline = speed.get(default.name, math.nan)
    if math.isnan(baseline):
        return None, f"the default {default.name} was not measured, so nothing is shown to beat it"
    if best == default or best_speed < baseline * MIN_SPEEDUP:
        ruled_out = [
            f"{s.name} ({speed[s.name] / baseline:.2f}x) is {why}"
            for s, why in why_not.items()
            if why is not None and speed[s.name] >= baseline * MIN_SPEEDUP
        ]
        return None, (
            f"no measured setting is {MIN_SPEEDUP:.2f}x faster than the default without "
            f"losing accuracy (best: {best.name}, {best_speed / baseline:.2f}x)"
            + "".join(f"; {text}" for text in ruled_out)
        )
    return best, (
        f"{best_speed / baseline:.2f}x the speed of {default.name} without losing accuracy"
    )


def _device_text(signature: Any) -> str:
    if not isinstance(signature, Mapping):
        return "an unrecorded device"
    text = f"{signature.get('device')} ({signature.get('cpu_model')}, {signature.get('cpu_count')} cores"
    if signature.get("gpu_model"):
        text += f", {signature['gpu_model']}"
    return text + ")"


# ---------------------------------------------------------------------- resolving
def _requested(env: str, choices: tuple[str, ...]) -> str | None:
    """The environment's explicit choice, ``None`` for auto/unset."""
    value = os.environ.get(env, "").strip().lower()
    if value in ("", "auto"):
        return None
    if value not in choices:
        raise ComputeChoiceError(f"{env}={value!r} is not one of {', '.join(choices)} or auto")
    return value


def resolve(device: str) -> Choice:
    """The setting runs train with on ``device`` (``"cpu"``/``"gpu"``); see the module.

    Raises :class:`ComputeChoiceError` for an unknown value, a backend that is not
    installed, or ``CIFAR_REPORT_BACKEND`` and ``KERAS_BACKEND`` naming two libraries.
    """
    backend = _requested(BACKEND_ENV, BACKENDS)
    precision = _requested(PRECISION_ENV, PRECISIONS)
    keras_backend = os.environ.get("KERAS_BACKEND", "").strip() or None
    if backend and keras_backend and Setting(backend).keras_backend != keras_backend:
        raise ComputeChoiceError(
            f"{BACKEND_ENV}={backend} but KERAS_BACKEND={keras_backend}: Keras can load only "
            f"one backend per process; unset one of them or make them agree"
        )
    if keras_backend and keras_backend not in LIBRARY:
        raise ComputeChoiceError(
            f"KERAS_BACKEND={keras_backend!r} is not one of {', '.join(LIBRARY)}"
        )
    if backend and not installed(backend):
        raise ComputeChoiceError(
            f"backend {backend} needs the {LIBRARY[Setting(backend).keras_backend]} package, "
            f'which is not installed: pip install -e ".[{Setting(backend).keras_backend}]" '
            "(see the README), or choose another --backend"
        )
    mixed_default = device == "gpu" and os.environ.get(MIXED_PRECISION_ENV, "1") != "0"
    default = Setting(
        backend or keras_backend or "tensorflow",
        precision or ("mixed_float16" if mixed_default else "float32"),
    )
    if backend and precision:
        return Choice(default, "asked for (--backend/--precision or the environment)")
    allowed = [
        Setting(b, p)
        for b in ([backend] if backend else BACKENDS)
        for p in ([precision] if precision else PRECISIONS)
        if (backend or keras_backend is None or Setting(b).keras_backend == keras_backend)
        and installed(b)
    ]
    path = measurement_path()
    measurement = load_measurement(path)
    if measurement is None:
        return Choice(default, f"chosen automatically: the default, as {_shown(path)} is absent")
    winner, why = pick(measurement, device_signature(device), default, allowed)
    where = f"{_shown(path)}, measured {measurement.get('finished', '?')}"
    if winner is None:
        return Choice(default, f"chosen automatically: the default, as {why} ({where})")
    return Choice(winner, f"chosen automatically: the measured winner, {why} ({where})")


def _shown(path: Path | None) -> str:
    """``path`` relative to the project when it lies inside it."""
    root = find_project_root()
    if path is not None and root is not None and path.resolve().is_relative_to(root):
        return str(path.resolve().relative_to(root))
    return str(path)


def export(choice: Choice) -> None:
    """Fix ``choice`` in this process's environment, so that worker processes and
    notebook kernels started from it train and look up runs with the same setting
    (``KERAS_BACKEND`` too: it must be set before Keras is imported)."""
    os.environ[BACKEND_ENV] = choice.setting.backend
    os.environ[PRECISION_ENV] = choice.setting.precision
    os.environ["KERAS_BACKEND"] = choice.setting.keras_backend


# ---------------------------------------------------------------------- labels
def training_label(metrics: Mapping[str, Any] | None) -> str:
    """What trained a run, from its ``metrics.json``: ``"tensorflow float32"``,
    ``"tensorflow-xla mixed_bfloat16"``…, with ``", not compiled"`` where XLA was asked
    for (``tensorflow-xla``, JAX) but Keras ran the steps uncompiled because a layer
    does not support it (runs stored before this label: from ``backend`` and
    ``mixed_precision``).

    >>> training_label({"backend": "tensorflow", "precision": "mixed_bfloat16", "jit_compile": True})
    'tensorflow-xla mixed_bfloat16'
    >>> training_label({"backend": "tensorflow", "mixed_precision": "float32"})
    'tensorflow float32'
    >>> training_label({"backend": "jax", "precision": "float32", "jit_compiled": False})
    'jax float32, not compiled'
    """
    metrics = metrics or {}
    backend = str(metrics.get("backend", "unknown"))
    compiles = metrics.get("jit_compile") is True or backend == "jax"
    if metrics.get("jit_compile") is True:
        backend += "-xla"
    precision = metrics.get("precision") or metrics.get("mixed_precision") or "unknown"
    fallback = ", not compiled" if compiles and metrics.get("jit_compiled") is False else ""
    return f"{backend} {precision}{fallback}"
