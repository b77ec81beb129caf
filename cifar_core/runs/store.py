"""The content-addressed run store: keys, atomic writes, locks, checksums, reading runs.

Layout under the store root (``RunStore(root)``; default
:func:`cifar_core.project.default_runs_dir`: ``$CIFAR_REPORT_RUNS``, else ``runs/`` in
the project)::

    runs/<key>/            one complete run (see RUN_FILES), manifest.json written last
    runs/.tmp/<key>-…/     a run being built; renamed to runs/<key> only when complete
    runs/.partial/<key>/   resume scratch of an unfinished run (Keras BackupAndRestore)
    runs/.locks/<key>.lock one file lock per key: one process trains, the others wait

A run is *complete* iff ``manifest.json`` exists and every file it lists matches its
sha256. It is *stale* when it is complete but was trained by training code that is no
longer current (:mod:`cifar_core.runs.keys`): no build asks for its key any more. Nothing here imports Keras (only :meth:`Run.load_model`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from cifar_core.experiments.variant import Variant
from cifar_core.project import default_runs_dir

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
RUN_FILES = ("config.json", "history.csv", "metrics.json", "predictions.npz", "model.keras")


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(directory: Path) -> None:
    """Record the sha256 of every file in ``directory`` (run it after all other writes)."""
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = {"files": {str(p.relative_to(directory)): file_sha256(p) for p in files}}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))


def verify_run_dir(directory: Path) -> str | None:
    """``None`` when the run is complete, else the name of the first bad file.

    A directory verified once in this process is not hashed again while none of its
    files changed size or modification time (notebooks ask for the same runs often).
    """
    try:
        listed = json.loads((directory / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return MANIFEST
    for name in RUN_FILES:
        if name not in listed:
            return name
    signature = _stat_signature(directory, listed)
    if signature is not None and _VERIFIED.get(directory) == signature:
        return None
    for name, digest in listed.items():
        path = directory / name
        if not path.is_file() or file_sha256(path) != digest:
            return name
    _VERIFIED[directory] = signature
    return None


_VERIFIED: dict[Path, tuple] = {}


def _stat_signature(directory: Path, names) -> tuple | None:
    """(size, mtime_ns) of the manifest and every listed file; None if one is missing."""
    try:
        return tuple(
            (name, (directory / name).stat().st_size, (directory / name).stat().st_mtime_ns)
            for name in (MANIFEST, *sorted(names))
        )
    except OSError:
        return None


@dataclass(frozen=True, eq=False)
class Run:
    """A complete run directory, read lazily."""

    key: str
    path: Path

    @cached_property
    def config(self) -> dict[str, Any]:
        return json.loads((self.path / "config.json").read_text())

    @cached_property
    def metrics(self) -> dict[str, Any]:
        return json.loads((self.path / "metrics.json").read_text())

    @cached_property
    def history(self):
        """Per-epoch history as a pandas DataFrame (epoch, loss, accuracy, val_…, lr)."""
        import pandas as pd

        return pd.read_csv(self.path / "history.csv")

    @cached_property
    def variant(self) -> Variant:
        return Variant.from_dict(self.config["variant"])

    @property
    def name(self) -> str:
        return self.config["variant"]["name"]

    @property
    def stale(self) -> bool:
        """Trained by training code that is no longer current (a run trained in another
        environment, e.g. on a GPU, is not stale: it is simply not asked for here)."""
        from cifar_core.runs.keys import training_code_hash

        return (self.config.get("key_inputs") or {}).get("training_code") != training_code_hash()

    def predictions(self) -> dict[str, Any]:
        """test_probs, test_labels, test_indices, val_probs, val_labels as numpy arrays."""
        import numpy as np

        with np.load(self.path / "predictions.npz") as data:
            return {name: data[name] for name in data.files}

    def load_model(self, compile: bool = False):
        """The best model (imports Keras). Not compiled by default: it is for inference."""
        import keras

        import cifar_core.models.all_families  # noqa: F401  (registers custom layers)
        import cifar_core.runs.schedules  # noqa: F401  (registers custom schedules)

        return keras.saving.load_model(self.path / "model.keras", compile=compile)

    def __repr__(self) -> str:
        return f"Run({self.key!r}, {self.path})"


class RunStore:
    """The run store rooted at ``root`` (see the module docstring for the layout)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_runs_dir()

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    # ------------------------------------------------------------------ paths
    def run_dir(self, key: str) -> Path:
        return self.root / key

    def partial_dir(self, key: str) -> Path:
        """Resume scratch of an unfinished run (BackupAndRestore, partial history)."""
        return self.root / ".partial" / key

    def _lock_path(self, key: str) -> Path:
        return self.root / ".locks" / f"{key}.lock"

    # ------------------------------------------------------------------ reading
    def get(self, key: str, *, warn: bool = True) -> Run | None:
        """The complete run ``key``, or ``None`` (absent, incomplete or corrupt)."""
        directory = self.run_dir(key)
        if not directory.is_dir():
            return None
        bad = verify_run_dir(directory)
        if bad is not None:
            if warn:
                logger.warning("run %s is incomplete/corrupt (%s): will retrain", key, bad)
            return None
        return Run(key, directory)

    def get_unverified(self, key: str) -> Run | None:
        """The run ``key`` if its directory has a manifest (checksums not verified: fast,
        for planning; readers use :meth:`get`)."""
        directory = self.run_dir(key)
        return Run(key, directory) if (directory / MANIFEST).is_file() else None

    def _entry_dirs(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def runs(self, *, verify: bool = True) -> list[Run]:
        """Every complete run (stale ones included), sorted by key; ``verify=False``
        trusts the manifests instead of checking every file's checksum."""
        read = self.get if verify else self.get_unverified
        return [run for p in self._entry_dirs() if (run := read(p.name))]

    def entries(self, *, verify: bool = False) -> list[dict[str, Any]]:
        """One row per entry for ``status``: variant, key, state, test_accuracy, wall_time_s.

        ``state`` is ``cached``, ``stale`` (outdated training code) or ``incomplete`` (no
        manifest, or with ``verify`` a file that does not match its checksum).
        """
        rows = []
        for directory in self._entry_dirs():
            run = (
                self.get(directory.name, warn=False)
                if verify
                else self.get_unverified(directory.name)
            )
            if run is None:
                rows.append(
                    {
                        "variant": _name_from_partial_config(directory),
                        "key": directory.name,
                        "state": "incomplete",
                        "test_accuracy": None,
                        "wall_time_s": None,
                    }
                )
                continue
            rows.append(
                {
                    "variant": run.name,
                    "key": run.key,
                    "state": "stale" if run.stale else "cached",
                    "test_accuracy": run.metrics.get("test_accuracy"),
                    "wall_time_s": run.metrics.get("wall_time_s"),
                }
            )
        return rows

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def lock(self, key: str, *, log: Callable[[str], Any] | None = None) -> Iterator[None]:
        """Hold the file lock of ``key``; waits (saying so through ``log``) if it is taken."""
        self._lock_path(key).parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self._lock_path(key))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if log is not None:
                log(f"waiting   for another process training [{key}] …")
            lock.acquire()
        try:
            yield
        finally:
            lock.release()

    @contextlib.contextmanager
    def try_lock(self, key: str) -> Iterator[bool]:
        """Hold the lock of ``key`` if it is free (yields True), else yield False at once."""
        self._lock_path(key).parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self._lock_path(key))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            yield False
            return
        try:
            yield True
        finally:
            lock.release()

    def is_locked(self, key: str) -> bool:
        """True while some live process holds the lock of ``key``."""
        with self.try_lock(key) as free:
            return not free

    @contextlib.contextmanager
    def atomic_write(self, key: str) -> Iterator[Path]:
        """Yield an empty temp dir to write a run into; on success write the manifest
        last and rename the dir to ``runs/<key>`` (replacing an incomplete entry). On an
        exception the temp dir is removed and nothing appears under ``runs/<key>``."""
        temp = self.root / ".tmp" / f"{key}-{os.getpid()}-{secrets.token_hex(4)}"
        temp.mkdir(parents=True)
        try:
            yield temp
            write_manifest(temp)
            final = self.run_dir(key)
            if final.exists():
                _remove(final)
            os.replace(temp, final)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise

    def remove_partial(self, key: str) -> None:
        shutil.rmtree(self.partial_dir(key), ignore_errors=True)

    # ------------------------------------------------------------------ cleaning
    def clean(self, *, stale: bool = False, dry_run: bool = False) -> list[Path]:
        """Remove incomplete entries (and with ``stale`` the stale ones), orphan temp dirs,
        resume scratch of runs that completed since, and ``.trash-*`` leftovers of an
        interrupted removal. Each run entry is removed under its key's lock, decided again
        once the lock is held, so a run that a live build is writing is never touched.
        Returns the removed paths (with ``dry_run``: the paths that would be removed)."""
        doomed_states = ("incomplete", "stale") if stale else ("incomplete",)
        removed = []
        for row in self.entries(verify=True):
            if row["state"] in doomed_states:
                with self.try_lock(row["key"]) as free:
                    if free and self._state(row["key"]) in doomed_states:
                        removed.append(self.run_dir(row["key"]))
                        if not dry_run:
                            _remove(self.run_dir(row["key"]))
        leftovers = [
            t for t in _subdirs(self.root / ".tmp") if not self.is_locked(t.name.split("-")[0])
        ]
        leftovers += [p for p in _subdirs(self.root / ".partial") if self.get(p.name, warn=False)]
        leftovers += [p for p in _subdirs(self.root) if p.name.startswith(".trash-")]
        for path in leftovers:
            removed.append(path)
            if not dry_run:
                shutil.rmtree(path, ignore_errors=True)
        return removed

    def _state(self, key: str) -> str | None:
        run = self.get(key, warn=False)
        if run is None:
            return "incomplete" if self.run_dir(key).is_dir() else None
        return "stale" if run.stale else "cached"


def _subdirs(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_dir()) if directory.is_dir() else []


def _remove(path: Path) -> None:
    """Remove a directory tree: first rename it aside so no half-deleted entry is seen."""
    trash = path.with_name(f".trash-{path.name}-{secrets.token_hex(4)}")
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def _name_from_partial_config(directory: Path) -> str | None:
    """The variant name from an incomplete entry's config.json, if it is readable."""
    try:
        return json.loads((directory / "config.json").read_text())["variant"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
