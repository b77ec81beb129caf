"""Train many runs at once in CPU worker processes.

On a CPU, Keras spends much of a small model's step in serial framework work, so one
process leaves cores idle: on 2 cores, two single-threaded workers trained seed 000's
CNNs 1.3–1.6× faster than one process using both cores (seed 004's larger CNN gained
less). :func:`train_runs` therefore hands runs to ``jobs`` spawned worker processes, each
with ``cores // jobs`` threads, and collects them as they finish. Each worker goes
through :func:`cifar_core.runs.train.get_or_train`, so the store's per-key lock keeps
two workers (or two commands) off the same run, and a crashed worker loses only the run
it was writing (the store writes atomically; the next build trains it again).

A worker process keeps memory from every run it trains (TensorFlow holds on to each
run's input pipeline; measured at 50,000 images: 1.15 GB more per flagship run, and two
workers reached 11-12 GB each after about 65 runs of the rehearsal), and only gives it
back when it ends. So the workers are replaced after :func:`runs_per_worker` runs each: as
many as fit a :data:`WORKER_LEAK_BUDGET` at about three times the training images in
float32 per run: one at CIFAR-10's full size (measured in the whole rehearsal: workers
peaked at 3.0 GB with one run each, 4.6 GB with two), ten on the sample, where restarting
would only cost time. A worker that finishes a run takes the next one at once.

``jobs="auto"`` is one process on a GPU (workers would compete for its memory) and
``min(cores, 4)`` on a CPU. ``jobs=1`` trains in this process, with Keras progress bars.

>>> train_runs(variants, dataset, RunStore("runs"), jobs=2)   # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from cifar_core.data.dataset import Dataset
from cifar_core.experiments.variant import Variant
from cifar_core.project import Log
from cifar_core.runs.hardware import compute_settings, worker_environment
from cifar_core.runs.store import Run, RunStore

MAX_AUTO_JOBS = 4
WORKER_LEAK_BUDGET = 2e9
"""Bytes a worker may accumulate over its runs before it is replaced."""
LEAK_PER_RUN = 3
"""What a run leaves behind, in multiples of its training images as float32 (measured:
1.15 GB per flagship run on 40,000 training images of 12,288 bytes, 2.3x)."""
_worker: dict[str, Any] = {}  # the worker process's dataset and store


def parse_jobs(text: str) -> int | str:
    """``--jobs`` on the command line: ``auto`` or a whole number >= 1."""
    if text.strip().lower() == "auto":
        return "auto"
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"--jobs takes a whole number >= 1 or 'auto', got {text!r}")
    return int(text)


def resolve_jobs(jobs: int | str, runs: int) -> int:
    """The number of worker processes for ``runs`` runs: ``jobs`` as given (an int >= 1)
    or ``"auto"`` (1 on a GPU, ``min(cores, 4)`` on a CPU); never more than ``runs``."""
    if jobs == "auto":
        cores = os.cpu_count() or 1
        jobs = 1 if compute_settings().device == "gpu" else min(cores, MAX_AUTO_JOBS)
    elif not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs is {jobs!r}: give a whole number >= 1 or 'auto'")
    return max(1, min(jobs, runs))


def runs_per_worker(dataset: Dataset) -> int:
    """How many runs one worker trains before it is replaced (see the module docstring).

    >>> import numpy as np
    >>> def images(n): return Dataset(np.zeros((n, 32, 32, 3), np.uint8), np.zeros(n),
    ...                               np.zeros((1, 32, 32, 3), np.uint8), np.zeros(1), (), "x")
    >>> runs_per_worker(images(50_000)), runs_per_worker(images(5_085))
    (1, 10)
    """
    per_run = LEAK_PER_RUN * dataset.x_train[:1].astype("float32").nbytes * len(dataset.x_train)
    return max(1, int(WORKER_LEAK_BUDGET // max(per_run, 1)))


def train_runs(
    variants: Sequence[Variant],
    dataset: Dataset,
    store: RunStore,
    *,
    jobs: int | str = 1,
    verbose: int = 1,
    log: Log = print,
    on_done: Callable[[Run], object] | None = None,
) -> list[Run]:
    """The runs of ``variants`` (reused or trained), in order, trained by ``jobs`` workers.

    Every variant is validated first (nothing trains if one is invalid). With one job
    this is :func:`cifar_core.runs.train.train_many`; with more, workers print a line per
    run they start and finish and this process a ``[k/n]`` line per finished run.
    ``on_done(run)`` is called as each run is stored.
    """
    from cifar_core.runs.train import train_many, validate_variant  # imports Keras

    variants = [validate_variant(v) for v in variants]
    workers = resolve_jobs(jobs, len(variants))
    if workers == 1:
        return train_many(variants, dataset, store, verbose=verbose, log=log, on_done=on_done)
    threads = max(1, (os.cpu_count() or 1) // workers)
    runs_each = runs_per_worker(dataset)
    log(
        f"training {len(variants)} run(s) in {workers} worker processes, {threads} thread(s) "
        f"each, a fresh process every {runs_each} run(s)"
    )
    keys: dict[int, str] = {}
    context = get_context("spawn")  # a fresh interpreter: no forked TensorFlow state

    def fresh_worker() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            1,
            mp_context=context,
            initializer=_start_worker,
            initargs=(dataset, str(store.root), worker_environment(threads)),
        )

    # One single-process pool per worker, replaced after runs_each runs, not one pool with
    # max_tasks_per_child: Python 3.11's pool hangs when a worker that reached its task
    # limit is to be replaced. A worker that finishes takes the next run at once.
    pending = list(enumerate(variants))[::-1]
    slots = [fresh_worker() for _ in range(workers)]
    done_by = [0] * workers
    running: dict[Future[str], tuple[int, int]] = {}  # future -> (slot, variant index)
    try:
        for slot in range(workers):
            index, variant = pending.pop()
            running[slots[slot].submit(_train_one, variant.to_dict())] = (slot, index)
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                slot, index = running.pop(future)
                keys[index] = future.result()
                log(
                    f"[{len(keys)}/{len(variants)}] finished {variants[index].name} [{keys[index]}]"
                )
                if on_done is not None:
                    on_done(_stored(store, keys[index]))
                done_by[slot] += 1
                if done_by[slot] == runs_each:
                    slots[slot].shutdown()
                    slots[slot], done_by[slot] = fresh_worker(), 0
                if pending:
                    index, variant = pending.pop()
                    running[slots[slot].submit(_train_one, variant.to_dict())] = (slot, index)
    finally:
        for pool in slots:
            pool.shutdown(cancel_futures=True)
    return [_stored(store, keys[i]) for i in range(len(variants))]


def _stored(store: RunStore, key: str) -> Run:
    run = store.get(key, warn=False)
    if run is None:
        raise RuntimeError(
            f"run {key} was trained by a worker but does not verify in "
            f"{store.root}; run the command again to retrain it"
        )
    return run


def _start_worker(dataset: Dataset, store_root: str, environment: dict[str, str]) -> None:
    """Worker initializer: thread limits and the training setting before the backend is
    imported (:func:`~cifar_core.runs.hardware.worker_environment`), then state."""
    os.environ.update(environment)
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _worker.update(dataset=dataset, store=RunStore(Path(store_root)))


def _train_one(variant_config: dict[str, Any]) -> str:
    """Worker task: the key of the variant's run, trained here unless already stored
    (variants travel as their dict: their read-only mappings do not pickle)."""
    from cifar_core.runs.train import get_or_train  # Keras, after the thread limits

    def log(line: str) -> None:
        print(f"[worker {os.getpid()}] {line}", flush=True)

    run = get_or_train(
        Variant.from_dict(variant_config), _worker["dataset"], _worker["store"], verbose=0, log=log
    )
    sys.stdout.flush()
    return run.key
