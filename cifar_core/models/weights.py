"""Where the VGG16 ImageNet weights for transfer learning come from, without Keras.

The weights cannot be downloaded on an offline machine, so they must be a local file:
``$CIFAR_REPORT_VGG16_WEIGHTS`` or the Keras cache (``~/.keras/models/``). Planning asks
:func:`vgg16_weights_status` whether the transfer variants can run; training loads the
file through :mod:`cifar_core.models.transfer`.

>>> WEIGHTS_FILE.endswith("_notop.h5")
True
"""
from __future__ import annotations

import os
from pathlib import Path

WEIGHTS_ENV = "CIFAR_REPORT_VGG16_WEIGHTS"
WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + WEIGHTS_FILE


def keras_cache_path() -> Path:
    """Where Keras keeps the VGG16 no-top weights after a download."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / WEIGHTS_FILE


def install_hint() -> str:
    """How to make the weights available (markdown, one paragraph)."""
    return (f"To run them, download `{WEIGHTS_FILE}` ({WEIGHTS_URL}) on a machine with network "
            f"access and either place it in `{keras_cache_path().parent}` or set "
            f"`{WEIGHTS_ENV}=/path/to/the/file`.")


def vgg16_weights_status() -> tuple[bool, str]:
    """``(available, explanation)`` for the VGG16 ImageNet weights."""
    explicit = os.environ.get(WEIGHTS_ENV)
    if explicit:
        if Path(explicit).expanduser().is_file():
            return True, f"weights from ${WEIGHTS_ENV} = {explicit}"
        return False, f"${WEIGHTS_ENV} points to {explicit}, which is not a file"
    cached = keras_cache_path()
    if cached.is_file():
        return True, f"weights from the Keras cache ({cached})"
    return False, (f"the VGG16 ImageNet weights ({WEIGHTS_FILE}) are neither in the Keras "
                   f"cache ({cached}) nor named by ${WEIGHTS_ENV}, and this machine "
                   "cannot download them")
