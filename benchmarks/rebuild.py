"""Rebuild benchmark: what a build costs when nothing changed, what a cached `train` and
`status` cost, and what a one-parameter rerun of one chapter trains.

    python benchmarks/rebuild.py [--profile demo] [--data PATH] [--runs DIR]
                                 [--analysis 07-errors] [--parameter seeds] [--value '[0, 1]']
                                 [--no-render]

1. Warm-up ``build`` (trains and executes whatever is missing; not a target).
2. No-change ``build``: must execute no chapter and train no run; target ≤ 2 s.
3. ``cifar-report train s004_final`` and ``cifar-report status`` as fresh processes with
   the runs cached: must not import TensorFlow; target ≤ 1 s each.
4. ``run_analysis(NAME, -p PARAMETER VALUE)``: must train exactly the runs the new
   parameter adds (computed beforehand from the catalog and the store) and nothing else.
5. ``run_analysis(NAME, reset=True)`` restores the defaults (not timed).

Prints one line per measurement and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cifar_core.experiments.plan import dataset_for  # noqa: E402
from cifar_core.orchestrate import build as orchestrator  # noqa: E402
from cifar_core.orchestrate import notebooks  # noqa: E402
from cifar_core.project import default_runs_dir  # noqa: E402
from cifar_core.runs.ensure import plan_runs  # noqa: E402
from cifar_core.runs.store import RunStore  # noqa: E402

TARGET_NO_CHANGE_S = 2.0
TARGET_CACHED_COMMAND_S = 1.0


def quiet(_: str) -> None:
    """Swallow build log lines during timed sections."""


def expected_new_runs(
    name: str, pairs: list, profile: str, data: str | None, runs_dir: str | None
) -> set[str]:
    """Run keys the overridden chapter reads that are not in the store yet."""
    prof = orchestrator.resolve_profile(profile)
    dataset = dataset_for(prof, data)
    overrides = {
        **notebooks.load_overrides(ROOT, prof.name).get(name, {}),
        **notebooks.parse_overrides(notebooks.source_path(ROOT, name), pairs),
    }
    _, variants = orchestrator.plan_chapter(ROOT, name, prof, overrides, dataset.fingerprint)
    store = RunStore(Path(runs_dir) if runs_dir else default_runs_dir(ROOT))
    plan = plan_runs(variants, dataset.fingerprint, store)
    from cifar_core.runs.keys import run_key

    return {run_key(v, dataset.fingerprint) for v in plan.missing}


def timed_command(argv: list[str]) -> tuple[float, bool]:
    """Seconds a fresh `cifar-report` process takes, and whether it imported TensorFlow."""
    code = (
        "import sys; from cifar_core.cli import main; code = main(sys.argv[1:]); "
        "print('TF' if 'tensorflow' in sys.modules else 'NO-TF', file=sys.stderr); sys.exit(code)"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=ROOT, capture_output=True, text=True
    )
    return time.perf_counter() - started, "NO-TF" in done.stderr and done.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--data")
    parser.add_argument("--runs")
    parser.add_argument("--analysis", default="07-errors")
    parser.add_argument("--parameter", default="seeds")
    parser.add_argument("--value", default="[0, 1]", help="value of the parameter, as for -p")
    parser.add_argument("--no-render", action="store_true")
    args = parser.parse_args(argv)
    common = dict(profile=args.profile, data=args.data, runs_dir=args.runs)
    render = not args.no_render
    ok = True

    started = time.perf_counter()
    warm = orchestrator.build(**common, render=render, root=ROOT, log=quiet)
    print(
        f"warm-up build: {time.perf_counter() - started:.1f} s, trained {len(warm.trained)}, "
        f"executed {len(warm.executed)}, exit {warm.exit_code}"
    )

    started = time.perf_counter()
    again = orchestrator.build(**common, render=render, root=ROOT, log=quiet)
    seconds = time.perf_counter() - started
    fine = not again.trained and not again.executed and again.ok and seconds <= TARGET_NO_CHANGE_S
    ok &= fine
    print(
        f"no-change build: {seconds:.2f} s (target <= {TARGET_NO_CHANGE_S:.0f} s), trained "
        f"{len(again.trained)}, executed {len(again.executed)}, reused {len(again.reused)}"
        f"{'' if render else ' (no render)'} -> {'OK' if fine else 'MISSED'}"
    )

    cli = (
        ["--profile", args.profile]
        + (["--data", args.data] if args.data else [])
        + (["--runs", args.runs] if args.runs else [])
    )
    for label, command in (
        ("cached train", ["train", "s004_final", *cli]),
        ("status", ["status"] + (["--runs", args.runs] if args.runs else [])),
    ):
        seconds, no_tf = timed_command(command)
        fine = no_tf and seconds <= TARGET_CACHED_COMMAND_S
        ok &= fine
        print(
            f"{label}: {seconds:.2f} s (target <= {TARGET_CACHED_COMMAND_S:.0f} s), "
            f"TensorFlow {'not ' if no_tf else ''}imported -> {'OK' if fine else 'MISSED'}"
        )

    pairs = [(args.parameter, args.value)]
    expected = expected_new_runs(args.analysis, pairs, **common)
    started = time.perf_counter()
    rerun = orchestrator.run_analysis(args.analysis, pairs, **common, root=ROOT, log=quiet)
    seconds = time.perf_counter() - started
    fine = set(rerun.trained) == expected and rerun.ok
    ok &= fine
    print(
        f"rerun {args.analysis} with {args.parameter}={args.value}: {seconds:.1f} s, trained "
        f"{len(rerun.trained)} run(s) (expected exactly {len(expected)}: the runs the new "
        f"parameter adds) -> {'OK' if fine else 'MISSED'}"
    )

    orchestrator.run_analysis(args.analysis, [], **common, root=ROOT, reset=True, log=quiet)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
