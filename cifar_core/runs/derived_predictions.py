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

What is predicted (all with :func:`cifar_core.runs.predict.predict`, through
:func:`model_probs`):

* :func:`plain_test_probs`, :func:`flipped_test_probs`, :func:`translated_test_probs`:
  one forward pass of the model per view, *never* averaged (even for a variant with
  ``tta_flip``/``tta_translate``, whose stored ``test_probs`` are already averaged), so
  that :func:`tta_probs` and :func:`translate_tta_probs` can combine them.
* :func:`corruption_test_probs`: the run's own inference recipe (the variant's
  ``tta_flip`` and ``tta_translate``), so that corrupted accuracy compares with the
  stored clean accuracy of the same run.

Example
-------
>>> import numpy as np
>>> plain = np.array([[0.6, 0.4], [0.4, 0.6]], np.float32)
>>> flipped = np.array([[0.2, 0.8], [0.3, 0.7]], np.float32)
>>> tta_probs(plain, flipped).round(2).tolist()
[[0.4, 0.6], [0.35, 0.65]]
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cifar_core.data.corruptions import (
    CORRUPTION_VERSION,
    CORRUPTIONS,
    RANDOM,
    SEVERITIES,
    cached_corruption,
)
from cifar_core.data.dataset import Dataset
from cifar_core.data.preprocessing import Preprocessor
from cifar_core.data.splits import validation_split
from cifar_core.files import temp_path
from cifar_core.runs.manifest import run_identity
from cifar_core.runs.predict import (
    TRANSLATE_SHIFTS,
    average_views,
    flip_images,
    predict,
    translate_images,
)
from cifar_core.runs.store import Run

if TYPE_CHECKING:
    import keras

DERIVED_VERSION = 2
"""Part of every cached file's name: bump it when what is computed here changes (2: a
run's own recipe includes ``tta_translate``; files carry the run's manifest digest)."""

PREDICT_IMAGES = 16_384
"""At most this many images (several corrupted test sets) are preprocessed and predicted
in one call: about 200 MB of float32 inputs."""


# ----------------------------------------------------------------------------- cache
def derived_dir(run: Run) -> Path:
    """``<store root>/.derived/<run key>/``: where this run's derived results live."""
    return Path(run.path).parent / ".derived" / run.key


def _cache_path(run: Run, name: str) -> Path:
    return derived_dir(run) / f"{name}-v{DERIVED_VERSION}.npz"


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
    temp = temp_path(path)
    with open(temp, "wb") as handle:
        np.savez_compressed(handle, probs=np.asarray(probs, np.float32), run=np.array(identity))
    os.replace(temp, path)  # atomic: a crash never leaves a half-written result


_READS: dict[str, str | None] = {}


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


def derived_reads() -> dict[str, str | None]:
    """``{absolute path: content digest}`` of every cached result this process read or
    wrote (what a chapter's provenance records; see the module docstring)."""
    return dict(sorted(_READS.items()))


def _cached(
    run: Run, name: str, dataset: Dataset | None, compute: Callable[[Dataset], np.ndarray]
) -> np.ndarray:
    """The cached array ``name`` of ``run``, or ``compute(dataset)`` stored first."""
    path = _cache_path(run, name)
    identity = run_identity(run.path)
    probs = _read(path, identity)
    if probs is None:
        dataset = _check_dataset(run, dataset, name)
        probs = np.asarray(compute(dataset), np.float32)
        _write(path, probs, identity)
    _READS[str(path)] = content_digest(path)
    return probs


def _check_dataset(run: Run, dataset: Dataset | None, name: str) -> Dataset:
    """``dataset``, when it is the one ``run`` was trained on (else a ``ValueError``)."""
    if dataset is None:
        raise ValueError(
            f"the {name!r} predictions of run {run.key} are not cached yet: pass the "
            "dataset the run was trained on to compute them"
        )
    expected = run.config.get("dataset", {}).get("fingerprint")
    if expected and expected != dataset.fingerprint:
        raise ValueError(
            f"run {run.key} was trained on data with fingerprint {expected}, but the "
            f"dataset given has {dataset.fingerprint} ({dataset.source}): pass the "
            "run's own dataset"
        )
    return dataset


# ----------------------------------------------------------------------------- the model
_LOADED: dict[str, keras.Model] = {}


def _model(run: Run) -> keras.Model:
    """The run's model, kept while the same run is asked about (one at a time)."""
    key = f"{run.path}:{run_identity(run.path)}"
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = run.load_model()
    return _LOADED[key]


def _preprocessor(run: Run, dataset: Dataset) -> Preprocessor:
    """The run's preprocessing, as fitted on its training split."""
    stats = run.metrics.get("preprocessing")
    if stats:
        return Preprocessor.from_stats(stats)
    variant = run.config["variant"]
    train_idx, _ = validation_split(
        dataset.y_train, variant.get("validation_fraction", 0.2), seed=variant.get("seed", 0)
    )
    return Preprocessor.fit(variant.get("preprocessing", "unit"), dataset.x_train[train_idx])


def _recipe(run: Run) -> tuple[bool, int]:
    """The run's own test-time views: ``(flip, translate pixels)``."""
    variant = run.config["variant"]
    return bool(variant.get("tta_flip", False)), int(variant.get("tta_translate", 0) or 0)


def model_probs(
    run: Run, dataset: Dataset, images: np.ndarray, *, flip: bool = False, translate: int = 0
) -> np.ndarray:
    """Predictions of ``run``'s model on uint8 ``images``, preprocessed as in training,
    with the views of :func:`cifar_core.runs.predict.predict` (one plain pass by
    default); not cached: every function below computes through it."""
    images = _preprocessor(run, dataset).transform(images)
    return predict(_model(run), images, flip=flip, translate=translate)


