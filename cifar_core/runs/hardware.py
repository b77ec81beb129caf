"""Which device trains, with which backend and precision, and how to make CPU runs
deterministic.

The choice is made in one place, :func:`compute_settings`, without importing Keras, so
that the run key can include it cheaply; :func:`configure` applies it when training
starts and refuses to train on another device or backend than the key promised. Works
on every Keras 3 backend: TensorFlow (default), PyTorch and JAX. Environment:

``CIFAR_REPORT_BACKEND``, ``CIFAR_REPORT_PRECISION``
    the backend (``tensorflow``, ``tensorflow-xla``, ``jax``, ``torch``) and dtype policy
    (``float32``, ``mixed_bfloat16``, ``mixed_float16``), or ``auto`` (default): the
    measured winner for this device, else the defaults below
    (:mod:`cifar_core.runs.compute_choice`).
``KERAS_BACKEND``
    ``tensorflow`` (default), ``torch`` or ``jax``; limits ``auto`` to that library.
``CIFAR_REPORT_DEVICE=cpu``
    train on the CPU even when a GPU is visible (set it before Keras starts).
``CIFAR_REPORT_MIXED_PRECISION=0``
    keep float32 on a GPU (mixed precision ``mixed_float16`` is the GPU default).
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from cifar_core.runs.compute_choice import BACKEND_ENV, PRECISION_ENV, Choice, resolve

DEVICE_ENV = "CIFAR_REPORT_DEVICE"


@dataclass(frozen=True)
class Hardware:
    """What training runs on: ``device`` (``"cpu"`` or ``"gpu"``), its ``name``, the
    Keras ``backend``, the dtype ``policy`` (``float32``, ``mixed_bfloat16`` or
    ``mixed_float16``) and ``model.compile``'s ``jit_compile`` (``True`` or ``"auto"``)."""

    device: str
    name: str
    backend: str
    policy: str
    jit_compile: bool | str = "auto"


@dataclass(frozen=True)
class ComputeSettings:
    """What a run will train with, decided before Keras is imported: the Keras
    ``backend``, the ``device`` class (``cpu`` or ``gpu``), the dtype ``precision`` and
    ``jit_compile`` (``True``: XLA-compiled training steps; ``"auto"``: Keras's default)."""

    backend: str
    device: str
    precision: str
    jit_compile: bool | str = "auto"


def nvidia_gpu_visible() -> bool:
    """True when the NVIDIA driver lists a GPU and ``CUDA_VISIBLE_DEVICES`` hides none of it."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def compute_device() -> str:
    """``"gpu"`` when an NVIDIA GPU is visible and not refused, else ``"cpu"``."""
    return "gpu" if nvidia_gpu_visible() and not force_cpu_requested() else "cpu"


def compute_choice() -> Choice:
    """The backend/precision choice of this environment and why it was made."""
    return resolve(compute_device())


def compute_settings() -> ComputeSettings:
    """Backend, device, precision and compilation of the runs trained in this environment.

    >>> compute_settings().backend in ("tensorflow", "torch", "jax")
    True
    """
    device = compute_device()
    setting = resolve(device).setting
    return ComputeSettings(setting.keras_backend, device, setting.precision, setting.jit_compile)


def worker_environment(threads: int) -> dict[str, str]:
    """Environment variables for a process that trains runs with ``threads`` threads:
    TensorFlow's, OpenMP's (PyTorch) and MKL's thread limits, which apply when the
    backend is first imported, and this process's backend and precision, resolved, so
    that a worker trains with the setting its runs' keys were computed with.

    >>> worker_environment(1)["TF_NUM_INTRAOP_THREADS"]
    '1'
    """
    setting = compute_choice().setting
    return {
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": "1",
        BACKEND_ENV: setting.backend,
        PRECISION_ENV: setting.precision,
        "KERAS_BACKEND": setting.keras_backend,
    }


def force_cpu_requested() -> bool:
    return os.environ.get(DEVICE_ENV, "").strip().lower() == "cpu"


def hide_gpus_if_requested() -> None:
    """Honour ``CIFAR_REPORT_DEVICE=cpu`` for every backend (call before importing Keras;
    for TensorFlow it also works later, as long as no GPU has been used yet)."""
    if not force_cpu_requested():
        return
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import keras  # after the environment above; run keys import this module without it

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # the backend in use, loaded by Keras already

        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:  # GPUs already initialised: CUDA_VISIBLE_DEVICES decides
            pass


def _gpu_name(backend: str) -> str | None:
    """The first visible GPU's name for ``backend``, or ``None`` when there is none."""
    if backend == "tensorflow":
        import tensorflow as tf  # only the backend in use is installed for sure

        gpus = tf.config.list_logical_devices("GPU")
        if not gpus:
            return None
        details = tf.config.experimental.get_device_details(
            tf.config.list_physical_devices("GPU")[0]
        )
        return details.get("device_name", gpus[0].name)
    if backend == "torch":
        import torch  # only the backend in use is installed for sure

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    if backend == "jax":
        import jax  # only the backend in use is installed for sure

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        return gpus[0].device_kind if gpus else None
    return None


class HardwareMismatch(RuntimeError):
    """The framework cannot use the device that :func:`compute_settings` chose."""


def configure(settings: ComputeSettings | None = None) -> Hardware:
    """Apply ``settings`` (default :func:`compute_settings`): hide GPUs for a CPU run,
    load the chosen Keras backend (when Keras is not imported yet), set the dtype
    policy, and return what training runs on.

    Raises :class:`HardwareMismatch` when Keras already runs another backend, or when a
    GPU was chosen (the driver shows one) but the Keras backend cannot see it, rather
    than training with another setting than the run key promises.
    """
    settings = settings or compute_settings()
    if settings.device == "cpu":
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = settings.backend
    hide_gpus_if_requested()
    import keras  # after the device environment is set; run keys need no Keras

    backend = keras.backend.backend()
    if backend != settings.backend:
        raise HardwareMismatch(
            f"Keras runs the {backend!r} backend but the run asks for {settings.backend!r} "
            "(CIFAR_REPORT_BACKEND / KERAS_BACKEND): set both before Keras is imported, or "
            "use the cifar-report command, which does"
        )
    gpu = _gpu_name(backend) if settings.device == "gpu" else None
    if settings.device == "gpu" and gpu is None:
        raise HardwareMismatch(
            f"the NVIDIA driver shows a GPU but the {backend} backend cannot use it; install "
            'the backend\'s CUDA build (pip install -e ".[gpu]") or set CIFAR_REPORT_DEVICE=cpu'
        )
    keras.mixed_precision.set_global_policy(settings.precision)
    cpu = f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    name = cpu if gpu is None else gpu  # a GPU run has one: refused above otherwise
    return Hardware(settings.device, name, backend, settings.precision, settings.jit_compile)


def seed_everything(seed: int, hardware: Hardware) -> None:
    """Seed Python, NumPy and the backend; make TensorFlow ops deterministic on CPU.

    Not under XLA (``jit_compile=True``): Keras refuses to compile a model while op
    determinism is on, so XLA runs rely on XLA's CPU kernels being repeatable (checked
    by ``benchmarks/backends.py``, which reports a run that is not)."""
    import keras  # run keys import this module without Keras

    keras.utils.set_random_seed(seed)
    if hardware.backend == "tensorflow" and hardware.device == "cpu":
        import tensorflow as tf  # the backend in use, loaded by Keras already

        if hardware.jit_compile is True:
            # no public switch back; Keras reads this flag from the same module
            from tensorflow.python.framework.config import disable_op_determinism

            disable_op_determinism()
        else:
            tf.config.experimental.enable_op_determinism()
