"""What a build costs: wall time, CPU time and peak memory (RSS) per chapter and of the
driver.

A chapter runs in a Jupyter kernel that papermill starts as a child process, so its
memory cannot be read from inside the build's own process. :class:`ChildUsage` watches
the processes below this one while a chapter executes: every ``interval`` seconds it
reads each descendant's ``VmHWM`` (the kernel's own high-water mark of resident memory)
and CPU seconds from ``/proc`` (:mod:`cifar_core.usage`), so the peak is exact up to the
last read before the kernel exits, whatever happened between two reads. Where ``/proc``
does not exist (macOS, Windows) the figures are ``None`` and the build goes on.

The driver's own peak is :func:`cifar_core.usage.lifetime_peak_rss`: a high-water mark
too, so a reading taken after loading the data is the peak of everything up to then.

:func:`write_build_record` keeps the last build's figures as JSON in
``_build/measurements.json`` (per chapter: status, seconds, CPU seconds, peak RSS; per
phase of the driver: its peak RSS so far and the seconds since the build started),
which ``benchmarks/rehearsal.py`` reads. CPU seconds matter on a shared machine: wall
time stretches with the load, CPU time much less.

>>> with ChildUsage(interval=0.01) as usage:
...     pass
>>> usage.peak_rss is None and usage.cpu_s is None
True
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cifar_core.files import write_text_atomic
from cifar_core.usage import cpu_seconds, descendants, lifetime_peak_rss, peak_rss

MEASUREMENTS = Path("_build") / "measurements.json"
"""Where a build writes its figures (relative to the project)."""

_PROC = Path("/proc")


class ChildUsage:
    """A context manager: the largest peak RSS of any process started below this one
    while it is open (a chapter's kernel), and their CPU seconds, polled every
    ``interval`` seconds.

    ``peak_rss`` (bytes) and ``cpu_s`` are ``None`` when no descendant was seen (no
    ``/proc``, or nothing ran).
    """

    def __init__(self, interval: float = 0.25):
        self.interval = interval
        self.root = os.getpid()
        self.peak_rss: int | None = None
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="child-usage", daemon=True)
        self._before: set[int] = set()

    @property
    def cpu_s(self) -> float | None:
        return sum(self._cpu.values()) if self._cpu else None

    def __enter__(self) -> ChildUsage:
        if _PROC.is_dir():
            self._before = set(descendants(self.root))
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _poll(self) -> None:
        for pid in descendants(self.root):
            if pid in self._before:  # a worker pool started earlier is not this chapter's
                continue
            peak, cpu = peak_rss(pid), cpu_seconds(pid)
            if peak is not None:
                self.peak_rss = max(peak, self.peak_rss or 0)
            if cpu is not None:
                self._cpu[pid] = cpu

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
                "peak_rss": lifetime_peak_rss(),
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
    write_text_atomic(path, json.dumps(record, indent=2))
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
