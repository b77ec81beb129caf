"""Predictions of a stored run's model on transformed test sets, cached beside the store.

For the test-time-augmentation and robustness chapters a run's model is asked again
about its test images: horizontally flipped, translated by a pixel, or corrupted
(:mod:`cifar_core.data.corruptions`). The images are preprocessed exactly as when the
run was trained: the run's stored preprocessing statistics (``metrics["preprocessing"]``,
fitted on its training split by :func:`cifar_core.runs.train.prepare_splits`), or, for a
run without them, the same fit on the same seeded split.

Every result is kept as ``<store root>/.derived/<run key>/<name>-v<DERIVED_VERSION>.npz``
(written to a temporary name and moved into place, as :func:`cifar_core.runs.knn.knn_for_run`
does), so a notebook re-executed later reads it without importing Keras, and then
without the dataset. The run key already covers the variant and the data; each file
also records a digest of the run's manifest, so a run that was retrained under the same
key (after its entry was found corrupt) is never answered with its predecessor's
predictions. :func:`derived_reads` lists every cached file this process used, with a
digest of its content: the chapter's provenance record keeps it, and a build re-executes
the chapter when one of them is deleted or holds other numbers
(:func:`cifar_core.orchestrate.provenance.why_stale`).

What is predicted, and with which recipe:

* :func:`plain_test_probs`, :func:`flipped_test_probs`, :func:`translated_test_probs`:
  one forward pass of the model per view, *never* averaged (even for a variant with
  ``tta_flip``/``tta_translate``, whose stored ``test_probs`` are already averaged), so
  the TTA functions below can combine them.
* :func:`corruption_test_probs`: the run's own inference recipe
  (:func:`cifar_core.runs.train.predict_probs` with the variant's ``tta_flip`` and
  ``tta_translate``), so that corrupted accuracy compares with the stored clean
  accuracy of the same run.

The pure functions at the end (no Keras, no files) combine views: the average of
softmax probabilities, its accuracy and per-image correctness (for the paired tests of
:mod:`cifar_core.analysis.paired`), and the extra inference FLOPs of a TTA recipe.

Example
-------
>>> import numpy as np
>>> plain = np.array([[0.6, 0.4], [0.4, 0.6]])
>>> flipped = np.array([[0.2, 0.8], [0.3, 0.7]])
>>> tta_accuracy(plain, flipped, np.array([1, 1]))   # means [0.4, 0.6] and [0.35, 0.65]
1.0
>>> tta_extra_flops(1_000_000, views=2, images=10_000)
10000000000
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cifar_core.data.corruptions import (
    CORRUPTION_VERSION,
    CORRUPTIONS,
    RANDOM,
    SEVERITIES,
    cached_corruption,
)

DERIVED_VERSION = 2
"""Part of every cached file's name: bump it when what is computed here changes (2: a
run's own recipe includes ``tta_translate``; files carry the run's manifest digest)."""

TRANSLATE_SHIFTS: tuple[tuple[int, int], ...] = ((-1, -1), (1, 1))
"""airbench's translate set (Jordan 2024, ``tta_level=2``): one pixel up-left and one
pixel down-right, borders reflected; each is also evaluated flipped."""

BATCH_SIZE = 256
PREDICT_IMAGES = 16_384
"""At most this many images (several corrupted test sets) are preprocessed and predicted
in one call: about 200 MB of float32 inputs."""


# ----------------------------------------------------------------------------- image views
def flip_images(images: np.ndarray) -> np.ndarray:
    """Mirror ``(N, H, W, C)`` images left to right."""
    return np.asarray(images)[:, :, ::-1, :]


def translate_images(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Shift ``(N, H, W, C)`` images by ``dy`` rows down and ``dx`` columns right (negative:
    up/left); the uncovered border is filled by reflection (``numpy.pad(mode="reflect")``)."""
    images = np.asarray(images)
    height, width = images.shape[1:3]
    if abs(dy) >= height or abs(dx) >= width:
        raise ValueError(f"shift ({dy}, {dx}) is not smaller than the {height}×{width} images")
    py, px = abs(dy), abs(dx)
    padded = np.pad(images, ((0, 0), (py, py), (px, px), (0, 0)), mode="reflect")
    top, left = py - dy, px - dx
    return padded[:, top : top + height, left : left + width, :]


def _shift_tag(shifts: Sequence[tuple[int, int]]) -> str:
    sign = lambda v: f"{'m' if v < 0 else 'p'}{abs(v)}"  # noqa: E731
    return "_".join(f"{sign(dy)}{sign(dx)}" for dy, dx in shifts)


