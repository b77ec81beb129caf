"""Model families: one builder function per family, registered by name.

A builder is a function ``build(*, input_shape, num_classes, **params) -> keras.Model``
whose keyword parameters (after ``input_shape`` and ``num_classes``) are exactly the
family's hyper-parameters, with defaults. :func:`validate_params` checks a variant's
``params`` against that signature, so an unknown or missing key is refused before any
training starts. Builders use the Keras 3 API only (``keras.layers``, ``keras.ops``), so
``KERAS_BACKEND=torch`` or ``jax`` runs them too. Each ends in a softmax layer with
``dtype="float32"``: under a mixed precision policy (``mixed_bfloat16``,
``mixed_float16``) the probabilities are computed in float32, as Keras's mixed-precision
guide advises; under float32 it changes nothing.

Example
-------
>>> from cifar_core.models import build_model
>>> model = build_model("mlp", {"units": [64], "activation": "relu"})  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

Builder = Callable[..., "keras.Model"]
"""``build(*, input_shape, num_classes, **params) -> keras.Model``."""
_FAMILIES: dict[str, Builder] = {}
_RESERVED = ("input_shape", "num_classes")


def register(name: str) -> Callable[[Builder], Builder]:
    """Decorator: register ``builder`` as the model family ``name``."""

    def decorator(builder: Builder) -> Builder:
        if name in _FAMILIES and _FAMILIES[name] is not builder:
            raise ValueError(f"model family {name!r} is registered twice")
        _FAMILIES[name] = builder
        return builder

    return decorator


def _load_families() -> None:
    # Importing the family modules registers them.
    importlib.import_module("cifar_core.models.all_families")


def families() -> list[str]:
    _load_families()
    return sorted(_FAMILIES)


def family_parameters(family: str) -> dict[str, Any]:
    """The hyper-parameters of ``family`` with their defaults (``inspect.Parameter.empty``
    when required)."""
    _load_families()
    if family not in _FAMILIES:
        raise ValueError(
            f"family is {family!r}: unknown model family; known: {', '.join(sorted(_FAMILIES))}"
        )
    signature = inspect.signature(_FAMILIES[family])
    return {n: p.default for n, p in signature.parameters.items() if n not in _RESERVED}


def validate_params(family: str, params: dict[str, Any]) -> None:
    """Raise ``ValueError``/``TypeError`` naming the key when ``params`` do not fit ``family``."""
    expected = family_parameters(family)
    for key in params:
        if key not in expected:
            raise TypeError(
                f"params.{key} is not a parameter of model family {family!r}; "
                f"its parameters are: {', '.join(expected) or '(none)'}"
            )
    for key, default in expected.items():
        if default is inspect.Parameter.empty and key not in params:
            raise TypeError(f"params.{key} is required by model family {family!r}")


def build_model(
    family: str,
    params: dict[str, Any],
    *,
    input_shape: Sequence[int] = (32, 32, 3),
    num_classes: int = 10,
) -> keras.Model:
    """Build an uncompiled ``keras.Model`` of ``family`` with ``params``."""
    validate_params(family, params)
    return _FAMILIES[family](
        input_shape=tuple(input_shape),
        num_classes=num_classes,
        **{k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
    )