def _probs_per_set(
    run: Run, dataset: Dataset, sets: Iterable[np.ndarray], **views: Any
) -> Iterator[np.ndarray]:
    """:func:`model_probs` of each of ``sets`` (transformed test sets; a generator's are
    made only as each call needs them), several sets per call but at most :data:`PREDICT_IMAGES` images: one call
    per set spends most of its time in per-call overhead on a small test split, and four
    views of CIFAR-10's 10,000 test images in one call held about 1 GB more."""
    per_call = max(1, PREDICT_IMAGES // max(len(dataset.x_test), 1))
    sets = iter(sets)
    while chunk := list(islice(sets, per_call)):
        yield from np.split(model_probs(run, dataset, np.concatenate(chunk), **views), len(chunk))


# ----------------------------------------------------------------------------- cached views
def plain_test_probs(run: Run, dataset: Dataset | None = None) -> np.ndarray:
    """One forward pass on the clean test set: the stored ``test_probs`` for a run whose
    recipe has no test-time augmentation (nothing computed), else computed and cached."""
    if _recipe(run) == (False, 0):
        return np.asarray(run.predictions()["test_probs"], np.float32)
    return _cached(run, "plain", dataset, lambda ds: model_probs(run, ds, ds.x_test))


def flipped_test_probs(run: Run, dataset: Dataset | None = None) -> np.ndarray:
    """One forward pass on the horizontally flipped test set (cached as ``flip``)."""
    return _cached(run, "flip", dataset, lambda ds: model_probs(run, ds, flip_images(ds.x_test)))


def translated_test_probs(run: Run, dataset: Dataset | None = None) -> np.ndarray:
    """Forward passes on the test set translated by each of :data:`TRANSLATE_SHIFTS`
    (reflected borders), unflipped and flipped: an array ``(shifts, 2, N, classes)`` whose
    ``[:, 0]`` are the translated and ``[:, 1]`` the translated-and-flipped views."""
    shifts = tuple((int(dy), int(dx)) for dy, dx in TRANSLATE_SHIFTS)

    def compute(ds: Dataset) -> np.ndarray:
        moved = [translate_images(ds.x_test, dy, dx) for dy, dx in shifts]
        views = [view for m in moved for view in (m, flip_images(m))]
        probs = np.concatenate(list(_probs_per_set(run, ds, views)))
        return probs.reshape(len(shifts), 2, len(ds.x_test), -1)

    tag = "_".join(f"{dy:+d}{dx:+d}" for dy, dx in shifts).replace("+", "p").replace("-", "m")
    return _cached(run, f"translate-{tag}", dataset, compute)


def corruption_name(corruption: str, severity: int, seed: int = 0) -> str:
    """The cache name of one corruption's predictions (seed only for random ones)."""
    seeded = f"-seed{seed}" if corruption in RANDOM else ""
    return f"corruption-{corruption}-s{severity}{seeded}-c{CORRUPTION_VERSION}"


def corruption_test_probs(
    run: Run,
    dataset: Dataset | None = None,
    corruptions: Iterable[str] = CORRUPTIONS,
    severities: Iterable[int] = SEVERITIES,
    *,
    seed: int = 0,
) -> dict[tuple[str, int], np.ndarray]:
    """``{(corruption, severity): probabilities}`` of the run's model (its own recipe:
    flip- and translate-averaged as the variant's ``tta_flip`` and ``tta_translate``
    say) on the corrupted test set. The corrupted images come from
    :func:`cifar_core.data.corruptions.cached_corruption`.

    The sets not cached yet are predicted together, up to :data:`PREDICT_IMAGES` images
    per call, and then cached one file per set."""
    pairs = [(c, int(s)) for c in corruptions for s in severities]
    identity = run_identity(run.path)
    paths = {pair: _cache_path(run, corruption_name(*pair, seed)) for pair in pairs}
    results = {pair: probs for pair in pairs if (probs := _read(paths[pair], identity)) is not None}
    missing = [pair for pair in pairs if pair not in results]
    if missing:
        dataset = _check_dataset(run, dataset, corruption_name(*missing[0], seed))
        flip, translate = _recipe(run)
        sets = (
            cached_corruption(dataset.x_test, c, s, seed=seed, fingerprint=dataset.fingerprint)
            for c, s in missing
        )
        computed = _probs_per_set(run, dataset, sets, flip=flip, translate=translate)
        for pair, probs in zip(missing, computed):
            results[pair] = probs
            _write(paths[pair], probs, identity)
    for pair in pairs:
        _READS[str(paths[pair])] = content_digest(paths[pair])
    return {pair: results[pair] for pair in pairs}


def corruption_accuracy(
    run: Run,
    dataset: Dataset | None = None,
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


# ----------------------------------------------------------------------------- combining views
def tta_probs(probs: np.ndarray, flipped_probs: np.ndarray) -> np.ndarray:
    """Flip TTA of cached single passes: :func:`~cifar_core.runs.predict.average_views`
    in float64 (the plain and the mirror-image pass, equally weighted)."""
    return average_views(np.asarray(probs, np.float64), np.asarray(flipped_probs, np.float64))


def translate_tta_probs(
    probs: np.ndarray, flipped_probs: np.ndarray, translated: np.ndarray
) -> np.ndarray:
    """airbench's flip + translate TTA of cached single passes (``translated`` as
    :func:`translated_test_probs` gives it), in float64: half on the flip pair, half on
    the translated views."""
    return average_views(
        np.asarray(probs, np.float64),
        np.asarray(flipped_probs, np.float64),
        np.asarray(translated, np.float64),
    )
