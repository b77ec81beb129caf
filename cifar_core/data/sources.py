"""Find the data and load it: :func:`load_dataset`.

Sources, in the order they are tried when none is named:

1. ``$CIFAR10_DIR`` (a batches folder, its parent, or the official ``.tar.gz``);
2. the Keras cache, ``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``), as left
   by ``keras.datasets.cifar10.load_data()`` (Keras 2 and Keras 3 layouts);
3. a download through Keras (imported only here), then read back from its cache.

``"synthetic"`` is used only when named. An explicit path is read directly.
"""

from __future__ import annotations

import os
from pathlib import Path

from .dataset import Dataset
from .errors import DataError, positive_int
from .loader import read_dataset
from .readers import folder_reader, open_location
from .splits import stratified_subset
from .synthetic import synthetic_folder

#: Where Keras downloads each dataset from, and the cache entry it extracts to.
DOWNLOADS = {
    "cifar10": (
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "cifar-10-batches-py-target",
    ),
    "cifar100": ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", "cifar-100-python"),
}

#: What Keras leaves in its cache, per dataset, in the order to try.
KERAS_CACHE_ENTRIES = {
    "cifar10": (
        "cifar-10-batches-py",
        "cifar-10-batches-py-target",
        "cifar-10-batches-py-target_archive",
        "cifar-10-batches-py.tar.gz",
        "cifar-10-python.tar.gz",
    ),
    "cifar100": ("cifar-100-python", "cifar-100-python_archive", "cifar-100-python.tar.gz"),
}


def keras_cache_dirs() -> list[Path]:
    """Folders where Keras keeps downloaded datasets: ``$KERAS_HOME/datasets``, and
    ``/tmp/.keras/datasets`` where Keras falls back to when its home is not writable."""
    home = Path(os.environ.get("KERAS_HOME") or "~/.keras").expanduser()
    fallback = [] if os.access(home, os.W_OK) else [Path("/tmp/.keras/datasets")]
    return [home / "datasets", *fallback]


def find_in_keras_cache(name: str = "cifar10") -> Path | None:
    """The first cached copy of dataset ``name`` in :func:`keras_cache_dirs`, if any."""
    for folder in keras_cache_dirs():
        for entry in KERAS_CACHE_ENTRIES[name]:
            if (folder / entry).exists():
                return folder / entry
    return None


def _download_hint(name: str, error: BaseException) -> DataError:
    looked = ", ".join(str(d) for d in keras_cache_dirs())
    return DataError(
        f"{name} was not found locally (CIFAR10_DIR is unset; nothing in the Keras cache "
        f"{looked}) and downloading it through Keras failed ({type(error).__name__}: "
        f"{error}). Use a local copy: pass --data PATH (or set CIFAR10_DIR) pointing at "
        "the 'cifar-10-batches-py' folder, its parent, or 'cifar-10-python.tar.gz'; or "
        "use --data synthetic for the generated offline dataset."
    )


def download_with_keras(name: str = "cifar10") -> Path:
    """Download and extract ``name`` into the Keras cache (``keras.utils.get_file``) and
    return the cached path. Only the archive is fetched: the batches are then read by
    this package's restricted unpickler, never by ``keras.datasets.*.load_data``, which
    unpickles with the stock (code-running) ``pickle``."""
    origin, entry = DOWNLOADS[name]
    try:
        import keras  # downloading is the one thing here that needs Keras

        keras.utils.get_file(fname=entry, origin=origin, extract=True)
    except Exception as error:  # offline, blocked, broken install: all end the same way
        raise _download_hint(name, error) from error
    cached = find_in_keras_cache(name)
    if cached is None:
        raise DataError(
            f"Keras downloaded {name} but it is not in {keras_cache_dirs()}; "
            "pass the downloaded folder explicitly with --data PATH."
        )
    return cached


def _locate_and_read(
    source: str | os.PathLike[str] | None,
    name: str | None,
    limit: int | None,
    synthetic: tuple[int, int, int],
) -> Dataset:
    """Resolve ``source`` (or the default order) and read it."""
    if source == "synthetic":
        return read_dataset(folder_reader(synthetic_folder(*synthetic)), limit_per_batch=limit)
    recorded = None  # the reader's location
    if source is not None:
        reader = open_location(source, "data path")
    elif os.environ.get("CIFAR10_DIR"):
        reader = open_location(os.environ["CIFAR10_DIR"], "CIFAR10_DIR")
    else:
        cached, origin = find_in_keras_cache(name or "cifar10"), "keras-cache"
        if cached is None:
            cached, origin = download_with_keras(name or "cifar10"), "keras-download"
        reader = open_location(cached, "Keras cache entry")
        recorded = f"{origin}:{reader.location}"
    return read_dataset(reader, limit_per_batch=limit, name=name, source=recorded)


def load_dataset(
    source: str | os.PathLike | None = None,
    *,
    limit_per_batch: int | None = None,
    stratified_limit: tuple[int, int] | None = None,
    synthetic_train: int = 5000,
    synthetic_test: int = 1000,
    seed: int = 0,
    name: str | None = None,
) -> Dataset:
    """Load CIFAR-10/100 (or the synthetic stand-in) as a :class:`Dataset`.

    ``source``: a path (batches folder, its parent, or the official ``.tar.gz``),
    ``"synthetic"``, or None to try ``$CIFAR10_DIR``, the Keras cache, then a Keras
    download. ``limit_per_batch=N`` keeps the first N images of every batch file;
    ``stratified_limit=(n_train, n_test)`` then keeps a seeded stratified subset.
    ``synthetic_train``/``synthetic_test``/``seed`` size and seed the synthetic data.
    ``name`` (``"cifar10"``/``"cifar100"``) picks what to look for in the Keras cache
    and must match the files of an explicit path; None detects it from the files.
    """
    if limit_per_batch is not None:
        positive_int(limit_per_batch, "limit_per_batch")
    if name not in (None, *KERAS_CACHE_ENTRIES):
        raise DataError(f"name must be one of {sorted(KERAS_CACHE_ENTRIES)} or None, got {name!r}.")
    synthetic = (
        positive_int(synthetic_train, "synthetic_train"),
        positive_int(synthetic_test, "synthetic_test"),
        seed,
    )
    dataset = _locate_and_read(source, name, limit_per_batch, synthetic)
    if stratified_limit is not None:
        if not isinstance(stratified_limit, (tuple, list)) or len(stratified_limit) != 2:
            raise DataError(
                f"stratified_limit must be (n_train, n_test), got {stratified_limit!r}."
            )
        n_train, n_test = stratified_limit
        dataset = stratified_subset(dataset, n_train, n_test, seed=seed)
    return dataset
