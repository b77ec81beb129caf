"""Imports every family module so that each registers itself."""

from cifar_core.models import cnn, flagship, mlp, transfer, wide_resnet  # noqa: F401