# ----------------------------------------------------------------------------- cache
def derived_dir(run: Any) -> Path:
    """``<store root>/.derived/<run key>/``: where this run's derived results live."""
    return Path(run.path).parent / ".derived" / run.key


def _cache_path(run: Any, name: str) -> Path:
    return derived_dir(run) / f"{name}-v{DERIVED_VERSION}.npz"


def file_digest(path: str | os.PathLike) -> str:
    """sha256 (first 16 hex) of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def run_identity(run: Any) -> str:
    """A digest of the run's ``manifest.json`` (the checksums of all its files), which
    changes when a run is retrained under the same key; ``""`` for a run without one."""
    manifest = Path(run.path) / "manifest.json"
    return file_digest(manifest) if manifest.is_file() else ""


def _read(path: Path, identity: str) -> np.ndarray | None:
    """The cached probabilities, or ``None`` when absent, unreadable or computed from
    another model than the run's current one."""
    try:
        with np.load(path) as stored:
            if "run" not in stored.files or str(stored["run"]) != identity:
                return None
            return stored["probs"]
    except (OSError, ValueError, KeyError):
        return None


def _write(path: Path, probs: np.ndarray, identity: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.stem}.pid{os.getpid()}."  # a crashed writer's leftover is removable
    with tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=prefix, suffix=".tmp", delete=False
    ) as handle:
        np.savez_compressed(handle, probs=np.asarray(probs, np.float32), run=np.array(identity))
    os.replace(handle.name, path)  # atomic: a crash never leaves a half-written result


_READS: dict[str, str] = {}


def content_digest(path: str | os.PathLike) -> str | None:
    """sha256 (first 16 hex) of a cached result's probabilities and run identity, or
    ``None`` when the file is absent or unreadable. Unlike the file's bytes (a zip
    archive with timestamps), it is the same for the same numbers recomputed."""
    try:
        with np.load(path) as stored:
            digest = hashlib.sha256(np.ascontiguousarray(stored["probs"]).tobytes())
            digest.update(str(stored["run"]).encode() if "run" in stored.files else b"")
    except (OSError, ValueError, KeyError):
        return None
    return digest.hexdigest()[:16]


def derived_reads() -> dict[str, str]:
    """``{absolute path: content digest}`` of every cached result this process read or
    wrote (what a chapter's provenance records; see the module docstring)."""
    return dict(sorted(_READS.items()))


def _cached(
    run: Any, name: str, dataset: Any, compute: Callable[[Any, Any], np.ndarray]
) -> np.ndarray:
    """The cached array ``name`` of ``run``, or ``compute(model, dataset)`` stored first."""
    path = _cache_path(run, name)
    identity = run_identity(run)
    probs = _read(path, identity)
    if probs is None:
        _check_dataset(run, dataset, name)
        probs = np.asarray(compute(_model(run), dataset), np.float32)
        _write(path, probs, identity)
    _READS[str(path)] = content_digest(path)
    return probs


def is_cached(run: Any, name: str) -> bool:
    """Whether the derived result ``name`` (e.g. ``"flip"``) of ``run``'s current model is on disk."""
    return _read(_cache_path(run, name), run_identity(run)) is not None


def _check_dataset(run: Any, dataset: Any, name: str) -> None:
    if dataset is None:
        raise ValueError(
            f"the {name!r} predictions of run {run.key} are not cached yet: pass the "
            "dataset the run was trained on to compute them"
        )
    expected = (getattr(run, "config", None) or {}).get("dataset", {}).get("fingerprint")
    if expected and expected != dataset.fingerprint:
        raise ValueError(
            f"run {run.key} was trained on data with fingerprint {expected}, but the "
            f"dataset given has {dataset.fingerprint} ({dataset.source}): pass the "
            "run's own dataset"
        )


# ----------------------------------------------------------------------------- the model
_LOADED: dict[str, Any] = {}


def _model(run: Any):
    """The run's model, kept while the same run is asked about (one at a time)."""
    key = f"{run.path}:{run_identity(run)}"
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = run.load_model()
    return _LOADED[key]


def _preprocessor(run: Any, dataset: Any):
    """The run's preprocessing, as fitted on its training split."""
    from cifar_core.data.preprocessing import Preprocessor
    from cifar_core.data.splits import validation_split

    stats = (getattr(run, "metrics", None) or {}).get("preprocessing")
    if stats:
        return Preprocessor.from_stats(stats)
    variant = run.config["variant"]
    train_idx, _ = validation_split(
        dataset.y_train, variant.get("validation_fraction", 0.2), seed=variant.get("seed", 0)
    )
    return Preprocessor.fit(variant.get("preprocessing", "unit"), dataset.x_train[train_idx])


