"""Which device trains, with which precision, and how to make CPU runs deterministic.

The choice is made in one place, :func:`compute_settings`, without importing Keras, so
that the run key can include it cheaply; :func:`configure` applies it when training
starts and refuses to train on another device than the key promised. Works on every
Keras 3 backend: TensorFlow (default), PyTorch and JAX. Environment:

``KERAS_BACKEND``
    ``tensorflow`` (default), ``torch`` or ``jax``.

``CIFAR_REPORT_DEVICE=cpu``
    train on the CPU even when a GPU is visible (set it before Keras starts).
``CIFAR_REPORT_MIXED_PRECISION=0``
    keep float32 on a GPU (mixed precision ``mixed_float16`` is the GPU default).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

DEVICE_ENV = "CIFAR_REPORT_DEVICE"
MIXED_PRECISION_ENV = "CIFAR_REPORT_MIXED_PRECISION"


@dataclass(frozen=True)
class Hardware:
    """What training runs on: ``device`` (``"cpu"`` or ``"gpu"``), its ``name``, the
    Keras ``backend`` and the dtype ``policy`` (``float32`` or ``mixed_float16``)."""

    device: str
    name: str
    backend: str
    policy: str


@dataclass(frozen=True)
class ComputeSettings:
    """What a run will train with, decided before Keras is imported: the Keras
    ``backend``, the ``device`` class (``cpu`` or ``gpu``) and the dtype ``precision``."""

    backend: str
    device: str
    precision: str


def nvidia_gpu_visible() -> bool:
    """True when the NVIDIA driver lists a GPU and ``CUDA_VISIBLE_DEVICES`` hides none of it."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def compute_settings() -> ComputeSettings:
    """Backend, device and precision of the runs trained in this environment.

    >>> compute_settings().backend in ("tensorflow", "torch", "jax")
    True
    """
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    device = "gpu" if nvidia_gpu_visible() and not force_cpu_requested() else "cpu"
    mixed = device == "gpu" and os.environ.get(MIXED_PRECISION_ENV, "1") != "0"
    return ComputeSettings(backend, device, "mixed_float16" if mixed else "float32")


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


def cpu_name() -> str:
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


class HardwareMismatch(RuntimeError):
    """The framework cannot use the device that :func:`compute_settings` chose."""


def configure(settings: ComputeSettings | None = None) -> Hardware:
    """Apply ``settings`` (default :func:`compute_settings`): hide GPUs for a CPU run,
    set the Keras dtype policy (``mixed_float16`` on a GPU unless
    ``CIFAR_REPORT_MIXED_PRECISION=0``), and return what training runs on.

    Raises :class:`HardwareMismatch` when a GPU was chosen (the driver shows one) but
    the Keras backend cannot see it, rather than training on the CPU under a GPU key.
    """
    settings = settings or compute_settings()
    if settings.device == "cpu":
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    hide_gpus_if_requested()
    import keras  # after the device environment is set; run keys need no Keras

    backend = keras.backend.backend()
    if backend != settings.backend:
        raise HardwareMismatch(
            f"Keras runs the {backend!r} backend but KERAS_BACKEND asked for "
            f"{settings.backend!r}: set KERAS_BACKEND before Keras is imported"
        )
    gpu = _gpu_name(backend) if settings.device == "gpu" else None
    if settings.device == "gpu" and gpu is None:
        raise HardwareMismatch(
            f"the NVIDIA driver shows a GPU but the {backend} backend cannot use it; install "
            'the backend\'s CUDA build (pip install -e ".[gpu]") or set CIFAR_REPORT_DEVICE=cpu'
        )
    keras.mixed_precision.set_global_policy(settings.precision)
    if gpu is None:
        return Hardware("cpu", cpu_name(), backend, settings.precision)
    return Hardware("gpu", gpu, backend, settings.precision)


def seed_everything(seed: int, hardware: Hardware) -> None:
    """Seed Python, NumPy and the backend; make TensorFlow ops deterministic on CPU."""
    import keras  # run keys import this module without Keras

    keras.utils.set_random_seed(seed)
    if hardware.backend == "tensorflow" and hardware.device == "cpu":
        import tensorflow as tf  # the backend in use, loaded by Keras already

        tf.config.experimental.enable_op_determinism()
