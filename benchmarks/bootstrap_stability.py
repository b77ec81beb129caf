"""How much do the printed bounds of a paired interval move between resamplings?

The report prints an effect and its 95 % interval to 0.1 point. Until December 2026 the
interval was a Monte Carlo BCa bootstrap (``scipy.stats.bootstrap``, 2,000 resamples)
and the several-seed test a Monte Carlo sign-flip permutation test (9,999
permutations), so both moved with the random state.
:func:`cifar_core.analysis.stats.paired.paired_difference` now computes the bootstrap
distribution and the permutation distribution exactly (BCa on the exact bootstrap
distribution; no random state).

For realistic paired correctness (one class of 102 images, 1,017 and 10,000 test
images; 1 and 3 seeds; a small and a large effect between two CNN-like arms) this
script prints, over ``--states`` random states:

* the spread (max − min) of the printed lower and upper bounds (0.1-point precision)
  of the old Monte Carlo BCa interval (2,000 resamples), and of a Monte Carlo
  percentile interval with ``--resamples`` resamples, next to the exact interval (no
  random state, so no spread);
* how far Monte Carlo BCa with many resamples lands from the exact BCa interval (what
  the exact computation replaces);
* the exact p-value and the printed Monte Carlo permutation p-values (9,999
  permutations; several seeds only: one seed uses the exact McNemar test);
* the time per interval of each method.

``--ece`` adds the same spread for the ECE interval of the calibration chapter (Monte
Carlo BCa: the ECE is no mean of a few values) at 1,000 and 50,000 resamples.

    python benchmarks/bootstrap_stability.py              # ~5 min on 2 idle CPU cores
    python benchmarks/bootstrap_stability.py --states 20 --ece
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cifar_core.analysis import text  # noqa: E402
from cifar_core.analysis.stats.paired import paired_difference  # noqa: E402

SIZES = (102, 1017, 10_000)  # one class of 1,017 images (the per-class intervals), 1,017, 10,000
SEEDS = (1, 3)
SCENARIOS = {  # baseline accuracy, variant accuracy, share of images the variant redraws
    "small effect (70 → 72 %)": (0.70, 0.72, 0.35),
    "large effect (45 → 70 %)": (0.45, 0.70, 0.80),
}


def paired_arms(n: int, seeds: int, scenario: tuple[float, float, float], seed: int = 7):
    """Correctness of two arms: the variant keeps the baseline's outcome on most images
    and redraws the rest, so the arms agree on most images as two trained CNNs do."""
    base_acc, var_acc, redrawn = scenario
    rng = np.random.default_rng(seed)
    base = rng.random((seeds, n)) < base_acc
    shift = (var_acc - base_acc * (1 - redrawn)) / redrawn  # accuracy of the redrawn images
    variant = np.where(rng.random((seeds, n)) < redrawn, rng.random((seeds, n)) < shift, base)
    return base, variant


def printed(low: float, high: float) -> tuple[str, str]:
    return text.points(low), text.points(high)


def spread(values: list[str]) -> float:
    numbers = [float(v.replace(text.MINUS, "-")) for v in values]
    return round(max(numbers) - min(numbers), 1)


def bca(d: np.ndarray, n_resamples: int, state: int) -> tuple[float, float]:
    """The interval as it was computed before (scipy BCa, batched as before)."""
    result = stats.bootstrap(
        (d,), np.mean, n_resamples=n_resamples, method="BCa", vectorized=True, batch=200, rng=state
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def percentile_mc(d: np.ndarray, n_resamples: int, state: int) -> tuple[float, float]:
    """Percentile interval from Monte Carlo resamples of the images, drawn as multinomial
    counts over d's few distinct values (the same distribution as index resampling)."""
    values, counts = np.unique(d, return_counts=True)
    draws = np.random.default_rng(state).multinomial(len(d), counts / len(d), size=n_resamples)
    means = draws @ values / len(d)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def permutation_mc(d: np.ndarray, state: int) -> float:
    result = stats.permutation_test(
        (d,),
        np.mean,
        permutation_type="samples",
        vectorized=True,
        n_resamples=9999,
        batch=500,
        rng=state,
    )
    return float(result.pvalue)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--states", type=int, default=10, help="random states (default 10)")
    parser.add_argument(
        "--resamples", type=int, default=20_000, help="Monte Carlo percentile resamples"
    )
    parser.add_argument("--ece", action="store_true", help="also the ECE interval's spread")
    args = parser.parse_args(argv)
    states = range(args.states)
    print(
        f"spread = max − min of the printed bound over {args.states} random states (points); "
        "exact: no random state, spread 0"
    )
    header = (
        f"{'scenario':26} {'images':>6} {'seeds':>5} | {'exact interval':>16} "
        f"{'ms':>5} | {'BCa 2k spread':>13} {'ms':>5} | "
        f"{f'pct {args.resamples // 1000}k spread':>15} {'ms':>5} | "
        f"{'MC BCa − exact':>16} | {'p exact':>8} {'MC p values':>16}"
    )
    print(header)
    print("-" * len(header))
    for name, scenario in SCENARIOS.items():
        for n in SIZES:
            for k in SEEDS:
                base, variant = paired_arms(n, k, scenario)
                d = variant.mean(axis=0) - base.mean(axis=0)
                start = time.perf_counter()
                exact = paired_difference(base, variant)
                exact_ms = (time.perf_counter() - start) * 1000
                timings, bounds = {}, {}
                for label, method, resamples in (
                    ("bca", bca, 2000),
                    ("pct", percentile_mc, args.resamples),
                ):
                    start = time.perf_counter()
                    bounds[label] = [printed(*method(d, resamples, s)) for s in states]
                    timings[label] = (time.perf_counter() - start) * 1000 / len(states)
                wide = bca(d, 50_000 if n < 5000 else 20_000, 0)
                gap = (wide[0] - exact.ci_low, wide[1] - exact.ci_high)
                p_mc = sorted({text.p_value(permutation_mc(d, s)) for s in states}) if k > 1 else []
                low, high = printed(exact.ci_low, exact.ci_high)
                cells = [
                    f"{name:26} {n:>6} {k:>5} | {low + ' to ' + high:>16} {exact_ms:>5.0f}",
                    f"{spread([b[0] for b in bounds['bca']]):>6} {spread([b[1] for b in bounds['bca']]):>6} "
                    f"{timings['bca']:>5.0f}",
                    f"{spread([b[0] for b in bounds['pct']]):>7} {spread([b[1] for b in bounds['pct']]):>7} "
                    f"{timings['pct']:>5.0f}",
                    f"{gap[0] * 100:>+7.2f} {gap[1] * 100:>+7.2f}  ",
                    f"{text.p_value(exact.p_value) + ('' if k > 1 else ' (McNemar)'):>8} "
                    f"{', '.join(p_mc) or '–':>16}",
                ]
                print(" | ".join(cells), flush=True)
    if args.ece:
        ece_spread(states)


def ece_spread(states: range) -> None:
    """Spread of the printed ECE interval (Monte Carlo BCa) over random states."""
    from cifar_core.analysis.stats.calibration import apply_temperature, ece_interval

    print("\nECE 95 % interval (BCa, Monte Carlo): spread of the printed bounds (points)")
    rng = np.random.default_rng(0)
    for n in (500, 1017):
        logits = rng.normal(size=(n, 10)) * 2.0
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        sharp = apply_temperature(probs, 1.6)  # labels drawn from softer probabilities
        labels = np.array([rng.choice(10, p=p) for p in sharp])
        for resamples in (1000, 50_000):
            start = time.perf_counter()
            bounds = [
                printed(*ece_interval(probs, labels, n_resamples=resamples, seed=s)) for s in states
            ]
            ms = (time.perf_counter() - start) * 1000 / len(states)
            print(
                f"  {n:>6} images, {resamples:>6} resamples: lower {spread([b[0] for b in bounds])}, "
                f"upper {spread([b[1] for b in bounds])}  ({ms:.0f} ms)",
                flush=True,
            )


if __name__ == "__main__":
    main()
