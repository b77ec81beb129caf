"""Backends, precisions and threads: training speed and accuracy of representative families.

Each setting (``BACKEND[:PRECISION]``, as ``--backend``/``--precision`` name them:
``tensorflow``, ``tensorflow:mixed_bfloat16``, ``tensorflow-xla`` (Keras
``jit_compile=True``), ``jax``, ``torch``) trains each family with each seed in a fresh
worker process (``KERAS_BACKEND`` is fixed once Keras is imported), through the
project's own training path (:func:`cifar_core.runs.train.build_compiled_model`,
:func:`~cifar_core.runs.train.fit_inputs`: preprocessing, recipe batches, optimizer and
schedule) on all training images of ``--data`` (no validation split), one process with
the libraries' default threads. Families: seed 000's CNN (``s000_cnn1``), seed 002's
VGG-style Model 3-1 (``s002_model3_1``, its in-model augmentation included),
WRN-16-8 (``s002_wrn_16_8``, a few steps: speed only) and the flagship.

Per run it records the training time of every epoch (evaluation excluded), images/s
after the first epoch (which also compiles), the plain test accuracy after every epoch,
the final test accuracy with the variant's test-time augmentation, whether every loss
was finite, and whether XLA really compiled (Keras falls back when a layer cannot).
The first seed of ``s000_cnn1`` is trained twice in its process to check that the
setting is reproducible. Runs are interleaved (per seed and family, every setting in
turn), so a change of machine load hits all settings alike.

Per setting and family it then reports: the median training time and its speed-up over
TensorFlow float32; images/s; the mean final accuracy with a 95 % t-interval over the
seeds, and the difference from TensorFlow float32 with a Welch 95 % interval, so a
faster setting that loses accuracy shows; the time to 95 % of TensorFlow float32's
final plain accuracy. Threads: the same short workload as one process with all cores
(inter-op 1, then inter-op = cores) and as one single-thread process per core at once
(what ``--jobs auto`` does), aggregate images/s.

The JSON record (``--json``, default ``benchmarks/backends.json``; a ``--quick`` run
``benchmarks/backends-quick.json``) is rewritten after every run, so an interrupted
measurement keeps what it finished and ``--resume`` completes it. ``auto``
(:mod:`cifar_core.runs.compute_choice`) reads ``benchmarks/backends.json`` and ignores
quick and unfinished records; the decision it would take is printed at the end.

    python benchmarks/backends.py --data ../shared/data/cifar-10-sample --quick
    python benchmarks/backends.py --data ../shared/data/cifar-10-sample --estimate
    python benchmarks/backends.py --data ../shared/data/cifar-10-sample
    python benchmarks/backends.py --data synthetic --quick --settings tensorflow tensorflow-xla
    python benchmarks/backends.py --show --json benchmarks/backends-quick.json  # a record's tables

Other backends may live in another interpreter: ``--python PATH`` runs the workers with
it (a setting whose library it cannot import is reported as not installed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cifar_core.runs import compute_choice  # noqa: E402  (no Keras)
from cifar_core.runs.compute_choice import REFERENCE, Setting  # noqa: E402

FULL_JSON = Path(__file__).with_name("backends.json")
QUICK_JSON = Path(__file__).with_name("backends-quick.json")
SETTINGS = (
    "tensorflow:float32",
    "tensorflow:mixed_bfloat16",
    "tensorflow-xla:float32",
    "jax:float32",
    "torch:float32",
)
TARGET_FRACTION = 0.95
"""Time to accuracy is the time to this fraction of TensorFlow float32's final plain accuracy."""
MAX_SLOWDOWN = 3.0
"""A setting whose first seed of a family trains this many times slower than TensorFlow
float32's runs no more seeds of it (it cannot win; the record says so)."""
THREAD_FAMILIES = ("s000_cnn1", "flagship")
START_S = 12.0  # a worker's imports and data loading, for the estimate


@dataclass(frozen=True)
class Family:
    """A representative variant: its catalog name, epochs in a full and a quick run,
    ``steps`` (images/s only: that many optimizer steps per epoch, two epochs),
    whether test accuracy is measured and whether one seed is enough (speed only).
    ``reference_epoch_s``, for the estimate: TensorFlow float32's seconds per epoch on the
    real sample on a quiet 2-core machine (flagship: measured, README; the others from
    ``benchmarks/sample_costs.json``'s CPU seconds and the quick check's ratios)."""

    variant: str
    epochs: int
    quick_epochs: int
    steps: int | None = None
    accuracy: bool = True
    one_seed: bool = False
    reference_epoch_s: float = 1.0  # TF float32, quiet 2-core machine, for the estimate