def _recipe(run: Any) -> dict[str, Any]:
    """The run's own inference recipe: ``{"tta_flip": bool, "tta_translate": pixels}``."""
    variant = run.config["variant"]
    return {
        "tta_flip": bool(variant.get("tta_flip", False)),
        "tta_translate": int(variant.get("tta_translate", 0) or 0),
    }


def _uses_tta(run: Any) -> bool:
    recipe = _recipe(run)
    return recipe["tta_flip"] or recipe["tta_translate"] > 0


def predict(model, x: np.ndarray, *, tta_flip: bool = False, tta_translate: int = 0) -> np.ndarray:
    """Softmax outputs of ``model`` on preprocessed ``x`` in inference mode, with the
    test-time augmentation training evaluates with (:func:`cifar_core.runs.train.predict_probs`:
    ``tta_flip`` averages ``x`` and its mirror image, ``tta_translate`` adds airbench's
    two translations); one plain pass by default."""
    from cifar_core.runs.train import predict_probs  # Keras is loaded: a model exists

    return predict_probs(
        model, np.asarray(x), tta_flip=tta_flip, tta_translate=tta_translate, batch_size=BATCH_SIZE
    )


def model_probs(
    run: Any, dataset: Any, images: np.ndarray, *, tta_flip: bool = False, tta_translate: int = 0
) -> np.ndarray:
    """Predictions of ``run``'s model on uint8 ``images``, preprocessed as in training
    (not cached; the building block of the cached functions)."""
    return predict(
        _model(run),
        _preprocessor(run, dataset).transform(images),
        tta_flip=tta_flip,
        tta_translate=tta_translate,
    )


# ----------------------------------------------------------------------------- cached views
def plain_test_probs(run: Any, dataset: Any = None) -> np.ndarray:
    """One forward pass on the clean test set: the stored ``test_probs`` for a run whose
    recipe has no test-time augmentation (nothing computed), else computed and cached."""
    if not _uses_tta(run):
        return np.asarray(run.predictions()["test_probs"], np.float32)
    return _cached(
        run,
        "plain",
        dataset,
        lambda model, ds: predict(model, _preprocessor(run, ds).transform(ds.x_test)),
    )


def flipped_test_probs(run: Any, dataset: Any = None) -> np.ndarray:
    """One forward pass on the horizontally flipped test set (cached as ``flip``)."""
    return _cached(
        run,
        "flip",
        dataset,
        lambda model, ds: predict(model, _preprocessor(run, ds).transform(flip_images(ds.x_test))),
    )


def translated_test_probs(
    run: Any, dataset: Any = None, shifts: Sequence[tuple[int, int]] = TRANSLATE_SHIFTS
) -> np.ndarray:
    """Forward passes on the test set translated by each of ``shifts`` (reflected
    borders), unflipped and flipped: an array ``(len(shifts), 2, N, classes)`` whose
    ``[:, 0]`` are the translated and ``[:, 1]`` the translated-and-flipped views."""
    shifts = tuple((int(dy), int(dx)) for dy, dx in shifts)

    def compute(model, ds):
        moved = [translate_images(ds.x_test, dy, dx) for dy, dx in shifts]
        images = np.concatenate([view for m in moved for view in (m, flip_images(m))])
        probs = predict(model, _preprocessor(run, ds).transform(images))  # one call: less overhead
        return probs.reshape(len(shifts), 2, len(ds.x_test), -1)

    return _cached(run, f"translate-{_shift_tag(shifts)}", dataset, compute)


def corruption_name(corruption: str, severity: int, seed: int = 0) -> str:
    """The cache name of one corruption's predictions (seed only for random ones)."""
    seeded = f"-seed{seed}" if corruption in RANDOM else ""
    return f"corruption-{corruption}-s{severity}{seeded}-c{CORRUPTION_VERSION}"


