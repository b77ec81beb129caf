"""What a long command shows: one progress display on the console (runs trained or
reused, chapters, ETA), every detail in a log file.

:func:`quiet_output` sends everything the process and its children write to file
descriptors 1 and 2 — TensorFlow's C++ logs, Keras, Jupyter kernel warnings, worker
processes — to the log file, and hands back the real terminal for the display;
:class:`ConsoleProgress` is that display (rich). The build calls the hooks of
:class:`Progress`; :class:`Progress` itself shows nothing (tests, the library API).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Progress:
    """Hooks the build calls as it goes; this base class shows nothing."""

    def say(self, line: str) -> None:
        """A line worth a reader's attention (milestones, chapters re-executed and why)."""

    def runs_planned(self, reused: int, to_train: int, refused: int) -> None:
        """How many runs are reused, will be trained, cannot run here."""

    def run_done(self, name: str, key: str) -> None:
        """One run finished training."""

    def chapters_planned(self, names: Sequence[str]) -> None:
        """The chapters the build will bring up to date."""

    def chapter_done(self, name: str, status: str, seconds: float) -> None:
        """One chapter reused, executed or failed."""

    def close(self) -> None:
        """Stop the display."""


class ConsoleProgress(Progress):
    """A rich progress display: a bar for runs and one for chapters, with elapsed time
    and ETA, and milestone lines printed above them. On a terminal that is not
    interactive (CI, a pipe) the bars are left out and only the lines are printed."""

    def __init__(self, stream: IO[str] | None = None):
        self.console = Console(file=stream or sys.stdout, highlight=False, soft_wrap=True)
        self.bars = RichProgress(
            TextColumn("{task.description:<9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        )
        self.runs: TaskID | None = None
        self.chapters: TaskID | None = None
        self.bars.start()

    def say(self, line: str) -> None:
        self.console.print(line, markup=False)

    def runs_planned(self, reused: int, to_train: int, refused: int) -> None:
        if to_train:
            self.runs = self.bars.add_task("training", total=to_train)

    def run_done(self, name: str, key: str) -> None:
        if self.runs is not None:
            self.bars.advance(self.runs)

    def chapters_planned(self, names: Sequence[str]) -> None:
        self.chapters = self.bars.add_task("chapters", total=len(names))

    def chapter_done(self, name: str, status: str, seconds: float) -> None:
        if self.chapters is not None:
            self.bars.advance(self.chapters)

    def close(self) -> None:
        self.bars.stop()


class LogFile:
    """A log function writing timestamped, ANSI-free lines to ``path`` (appending)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.handle = open(path, "a", encoding="utf-8", buffering=1)

    def __call__(self, line: str) -> None:
        stamp = _dt.datetime.now().strftime("%H:%M:%S")
        for part in _ANSI.sub("", str(line)).splitlines() or [""]:
            self.handle.write(f"{stamp} {part}\n")

    def close(self) -> None:
        self.handle.close()


@contextlib.contextmanager
def quiet_output(log_path: Path) -> Iterator[IO[str]]:
    """Redirect file descriptors 1 and 2 (this process and every child it starts) to
    ``log_path``; yield a text stream on the original stdout for the display."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    terminal = os.fdopen(os.dup(saved_out), "w", buffering=1, encoding="utf-8")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        for fd in (saved_out, saved_err, log_fd):
            os.close(fd)
        terminal.close()


def log_path(root: Path, command: str) -> Path:
    """``_build/logs/<command>-<timestamp>.log`` under the project."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return root / "_build" / "logs" / f"{command}-{stamp}.log"
