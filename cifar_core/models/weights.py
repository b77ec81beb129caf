"""The VGG16 no-top weights file: where it comes from, and whether it fits, before training.

This is the one place that resolves the weights for transfer learning (seed 003). The
file is looked for, in order:

1. an explicit path (a ``path`` argument, e.g. from ``--vgg16-weights PATH``);
2. the environment variable ``CIFAR_REPORT_VGG16_WEIGHTS``;
3. the Keras cache, ``$KERAS_HOME/models/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5``
   (``KERAS_HOME`` defaults to ``~/.keras``).

The file is then checked with h5py (no Keras), so that a wrong file fails before any
model is built or trained: a missing file, a file that is not HDF5, and a file whose
layers or weight shapes are not VGG16's convolutional base each raise
:class:`WeightsFileError`, naming the file and what was expected. Two layouts are read:
the Keras 2 "legacy" HDF5 layout of the published Keras-applications file (any name
ending in ``.h5``/``.hdf5``) and the Keras 3 layout that ``model.save_weights`` writes
(Keras 3 accepts it only under a name ending in ``.weights.h5``).

The weights are only *verified as ImageNet's* when the file is byte-identical to the
published one (the MD5 that Keras checks after downloading it); any other file that
passes is described as "user file <name>, not verified as ImageNet".

Example
-------
>>> from cifar_core.models.weights import expected_shapes
>>> expected_shapes()["block1_conv1"]
((3, 3, 3, 64), (64,))
>>> len(expected_shapes())
13
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import h5py

WEIGHTS_ENV = "CIFAR_REPORT_VGG16_WEIGHTS"
WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + WEIGHTS_FILE
IMAGENET_NOTOP_MD5 = "6d6bbae143d832006294945121d1f1fc"
"""MD5 of the published file (``file_hash`` in ``keras/src/applications/vgg16.py``)."""

#: VGG16's convolutional base (Simonyan & Zisserman 2015, configuration D): per block,
#: the number of 3×3 convolutions and their filters. The weights do not depend on the
#: input size, so one table serves 32×32 and 224×224 inputs.
VGG16_BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
TOP_LAYERS = ("fc1", "fc2", "predictions")


Shapes = dict[str, tuple[tuple[int, ...], tuple[int, ...]]]
"""``{layer name: (kernel shape, bias shape)}``."""
Layers = list[tuple[str, list[tuple[int, ...]]]]
"""``[(layer name, [weight shape, …])]`` in a file's order."""


class WeightsUnavailable(RuntimeError):
    """The ImageNet weights for a transfer-learning model are not on this machine."""


class WeightsFileError(WeightsUnavailable):
    """A weights file exists but cannot be VGG16's no-top weights (corrupt or wrong topology)."""


def expected_shapes() -> Shapes:
    """``{layer name: (kernel shape, bias shape)}`` of VGG16 without its top, in order.

    Kernels are ``(3, 3, in_channels, filters)`` (channels last), biases ``(filters,)``.
    """
    shapes: Shapes = {}
    channels = 3
    for block, (convs, filters) in enumerate(VGG16_BLOCKS, start=1):
        for conv in range(1, convs + 1):
            shapes[f"block{block}_conv{conv}"] = ((3, 3, channels, filters), (filters,))
            channels = filters
    return shapes


def keras_cache_path() -> Path:
    """Where Keras keeps the VGG16 no-top weights after a download."""
    keras_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    return keras_home / "models" / WEIGHTS_FILE


