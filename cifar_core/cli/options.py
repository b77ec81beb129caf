"""The options and helpers every ``cifar-report`` command shares: profile, data, run
store, verbosity, training (executor, jobs, backend, precision, weights), the console
display, and the exit codes."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_source(parser: argparse.ArgumentParser, *, limit: bool = False, runs: bool = True) -> None:
    """``--profile`` and ``--data`` (then ``--limit-per-batch`` with ``limit``, ``--runs``
    with ``runs``): where a command's data and runs come from."""
    parser.add_argument(
        "--profile",
        metavar="P",
        help="demo | sample | full | full-seed-protocol | smoke | rehearsal: data and "
        "epoch budget (default: $CIFAR_REPORT_PROFILE, else demo)",
    )
    parser.add_argument(
        "--data",
        metavar="PATH|synthetic",
        help="cifar-10-batches-py folder, its parent or cifar-10-python.tar.gz, "
        "or 'synthetic' (default: the profile's data: $CIFAR10_DIR, the "
        "Keras cache, a Keras download)",
    )
    if limit:
        parser.add_argument(
            "--limit-per-batch",
            type=int,
            metavar="N",
            help="keep only the first N images of every batch file",
        )
    if runs:
        add_runs(parser)


def add_runs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs",
        metavar="DIR",
        help="run store (default: $CIFAR_REPORT_RUNS, else runs/ in the project)",
    )


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print every detail (training, Keras progress bars, notebook "
        "execution) on the console instead of one progress display and a "
        "log file under _build/logs/",
    )


@contextlib.contextmanager
def console(args: argparse.Namespace, command: str) -> Iterator[tuple[Any, Any]]:
    """``(log, progress)`` for a long command: with ``--verbose`` every line on the console;
    otherwise one progress display on the console and every detail (TensorFlow's C++ logs,
    Keras, Jupyter kernels, worker processes) in ``_build/logs/<command>-<time>.log``."""
    from cifar_core.orchestrate.progress import (
        ConsoleProgress,
        LogFile,
        Progress,
        log_path,
        quiet_output,
    )
    from cifar_core.project import find_project_root

    if args.verbose:
        yield print, Progress()
        return
    path = log_path(find_project_root() or Path.cwd(), command)
    with quiet_output(path) as terminal:
        log, progress = LogFile(path), ConsoleProgress(terminal)
        try:
            yield log, progress
        finally:
            progress.close()
            log.close()
            terminal.write(f"details: {path}\n")


def add_training(parser: argparse.ArgumentParser) -> None:
    """``--jobs`` and ``--executor``/``--address``: how missing runs are trained."""
    from cifar_core.runs.executors.local import parse_jobs

    def jobs(text: str):
        try:
            return parse_jobs(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parser.add_argument(
        "--jobs",
        type=jobs,
        default="auto",
        metavar="N|auto",
        help="local worker processes that train missing runs (default auto: "
        "1 on a GPU, up to 4 on a CPU)",
    )
    parser.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="who trains missing runs: worker processes here (default) or a "
        'Ray cluster (pip install -e ".[ray]")',
    )
    parser.add_argument(
        "--address",
        metavar="ADDR",
        help="the Ray cluster: host:6379 (a head node), ray://host:10001 (Ray "
        "Client) or auto; default $RAY_ADDRESS, else a Ray on this "
        "machine (needs --executor ray)",
    )
    parser.add_argument(
        "--ray-ship-code",
        action="store_true",
        help="upload this cifar_core to the Ray workers instead of using "
        "their installed copy (needs --executor ray)",
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "tensorflow", "tensorflow-xla", "jax", "torch"),
        help="Keras backend that trains missing runs; tensorflow-xla compiles the training "
        "steps with XLA (default: $CIFAR_REPORT_BACKEND, else auto: the measured winner "
        "for this device in benchmarks/backends.json, else $KERAS_BACKEND or tensorflow)",
    )
    parser.add_argument(
        "--precision",
        choices=("auto", "float32", "mixed_bfloat16", "mixed_float16"),
        help="dtype policy of training (default: $CIFAR_REPORT_PRECISION, else auto: the "
        "measured winner, else float32 on a CPU and mixed_float16 on a GPU)",
    )
    parser.add_argument(
        "--vgg16-weights",
        metavar="PATH",
        type=_weights_path,
        help="VGG16 no-top ImageNet weights file for the transfer-learning "
        "variants (default: $CIFAR_REPORT_VGG16_WEIGHTS, else the Keras "
        "cache); checked before any training",
    )


