"""The ``cifar-report`` command: one entry point, one set of defaults and exit codes.

Subcommands: ``data``, ``list``, ``train``, ``status``, ``clean`` (:mod:`.runs`) and
``build``, ``analysis``, ``render``, ``diff`` (:mod:`.report`). Every command takes its profile
from ``--profile``, else ``$CIFAR_REPORT_PROFILE``, else ``demo``, and its run store
from ``--runs``, else ``$CIFAR_REPORT_RUNS``, else ``runs/`` in the project.

Exit codes: 0 ok, 1 a step failed (a chapter, the render, a run that could not be
written: a full disk), 2 bad usage (unknown name, bad value, bad data path, an
unreachable Ray cluster, a run store that cannot be written, another build running
with ``--no-wait``: one ``error: …`` line on stderr, nothing trained), 130 interrupted
(Ctrl-C; the store keeps only complete runs).
Importing this module is cheap: every function of ``cli/`` imports what it needs when
it runs, so that ``--help`` and the cheap commands stay off TensorFlow.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from cifar_core.cli.options import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    compute_choice_applied,
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (``cifar-report --help``)."""
    from cifar_core.cli import report, runs

    parser = argparse.ArgumentParser(
        prog="cifar-report",
        description="A literate CIFAR-10 research report that rebuilds itself from code.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    runs.add_commands(commands)
    report.add_commands(commands)
    return parser


def _usage_errors() -> tuple[type[BaseException], ...]:
    from cifar_core.data.errors import DataError
    from cifar_core.experiments.variant import VariantError
    from cifar_core.project import ProjectError
    from cifar_core.runs.executors.ray_executor import RayExecutorError

    return (ProjectError, DataError, VariantError, RayExecutorError)


def _step_errors() -> tuple[type[BaseException], ...]:
    from cifar_core.runs.store import RunStoreError

    return (RunStoreError,)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``cifar-report`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args = build_parser().parse_args(argv)
    trains = hasattr(args, "precision")  # commands that train have it (add_training)
    try:
        with compute_choice_applied(args) if trains else contextlib.nullcontext():
            return int(args.func(args) or EXIT_OK)
    except _usage_errors() as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except _step_errors() as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted: the run store holds only complete runs", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
