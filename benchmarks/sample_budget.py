"""Estimate how long the ``sample`` build trains, from per-epoch CPU costs measured here.

``--measure`` trains one representative variant per cost class on the real sample for
``--epochs`` epochs, one thread per process (what each ``--jobs 2`` worker gets on a
2-core CPU), and records CPU seconds (``time.process_time``, all threads of the
process): per epoch (the cheapest epoch after the first) and for the rest of a run
(model build, first-epoch tracing, evaluation). CPU time hides what other processes on
the machine do, not what a virtual machine's host does: here every family cost 1.8-2.7x
more CPU per epoch on 4 December than on 1 December, idle both times and at the same
code (``benchmarks/sample_costs-2026-12-04.json``), so re-measure before trusting a
price made on another day. The load average is recorded beside the costs. Without
``--measure`` the costs come from ``--costs`` (default: ``benchmarks/sample_costs.json``).

The estimate prices every run ``plan("sample")`` schedules, each run key once (variants
a profile collapses share a run): ``epochs × CPU per epoch + overhead``, where a
variant's CPU per epoch is its representative's scaled by forward FLOPs, and divides
the sum by the workers (2 processes on 2 cores). Analyses and rendering come on top.

    python benchmarks/sample_budget.py --data ../shared/data/cifar-10-sample            # estimate
    python benchmarks/sample_budget.py --data ../shared/data/cifar-10-sample --measure  # re-measure
    python benchmarks/sample_budget.py --data ../shared/data/cifar-10-sample --seeds 3  # what-if
    python benchmarks/sample_budget.py --data ../shared/data/cifar-10-sample --ceiling  # vs the CPU's peak

``--seeds N`` prices the same budget with seeds ``0 … N-1`` for every variant the sample
profile runs (its epochs unchanged): what a budget of N seeds per study would cost,
before anyone changes :mod:`cifar_core.experiments.sample_budget`.

``--ceiling`` measures what one thread of this CPU computes at best (TensorFlow's float32
matrix product and 3×3 convolution, one thread, best of five) and sets the costs against
it: each cost class's training GFLOP/s per thread (3 forward passes × training images ×
forward FLOPs per CPU second) as a share of that peak, and the budget's training time if
every run ran at the peak. Shares above 100 % mean that the costs were measured on a CPU
faster than this one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cifar_core.experiments.profiles import Profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COSTS = Path(__file__).with_name("sample_costs.json")
CLASSES = {  # representative: the variants priced from it (scaled by forward FLOPs)
    "s000_cnn2": "s000_cnn2 s000_cnn3",
    "s000_cnn1": "s000_cnn1 ctl_cnn1_e5 s000_cnn1_leaky ctl_cnn1_tanh ctl_cnn1_gelu "
    "s000_cnn1_avgpool s000_cnn1_pool3 s000_cnn1_pool4 s000_cnn1_k2 ctl_cnn1_k5 "
    "ctl_cnn1_f16 s000_cnn1_gap",
    "s000_cnn1_f64": "s000_cnn1_f64",
    "s000_cnn1_bn": "s000_cnn1_bn",
    "s000_mlp": "s000_mlp",
    "s004_mlp": "s004_mlp",
    "s004_cnn": "s004_cnn ctl_s004_cnn_e10 s004_cnn_dropout ctl_s004_dropout_e15 s004_cnn_bn",
    "s004_final": "s004_final ctl_final_sgd_momentum ctl_final_adam ctl_final_rmsprop",
    "s001_model_a": "s001_model_a s001_model_b ctl_model_a_flip",
    "s001_model_c": "s001_model_c",
    "s002_model1_b32": "s002_model1_b32 s002_model1_b64 s002_model1_b128",
    "s002_model2_3": "s002_model2_1 s002_model2_2 s002_model2_3",
    "s002_model3_1": "s002_model3_1",
    "s002_model3_3": "s002_model3_2 s002_model3_3",
    "s003_net": "s003_net ctl_s003_net_unit s003_net_zscore ctl_s003_net_channel",
    "s003_net_zscore_aug": "s003_net_zscore_aug ctl_s003_net_zscore_aug_l2 s003_net_l2_step "
    "ctl_s003_l2_constant ctl_s003_l2_step_intended ctl_s003_l2_cosine",
    # the ablations train the flagship's network (in-model augmentation layers cost CPU
    # that forward FLOPs do not count: ctl_flagship_layer_augmentation is priced low)
    "flagship": "flagship ctl_flagship_e32 ctl_flagship_layer_augmentation",
}
UNPRICED = {
    "s003_vgg16_b3": "needs the VGG16 ImageNet weights (not run without them)",
    "ctl_vgg16_b3_frozen": "needs the VGG16 ImageNet weights (not run without them)",
}


def measure(data: str, epochs: int) -> dict:
    """CPU seconds per epoch and per run of each representative (one thread)."""
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    from cifar_core.data import load_dataset
    from cifar_core.experiments import catalog
    from cifar_core.runs.hardware import configure, seed_everything
    from cifar_core.runs.predict import predict
    from cifar_core.runs.train import build_compiled_model, one_hot, prepare_splits

    dataset, hardware = load_dataset(data), configure()

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.cpu.append(time.process_time() - self.started)

    costs = {}
    for name in CLASSES:
        variant = catalog.get_variant(name).replace(epochs=epochs)
        started = time.process_time()
        seed_everything(0, hardware)
        splits = prepare_splits(variant, dataset)
        steps = int(np.ceil(len(splits.y_train) / variant.batch_size))
        model = build_compiled_model(variant, dataset, hardware, steps, splits.x_train)
        clock = Clock()
        clock.cpu = []
        model.fit(
            splits.x_train,
            one_hot(splits.y_train, dataset.num_classes),
            batch_size=variant.batch_size,
            epochs=epochs,
            verbose=0,
            callbacks=[clock],
            validation_data=(splits.x_val, one_hot(splits.y_val, dataset.num_classes)),
        )
        for x in (splits.x_train, splits.x_val, splits.x_test):
            predict(model, x, flip=variant.tta_flip)
        total = time.process_time() - started
        per_epoch = min(clock.cpu[1:] or clock.cpu)
        costs[name] = {
            "cpu_per_epoch_s": round(per_epoch, 3),
            "overhead_s": round(total - per_epoch * epochs, 3),
            "load": round(os.getloadavg()[0], 1),
        }
        print(
            f"{name:22s} {per_epoch:6.2f} s/epoch  overhead {costs[name]['overhead_s']:5.1f} s  "
            f"(load {costs[name]['load']})",
            flush=True,
        )
    return {
        "measured": dt.datetime.now(dt.timezone.utc).isoformat(timespec="minutes"),
        "epochs": epochs,
        "threads": 1,
        "data": str(data),
        "costs": costs,
    }


@functools.cache
def forward_flops(name: str) -> int:
    """Forward FLOPs per image of the catalog variant ``name`` (built once per name)."""
    from cifar_core.experiments import catalog
    from cifar_core.models.stats import model_stats

    variant = catalog.get_variant(name)
    return model_stats(variant.family, variant.params)["flops"]


def peak_gflops(repeats: int = 5) -> dict[str, float]:
    """Best single-thread float32 GFLOP/s of TensorFlow's matrix product (2048²) and of a
    3×3 convolution (64 → 64 channels, 32×32, batch 128): the most one training thread
    can compute on this CPU. Call it in a process that has not started TensorFlow yet."""
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = "1"
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    matrix = tf.random.uniform((2048, 2048))
    images, kernel = tf.random.uniform((128, 32, 32, 64)), tf.random.uniform((3, 3, 64, 64))
    kernels = {
        "matmul": (tf.function(lambda: tf.matmul(matrix, matrix)), 2 * 2048**3),
        "conv3x3": (
            tf.function(lambda: tf.nn.conv2d(images, kernel, 1, "SAME")),
            2 * 128 * 32 * 32 * 9 * 64 * 64,
        ),
    }
    peak = {}
    for name, (step, flops) in kernels.items():
        step().numpy()  # trace and warm up
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            step().numpy()
            best = min(best, time.perf_counter() - started)
        peak[name] = round(flops / best / 1e9, 1)
    return peak


def ceiling(costs: dict, n_images: int, peak: float, rows: list, workers: int) -> list[str]:
    """Lines comparing each cost class's training throughput per thread with ``peak``
    GFLOP/s, and the budget's training time at that peak (``rows`` from :func:`estimate`;
    ``n_images``: training images before the validation split)."""
    from cifar_core.experiments import catalog
    from cifar_core.runs.compute_plan import split_sizes
    from cifar_core.runs.flops import training_flops

    def flops_per_epoch(name: str) -> float:
        training_images = split_sizes(n_images, catalog.get_variant(name).validation_fraction)[0]
        return training_flops(forward_flops(name), training_images, 1)

    lines = [f"{'cost class':22s} {'CPU s/epoch':>11s} {'GFLOP/s':>8s} {'of peak':>8s}"]
    for name, cost in costs["costs"].items():
        rate = flops_per_epoch(name) / cost["cpu_per_epoch_s"] / 1e9
        lines.append(f"{name:22s} {cost['cpu_per_epoch_s']:11.2f} {rate:8.1f} {rate / peak:8.0%}")
    total = sum(flops_per_epoch(name) * epochs for name, _, epochs, _ in rows)
    cpu = sum(row[3] for row in rows)
    lines.append(
        f"the budget: {total / 1e12:.1f} TFLOP of training; at the peak ({peak:.1f} GFLOP/s a "
        f"thread, {workers} workers) {total / (peak * 1e9 * workers) / 60:.1f} min; at these "
        f"costs {total / cpu / 1e9:.1f} GFLOP/s a thread on average ({total / cpu / 1e9 / peak:.0%} "
        "of the peak)"
    )
    return lines


def with_seeds(profile_name: str, count: int | None) -> Profile:
    """The profile ``profile_name`` (resolved by the catalog), or, with ``count``, the same
    profile with seeds ``0 … count-1`` for every variant it runs (epochs unchanged).

    >>> three = with_seeds("sample", 3)
    >>> from cifar_core.experiments import catalog
    >>> {v.seed for v in catalog.plan(three) if v.name == "flagship"}
    {0, 1, 2}
    >>> len(catalog.plan(three)) > len(catalog.plan("sample"))
    True
    """
    from cifar_core.experiments import catalog

    profile = catalog.get_profile(profile_name)
    if count is None:
        return profile
    return replace(profile, seeds=tuple(range(count)), variant_seeds={})


def estimate(
    costs: dict,
    data: str,
    workers: int,
    efficiency: float,
    *,
    per_run: float = 2.5,
    profile: str | Profile = "sample",
) -> tuple[list, float]:
    """One row per run key of ``plan(profile)`` (name, seed, epochs, CPU seconds) and the
    estimated wall seconds of training; ``per_run`` CPU seconds are added to every run for
    what ``--measure`` does not see (writing the run to the store, the build's bookkeeping)."""
    from cifar_core.data import load_dataset
    from cifar_core.experiments import catalog
    from cifar_core.runs.keys import run_key

    fingerprint = load_dataset(data).fingerprint
    representative = {v: rep for rep, members in CLASSES.items() for v in members.split()}

    rows, seen = [], set()
    for variant in catalog.plan(profile):
        key = run_key(variant, fingerprint)
        if key in seen or variant.name in UNPRICED:
            continue
        seen.add(key)
        rep = representative.get(variant.name)
        if rep is None:
            raise SystemExit(
                f"{Path(__file__).name}: variant {variant.name!r} of the profile {getattr(profile, 'name', profile)!r} "
                "has no cost class: add it to CLASSES beside the variant it trains like"
            )
        cost = costs["costs"][rep]
        per_epoch = cost["cpu_per_epoch_s"] * forward_flops(variant.name) / forward_flops(rep)
        rows.append(
            (
                variant.name,
                variant.seed,
                variant.epochs,
                variant.epochs * per_epoch + cost["overhead_s"] + per_run,
            )
        )
    return rows, sum(r[3] for r in rows) / (workers * efficiency)


def read_costs(path: Path) -> dict:
    """The costs file at ``path``, refused with a message naming the file, the cost class
    and the fix when it is unreadable or a cost is not a positive number of seconds
    (``--ceiling`` divides by the CPU time per epoch).

    >>> import tempfile
    >>> bad = Path(tempfile.mkdtemp()) / "costs.json"
    >>> _ = bad.write_text('{"measured": "today", "costs": {"s000_mlp": {"cpu_per_epoch_s": 0}}}')
    >>> read_costs(bad)
    Traceback (most recent call last):
    ...
    SystemExit: ...costs.json: cost class 's000_mlp' has cpu_per_epoch_s 0; ...
    """
    fix = "re-measure with --measure, or pass another file with --costs"
    try:
        costs = json.loads(path.read_text())
        classes, _ = costs["costs"].items(), costs["measured"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise SystemExit(
            f"{path}: not a costs file ({type(error).__name__}: {error}); {fix}"
        ) from None
    for name, cost in classes:
        for field, least in (("cpu_per_epoch_s", 0.0), ("overhead_s", None)):
            value = cost.get(field) if isinstance(cost, dict) else None
            if not isinstance(value, (int, float)) or (least is not None and value <= least):
                need = "a positive number" if least is not None else "a number"
                raise SystemExit(
                    f"{path}: cost class {name!r} has {field} {value!r}; it must be {need} of "
                    f"CPU seconds: {fix}"
                )
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="the real CIFAR-10 sample folder")
    parser.add_argument("--measure", action="store_true", help="measure the costs first")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per measurement")
    parser.add_argument("--costs", type=Path, default=COSTS, help="costs JSON (read or written)")
    parser.add_argument("--workers", type=int, default=2, help="training processes (--jobs)")
    parser.add_argument(
        "--efficiency",
        type=float,
        default=0.9,
        help="share of the workers' CPU spent training (the rest: imports, I/O)",
    )
    parser.add_argument(
        "--per-run",
        type=float,
        default=2.5,
        help="CPU seconds per run not seen by --measure (store writes, bookkeeping)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="N",
        help="price seeds 0..N-1 for every variant the profile runs (default: its own seeds)",
    )
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="measure this CPU's single-thread peak and set the costs against it",
    )
    args = parser.parse_args()
    peak = peak_gflops() if args.ceiling else None  # before the catalog starts TensorFlow
    if args.measure:
        args.costs.write_text(json.dumps(measure(args.data, args.epochs), indent=2) + "\n")
    costs = read_costs(args.costs)
    rows, wall = estimate(
        costs,
        args.data,
        args.workers,
        args.efficiency,
        per_run=args.per_run,
        profile=with_seeds("sample", args.seeds),
    )
    by_variant: dict[str, list] = {}
    for name, seed, epochs, cpu in rows:
        by_variant.setdefault(name, []).append((seed, epochs, cpu))
    print(f"{'variant':28s} {'epochs':>6s} {'seeds':>5s} {'CPU s':>8s}")
    for name, runs in by_variant.items():
        print(f"{name:28s} {runs[0][1]:6d} {len(runs):5d} {sum(r[2] for r in runs):8.0f}")
    seeds = "the sample profile's seeds" if args.seeds is None else f"{args.seeds} seeds each"
    print(
        f"{seeds}: {len(rows)} runs, {sum(r[3] for r in rows):.0f} CPU s; with {args.workers} workers at "
        f"{args.efficiency:.0%}: {wall / 60:.1f} min of training (costs measured "
        f"{costs['measured']}); not priced: {', '.join(UNPRICED)} ({next(iter(UNPRICED.values()))})"
    )
    if peak is not None:
        from cifar_core.data import load_dataset

        measured = ", ".join(f"{name} {rate}" for name, rate in peak.items())
        print(f"this CPU's single-thread peak (float32, TensorFlow): {measured} GFLOP/s")
        n_images = len(load_dataset(args.data).y_train)
        for line in ceiling(costs, n_images, max(peak.values()), rows, args.workers):
            print(line)


if __name__ == "__main__":
    main()
