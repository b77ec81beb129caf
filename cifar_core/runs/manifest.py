"""A run directory's ``manifest.json`` and the one check of whether a run is usable.

The manifest, written last, records every file's sha256, size and modification time.
:func:`check_run_dir` compares a directory with it:

* *cached*: every listed file is there with its recorded size and its sha256 matches;
  a file is hashed only when its size or modification time differs from the manifest
  and from its last verification (``<store>/.verified/<key>.json``, written after a
  copy that did not keep modification times), or with ``full=True``;
* *incomplete*: no ``manifest.json`` (never finished, or only partly copied);
* *corrupt*: the manifest is unreadable or lacks a run file, or a file is missing, has
  another size or does not match its checksum;
* *missing*: no directory.

Size and time catch every change made through the file system (a truncation, a copy
cut short, a program that rewrote a file); damage beneath it that keeps both (a bad
sector) needs ``full=True`` (``cifar-report build --verify``, ``status --verify``).

>>> import tempfile, pathlib
>>> run = pathlib.Path(tempfile.mkdtemp()) / "k1"
>>> run.mkdir()
>>> for name in RUN_FILES:
...     _ = (run / name).write_text(name)
>>> write_manifest(run)
>>> check_run_dir(run).state
'cached'
>>> _ = (run / "metrics.json").write_text("{}")
>>> check_run_dir(run).describe()
'metrics.json: 2 bytes where manifest.json says 12 (truncated or overwritten)'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from cifar_core.files import write_text_atomic, write_text_synced

MANIFEST = "manifest.json"
RUN_FILES = ("config.json", "history.csv", "metrics.json", "predictions.npz", "model.keras")
VERIFIED_DIR = ".verified"
MEASURED_METRICS = frozenset(
    {
        "fit_time_s",
        "wall_time_s",
        "images_per_s",
        "resumed_from_epoch",
        "cpu_s",
        "peak_rss",
        "inference_s",
        "inference_cpu_s",
    }
)
"""Metrics measured while training (times, CPU seconds, memory): they differ between two
trainings of the same run, so a comparison of two stores sets them aside."""


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(directory: Path) -> None:
    """Record the sha256, size and modification time of every file in ``directory``
    (run it after all other writes)."""
    listed = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST):
        stat = path.stat()
        listed[path.relative_to(directory).as_posix()] = {
            "sha256": file_sha256(path),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
        }
    write_text_synced(directory / MANIFEST, json.dumps({"version": 2, "files": listed}, indent=2))


def manifest_checksums(text: str | bytes) -> dict[str, str]:
    """``{file: sha256}`` of a ``manifest.json`` (this layout or the first one, which
    held only checksums); raises ``ValueError`` when it is not a manifest."""
    try:
        return {name: entry[0] for name, entry in _parse(json.loads(text)).items()}
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"not a run manifest ({error})") from None


def run_identity(directory: Path) -> str:
    """sha256 (16 hex) of a run directory's ``manifest.json`` (``""`` without one): it
    changes when a run is trained again under the same key."""
    try:
        return hashlib.sha256((Path(directory) / MANIFEST).read_bytes()).hexdigest()[:16]
    except OSError:
        return ""


@dataclass(frozen=True)
class RunCheck:
    """What :func:`check_run_dir` found: ``state`` (``cached``, ``incomplete``,
    ``corrupt`` or ``missing``) and, for a damaged run, the ``file`` and the ``problem``."""

    key: str
    state: str
    file: str | None = None
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.state == "cached"

    @property
    def damaged(self) -> bool:
        return self.state in ("incomplete", "corrupt")

    def describe(self) -> str:
        """``predictions.npz: does not match its sha256 in manifest.json`` ("" if fine)."""
        return f"{self.file}: {self.problem}" if self.damaged else ""


def check_run_dir(directory: Path, *, full: bool = False) -> RunCheck:
    """Whether the run in ``directory`` is usable (see the module docstring)."""
    key = directory.name
    if not directory.is_dir():
        return RunCheck(key, "missing")
    if not (directory / MANIFEST).is_file():
        return RunCheck(
            key, "incomplete", MANIFEST, "absent: the run was never finished, or only partly copied"
        )
    corrupt = partial(RunCheck, key, "corrupt")  # then the file and the problem
    try:
        listed = _parse(json.loads((directory / MANIFEST).read_text()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return corrupt(MANIFEST, f"not a readable manifest ({error})")
    for name in RUN_FILES:
        if name not in listed:
            return corrupt(name, f"not listed in {MANIFEST}")
    stats: dict[str, tuple[int, int]] = {}
    for name, (_, size, _) in listed.items():
        try:
            stat = (directory / name).stat()
        except OSError:
            return corrupt(name, "missing")
        if size is not None and stat.st_size != size:
            problem = f"{stat.st_size} bytes where {MANIFEST} says {size}"
            return corrupt(name, f"{problem} (truncated or overwritten)")
        stats[name] = (stat.st_size, stat.st_mtime_ns)
    verified = _load_verified(directory)
    to_hash = [
        name
        for name, (_, size, mtime) in listed.items()
        if full or stats[name] not in ((size, mtime), verified.get(name))
    ]
    for name in to_hash:
        try:
            matches = file_sha256(directory / name) == listed[name][0]
        except OSError as error:
            return corrupt(name, f"cannot be read ({error.strerror})")
        if not matches:
            return corrupt(name, f"does not match its sha256 in {MANIFEST}")
    moved = {
        n: stats[n] for n in to_hash if stats[n][1] != listed[n][2] and verified.get(n) != stats[n]
    }
    if moved:
        _save_verified(directory, {**verified, **moved})
    return RunCheck(key, "cached")


def _parse(manifest: Mapping) -> dict[str, tuple[str, int | None, int | None]]:
    """``{file: (sha256, size, mtime_ns)}``; size and time are ``None`` in a manifest of
    the first layout. Names that point outside the run are refused (``ValueError``)."""
    entries: dict[str, tuple[str, int | None, int | None]] = {}
    for name, entry in manifest["files"].items():
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ValueError(f"file name {name!r} points outside the run")
        if isinstance(entry, Mapping):
            entries[name] = (str(entry["sha256"]), int(entry["size"]), int(entry["mtime_ns"]))
        else:
            entries[name] = (str(entry), None, None)
    return entries


def verified_path(directory: Path) -> Path:
    """``<store>/.verified/<key>.json`` of the run in ``directory``."""
    return directory.parent / VERIFIED_DIR / f"{directory.name}.json"


def _load_verified(directory: Path) -> dict[str, tuple[int, int]]:
    try:
        stored = json.loads(verified_path(directory).read_text())
        return {name: (int(size), int(mtime)) for name, (size, mtime) in stored.items()}
    except (OSError, ValueError, TypeError):
        return {}


def _save_verified(directory: Path, stats: Mapping[str, tuple[int, int]]) -> None:
    path = verified_path(directory)
    try:
        path.parent.mkdir(exist_ok=True)
        write_text_atomic(path, json.dumps(stats))
    except OSError:
        pass  # a read-only store: the files are hashed again next time, that is all
