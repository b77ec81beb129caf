"""Training throughput: the project's trainer vs a bare ``model.fit``.

Same model (seed 001's model_a from the catalog, or ``--variant``), same data, same
validation split and preprocessing, in one process. Bare: ``model.fit`` with validation
data and what the recipe itself consists of (its batches and weight averaging,
:func:`cifar_core.runs.train.fit_inputs`) and nothing else. Trainer:
:func:`cifar_core.runs.train.get_or_train` into a temporary run store (its callbacks: lr
logging, best-weights checkpoint, CSV history, backup for resume). Both rates are
training images per second of ``fit`` wall time; after an untimed 1-epoch warm-up, the
bare fit runs before and after the trainer and its mean is the reference.
Target: ratio >= 0.95.

    python benchmarks/throughput.py --data synthetic --n 2000 --epochs 2
    python benchmarks/throughput.py --data ../shared/data/cifar-10-sample --n 5085 --epochs 3 --variant flagship
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="synthetic", help="PATH to CIFAR-10 or 'synthetic'")
    parser.add_argument("--n", type=int, default=2000, help="training images (default 2000)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per fit (default 2)")
    parser.add_argument("--variant", default="s001_model_a", help="catalog variant to time")
    return parser.parse_args(argv)


def load(data: str, n: int):
    from cifar_core.data import load_dataset

    n_test = max(100, n // 5)
    if data == "synthetic":
        return load_dataset("synthetic", synthetic_train=n, synthetic_test=n_test)
    return load_dataset(data, stratified_limit=(n, n_test))


def benchmark_variant(name: str, epochs: int):
    """The catalog variant ``name`` (an inline small MLP if the catalog lacks it)."""
    from cifar_core.experiments.variant import Variant

    try:
        from cifar_core.experiments import catalog

        return catalog.get_variant(name).replace(epochs=epochs, name=f"{name}-throughput")
    except (ImportError, KeyError):
        return Variant.from_dict({"name": "inline-mlp", "family": "mlp", "epochs": epochs})


def bare_fit_rate(variant, dataset) -> float:
    """Images/s of a plain ``model.fit`` of the variant's model on the trainer's splits."""
    import numpy as np

    from cifar_core.runs.hardware import configure, seed_everything
    from cifar_core.runs.train import build_compiled_model, fit_inputs, one_hot, prepare_splits

    hardware = configure()
    seed_everything(variant.seed, hardware)
    splits = prepare_splits(variant, dataset)
    steps = int(np.ceil(len(splits.y_train) / variant.batch_size))
    model = build_compiled_model(variant, dataset, hardware, steps, splits.x_train)
    validation = (
        (splits.x_val, one_hot(splits.y_val, dataset.num_classes))
        if splits.has_validation
        else None
    )
    data, recipe_callbacks = fit_inputs(
        variant, splits.x_train, one_hot(splits.y_train, dataset.num_classes)
    )
    started = time.perf_counter()
    model.fit(
        **data,
        epochs=variant.epochs,
        validation_data=validation,
        verbose=0,
        callbacks=recipe_callbacks,
    )
    return len(splits.y_train) * variant.epochs / (time.perf_counter() - started)


def trainer_rate(variant, dataset) -> float:
    from cifar_core.runs.store import RunStore
    from cifar_core.runs.train import get_or_train

    with tempfile.TemporaryDirectory() as root:
        run = get_or_train(variant, dataset, RunStore(root), verbose=0, log=lambda line: None)
        return run.metrics["images_per_s"]


def main(argv=None) -> int:
    args = parse_args(argv)
    dataset = load(args.data, args.n)
    variant = benchmark_variant(args.variant, args.epochs)
    print(
        f"model {variant.family} ({variant.name}), {len(dataset.y_train)} images "
        f"({dataset.source}), {args.epochs} epochs, batch {variant.batch_size}"
    )
    bare_fit_rate(variant.replace(epochs=1), dataset)  # warm-up: kernels, tracing, caches
    before = bare_fit_rate(variant, dataset)
    trainer = trainer_rate(variant, dataset)
    after = bare_fit_rate(variant, dataset)
    bare = (before + after) / 2
    print(f"bare model.fit : {bare:8.1f} images/s  (before {before:.1f}, after {after:.1f})")
    print(f"get_or_train   : {trainer:8.1f} images/s")
    print(f"ratio          : {trainer / bare:8.3f}  (target >= 0.95)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
