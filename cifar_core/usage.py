"""What a process uses: its peak resident memory and its CPU seconds, read from Linux's
``/proc`` (microseconds per read; no other library needed).

* :func:`peak_rss` reads ``VmHWM``, the kernel's high-water mark of a process's resident
  memory: exact whatever happened between two reads.
* :func:`reset_peak` starts a new high-water mark for this process (``clear_refs``,
  Linux ≥ 4.0), so that a worker that trains run after run can report each run's own
  peak; :func:`lifetime_peak_rss` still answers for the whole process.
* :func:`cpu_seconds` reads user + system time: on a busy machine wall time stretches
  with the load, CPU time much less, so both are recorded.

Where ``/proc`` does not exist (macOS, Windows) the readings are ``None`` and
:func:`reset_peak` does nothing; :func:`lifetime_peak_rss` falls back on
``resource.getrusage``.

>>> (peak_rss() or 1) > 0 and lifetime_peak_rss() >= (peak_rss() or 0)
True
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_peak_before_reset = 0


def peak_rss(pid: int | str = "self") -> int | None:
    """Peak resident memory of ``pid`` in bytes since it started or since
    :func:`reset_peak` (``None``: no such process, or no ``/proc``)."""
    try:
        for line in (_PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # the kernel writes kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak() -> bool:
    """Start a new high-water mark of this process's resident memory (the one before is
    kept for :func:`lifetime_peak_rss`); False where the system cannot."""
    global _peak_before_reset
    _peak_before_reset = max(_peak_before_reset, peak_rss() or 0)
    try:
        (_PROC / "self" / "clear_refs").write_text("5")
    except OSError:
        return False
    return True


def lifetime_peak_rss() -> int:
    """This process's peak resident memory since it started, in bytes."""
    current = peak_rss()
    if current is None:  # ru_maxrss: KiB on Linux, bytes on macOS
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        current = int(peak if sys.platform == "darwin" else peak * 1024)
    return max(_peak_before_reset, current)


def cpu_seconds(pid: int | str = "self") -> float | None:
    """User + system CPU seconds of ``pid`` so far, all its threads (``None``: gone)."""
    try:
        fields = (_PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    except (OSError, ValueError, IndexError):
        return None


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (``/proc/<pid>/task/*/children``)."""
    found: list[int] = []
    for task in (_PROC / str(pid) / "task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:  # the task ended while we looked
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...)."""
    out, todo = [], children(pid)
    while todo:
        child = todo.pop()
        out.append(child)
        todo += children(child)
    return out