# ----------------------------------------------------------------------------- reading
def _decode(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _attribute(group: h5py.Group, name: str) -> list[str]:
    """A list-valued HDF5 attribute, also when Keras split it into ``name0``, ``name1``, …
    (it does so past HDF5's 64 kB attribute limit)."""
    if name in group.attrs:
        return [_decode(v) for v in group.attrs[name]]
    values, chunk = [], 0
    while f"{name}{chunk}" in group.attrs:
        values += [_decode(v) for v in group.attrs[f"{name}{chunk}"]]
        chunk += 1
    return values


def _has_attribute(group: h5py.Group, name: str) -> bool:
    return name in group.attrs or f"{name}0" in group.attrs


def _legacy_layers(handle: h5py.Group) -> Layers:
    """(layer name, weight shapes) of the layers with weights, in the file's order, from
    the Keras 2 layout: ``attrs["layer_names"]``, each layer's ``attrs["weight_names"]``
    (a whole-model ``.h5`` keeps them under ``model_weights``)."""
    if not _has_attribute(handle, "layer_names") and "model_weights" in handle:
        handle = handle["model_weights"]
    layers = []
    for name in _attribute(handle, "layer_names"):
        group = handle[name]
        weight_names = _attribute(group, "weight_names")
        if weight_names:
            layers.append((name, [tuple(group[w].shape) for w in weight_names]))
    return layers


def _keras3_layers(handle: h5py.Group) -> Layers:
    """(layer name, weight shapes) from the Keras 3 ``.weights.h5`` layout
    (``layers/<path>/vars/<i>``, the layer's name in the ``vars`` group's ``name``
    attribute). Keras 3 matches weights by position, so the groups are ordered as Keras
    numbers them (``conv2d``, ``conv2d_1``, … ``conv2d_10``)."""

    def order(path: str) -> tuple[str, int]:
        stem, _, number = path.rpartition("_")
        return (stem, int(number)) if number.isdigit() else (path, -1)

    layers = []
    for path in sorted(handle["layers"], key=order):
        variables = handle["layers"][path].get("vars")
        if variables is None or not len(variables):
            continue
        name = _decode(variables.attrs.get("name", path))
        layers.append((name, [tuple(variables[key].shape) for key in sorted(variables, key=int)]))
    return layers


def _describe(shapes: Shapes) -> str:
    return ", ".join(f"{name} {kernel}" for name, (kernel, _) in shapes.items())


def verify_vgg16_weights(path: str | os.PathLike) -> str:
    """Check that ``path`` holds VGG16 no-top weights; return its layout (``"legacy"``
    for the Keras 2 HDF5 layout, ``"keras3"`` for ``save_weights``' layout).

    Raises :class:`WeightsUnavailable` when the file does not exist;
    :class:`WeightsFileError` when it is not HDF5, has neither layout, is saved under a
    name Keras would read with the other layout, or its layers/weight shapes differ from
    :func:`expected_shapes`.
    """
    path = Path(path).expanduser()
    expected = expected_shapes()
    what = f"VGG16 no-top weights ({len(expected)} convolution layers: {_describe(expected)})"
    if not path.is_file():
        raise WeightsUnavailable(f"VGG16 weights file {path} does not exist; expected the {what}.")
    try:
        with h5py.File(path, "r") as handle:
            if "layers" in handle and not _has_attribute(handle, "layer_names"):
                layout, layers = "keras3", _keras3_layers(handle)
            elif _has_attribute(handle, "layer_names") or "model_weights" in handle:
                layout, layers = "legacy", _legacy_layers(handle)
            else:
                raise WeightsFileError(
                    f"{path} is an HDF5 file but not a Keras weights file (it has neither "
                    f"'layer_names' nor 'layers/…/vars'); expected the {what}."
                )
    except OSError as error:
        raise WeightsFileError(
            f"{path} is not a readable HDF5 file ({error}); expected the "
            f"{what}, e.g. {WEIGHTS_FILE}."
        ) from None
    except (KeyError, ValueError, TypeError) as error:
        raise WeightsFileError(
            f"{path} is a damaged Keras weights file ({error}); expected the {what}."
        ) from None
    _check_topology(path, layers, expected)
    _check_name(path, layout)
    return layout


def _check_topology(path: Path, layers: Layers, expected: Shapes) -> None:
    names = [name for name, _ in layers]
    if [n for n in TOP_LAYERS if n in names] and len(layers) == len(expected) + len(TOP_LAYERS):
        raise WeightsFileError(
            f"{path} holds VGG16 *with* its classifier top ({', '.join(TOP_LAYERS)}); transfer "
            f"learning needs the no-top file ({WEIGHTS_FILE}): the {len(expected)} convolution "
            "layers only."
        )
    if len(layers) != len(expected):
        raise WeightsFileError(
            f"{path} holds {len(layers)} layers with weights ({', '.join(names) or 'none'}); "
            f"VGG16 without its top has {len(expected)}: {_describe(expected)}."
        )
    for (name, shapes), (want_name, want) in zip(layers, expected.items()):
        if tuple(shapes) != tuple(want):
            raise WeightsFileError(
                f"{path}: layer {name} (position of {want_name}) has weight shapes "
                f"{', '.join(map(str, shapes))}; VGG16 no-top expects kernel {want[0]} and "
                f"bias {want[1]}."
            )


def _check_name(path: Path, layout: str) -> None:
    """Keras 3 picks the reader by the file name: refuse a name that picks the wrong one."""
    keras3_name = path.name.endswith(".weights.h5")
    if layout == "keras3" and not keras3_name:
        raise WeightsFileError(
            f"{path} is in the Keras 3 save_weights layout, which Keras reads only from a "
            f"file whose name ends in '.weights.h5': rename it to {path.stem}.weights.h5."
        )
    if layout == "legacy" and (keras3_name or not path.name.endswith((".h5", ".hdf5"))):
        raise WeightsFileError(
            f"{path} is in the Keras 2 HDF5 layout (like {WEIGHTS_FILE}), which Keras reads "
            f"only from a name ending in '.h5' but not '.weights.h5': rename it, e.g. to "
            f"{WEIGHTS_FILE}."
        )


@lru_cache(maxsize=8)
def _md5(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_published_imagenet_file(path: str | os.PathLike) -> bool:
    """True when ``path`` is byte-identical to the published ImageNet no-top file (MD5)."""
    path = Path(path)
    stat = path.stat()
    return _md5(path, stat.st_size, stat.st_mtime_ns) == IMAGENET_NOTOP_MD5


# ----------------------------------------------------------------------------- resolving
@dataclass(frozen=True)
class ResolvedWeights:
    """A verified weights file and where it came from (``"argument"``, ``"environment"``
    or ``"keras-cache"``); ``layout`` is ``"legacy"`` or ``"keras3"``."""

    path: Path
    origin: str
    layout: str

    @property
    def imagenet_verified(self) -> bool:
        """Byte-identical to the published ImageNet file."""
        return is_published_imagenet_file(self.path)

    @property
    def description(self) -> str:
        """What a chapter says about the weights, e.g. ``"user file w.h5, not verified as
        ImageNet"`` or ``"Keras cache (…), the published ImageNet file"``."""
        verdict = (
            "the published ImageNet file (MD5 matches)"
            if self.imagenet_verified
            else "not verified as ImageNet"
        )
        if self.origin == "keras-cache":
            return f"Keras cache ({self.path}), {verdict}"
        return f"user file {self.path.name}, {verdict}"


def resolve_vgg16_weights(
    path: str | os.PathLike | None = None, *, verify: bool = True
) -> ResolvedWeights:
    """The VGG16 no-top weights file to use: ``path``, else ``$CIFAR_REPORT_VGG16_WEIGHTS``,
    else the Keras cache; checked with :func:`verify_vgg16_weights` when ``verify``.

    Raises :class:`WeightsUnavailable` when no file is named and none is in the Keras
    cache, or the named file is missing; :class:`WeightsFileError` when the file is not
    VGG16's no-top weights.
    """
    explicit, origin = (path, "argument") if path else (os.environ.get(WEIGHTS_ENV), "environment")
    if explicit:
        file = Path(explicit).expanduser()
        if not file.is_file():
            where = (
                f"${WEIGHTS_ENV} points to" if origin == "environment" else "the weights path is"
            )
            raise WeightsUnavailable(
                f"{where} {file}, which is not a file (expected the VGG16 no-top ImageNet "
                f"weights, {WEIGHTS_FILE})"
            )
    else:
        file, origin = keras_cache_path(), "keras-cache"
        if not file.is_file():
            raise WeightsUnavailable(
                f"VGG16 ImageNet weights not found: set {WEIGHTS_ENV} to a local copy of "
                f"{WEIGHTS_FILE} or place it at {file} (download it from {WEIGHTS_URL} on a "
                "machine with network). Transfer-learning variants are not run without them."
            )
    layout = (
        verify_vgg16_weights(file)
        if verify
        else ("keras3" if file.name.endswith(".weights.h5") else "legacy")
    )
    return ResolvedWeights(file, origin, layout)


def weights_status(path: str | os.PathLike | None = None) -> tuple[bool, str]:
    """``(available, explanation)`` without raising: the :attr:`ResolvedWeights.description`
    of a usable file, else the reason none can be used (for plans and chapters)."""
    try:
        return True, resolve_vgg16_weights(path).description
    except WeightsUnavailable as error:
        return False, str(error)


def install_hint() -> str:
    """How to make the weights available (markdown, one paragraph)."""
    return (
        f"To run them, download `{WEIGHTS_FILE}` ({WEIGHTS_URL}) on a machine with network "
        f"access and either place it in `{keras_cache_path().parent}`, set "
        f"`{WEIGHTS_ENV}=/path/to/the/file`, or pass `--vgg16-weights PATH`."
    )
