"""Which device trains, with which precision, and how to make CPU runs deterministic.

Works on every Keras 3 backend: TensorFlow (default), PyTorch and JAX. Environment:

``CIFAR_REPORT_DEVICE=cpu``
    train on the CPU even when a GPU is visible (set it before Keras starts).
``CIFAR_REPORT_MIXED_PRECISION=0``
    keep float32 on a GPU (mixed precision ``mixed_float16`` is the GPU default).
"""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass

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


def force_cpu_requested() -> bool:
    return os.environ.get(DEVICE_ENV, "").strip().lower() == "cpu"


def hide_gpus_if_requested() -> None:
    """Honour ``CIFAR_REPORT_DEVICE=cpu`` for every backend (call before importing Keras;
    for TensorFlow it also works later, as long as no GPU has been used yet)."""
    if not force_cpu_requested():
        return
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:  # GPUs already initialised: CUDA_VISIBLE_DEVICES decides
            pass


def _gpu_name(backend: str) -> str | None:
    """The first visible GPU's name for ``backend``, or ``None`` when there is none."""
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        if not gpus:
            return None
        details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
        return details.get("device_name", gpus[0].name)
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        return gpus[0].device_kind if gpus else None
    return None


def cpu_name() -> str:
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def configure() -> Hardware:
    """Pick the device and set the Keras dtype policy accordingly; return what was chosen.

    On a GPU the global policy becomes ``mixed_float16`` (unless disabled by
    ``CIFAR_REPORT_MIXED_PRECISION=0``); on a CPU it is ``float32``.
    """
    hide_gpus_if_requested()
    import keras

    backend = keras.backend.backend()
    gpu = None if force_cpu_requested() else _gpu_name(backend)
    mixed = gpu is not None and os.environ.get(MIXED_PRECISION_ENV, "1") != "0"
    policy = "mixed_float16" if mixed else "float32"
    keras.mixed_precision.set_global_policy(policy)
    if gpu is None:
        return Hardware("cpu", cpu_name(), backend, policy)
    return Hardware("gpu", gpu, backend, policy)


def seed_everything(seed: int, hardware: Hardware) -> None:
    """Seed Python, NumPy and the backend; make TensorFlow ops deterministic on CPU."""
    import keras

    keras.utils.set_random_seed(seed)
    if hardware.backend == "tensorflow" and hardware.device == "cpu":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
