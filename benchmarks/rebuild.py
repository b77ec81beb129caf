"""Rebuild benchmark: how long a build takes when nothing changed, and what a
one-parameter rerun of one analysis costs.

    python benchmarks/rebuild.py [--profile demo] [--data PATH] [--runs DIR]
                                 [--analysis 07-errors] [--parameter seeds] [--value '[0, 1]']
                                 [--no-render]

1. Warm-up ``build`` (trains and executes whatever is missing; not timed as a target).
2. No-change ``build``: must execute no analysis and train no run; target ≤ 10 s.
3. ``run_analysis(NAME, {PARAMETER: VALUE})``: must train exactly the runs the new
   parameter adds (computed beforehand from the catalog and the store) and nothing else.
4. ``run_analysis(NAME, reset=True)`` restores the defaults (not timed).

Prints one line per measurement and exits 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cifar_core import pipeline  # noqa: E402

TARGET_NO_CHANGE_S = 10.0


def quiet(_: str) -> None:
    """Swallow pipeline log lines during timed sections."""


def expected_new_runs(root: Path, name: str, params: dict, profile: str, data: str | None,
                      runs_dir: str | None) -> set[str]:
    """Run keys the overridden analysis reads that are not in the store yet."""
    prof, dataset, store, store_root = pipeline._prepare(root, profile, data, runs_dir)
    base = pipeline._base_parameters(root, profile, data, store_root)
    overrides = {**pipeline.load_overrides(root).get(name, {}), **params}
    _, variants = pipeline.plan_job(root, name, base, overrides, prof)
    keys = {pipeline.variant_key(v, dataset.fingerprint) for v in variants
            if pipeline.not_runnable(v) is None}
    return {k for k in keys if store.get(k) is None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--data")
    parser.add_argument("--runs")
    parser.add_argument("--analysis", default="07-errors")
    parser.add_argument("--parameter", default="seeds")
    parser.add_argument("--value", default="[0, 1]", help="YAML value of the parameter")
    parser.add_argument("--no-render", action="store_true")
    args = parser.parse_args(argv)
    root = pipeline.project_root()
    common = dict(profile=args.profile, data=args.data, runs_dir=args.runs)
    render = not args.no_render
    ok = True

    started = time.perf_counter()
    warm = pipeline.build(**common, render=render, log=quiet)
    print(f"warm-up build: {time.perf_counter() - started:.1f} s, trained {len(warm.trained)}, "
          f"executed {len(warm.executed)}, exit {warm.exit_code}")

    started = time.perf_counter()
    again = pipeline.build(**common, render=render, log=quiet)
    seconds = time.perf_counter() - started
    fine = not again.trained and not again.executed and again.ok and seconds <= TARGET_NO_CHANGE_S
    ok &= fine
    print(f"no-change build: {seconds:.2f} s (target <= {TARGET_NO_CHANGE_S:.0f} s), trained "
          f"{len(again.trained)}, executed {len(again.executed)}, reused {len(again.reused)}"
          f"{'' if render else ' (no render)'} -> {'OK' if fine else 'MISSED'}")

    params = pipeline.parse_cli_parameters([(args.parameter, args.value)])
    expected = expected_new_runs(root, args.analysis, params, **common)
    started = time.perf_counter()
    rerun = pipeline.run_analysis(args.analysis, params, **common, log=quiet)
    seconds = time.perf_counter() - started
    fine = set(rerun.trained) == expected and rerun.ok
    ok &= fine
    print(f"rerun {args.analysis} with {args.parameter}={args.value}: {seconds:.1f} s, trained "
          f"{len(rerun.trained)} run(s) (expected exactly {len(expected)}: the runs the new "
          f"parameter adds) -> {'OK' if fine else 'MISSED'}")

    pipeline.run_analysis(args.analysis, {}, **common, reset=True, log=quiet)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