FAMILIES = {
    "s000_cnn1": Family("s000_cnn1", 10, 2, reference_epoch_s=1.2),
    "s002_model3_1": Family("s002_model3_1", 15, 1, reference_epoch_s=5.5),
    "s002_wrn_16_8": Family(
        "s002_wrn_16_8", 2, 2, steps=4, accuracy=False, one_seed=True, reference_epoch_s=36.0
    ),
    "flagship": Family("flagship", 64, 2, reference_epoch_s=2.8),
}
QUICK_STEPS = 2  # WRN steps per epoch in a quick run


# =============================================================================== worker
def worker(job: dict[str, Any]) -> None:
    """Train ``job["tasks"]`` in this process (its environment holds the setting) and
    print one ``RESULT {json}`` line with a record per task."""
    import keras
    import numpy as np

    from cifar_core.experiments import catalog
    from cifar_core.runs.hardware import configure, seed_everything
    from cifar_core.runs.predict import predict
    from cifar_core.runs.train import (
        build_compiled_model,
        fit_inputs,
        library_versions,
        one_hot,
        prepare_splits,
    )

    class Clock(keras.callbacks.Callback):
        """Training seconds per epoch; plain test accuracy after each (not timed)."""

        def __init__(self, x_test, y_test, stop_after: float | None):
            super().__init__()
            self.x_test, self.y_test, self.stop_after = x_test, y_test, stop_after
            self.stopped = False
            self.seconds: list[float] = []
            self.accuracy: list[float] = []
            self.eval_seconds = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.started)
            if self.stop_after is not None and sum(self.seconds) > self.stop_after:
                self.model.stop_training = self.stopped = True
            if self.y_test is not None:
                started = time.perf_counter()
                probs = predict(self.model, self.x_test)
                self.accuracy.append(float((probs.argmax(axis=1) == self.y_test).mean()))
                self.eval_seconds += time.perf_counter() - started

    def train_once(
        family: Family, seed: int, epochs: int, steps: int | None, stop_after: float | None
    ) -> dict[str, Any]:
        variant = catalog.get_variant(family.variant).replace(
            seed=seed, epochs=epochs, validation_fraction=0.0, early_stopping_patience=None
        )
        seed_everything(seed, hardware)
        splits = prepare_splits(variant, dataset)
        x, y = splits.x_train, splits.y_train
        if steps:
            x, y = x[: steps * variant.batch_size], y[: steps * variant.batch_size]
        steps_per_epoch = -(-len(y) // variant.batch_size)
        model = build_compiled_model(variant, dataset, hardware, steps_per_epoch, x)
        clock = Clock(splits.x_test, splits.y_test if family.accuracy else None, stop_after)
        data, recipe_callbacks = fit_inputs(variant, x, one_hot(y, dataset.num_classes))
        wall, cpu = time.time(), time.process_time()
        history = model.fit(**data, epochs=epochs, verbose=0, callbacks=recipe_callbacks + [clock])
        wall_end, cpu_s = time.time(), time.process_time() - cpu
        losses = np.asarray(history.history.get("loss", []), dtype=float)
        steady = clock.seconds[1:] or clock.seconds
        record: dict[str, Any] = {
            "seed": seed,
            "epochs": epochs,
            "n_train": int(len(y)),
            "batch_size": variant.batch_size,
            "epoch_seconds": [round(s, 4) for s in clock.seconds],
            "fit_seconds": round(sum(clock.seconds), 4),
            "images_per_s": len(y) * len(steady) / sum(steady),
            "eval_seconds": round(clock.eval_seconds, 3),
            "cpu_seconds": round(cpu_s, 3),
            "wall_start": wall,
            "wall_end": wall_end,
            "finite": bool(len(losses) and np.isfinite(losses).all()),
            "jit_compiled": bool(model.jit_compile),
            "stopped_early": clock.stopped and len(clock.seconds) < epochs,
            "epochs_run": len(clock.seconds),
            "accuracy_curve": clock.accuracy or None,
            "final_accuracy": None,
            "final_plain_accuracy": clock.accuracy[-1] if clock.accuracy else None,
        }
        if family.accuracy:
            probs = predict(
                model, splits.x_test, flip=variant.tta_flip, translate=variant.tta_translate
            )
            record["final_accuracy"] = float((probs.argmax(axis=1) == splits.y_test).mean())
            record["_probs"] = probs
        return record

    hardware = configure()
    dataset = load_data(job["data"])
    results = []
    for task in job["tasks"]:
        family = FAMILIES[task["family"]]
        stop_after = task.get("stop_after_s")
        record = train_once(family, task["seed"], task["epochs"], task.get("steps"), stop_after)
        if task.get("repeat") and not record["stopped_early"]:
            again = train_once(family, task["seed"], task["epochs"], task.get("steps"), None)
            record["deterministic"] = bool(np.array_equal(record["_probs"], again["_probs"]))
        record.pop("_probs", None)
        record.update(family=task["family"], load_average=os.getloadavg()[0])
        results.append(record)
    print(
        "RESULT "
        + json.dumps(
            {
                "runs": results,
                "versions": library_versions(hardware.backend),
                "device": hardware.name,
                "policy": hardware.policy,
            }
        ),
        flush=True,
    )


def load_data(data: str):
    from cifar_core.data import load_dataset

    if data == "synthetic":
        return load_dataset("synthetic", synthetic_train=2000, synthetic_test=500)
    return load_dataset(data)


# =============================================================================== parent
def worker_env(setting: Setting, threads: int | None = None, interop: int | None = None) -> dict:
    """The environment of a worker: the setting, and thread limits (``None``: the
    libraries' defaults)."""
    env = dict(os.environ)
    env.update(
        {
            compute_choice.BACKEND_ENV: setting.backend,
            compute_choice.PRECISION_ENV: setting.precision,
            "KERAS_BACKEND": setting.keras_backend,
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
    )
    limits = ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    for name in (*limits, "TF_NUM_INTEROP_THREADS"):
        env.pop(name, None)
    if threads is not None:
        env.update({name: str(threads) for name in limits})
        env["TF_NUM_INTEROP_THREADS"] = str(interop or 1)
    return env


def start_worker(python: str, job: dict, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [python, str(Path(__file__).resolve()), "--worker", json.dumps(job)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_worker(process: subprocess.Popen, timeout: float) -> dict[str, Any]:
    """The worker's result, or ``{"error": …}`` (a crash, a timeout, no result line)."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (err or out).strip().splitlines()[-12:]
    return {"error": f"exit status {process.returncode}: " + " | ".join(tail)[-1500:]}


def importable(python: str, setting: Setting) -> bool:
    library = compute_choice.LIBRARY[setting.keras_backend]
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({library!r}) is None)"
    return subprocess.run([python, "-c", code], capture_output=True).returncode == 0


def plan(args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    """The main runs (one job per setting, family, seed; interleaved) and the thread
    layouts (each a list of concurrent processes with their tasks)."""
    runs = []
    for seed in args.seeds:
        for name in args.families:
            family = FAMILIES[name]
            if family.one_seed and seed != args.seeds[0]:
                continue
            epochs = family.quick_epochs if args.quick else family.epochs
            steps = (QUICK_STEPS if args.quick else family.steps) if family.steps else None
            for setting in args.settings:
                task = {"family": name, "seed": seed, "epochs": epochs, "steps": steps}
                task["repeat"] = name == "s000_cnn1" and seed == args.seeds[0]
                runs.append({"setting": setting, **task})
    cores = os.cpu_count() or 1
    families = [f for f in THREAD_FAMILIES if f in args.families] or args.families[:1]
    thread_settings = [REFERENCE] if args.thread_settings is None else args.thread_settings
    layouts = []
    for setting in thread_settings:
        for family_name in families:
            full_epochs = 3 if FAMILIES[family_name].steps is None else 2
            epochs = 1 if args.quick else full_epochs
            tasks = [{"family": family_name, "seed": s, "epochs": epochs} for s in range(cores)]
            for label, processes, threads, interop in (
                (f"1 process x {cores} threads, inter-op 1", 1, cores, 1),
                (f"1 process x {cores} threads, inter-op {cores}", 1, cores, cores),
                (f"{cores} processes x 1 thread", cores, 1, 1),
            ):
                if processes == 1:
                    groups = [tasks]
                else:
                    groups = [[t] for t in tasks]
                layouts.append(
                    {
                        "setting": setting,
                        "family": family_name,
                        "layout": label,
                        "processes": processes,
                        "threads": threads,
                        "interop": interop,
                        "groups": groups,
                    }
                )
    return runs, layouts


def estimate(runs: list[dict], layouts: list[dict], basis: dict | None) -> float:
    """Seconds the plan takes on a quiet machine: per run, worker start + the first
    epoch's extra + epochs x (an epoch + its evaluation), capped at :data:`MAX_SLOWDOWN`
    times the reference's run (such a run is stopped), one seed only for a setting that
    slow. An epoch of the reference is the family's ``reference_epoch_s`` (quiet machine);
    other settings scale it by their ratio to the reference in ``basis`` (a quick record:
    ratios, unlike its times, survive a busy machine), else by 1."""
    ratio: dict[tuple[str, str], tuple[float, float, float]] = {}
    steady: dict[tuple[str, str], tuple[float, float, float]] = {}
    for record in (basis or {}).get("runs", []):
        if record.get("error") or not record.get("epoch_seconds"):
            continue
        seconds = record["epoch_seconds"]
        middle = statistics.median(seconds[1:] or seconds)
        first = max(0.0, seconds[0] - middle) if len(seconds) > 1 else 0.0
        evaluation = record.get("eval_seconds", 0.0) / len(seconds)
        steady[record["setting"], record["family"]] = (middle, first, evaluation)
    for (setting, name), (middle, first, evaluation) in steady.items():
        reference = steady.get((REFERENCE, name))
        if reference:
            ratio[setting, name] = (
                middle / reference[0],
                first / reference[0],  # the first epoch's extra, in reference epochs
                evaluation / reference[0],
            )
    total = 0.0
    for run in runs:
        family = FAMILIES[run["family"]]
        epoch, first, evaluation = ratio.get((run["setting"], run["family"]), (1.0, 1.0, 0.2))
        base = family.reference_epoch_s
        seconds = (first + run["epochs"] * (epoch + evaluation)) * base
        if run["setting"] != REFERENCE:
            reference = ratio.get((REFERENCE, run["family"]), (1.0, 1.0, 0.2))
            limit = (reference[1] + run["epochs"] * (1.0 + reference[2])) * base * MAX_SLOWDOWN
            if seconds > limit:
                if run["seed"] != runs[0]["seed"]:
                    continue  # too slow: one seed only
                seconds = limit
        total += (START_S + seconds) * (2 if run["repeat"] else 1)
    for layout in layouts:
        family = FAMILIES[layout["family"]]
        tasks = sum(len(g) for g in layout["groups"])
        epochs = layout["groups"][0][0]["epochs"]
        work = tasks * epochs * family.reference_epoch_s * 1.3 / max(1, layout["processes"])
        total += START_S * (1 if layout["processes"] == 1 else 1.5) + work
    return total


def summarize(record: dict) -> dict[str, Any]:
    """Per setting and family: speed, accuracy with intervals, time to accuracy."""
    from scipy import stats

    table = compute_choice.summarize(record["runs"])
    speedups = compute_choice.speedups(table)
    summary: dict[str, Any] = {}
    by_key: dict[tuple[str, str], list[dict]] = {}
    for run in record["runs"]:
        by_key.setdefault((run["setting"], run["family"]), []).append(run)
    for (setting, family), group in by_key.items():
        good = [r for r in group if not r.get("error")]
        ref_group = [r for r in by_key.get((REFERENCE, family), []) if not r.get("error")]
        ref_plain = [r["final_plain_accuracy"] for r in ref_group if r.get("final_plain_accuracy")]
        target = TARGET_FRACTION * statistics.fmean(ref_plain) if ref_plain else None
        accuracies = [r["final_accuracy"] for r in good if r.get("final_accuracy") is not None]
        ref_acc = [r["final_accuracy"] for r in ref_group if r.get("final_accuracy") is not None]
        entry: dict[str, Any] = {
            "runs": len(group),
            "errors": [r["error"] for r in group if r.get("error")],
            "nan_runs": sum(1 for r in good if not r.get("finite")),
            "jit_compiled": sorted({bool(r.get("jit_compiled")) for r in good}),
            "deterministic": next(
                (r["deterministic"] for r in good if r.get("deterministic") is not None), None
            ),
            "fit_seconds_median": _median([r.get("fit_seconds") for r in good]),
            "images_per_s_median": _median([r.get("images_per_s") for r in good]),
            "speedup": None,
            "accuracy": _interval(accuracies),
            "accuracy_minus_reference": None,
            "target_accuracy": target,
            "time_to_target_median": None,
        }
        ref_time = _median([r.get("fit_seconds") for r in ref_group])
        if ref_time and entry["fit_seconds_median"]:
            entry["speedup"] = ref_time / entry["fit_seconds_median"]
        if len(accuracies) >= 2 and len(ref_acc) >= 2 and setting != REFERENCE:
            test = stats.ttest_ind(accuracies, ref_acc, equal_var=False)
            low, high = test.confidence_interval(0.95)
            diff = statistics.fmean(accuracies) - statistics.fmean(ref_acc)
            entry["accuracy_minus_reference"] = {"mean": diff, "ci95": [low, high]}
        elif accuracies and ref_acc and setting != REFERENCE:
            diff = statistics.fmean(accuracies) - statistics.fmean(ref_acc)
            entry["accuracy_minus_reference"] = {"mean": diff, "ci95": None}
        if target is not None:
            times = [_time_to(r, target) for r in good]
            reached = [t for t in times if t is not None]
            entry["time_to_target_median"] = (
                statistics.median(reached) if times and len(reached) == len(times) else None
            )
        summary.setdefault(setting, {})[family] = entry
    return {
        "by_setting": summary,
        "speedup_geomean": {k: (None if math.isnan(v) else v) for k, v in speedups.items()},
    }


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _interval(values: list[float]) -> dict[str, Any]:
    from scipy import stats

    if not values:
        return {"n": 0, "mean": None, "std": None, "ci95": None}
    mean = statistics.fmean(values)
    if len(values) < 2:
        return {"n": 1, "mean": mean, "std": None, "ci95": None}
    std = statistics.stdev(values)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=std / len(values) ** 0.5)
    return {"n": len(values), "mean": mean, "std": std, "ci95": [float(low), float(high)]}


def _time_to(run: dict, target: float) -> float | None:
    elapsed = 0.0
    for seconds, accuracy in zip(run["epoch_seconds"], run.get("accuracy_curve") or []):
        elapsed += seconds
        if accuracy >= target:
            return elapsed
    return None


def thread_results(layouts_done: list[dict]) -> list[dict]:
    return [
        {
            k: v
            for k, v in layout.items()
            if k in ("setting", "family", "layout", "processes", "threads", "interop")
        }
        | {
            "images": layout.get("images"),
            "seconds": layout.get("seconds"),
            "images_per_s": layout.get("images_per_s"),
            "cpu_utilisation": layout.get("cpu_utilisation"),
            "error": layout.get("error"),
        }
        for layout in layouts_done
    ]


def run_layout(layout: dict, python: str, timeout: float) -> dict:
    """Start the layout's processes together; aggregate images/s over the span from the
    first fit's start to the last fit's end."""
    setting = Setting.parse(layout["setting"])
    env = worker_env(setting, layout["threads"], layout["interop"])
    processes = [
        start_worker(python, {"data": ARGS.data, "tasks": group}, env) for group in layout["groups"]
    ]
    results = [finish_worker(p, timeout) for p in processes]
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        return {**layout, "error": errors[0]}
    runs = [run for r in results for run in r["runs"]]
    span = max(r["wall_end"] for r in runs) - min(r["wall_start"] for r in runs)
    images = sum(r["n_train"] * r["epochs"] for r in runs)
    cpu = sum(r["cpu_seconds"] for r in runs)
    return {
        **layout,
        "images": images,
        "seconds": span,
        "images_per_s": images / span,
        "cpu_utilisation": cpu / (span * (os.cpu_count() or 1)),
    }


def too_slow(runs: list[dict], setting: str, family: str) -> str | None:
    """Why ``setting`` runs no more seeds of ``family`` (:data:`MAX_SLOWDOWN`), or ``None``."""
    if setting == REFERENCE:
        return None

    def times(name: str) -> list[float]:
        return [
            r["fit_seconds"]
            for r in runs
            if (r["setting"], r["family"]) == (name, family) and not r.get("error")
        ]

    mine, reference = times(setting), times(REFERENCE)
    if mine and reference and min(mine) > MAX_SLOWDOWN * statistics.median(reference):
        ratio = min(mine) / statistics.median(reference)
        return f"{ratio:.1f}x slower than {REFERENCE} (limit {MAX_SLOWDOWN:g}x)"
    return None


def stop_after(runs: list[dict], setting: str, family: str) -> float | None:
    """Training seconds after which a run of ``setting`` stops (:data:`MAX_SLOWDOWN`
    times TensorFlow float32's median on ``family``); ``None`` for the reference or
    before it has run."""
    times = [
        r["fit_seconds"]
        for r in runs
        if (r["setting"], r["family"]) == (REFERENCE, family) and not r.get("error")
    ]
    if setting == REFERENCE or not times:
        return None
    return MAX_SLOWDOWN * statistics.median(times)


def write_record(path: Path, record: dict) -> None:
    temporary = path.with_suffix(".json.partial")
    temporary.write_text(json.dumps(record, indent=1) + "\n")
    temporary.replace(path)


# =============================================================================== printing
def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def decide(record: dict) -> dict[str, str]:
    """What ``auto`` chooses from ``record`` on the device it was measured on (by the
    rule of :func:`cifar_core.runs.compute_choice.pick` as it is now)."""
    default = Setting("tensorflow", "float32")
    skipped = record.get("skipped", {})
    allowed = [Setting.parse(s) for s in record["config"]["settings"] if s not in skipped]
    winner, reason = compute_choice.pick(record, record["device_signature"], default, allowed)
    return {"setting": (winner or default).name, "reason": reason}


def print_tables(record: dict) -> None:
    summary = record.get("summary", {}).get("by_setting", {})
    print()
    print(f"command : {record['command']}")
    machine = record["machine"]
    print(
        f"machine : {machine['cpu_model']}, {machine['cpu_count']} cores, {machine['platform']}, "
        f"Python {machine['python']}; load average {record.get('load_average_start')} at start"
    )
    for setting, versions in sorted(record.get("versions", {}).items()):
        print(f"versions: {setting:28s} " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    for name in record["config"]["families"]:
        print(f"\n{name} ({record['config']['epochs'][name]})")
        print(
            f"  {'setting':28s} {'runs':>4s} {'fit s':>7s} {'speed-up':>8s} {'img/s':>7s} "
            f"{'accuracy (95% CI)':>26s} {'vs float32 (95% CI)':>26s} {'to target':>9s} "
            f"{'XLA':>5s} {'repro':>5s} {'NaN':>3s}"
        )
        for setting in record["config"]["settings"]:
            entry = summary.get(setting, {}).get(name)
            if entry is None:
                print(f"  {setting:28s} not run ({record['skipped'].get(setting, '')})")
                continue
            if entry["errors"] and not entry["fit_seconds_median"]:
                print(f"  {setting:28s} FAILED: {entry['errors'][0][:150]}")
                continue
            acc, diff = entry["accuracy"], entry["accuracy_minus_reference"]
            acc_text = "-"
            if acc["mean"] is not None:
                acc_text = _pct(acc["mean"])
                if acc["ci95"]:
                    acc_text += f" ({_pct(acc['ci95'][0])}-{_pct(acc['ci95'][1])})"
            diff_text = "-"
            if diff:
                diff_text = f"{diff['mean'] * 100:+.2f} pt"
                if diff["ci95"]:
                    diff_text += f" ({diff['ci95'][0] * 100:+.2f}, {diff['ci95'][1] * 100:+.2f})"
            speed = entry["speedup"]
            to_target = entry["time_to_target_median"]
            slow = record.get("too_slow", {}).get(f"{setting} {name}")
            print(
                f"  {setting:28s} {entry['runs']:4d} {entry['fit_seconds_median']:7.1f} "
                f"{'-' if speed is None else f'{speed:.2f}x':>8s} "
                f"{entry['images_per_s_median']:7.0f} {acc_text:>26s} {diff_text:>26s} "
                f"{'-' if to_target is None else f'{to_target:.1f} s':>9s} "
                f"{'/'.join('y' if j else 'n' for j in entry['jit_compiled']):>5s} "
                f"{'-' if entry['deterministic'] is None else 'y' if entry['deterministic'] else 'NO':>5s} "
                f"{entry['nan_runs']:3d}"
                + (f"  errors: {len(entry['errors'])}" if entry["errors"] else "")
                + (f"  (other seeds not run: {slow})" if slow else "")
            )
    geomean = record.get("summary", {}).get("speedup_geomean", {})
    if geomean:
        print("\nspeed-up over tensorflow:float32, geometric mean over the families:")
        for setting, value in geomean.items():
            print(f"  {setting:28s} {'-' if value is None else f'{value:.2f}x'}")
    if record.get("threads"):
        print("\nthreads (the same short workload, aggregate images/s of training):")
        for row in record["threads"]:
            if row.get("error"):
                print(
                    f"  {row['setting']:20s} {row['family']:10s} {row['layout']:34s} FAILED {row['error'][:100]}"
                )
                continue
            print(
                f"  {row['setting']:20s} {row['family']:10s} {row['layout']:34s} "
                f"{row['images_per_s']:7.0f} images/s  CPU use {row['cpu_utilisation']:.0%}"
            )
    decision = decide(record) if record.get("complete") else record.get("decision")
    if decision:
        print(f"\nauto would choose: {decision['setting']} ({decision['reason']})")


# =============================================================================== main
ARGS: argparse.Namespace


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="synthetic", help="CIFAR-10 folder or 'synthetic'")
    parser.add_argument("--quick", action="store_true", help="1 seed, 1-2 epochs: does it run?")
    parser.add_argument(
        "--settings", nargs="+", default=list(SETTINGS), metavar="BACKEND[:PRECISION]"
    )
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=None, help="default 0 1 2 (quick: 0)"
    )
    parser.add_argument(
        "--thread-settings",
        nargs="*",
        default=None,
        metavar="SETTING",
        help="settings whose thread layouts are measured (default: tensorflow:float32; none: skip)",
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter of the workers")
    parser.add_argument("--json", type=Path, default=None, help="the record (see above)")
    parser.add_argument("--resume", action="store_true", help="keep the runs already in --json")
    parser.add_argument("--estimate", action="store_true", help="print the estimate and stop")
    parser.add_argument(
        "--show", action="store_true", help="print the tables of the record --json and stop"
    )
    parser.add_argument("--run-timeout", type=float, default=3600, help="seconds per worker")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is None:
        args.settings = [Setting.parse(s).name for s in args.settings]  # validates
        if REFERENCE not in args.settings:
            parser.error(f"--settings must include the reference {REFERENCE}")
        args.settings.sort(key=lambda name: name != REFERENCE)  # it runs first: the others' clock
        args.seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
        args.json = args.json or (QUICK_JSON if args.quick else FULL_JSON)
        if args.data != "synthetic":
            args.data = str(Path(args.data).expanduser().resolve())
    return args


def main(argv: list[str] | None = None) -> int:
    global ARGS
    args = ARGS = parse_args(argv)
    if args.worker is not None:
        worker(json.loads(args.worker))
        return 0
    if args.show:
        print_tables(json.loads(args.json.read_text()))
        return 0
    from cifar_core.runs.hardware import compute_device

    runs, layouts = plan(args)
    basis = json.loads(QUICK_JSON.read_text()) if QUICK_JSON.is_file() and not args.quick else None
    seconds = estimate(runs, layouts, basis)
    print(
        f"{len(runs)} runs ({len(args.settings)} settings x {len(args.families)} families x "
        f"{len(args.seeds)} seeds) and {len(layouts)} thread layouts; estimated "
        f"{seconds / 60:.0f} min on a quiet machine ("
        + (
            f"TensorFlow float32's epochs here, the other settings scaled by {QUICK_JSON.name}"
            if basis
            else "TensorFlow float32's epochs here; without a quick record every setting as fast"
        )
        + "; a busy machine takes longer)",
        flush=True,
    )
    if args.estimate:
        return 0
    device = compute_device()
    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    config = {
        "data": args.data,
        "quick": args.quick,
        "families": args.families,
        "epochs": {
            r["family"]: f"{r['epochs']} epoch{'s' if r['epochs'] != 1 else ''}"
            + (f" of {r['steps']} steps" if r["steps"] else "")
            for r in runs
        },
        "settings": args.settings,
        "seeds": args.seeds,
    }
    record: dict[str, Any] = {
        "schema": compute_choice.SCHEMA,
        "quick": args.quick,
        "complete": False,
        "command": command,
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="minutes"),
        "finished": None,
        "load_average_start": round(os.getloadavg()[0], 2),
        "machine": {
            "cpu_model": compute_choice.device_signature(device)["cpu_model"],
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "device_signature": compute_choice.device_signature(device),
        "config": config,
        "versions": {},
        "skipped": {},
        "runs": [],
        "threads": [],
    }
    if args.resume and args.json.is_file():
        previous = json.loads(args.json.read_text())
        if (
            previous.get("config") == config
            and previous.get("device_signature") == record["device_signature"]
        ):
            record.update(
                {k: previous[k] for k in ("runs", "threads", "versions", "started", "command")}
            )
            record["runs"] = [r for r in record["runs"] if not r.get("error")]
            record["threads"] = [t for t in record["threads"] if not t.get("error")]
            print(f"resuming: {len(record['runs'])} runs kept from {args.json}", flush=True)
        else:
            print(f"not resuming: {args.json} has another configuration or device", flush=True)
    for setting in args.settings:
        if not importable(args.python, Setting.parse(setting)):
            record["skipped"][setting] = (
                f"{Setting.parse(setting).keras_backend} is not installed for {args.python}"
            )
            print(f"skipping {setting}: {record['skipped'][setting]}", flush=True)
    done = {(r["setting"], r["family"], r["seed"]) for r in record["runs"]}
    record.setdefault("too_slow", {})
    for index, run in enumerate(runs, start=1):
        if (
            run["setting"] in record["skipped"]
            or (run["setting"], run["family"], run["seed"]) in done
        ):
            continue
        slow = too_slow(record["runs"], run["setting"], run["family"])
        if slow:
            record["too_slow"][f"{run['setting']} {run['family']}"] = slow
            print(
                f"[{index}/{len(runs)}] {run['setting']} {run['family']} seed {run['seed']}: not run, {slow}"
            )
            continue
        setting = Setting.parse(run["setting"])
        task = {k: run[k] for k in ("family", "seed", "epochs", "steps", "repeat")}
        task["stop_after_s"] = stop_after(record["runs"], run["setting"], run["family"])
        started = time.perf_counter()
        result = finish_worker(
            start_worker(args.python, {"data": args.data, "tasks": [task]}, worker_env(setting)),
            args.run_timeout,
        )
        if "error" in result:
            entry = {**run, "error": result["error"], "finite": False}
        else:
            entry = {**result["runs"][0], "setting": run["setting"], "error": None}
            entry.update(policy=result["policy"], device=result["device"])
            record["versions"][run["setting"]] = result["versions"]
            if entry.get("stopped_early"):
                entry["error"] = (
                    f"stopped after {entry['epochs_run']} of {entry['epochs']} epochs: "
                    f"{entry['fit_seconds']:.0f} s, over {MAX_SLOWDOWN:g}x {REFERENCE}'s time"
                )
        record["runs"].append(entry)
        write_record(args.json, record)
        print(
            f"[{index}/{len(runs)}] {run['setting']:28s} {run['family']:14s} seed {run['seed']}: "
            + (
                f"ERROR {entry['error'][:200]}"
                if entry.get("error")
                else f"{entry['fit_seconds']:.1f} s, {entry['images_per_s']:.0f} img/s, "
                f"accuracy {_pct(entry['final_accuracy'])}, XLA {entry['jit_compiled']}, "
                f"finite {entry['finite']}"
            )
            + f" ({time.perf_counter() - started:.0f} s with start-up)",
            flush=True,
        )
    done_layouts = {(t["setting"], t["family"], t["layout"]) for t in record["threads"]}
    for layout in layouts:
        if (
            layout["setting"] in record["skipped"]
            or (layout["setting"], layout["family"], layout["layout"]) in done_layouts
        ):
            continue
        result = run_layout(layout, args.python, args.run_timeout)
        record["threads"] += thread_results([result])
        write_record(args.json, record)
        row = record["threads"][-1]
        print(
            f"threads {layout['setting']} {layout['family']} {layout['layout']}: "
            + (
                f"ERROR {row['error'][:200]}"
                if row.get("error")
                else f"{row['images_per_s']:.0f} images/s"
            ),
            flush=True,
        )
    record["summary"] = summarize(record)
    record["complete"] = True
    record["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="minutes")
    record["load_average_end"] = round(os.getloadavg()[0], 2)
    record["decision"] = decide(record)
    write_record(args.json, record)
    print_tables(record)
    print(f"\nrecord: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