def _weights_path(text: str) -> str:
    """``--vgg16-weights``: checked at once (a file named on the command line that is
    missing or not VGG16's no-top weights is a usage error, whatever the profile runs),
    then exported as ``$CIFAR_REPORT_VGG16_WEIGHTS`` (absolute), so that planning, worker
    processes and notebooks all see the same file."""
    from cifar_core.models.weights import (
        WEIGHTS_ENV,
        WeightsFileError,
        WeightsUnavailable,
        expected_shapes,
        resolve_vgg16_weights,
    )

    path = Path(text).expanduser().resolve()
    try:
        resolve_vgg16_weights(path)
    except WeightsFileError as error:  # says which layer or format is wrong, and the shapes
        raise argparse.ArgumentTypeError(str(error)) from None
    except WeightsUnavailable as error:  # missing: say what the file must hold, too
        layers = ", ".join(f"{name} {kernel}" for name, (kernel, _) in expected_shapes().items())
        raise argparse.ArgumentTypeError(
            f"{error}; it must hold VGG16's convolution layers without the top: {layers}"
        ) from None
    os.environ[WEIGHTS_ENV] = str(path)
    return os.environ[WEIGHTS_ENV]


@contextlib.contextmanager
def compute_choice_applied(args: argparse.Namespace) -> Iterator[None]:
    """Resolve ``--backend``/``--precision`` (and ``auto``) once, say what was chosen and
    why, and fix it in the environment before Keras loads, so that worker processes and
    notebook kernels train and look up runs with the same setting; the environment is
    restored afterwards (``main`` may be called more than once in one process)."""
    from cifar_core.runs import compute_choice
    from cifar_core.runs.hardware import compute_device

    names = ("KERAS_BACKEND", compute_choice.BACKEND_ENV, compute_choice.PRECISION_ENV)
    saved = {name: os.environ.get(name) for name in names}
    try:
        if args.backend not in (None, "auto"):  # an explicit choice overrides KERAS_BACKEND
            os.environ["KERAS_BACKEND"] = compute_choice.Setting(args.backend).keras_backend
        for value, name in zip((args.backend, args.precision), names[1:], strict=True):
            if value is not None:
                os.environ[name] = value
        choice = compute_choice.resolve(compute_device())
        if "keras" in sys.modules:  # a caller in Python that has loaded Keras already
            import keras

            if keras.backend.backend() != choice.setting.keras_backend:
                raise compute_choice.ComputeChoiceError(
                    f"Keras already runs {keras.backend.backend()} in this process; "
                    f"backend {choice.setting.backend} needs a new process"
                )
        compute_choice.export(choice)
        print(f"backend and precision: {choice.describe()}")
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def executor(args: argparse.Namespace) -> Any:
    """The executor the command line asks for (checked before anything trains)."""
    from cifar_core.project import ProjectError
    from cifar_core.runs.executors import LocalExecutor, RayExecutor

    if args.executor == "ray":
        return RayExecutor(address=args.address, ship_code=args.ray_ship_code)
    if args.address or args.ray_ship_code:
        raise ProjectError("--address and --ray-ship-code need --executor ray")
    return LocalExecutor(jobs=args.jobs, verbose=1 if getattr(args, "verbose", False) else 0)
