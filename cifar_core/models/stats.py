"""Model size and cost: parameter counts and FLOPs per image, cached on disk.

FLOPs convention: **2 × multiply-adds of the Conv2D, DepthwiseConv2D and Dense layers**
for one image in a forward pass, from the layers' output shapes; biases, batch norm,
activations and pooling are not counted (they are a few percent at most). Training one
image costs roughly three forward passes.

:func:`model_stats` builds a model once per ``(family, params)`` and memoizes
``{"params", "trainable_params", "flops"}`` in ``~/.cache/cifar-report/model_stats.json``
(override with ``CIFAR_REPORT_CACHE``), so ``cifar-report list`` does not import Keras
when everything is cached.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cifar_core.files import write_text_atomic
from cifar_core.models import build_model

if TYPE_CHECKING:
    import keras

STATS_VERSION = 1  # bump when a builder changes what it builds


def flops_per_image(model: keras.Model) -> int:
    """Forward-pass FLOPs for one image (2 × multiply-adds of conv and dense layers)."""
    import keras  # a model exists, so Keras is loaded; cached stats need none

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += flops_per_image(layer)
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            kh, kw = layer.kernel_size
            total += 2 * math.prod(layer.output.shape[1:]) * kh * kw
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            fan_in = kh * kw * layer.input.shape[-1] // layer.groups
            total += 2 * math.prod(layer.output.shape[1:]) * fan_in
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return int(total)


def count_params(model: keras.Model) -> dict[str, int]:
    """Total and trainable parameter counts, as ``model.summary()`` prints them."""
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    return {"params": int(model.count_params()), "trainable_params": int(trainable)}


def cache_path() -> Path:
    root = os.environ.get("CIFAR_REPORT_CACHE") or Path.home() / ".cache" / "cifar-report"
    return Path(root) / "model_stats.json"


def _mapping(value: Any) -> dict:
    """A variant's read-only mapping as a dict, for JSON; anything else is refused."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"model parameter of type {type(value).__name__} is not JSON serializable")


def stats_key(
    family: str,
    params: Mapping[str, Any],
    input_shape: Sequence[int] = (32, 32, 3),
    num_classes: int = 10,
) -> str:
    payload = json.dumps(
        [STATS_VERSION, family, params, list(input_shape), num_classes],
        sort_keys=True,
        separators=(",", ":"),
        default=_mapping,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def model_stats(
    family: str,
    params: Mapping[str, Any],
    *,
    input_shape: Sequence[int] = (32, 32, 3),
    num_classes: int = 10,
) -> dict[str, int]:
    """``{"params", "trainable_params", "flops"}`` of a family/params, memoized on disk.

    Transfer models are measured with random weights (the counts do not depend on them),
    so this works without the ImageNet file.
    """

    def measure(model: keras.Model) -> dict[str, int]:
        return {**count_params(model), "flops": flops_per_image(model)}

    key = stats_key(family, params, input_shape, num_classes)
    return dict(_cached(key, family, params, input_shape, num_classes, measure))


def feature_dim(family: str, params: Mapping[str, Any]) -> int:
    """Size of the penultimate layer's output on a CIFAR image: the features k-NN
    compares (:func:`cifar_core.runs.knn.feature_extractor`), memoized beside
    :func:`model_stats`."""

    def measure(model: keras.Model) -> dict[str, int]:
        return {"feature_dim": int(math.prod(model.layers[-2].output.shape[1:]))}

    key = "features:" + stats_key(family, params)
    return int(_cached(key, family, params, (32, 32, 3), 10, measure)["feature_dim"])


def _cached(
    key: str,
    family: str,
    params: Mapping[str, Any],
    input_shape: Sequence[int],
    num_classes: int,
    measure: Callable[[keras.Model], dict[str, int]],
) -> dict[str, int]:
    """The cache entry ``key``, or ``measure`` of the built model (random weights for a
    transfer model), stored first; a cache that cannot be written only costs time later."""
    try:
        cache = json.loads(cache_path().read_text())
    except (OSError, ValueError):
        cache = {}
    if key not in cache:
        if family == "vgg16_transfer":
            params = {**params, "weights": "random"}
        model = build_model(family, dict(params), input_shape=input_shape, num_classes=num_classes)
        cache[key] = measure(model)
        try:
            cache_path().parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(cache_path(), json.dumps(cache, indent=0, sort_keys=True))
        except OSError:
            pass
    return cache[key]
