"""What a build costs: wall time and peak memory (RSS) per chapter and of the driver.

A chapter runs in a Jupyter kernel that papermill starts as a child process, so its
memory cannot be read from inside the build's own process. :class:`PeakMemory` watches
the processes below this one while a chapter executes: every ``interval`` seconds it
reads each descendant's ``VmHWM`` (the kernel's own high-water mark of resident memory,
kept by Linux in ``/proc/<pid>/status``), so the peak is exact up to the last read
before the kernel exits, whatever happened between two reads. Reading ``/proc`` costs
microseconds; no other library is needed. Where ``/proc`` does not exist (macOS,
Windows) the peak is ``None`` and the build goes on.

The driver's own peak is ``resource.getrusage(RUSAGE_SELF).ru_maxrss``
(:func:`self_peak_rss`): a high-water mark too, so a reading taken after loading the
data is the peak of everything up to then.

:func:`write_build_record` keeps the last build's figures as JSON in
``_build/measurements.json`` (per chapter: status, seconds, peak RSS; per phase of the
driver: its peak RSS so far and the seconds since the build started), which
``benchmarks/rehearsal.py`` reads.

>>> with PeakMemory(interval=0.01) as peak:
...     pass
>>> peak.bytes is None or peak.bytes >= 0
True
>>> self_peak_rss() > 0
True
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

MEASUREMENTS = Path("_build") / "measurements.json"
"""Where a build writes its figures (relative to the project)."""

_PROC = Path("/proc")


def self_peak_rss() -> int:
    """This process's peak resident memory so far, in bytes (``ru_maxrss`` is in KiB
    on Linux and in bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _children(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux: ``/proc/<pid>/task/*/children``)."""
    found: list[int] = []
    for task in (_PROC / str(pid) / "task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:  # the task ended while we looked
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...)."""
    out, todo = [], _children(pid)
    while todo:
        child = todo.pop()
        out.append(child)
        todo += _children(child)
    return out


def high_water_mark(pid: int) -> int | None:
    """``VmHWM`` of ``pid`` in bytes: the peak of its resident memory so far (``None`` if
    the process is gone or the system has no ``/proc``)."""
    try:
        for line in (_PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class PeakMemory:
    """A context manager: the largest peak RSS of any process started below this one
    while it is open (the chapter's kernel), polled every ``interval`` seconds.

    ``bytes`` is ``None`` when no descendant was seen (no ``/proc``, or nothing ran),
    ``pid`` the process it belongs to.
    """

    def __init__(self, interval: float = 0.25, root: int | None = None):
        self.interval = interval
        self.root = os.getpid() if root is None else root
        self.bytes: int | None = None
        self.pid: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="peak-memory", daemon=True)
        self._before: set[int] = set()

    def __enter__(self) -> PeakMemory:
        self._before = set(descendants(self.root)) if _PROC.is_dir() else set()
        if _PROC.is_dir():
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _poll(self) -> None:
        for pid in descendants(self.root):
            if pid in self._before:  # a worker pool started earlier is not this chapter's
                continue
            peak = high_water_mark(pid)
            if peak is not None and (self.bytes is None or peak > self.bytes):
                self.bytes, self.pid = peak, pid

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._poll()
            self._stop.wait(self.interval)
        self._poll()


class DriverPhases:
    """The driver's peak RSS and elapsed seconds at named points of a build.

    >>> phases = DriverPhases()
    >>> phases.mark("data loaded")
    >>> [row["phase"] for row in phases.rows]
    ['data loaded']
    """

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.rows: list[dict[str, Any]] = []

    def mark(self, phase: str) -> None:
        self.rows.append(
            {
                "phase": phase,
                "peak_rss": self_peak_rss(),
                "elapsed_s": round(time.perf_counter() - self.started, 3),
            }
        )


def write_build_record(
    root: Path,
    *,
    profile: str,
    dataset: Mapping[str, Any],
    chapters: Iterable[Mapping[str, Any]],
    driver: DriverPhases,
    trained: int,
    exit_code: int,
) -> Path:
    """Write ``_build/measurements.json`` (see the module docstring); returns its path."""
    record = {
        "profile": profile,
        "dataset": dict(dataset),
        "runs_trained": trained,
        "exit_code": exit_code,
        "wall_s": round(time.perf_counter() - driver.started, 3),
        "chapters": [dict(c) for c in chapters],
        "driver": driver.rows,
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = root / MEASUREMENTS
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=2))
    temporary.replace(path)
    return path


def format_bytes(count: int | None) -> str:
    """``1.2 GB``-style text (powers of 1000, as the README's tables); ``-`` for unknown.

    >>> format_bytes(1_234_000_000), format_bytes(None)
    ('1.2 GB', '-')
    """
    if count is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"
