"""Imports every family module so that each registers itself."""
from cifar_core.models import mlp  # noqa: F401
