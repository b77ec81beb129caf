"""Time to accuracy: seed 004's final recipe vs the flagship, on the same data, one run.

Both variants come from the catalog and are trained through the project's training
path (``cifar_core.runs.train``: preprocessing, augmentation layers, optimizer and
schedule), on *all* training images of the data (no validation split), and evaluated
on the test set after every epoch (with test-time flip averaging where the variant
asks for it). The clock counts training time only: evaluation pauses it.

Prints, for each recipe, the training time until it first reaches seed 004's final
test accuracy, its final accuracy, and the ratio of the two times; the flagship's
target is ≤ 0.25× seed 004's time and ≥ 70 % test accuracy within ``--budget`` seconds.

    python benchmarks/time_to_accuracy.py --data ../shared/data/cifar-10-sample
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402

from cifar_core.experiments import catalog  # noqa: E402
from cifar_core.data import load_dataset  # noqa: E402
from cifar_core.runs.hardware import configure, seed_everything  # noqa: E402
from cifar_core.runs.train import (build_compiled_model, one_hot, predict_probs,  # noqa: E402
                                 prepare_splits)


class TestAccuracyClock(keras.callbacks.Callback):
    """Records (training seconds, test accuracy) after every epoch; evaluation time is
    excluded from the clock. Stops training once ``budget`` training seconds are spent."""

    def __init__(self, x_test, y_test, *, tta_flip: bool, budget: float | None):
        super().__init__()
        self.x_test, self.y_test, self.tta_flip, self.budget = x_test, y_test, tta_flip, budget
        self.points: list[tuple[float, float]] = []
        self.elapsed = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.elapsed += time.perf_counter() - self.started
        probs = predict_probs(self.model, self.x_test, tta_flip=self.tta_flip)
        accuracy = float((probs.argmax(axis=1) == self.y_test).mean())
        self.points.append((self.elapsed, accuracy))
        print(f"  epoch {epoch + 1}: {self.elapsed:6.1f} s, test accuracy {accuracy:.4f}",
              flush=True)
        if self.budget is not None and self.elapsed >= self.budget:
            self.model.stop_training = True


def train_with_clock(variant, dataset, hardware, budget=None) -> list[tuple[float, float]]:
    """Train ``variant`` on all training images; return its (seconds, accuracy) curve."""
    variant = variant.replace(validation_fraction=0.0)
    seed_everything(variant.seed, hardware)
    splits = prepare_splits(variant, dataset)
    steps = -(-len(splits.y_train) // variant.batch_size)
    model = build_compiled_model(variant, dataset, hardware, steps, splits.x_train)
    clock = TestAccuracyClock(splits.x_test, splits.y_test, tta_flip=variant.tta_flip,
                              budget=budget)
    model.fit(splits.x_train, one_hot(splits.y_train, dataset.num_classes),
              batch_size=variant.batch_size, epochs=variant.epochs, verbose=0,
              callbacks=[clock])
    return clock.points


def time_to(points, target: float) -> float | None:
    """Training seconds at the first epoch whose test accuracy reaches ``target``."""
    return next((seconds for seconds, accuracy in points if accuracy >= target), None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="CIFAR-10 folder or archive")
    parser.add_argument("--seed-epochs", type=int, default=25,
                        help="epochs of seed 004's final recipe (its own: 25)")
    parser.add_argument("--budget", type=float, default=300.0,
                        help="training-seconds budget of the flagship")
    parser.add_argument("--flagship-only", action="store_true",
                        help="skip seed 004 (use --target as its accuracy)")
    parser.add_argument("--target", type=float, default=None,
                        help="accuracy to time against when seed 004 is skipped")
    parser.add_argument("--flagship", default="{}",
                        help="JSON of variant fields to override in the flagship (tuning)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    hardware = configure()
    dataset = load_dataset(args.data)
    print(f"data: {dataset.source} ({len(dataset.y_train)} train / {len(dataset.y_test)} test), "
          f"device: {hardware}")
    curves = {}
    if not args.flagship_only:
        seed_recipe = catalog.get_variant("s004_final").replace(epochs=args.seed_epochs)
        print(f"seed 004 final recipe, {seed_recipe.epochs} epochs:")
        curves["s004_final"] = train_with_clock(seed_recipe, dataset, hardware)
    flagship = catalog.get_variant("flagship").replace(**json.loads(args.flagship))
    print(f"flagship, {flagship.epochs} epochs, budget {args.budget:.0f} s:")
    curves["flagship"] = train_with_clock(flagship, dataset, hardware, budget=args.budget)
    report = summarize(curves, args.target, args.budget)
    if args.json:
        args.json.write_text(json.dumps({"curves": curves, **report}, indent=2))
    return 0


def summarize(curves, target, budget) -> dict:
    """Print and return time-to-target, final accuracies, ratio and the targets' status."""
    if "s004_final" in curves:
        target = curves["s004_final"][-1][1]
    seed_time = time_to(curves.get("s004_final", []), target) if target is not None else None
    flag_time = time_to(curves["flagship"], target) if target is not None else None
    within = [a for s, a in curves["flagship"] if s <= budget]
    report = {
        "target_accuracy": target,
        "seed004_time_to_target_s": seed_time,
        "flagship_time_to_target_s": flag_time,
        "ratio": flag_time / seed_time if flag_time and seed_time else None,
        "final_accuracy": {name: points[-1][1] for name, points in curves.items()},
        "final_time_s": {name: points[-1][0] for name, points in curves.items()},
        "flagship_best_within_budget": max(within) if within else None,
    }
    print(json.dumps(report, indent=2))
    if report["ratio"] is not None:
        print(f"flagship reaches seed 004's {target:.1%} in {report['ratio']:.2f}x its time "
              f"(target <= 0.25x); best within {budget:.0f} s: "
              f"{report['flagship_best_within_budget']:.1%} (target >= 70%)")
    return report


if __name__ == "__main__":
    sys.exit(main())
