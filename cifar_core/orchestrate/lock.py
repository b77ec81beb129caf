"""One build per project at a time, and what a crashed build left behind.

``build``, ``analysis`` and ``render`` hold :func:`project_lock` while they run: a
second one waits, saying "waiting for the build started at … by pid …", or with
``wait=False`` (``--no-wait``) raises :class:`BuildLocked` (exit 2). The lock is an
operating-system file lock on ``_build/build.lock``, so the system releases it when
its holder dies, however it dies; ``_build/build.lock.json`` says who holds it, and
the next holder says so when it takes over from a process that is gone.

Once it holds the lock, a build removes the temporary files of a crashed one
(:func:`remove_crash_leftovers`): partly executed notebooks
(``notebooks/.NAME.running.ipynb``), render directories (``.render-*``), half-written
records (``*.tmp`` beside the file they would have replaced) and the store's temporary
entries that no live process owns (:meth:`cifar_core.runs.store.RunStore.leftovers`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from cifar_core.files import delete, write_text_atomic, writer_alive
from cifar_core.project import NOTEBOOKS_DIR, Log, ProjectError

LOCK_FILE = Path("_build") / "build.lock"
HOLDER_FILE = Path("_build") / "build.lock.json"


class BuildLocked(ProjectError):
    """Another build holds the project (``--no-wait``): exit 2."""


def holder(root: Path) -> dict[str, str]:
    """Who holds (or last held) the project lock: ``command``, ``pid``, ``started``."""
    try:
        return json.loads((root / HOLDER_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _who(found: dict[str, str]) -> str:
    if not found:
        return "another build (no record of who)"
    return f"the {found.get('command', 'build')} started at {found.get('started')} by pid {found.get('pid')}"


@contextlib.contextmanager
def project_lock(
    root: Path, command: str = "build", *, wait: bool = True, log: Log = print
) -> Iterator[None]:
    """Hold the project's build lock for the block (see the module docstring)."""
    path = root / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        who = _who(holder(root))
        if not wait:
            raise BuildLocked(
                f"{who} is still running in {root}; wait for it to finish, or run "
                "without --no-wait to wait for it"
            ) from None
        log(f"waiting for {who} …")
        lock.acquire()
    try:
        before = holder(root)
        if before and not writer_alive(f"pid{before.get('pid')}"):
            log(
                f"taking over the project lock from {_who(before)}, which ended without "
                "releasing it (killed?)"
            )
        record = {
            "command": command,
            "pid": str(os.getpid()),
            "started": _dt.datetime.now().astimezone().isoformat(sep=" ", timespec="seconds"),
        }
        write_text_atomic(root / HOLDER_FILE, json.dumps(record))
        try:
            yield
        finally:
            (root / HOLDER_FILE).unlink(missing_ok=True)
    finally:
        lock.release()


def crash_leftovers(root: Path) -> list[Path]:
    """The project's temporary files that only a crashed build can have left (call it
    while holding :func:`project_lock`): partly executed notebooks, render directories,
    and ``*.tmp`` files of half-finished atomic writes whose writer is gone."""
    notebooks = root / NOTEBOOKS_DIR  # a folder that does not exist globs nothing
    found = sorted(notebooks.glob(".*.running.ipynb"))
    found += sorted(p for p in root.glob(".render-*") if p.is_dir())
    for folder in (root, notebooks, root / "_site", root / "_build"):
        found += [p for p in sorted(folder.glob(".*.tmp")) if not writer_alive(p.name)]
    return found


def remove_crash_leftovers(root: Path, store) -> list[Path]:
    """Remove :func:`crash_leftovers` and the store's
    :meth:`~cifar_core.runs.store.RunStore.leftovers`; returns what was removed."""
    removed = crash_leftovers(root)
    for path in removed:
        delete(path)
    return removed + store.remove_leftovers()