def corruption_test_probs(
    run: Any,
    dataset: Any = None,
    corruptions: Iterable[str] = CORRUPTIONS,
    severities: Iterable[int] = SEVERITIES,
    *,
    seed: int = 0,
) -> dict[tuple[str, int], np.ndarray]:
    """``{(corruption, severity): probabilities}`` of the run's model (its own recipe:
    flip- and translate-averaged as the variant's ``tta_flip`` and ``tta_translate``
    say) on the corrupted test set. The
    corrupted images come from :func:`cifar_core.data.corruptions.cached_corruption`.

    The sets not cached yet are predicted together, up to :data:`PREDICT_IMAGES` images
    per call (one ``model.predict`` per corrupted set would spend most of its time in
    per-call overhead on a small test split), and then cached one file per set."""
    pairs = [(c, int(s)) for c in corruptions for s in severities]
    identity = run_identity(run)
    paths = {pair: _cache_path(run, corruption_name(*pair, seed)) for pair in pairs}
    results = {pair: probs for pair in pairs if (probs := _read(paths[pair], identity)) is not None}
    missing = [pair for pair in pairs if pair not in results]
    if missing:
        _check_dataset(run, dataset, corruption_name(*missing[0], seed))
        model, preprocessor = _model(run), _preprocessor(run, dataset)
        size = len(dataset.x_test)
        per_call = max(1, PREDICT_IMAGES // max(size, 1))
        for start in range(0, len(missing), per_call):
            chunk = missing[start : start + per_call]
            images = np.concatenate(
                [
                    cached_corruption(
                        dataset.x_test, c, s, seed=seed, fingerprint=dataset.fingerprint
                    )
                    for c, s in chunk
                ]
            )
            probs = predict(model, preprocessor.transform(images), **_recipe(run))
            for index, pair in enumerate(chunk):
                results[pair] = np.asarray(probs[index * size : (index + 1) * size], np.float32)
                _write(paths[pair], results[pair], identity)
    for pair in pairs:
        _READS[str(paths[pair])] = content_digest(paths[pair])
    return {pair: results[pair] for pair in pairs}


def corruption_accuracy(
    run: Any,
    dataset: Any = None,
    corruptions: Iterable[str] = CORRUPTIONS,
    severities: Iterable[int] = SEVERITIES,
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """Test accuracy per corruption and severity: a long table with columns
    ``corruption``, ``severity``, ``accuracy`` (clean accuracy is the run's stored
    ``test_accuracy``, computed with the same recipe)."""
    labels = np.asarray(run.predictions()["test_labels"])
    probs = corruption_test_probs(run, dataset, corruptions, severities, seed=seed)
    return pd.DataFrame(
        [
            {
                "corruption": name,
                "severity": severity,
                "accuracy": float(np.mean(p.argmax(axis=1) == labels)),
            }
            for (name, severity), p in probs.items()
        ]
    )


# ----------------------------------------------------------------------------- pure TTA
def average_probs(
    views: Sequence[np.ndarray], weights: Sequence[float] | None = None
) -> np.ndarray:
    """Weighted mean of the softmax probabilities of several views (equal weights by default)."""
    stacked = np.asarray(views, dtype=np.float64)
    if stacked.ndim != 3:
        raise ValueError(
            f"views must be a sequence of (images, classes) arrays; got {stacked.shape}"
        )
    return np.average(stacked, axis=0, weights=weights)


def tta_probs(probs: np.ndarray, flipped_probs: np.ndarray) -> np.ndarray:
    """Flip TTA: the mean of the softmax over the original and the mirrored image."""
    return average_probs([probs, flipped_probs])


def tta_accuracy(probs: np.ndarray, flipped_probs: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy of flip TTA (:func:`tta_probs`)."""
    return float(np.mean(tta_probs(probs, flipped_probs).argmax(axis=1) == np.asarray(labels)))


def tta_correctness(
    probs: np.ndarray, flipped_probs: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-image correctness without and with flip TTA (boolean arrays), the paired data
    for a McNemar test or a bootstrap of the accuracy gain on the same images."""
    labels = np.asarray(labels)
    return (
        np.asarray(probs).argmax(axis=1) == labels,
        tta_probs(probs, flipped_probs).argmax(axis=1) == labels,
    )


def translate_tta_probs(
    probs: np.ndarray, flipped_probs: np.ndarray, translated: np.ndarray
) -> np.ndarray:
    """airbench's flip + translate TTA weighting: half on the flip pair, half on the
    translated views (each shift, unflipped and flipped, equally)."""
    translated = np.asarray(translated, dtype=np.float64)
    return 0.5 * tta_probs(probs, flipped_probs) + 0.5 * translated.reshape(
        (-1,) + translated.shape[-2:]
    ).mean(axis=0)


def tta_extra_flops(forward_flops: float, views: int, images: int = 1) -> int:
    """Inference FLOPs TTA adds over one forward pass: ``forward_flops × (views − 1) ×
    images`` (2 views for flip TTA, 6 for airbench's flip + two translations)."""
    if views < 1:
        raise ValueError(f"views must be at least 1; got {views}")
    return int(round(forward_flops * (views - 1) * images))
