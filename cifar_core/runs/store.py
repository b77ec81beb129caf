"""The content-addressed run store: writing runs, checking them, locks, reading them.

Layout under the store root (``RunStore(root)``; default
:func:`cifar_core.project.default_runs_dir`: ``$CIFAR_REPORT_RUNS``, else ``runs/`` in
the project)::

    runs/<key>/                one run (RUN_FILES), manifest.json written last
    runs/.tmp/<key>-pid<N>-…/  a run being written; renamed to runs/<key> when complete
    runs/.partial/<key>/       resume scratch of an unfinished run (Keras BackupAndRestore)
    runs/.locks/<key>.lock     one file lock per key: one process trains, the others wait
    runs/.corrupt/<key>-<time>/  a damaged run moved aside, with <…>.json saying why
    runs/.verified/<key>.json  sizes and times of files last checked by checksum

:meth:`RunStore.write_run` is the one writer of run files; :meth:`RunStore.check`
(:func:`cifar_core.runs.manifest.check_run_dir`) the one notion of a usable run,
shared by the build's plan, ``status`` and the chapters: *cached*, *incomplete* (no
manifest) or *corrupt* (a file that does not match the manifest), checked by size and
modification time and hashed when either changed (every file with ``full=True``).
A damaged run is moved aside (:meth:`RunStore.set_aside`, kept with the reason until
``clean``) and trained again. A cached run trained by training code that is no longer
current is *stale* (:mod:`cifar_core.runs.keys`). Nothing here imports Keras (only
:meth:`Run.load_model`).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import json
import logging
import math
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout

from cifar_core.experiments.variant import Variant
from cifar_core.faults import crash_point
from cifar_core.files import (
    delete,
    fsync,
    out_of_space,
    temp_name,
    write_text_atomic,
    writer_alive,
)
from cifar_core.project import ProjectError, default_runs_dir
from cifar_core.runs.manifest import (
    MANIFEST,
    RUN_FILES,
    VERIFIED_DIR,
    RunCheck,
    check_run_dir,
    run_identity,
    verified_path,
    write_manifest,
)

__all__ = [
    "MANIFEST",
    "RUN_FILES",
    "DamagedRunError",
    "Run",
    "RunCheck",
    "RunStore",
    "RunStoreError",
    "StoreNotWritable",
]
logger = logging.getLogger(__name__)

CORRUPT_DIR = ".corrupt"
REPAIR_HINT = (
    "run `cifar-report build --verify` (it checks every file of every stored run against "
    "its checksum, moves damaged runs aside and trains them again)"
)


class RunStoreError(RuntimeError):
    """The store could not be written (disk full, file too large, I/O error): the
    message says what was lost (nothing stored before) and what to do."""


class StoreNotWritable(ProjectError):
    """The store cannot be written at all (read-only, no permission); found before
    anything trains, so the command line exits 2."""


class DamagedRunError(RuntimeError):
    """A run that a chapter reads cannot be used: the message names the run, the file
    and the fix."""


# ---------------------------------------------------------------------- runs
@dataclass(frozen=True, eq=False)
class Run:
    """A run directory that checked as usable, read lazily. A file that cannot be read
    raises :class:`DamagedRunError` naming the run, the file and the fix."""

    key: str
    path: Path

    def _read(self, name: str, reader: Callable[[Path], Any]) -> Any:
        try:
            return reader(self.path / name)
        except Exception as error:  # noqa: BLE001 - any failure to read is damage
            variant = "" if name == "config.json" else f"{_variant_name(self.path)} "
            raise DamagedRunError(
                f"run {variant}[{self.key}] in {self.path.parent}: {name} cannot be read "
                f"({type(error).__name__}: {error}); {REPAIR_HINT}"
            ) from error

    @cached_property
    def config(self) -> dict[str, Any]:
        return self._read("config.json", lambda p: json.loads(p.read_text()))

    @cached_property
    def metrics(self) -> dict[str, Any]:
        return self._read("metrics.json", lambda p: json.loads(p.read_text()))

    @cached_property
    def history(self):
        """Per-epoch history as a pandas DataFrame (epoch, loss, accuracy, val_…, lr)."""
        # on demand: status and planning read the store without loading these
        import pandas as pd

        return self._read("history.csv", pd.read_csv)

    @cached_property
    def variant(self) -> Variant:
        return Variant.from_dict(self.config["variant"])

    @property
    def name(self) -> str:
        return self.config["variant"]["name"]

    @cached_property
    def identity(self) -> str:
        """sha256 (16 hex) of ``manifest.json``: changes when the run is trained again
        under the same key (chapter provenance and derived predictions compare it)."""
        return run_identity(self.path)

    @property
    def stale(self) -> bool:
        """Trained by training code that is no longer current (a run trained in another
        environment, e.g. on a GPU, is not stale: it is simply not asked for here)."""
        from cifar_core.runs import keys  # the module's current function (tests replace it)

        return (self.config.get("key_inputs") or {}).get(
            "training_code"
        ) != keys.training_code_hash()

    def predictions(self) -> dict[str, Any]:
        """test_probs, test_labels, test_indices, val_probs, val_labels as numpy arrays."""
        # on demand: status and planning read the store without loading these
        import numpy as np

        def read(path: Path) -> dict[str, Any]:
            with np.load(path) as data:
                return {name: data[name] for name in data.files}

        return self._read("predictions.npz", read)

    def load_model(self, compile: bool = False):
        """The best model (imports Keras). Not compiled by default: it is for inference."""
        # on demand: only loading a model needs Keras (seconds to import)
        import keras

        # on demand: status and planning read the store without loading these
        import cifar_core.models.all_families  # noqa: F401  (registers custom layers)
        import cifar_core.runs.schedules  # noqa: F401  (registers custom schedules)

        return self._read("model.keras", lambda p: keras.saving.load_model(p, compile=compile))

    def __repr__(self) -> str:
        return f"Run({self.key!r}, {self.path})"


class SavesItself(Protocol):
    """A model that writes itself to a path (a Keras model)."""

    def save(self, filepath: str | os.PathLike, /) -> Any: ...


# ---------------------------------------------------------------------- the store
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

    def _file_lock(self, key: str) -> FileLock:
        path = self.root / ".locks" / f"{key}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(path)

    # ------------------------------------------------------------------ checking
    def check(self, key: str, *, full: bool = False) -> RunCheck:
        """Whether run ``key`` is usable (see the module docstring); ``full`` hashes
        every file whatever its size and modification time."""
        return check_run_dir(self.run_dir(key), full=full)

    def get(self, key: str, *, warn: bool = True, full: bool = False) -> Run | None:
        """The usable run ``key``, or ``None`` (missing, incomplete or corrupt)."""
        found = self.check(key, full=full)
        if found.damaged and warn:
            logger.warning("run %s is %s (%s)", key, found.state, found.describe())
        return Run(key, self.run_dir(key)) if found.usable else None

    def _entry_dirs(self) -> list[Path]:
        return [p for p in _subdirs(self.root) if not p.name.startswith(".")]

    def runs(self, *, full: bool = False) -> list[Run]:
        """Every usable run (stale ones included), sorted by key."""
        return [run for p in self._entry_dirs() if (run := self.get(p.name, warn=False, full=full))]

    def entries(self, *, verify: bool = False) -> list[dict[str, Any]]:
        """One row per entry for ``status``: variant, key, state, test_accuracy,
        wall_time_s, problem. ``state`` is ``cached``, ``stale`` (outdated training code),
        ``incomplete`` or ``corrupt`` (``problem`` names the file); ``verify`` hashes every
        file instead of only those whose size or time changed."""
        return [self._entry(directory.name, full=verify) for directory in self._entry_dirs()]

    def _entry(self, key: str, *, full: bool) -> dict[str, Any]:
        """The :meth:`entries` row of ``key`` (state ``missing`` when it is gone)."""
        found = self.check(key, full=full)
        row: dict[str, Any] = {
            "variant": _variant_name(self.run_dir(key)),
            "key": key,
            "state": found.state,
            "test_accuracy": None,
            "wall_time_s": None,
            "problem": found.describe(),
        }
        if found.usable:
            run = Run(key, self.run_dir(key))
            try:
                row["state"] = "stale" if run.stale else "cached"
                row["test_accuracy"] = run.metrics.get("test_accuracy")
                row["wall_time_s"] = run.metrics.get("wall_time_s")
            except DamagedRunError as error:  # passed the quick check, cannot be read
                row["state"], row["problem"] = "corrupt", str(error)
        return row

    def set_aside_entries(self) -> list[dict[str, Any]]:
        """Damaged runs moved aside (``.corrupt/``): path, key, variant, reason, when."""
        rows = []
        for directory in _subdirs(self.root / CORRUPT_DIR):
            try:
                reason = json.loads(directory.with_suffix(".json").read_text())
            except (OSError, ValueError):
                reason = {}
            rows.append({"path": directory, **reason})
        return rows

    # ------------------------------------------------------------------ locks
    @contextlib.contextmanager
    def lock(self, key: str, *, log: Callable[[str], Any] | None = None) -> Iterator[None]:
        """Hold the file lock of ``key``; waits (saying so through ``log``) if it is taken."""
        lock = self._file_lock(key)
        try:
            held = lock.acquire(timeout=0)
        except Timeout:
            if log is not None:
                log(f"waiting   for another process training [{key}] …")
            held = lock.acquire()
        with held:  # releases the lock
            yield

    @contextlib.contextmanager
    def try_lock(self, key: str) -> Iterator[bool]:
        """Hold the lock of ``key`` if it is free (yields True), else yield False at once."""
        try:
            held = self._file_lock(key).acquire(timeout=0)
        except Timeout:
            yield False
            return
        with held:  # releases the lock
            yield True

    def is_locked(self, key: str) -> bool:
        """True while some live process holds the lock of ``key``."""
        with self.try_lock(key) as free:
            return not free

    # ------------------------------------------------------------------ writing
    def check_writable(self) -> None:
        """Raise :class:`StoreNotWritable` unless a file can be created in the store
        (called before anything trains)."""
        probe = self.root / ".tmp" / temp_name(".probe")
        try:
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"probe")
            probe.unlink()
        except OSError as error:
            raise StoreNotWritable(
                f"the run store {self.root} cannot be written ({error.strerror}: "
                f"{error.filename}); nothing was trained. Make it writable, or choose "
                "another store with --runs DIR (or $CIFAR_REPORT_RUNS)."
            ) from None

    def write_run(
        self,
        key: str,
        *,
        config: Mapping[str, Any],
        metrics: Mapping[str, Any],
        history: Any,
        predictions: Mapping[str, Any],
        model: SavesItself | bytes,
    ) -> Run:
        """Write run ``key`` — ``config.json``, ``metrics.json``, ``history.csv`` (a
        pandas DataFrame, or CSV text), ``predictions.npz`` (arrays, compressed),
        ``model.keras`` (a Keras model, or bytes) and last ``manifest.json`` — into a
        temp dir, then rename it into place: readers see all of it or nothing. Hold the
        key's lock (:meth:`lock`) when another process may write the same key.

        A failed write (disk full, file too large) raises :class:`RunStoreError`; nothing
        of this run is kept and every run stored before is untouched.
        """
        # on demand: status and planning read the store without loading these
        import numpy as np

        writers: dict[str, Callable[[Path], Any]] = {
            "config.json": lambda p: p.write_text(_json_text(config)),
            "metrics.json": lambda p: p.write_text(_json_text(metrics)),
            "history.csv": lambda p: (
                p.write_text(history)
                if isinstance(history, str)
                else history.to_csv(p, index=False)
            ),
            "predictions.npz": lambda p: np.savez_compressed(p, **predictions),
            "model.keras": lambda p: (
                p.write_bytes(model) if isinstance(model, bytes) else model.save(p)
            ),
        }
        writing = "the run directory"
        try:
            with self.atomic_write(key) as directory:
                for writing, write in writers.items():
                    write(directory / writing)
                    crash_point("store.write", writing)
                writing = MANIFEST
        except OSError as error:
            raise self.write_error(key, config, error, f"writing {writing}") from error
        run = self.get(key)
        if run is None:
            raise RunStoreError(f"run {key} was written but does not check in {self.root}")
        return run

    def write_error(
        self, key: str, config: Mapping[str, Any], error: BaseException, doing: str
    ) -> RunStoreError:
        """The :class:`RunStoreError` for a write of run ``key`` that failed."""
        name = (config.get("variant") or {}).get("name", "")
        reason = out_of_space(error) or getattr(error, "strerror", None) or str(error)
        return RunStoreError(
            f"could not write run {name} [{key}] into the run store {self.root}: {reason} "
            f"({doing}). Nothing of this run was kept; every run stored before is "
            "untouched. Free space there (or choose another store with --runs DIR) and "
            "run the command again."
        )

    @contextlib.contextmanager
    def atomic_write(self, key: str) -> Iterator[Path]:
        """Yield an empty temp dir to write a run into; on success write the manifest
        last, sync, and rename the dir to ``runs/<key>`` (a corrupt entry there is
        moved aside first, an incomplete one removed). On an exception the temp dir is removed and nothing
        appears under ``runs/<key>``. Prefer :meth:`write_run`."""
        temp = self.root / ".tmp" / temp_name(key)
        temp.mkdir(parents=True)
        try:
            yield temp
            for path in temp.rglob("*"):
                if path.is_file():
                    fsync(path)
            write_manifest(temp)
            fsync(temp)
            crash_point("store.manifest")
            final = self.run_dir(key)
            if final.exists():
                found = self.check(key)
                if found.state == "corrupt":
                    self.set_aside(found, locked=True)
                else:
                    _remove(final)
            os.replace(temp, final)
            fsync(self.root)
            verified_path(final).unlink(missing_ok=True)
            crash_point("store.renamed")
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise

    def remove_partial(self, key: str) -> None:
        shutil.rmtree(self.partial_dir(key), ignore_errors=True)

    def set_aside(self, found: RunCheck, *, locked: bool = False) -> Path | None:
        """Move the damaged run of ``found`` to ``.corrupt/<key>-<time>/`` with a
        ``.json`` beside it saying why (kept until ``clean``). Returns the new path, or
        ``None`` when a live process holds the key (it is writing the run) or the run
        is no longer damaged. ``locked``: the caller holds the key's lock."""
        with contextlib.nullcontext(True) if locked else self.try_lock(found.key) as free:
            if not free:
                return None
            now = self.check(found.key, full=True)
            if not now.damaged:
                return None
            stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
            aside = self.root / CORRUPT_DIR / f"{found.key}-{stamp}-{secrets.token_hex(2)}"
            aside.parent.mkdir(parents=True, exist_ok=True)
            reason = {
                "key": found.key,
                "variant": _variant_name(self.run_dir(found.key)),
                "state": now.state,
                "file": now.file,
                "problem": now.problem,
                "moved": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            }
            write_text_atomic(aside.with_suffix(".json"), json.dumps(reason, indent=2))
            crash_point("store.set_aside")
            os.replace(self.run_dir(found.key), aside)
            verified_path(self.run_dir(found.key)).unlink(missing_ok=True)
            return aside

    # ------------------------------------------------------------------ cleaning
    def leftovers(self) -> list[Path]:
        """Temporary entries no live process owns: ``.tmp/<key>-pid<N>-…`` whose key is not
        locked, ``*.tmp`` files of derived predictions whose writer is gone, resume
        scratch of runs that completed since or that cannot be resumed
        (:func:`scratch_problem`) and no live process trains, probes, and ``.trash-*`` of
        an interrupted removal. (Resumable scratch of an unfinished run is kept: training
        resumes from it.)"""
        found = [
            t
            for t in _subdirs(self.root / ".tmp")
            if not self.is_locked(t.name.split("-")[0]) and not writer_alive(t.name)
        ]
        found += [
            p for p in sorted((self.root / ".tmp").glob(".probe-*")) if not writer_alive(p.name)
        ]
        found += [
            p
            for p in _subdirs(self.root / ".partial")
            if self.check(p.name).usable
            or (not self.is_locked(p.name) and scratch_problem(p) is not None)
        ]
        found += [p for p in _subdirs(self.root) if p.name.startswith(".trash-")]
        derived = sorted((self.root / ".derived").glob("*/*.tmp"))
        return found + [p for p in derived if not writer_alive(p.name)]

    def remove_leftovers(self) -> list[Path]:
        """Remove :meth:`leftovers`; returns what was removed (nothing from a store that
        cannot be written)."""
        removed = []
        try:
            for path in self.leftovers():
                delete(path)
                removed.append(path)
        except OSError:  # a read-only store: reading it is still fine
            pass
        return removed

    def clean(self, *, stale: bool = False, dry_run: bool = False) -> list[Path]:
        """Remove incomplete and corrupt entries (and with ``stale`` the stale ones),
        damaged runs set aside, and :meth:`leftovers`. Each run entry is removed under
        its key's lock, decided again once the lock is held, so a run that a live build
        is writing is never touched. Returns the removed paths (with ``dry_run``: the
        paths that would be removed)."""
        doomed_states = ("incomplete", "corrupt", "stale") if stale else ("incomplete", "corrupt")
        removed = []
        for row in self.entries(verify=True):
            if row["state"] in doomed_states:
                with self.try_lock(row["key"]) as free:
                    if free and self._entry(row["key"], full=True)["state"] in doomed_states:
                        removed.append(self.run_dir(row["key"]))
                        if not dry_run:
                            _remove(self.run_dir(row["key"]))
        extra = self.leftovers()
        for row in self.set_aside_entries():
            extra += [row["path"], row["path"].with_suffix(".json")]
        # a reason whose run was never moved (killed in between)
        reasons = sorted((self.root / CORRUPT_DIR).glob("*.json"))
        extra += [p for p in reasons if not p.with_suffix("").is_dir()]
        verified = sorted((self.root / VERIFIED_DIR).glob("*.json"))
        extra += [p for p in verified if not self.run_dir(p.stem).is_dir()]
        for path in dict.fromkeys(extra):
            removed.append(path)
            if not dry_run:
                delete(path)
        return removed


# ---------------------------------------------------------------------- helpers
def _json_text(value: Any) -> str:
    return json.dumps(json_ready(value), indent=2)


def json_ready(value: Any) -> Any:
    """``value`` for JSON: NumPy scalars as numbers, NaN (a metric that does not exist,
    e.g. val_* without a validation split) as null, keys as ``json.dumps`` writes them.

    >>> import numpy as np
    >>> json_ready({np.int64(2): np.float32(0.5), True: float("nan"), None: (1, 2)})
    {'2': 0.5, 'true': None, 'null': [1, 2]}
    """
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # a NumPy scalar
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {_json_key(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def _json_key(key: Any) -> str:
    key = key.item() if hasattr(key, "item") else key  # a NumPy scalar
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)  # true, null, 1, 1.5: what json.dumps makes of a key
    raise TypeError(f"a JSON key must be str, int, float, bool or None, not {key!r}")


def scratch_problem(scratch: Path) -> str | None:
    """Why the resume scratch ``scratch`` (``.partial/<key>``) cannot be resumed, or
    ``None`` when it can: Keras' backup (weights and ``training_metadata.json``) and a
    ``history.csv`` with a row for every epoch the backup says finished, plus the best
    weights when that history has a validation loss. What a build killed before its
    first backup, or while removing the scratch, leaves fails this.

    >>> import tempfile
    >>> scratch = Path(tempfile.mkdtemp())
    >>> scratch_problem(scratch)
    'no backup/training_metadata.json'
    >>> (scratch / "backup").mkdir()
    >>> _ = (scratch / "backup" / "training_metadata.json").write_text('{"epoch": 2}')
    >>> _ = (scratch / "backup" / "latest.weights.h5").write_bytes(b"w")
    >>> _ = (scratch / "history.csv").write_text("epoch,loss\\n0,1.5\\n")
    >>> scratch_problem(scratch)
    'history.csv lacks epoch(s) 2 of the 2 backed up'
    >>> _ = (scratch / "history.csv").write_text("epoch,loss\\n0,1.5\\n1,1.2\\n")
    >>> scratch_problem(scratch) is None
    True
    """
    try:
        metadata = json.loads((scratch / "backup" / "training_metadata.json").read_text())
        finished = int(metadata["epoch"])
    except FileNotFoundError:
        return "no backup/training_metadata.json"
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"backup/training_metadata.json unreadable ({type(error).__name__})"
    if not (scratch / "backup" / "latest.weights.h5").is_file():
        return "no backup/latest.weights.h5"
    try:
        with open(scratch / "history.csv", newline="") as file:
            rows = list(csv.DictReader(file))
        epochs = {int(float(row["epoch"])) for row in rows}
    except FileNotFoundError:
        return "no history.csv"
    except (OSError, ValueError, KeyError, TypeError, csv.Error) as error:
        return f"history.csv unreadable ({type(error).__name__})"
    lacking = sorted(set(range(finished)) - epochs)
    if lacking:
        shown = ", ".join(str(epoch + 1) for epoch in lacking)
        return f"history.csv lacks epoch(s) {shown} of the {finished} backed up"
    has_validation = bool(rows) and bool(rows[-1].get("val_loss"))
    if finished and has_validation and not (scratch / "best.weights.h5").is_file():
        return "no best.weights.h5"
    return None


def _subdirs(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_dir()) if directory.is_dir() else []


def _remove(path: Path) -> None:
    """Remove a directory tree: first rename it aside so no half-deleted entry is seen."""
    trash = path.with_name(f".trash-{path.name}-{secrets.token_hex(4)}")
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def _variant_name(directory: Path) -> str | None:
    """The variant name from a run's config.json, if it is readable."""
    try:
        return json.loads((directory / "config.json").read_text())["variant"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
