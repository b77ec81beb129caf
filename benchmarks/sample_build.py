"""Time the ``sample`` build from an empty run store, twice: the slower build counts.

Each build runs in a fresh copy of a commit (``git archive``; default ``HEAD``, so
uncommitted changes are not timed and the record names what was) with a new, empty
run store inside it, as ``python -m cifar_core.cli build --profile sample --data DATA
--runs COPY/runs --jobs 2`` (the budget's two workers on a 2-core machine), rendering
included unless ``--no-render``. It records per build the wall time, the CPU time of
the build and everything it started, the exit status, the runs it stored and the load
average (sampled every 30 s: the machine is shared, and a build on a busy one is slower),
the seeds every study gets (from this checkout's catalog; ``dirty`` says when the
checkout differs from the commit built), what trained the runs (the build's "backend and
precision" line) and the report's conclusions: how many seed claims end *holds*,
*reversed*, *inconclusive* or *not evaluated*, and the comparisons tested and detected. The record
(``--record``, default ``benchmarks/sample-build.json``) is rewritten after every build.
The verdict: the slower build within the budget (45 minutes), every build exiting 0.

    python benchmarks/sample_build.py --data ../shared/data/cifar-10-sample            # 2 builds, ~1.5 h
    python benchmarks/sample_build.py --data ../shared/data/cifar-10-sample --dry-run  # what it would run
    python benchmarks/sample_build.py --data ../shared/data/cifar-10-sample --repeat 1 --precision mixed_bfloat16
    python benchmarks/sample_build.py --data synthetic --profile smoke --repeat 1 --no-render  # the timer itself

``--compare-seeds RECORD`` also judges the claims of each build with the seeds of
another budget (``RECORD``'s ``seeds_per_study``, e.g.
``benchmarks/sample-seeds-2026-12-01.json``, the budget before three seeds), from the
same runs cut to those seeds: what more seeds changed, without a third build.

Only the timing is new here: the build is the project's own, unchanged. Other build
options (``--precision``, ``--backend``, ``--no-render``) are passed on to it;
``--profile`` times another profile against the same budget (a check of the timer).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RECORD = Path(__file__).with_name("sample-build.json")
BUDGET_S = 45 * 60
LOAD_SAMPLE_S = 30.0


def build_command(
    python: str, profile: str, data: str, runs: Path, jobs: str, extra: Sequence[str]
) -> list[str]:
    """The build that is timed: ``profile`` into an empty store ``runs``.

    >>> build_command("python", "sample", "/d", Path("/c/runs"), "2", ["--no-render"])[2:]
    ['cifar_core.cli', 'build', '--profile', 'sample', '--data', '/d', '--runs', '/c/runs', '--jobs', '2', '--no-render']
    """
    return [
        python,
        *("-m", "cifar_core.cli", "build", "--profile", profile),
        *("--data", data, "--runs", str(runs), "--jobs", jobs),
        *extra,
    ]


def verdict(builds: Sequence[dict[str, Any]], budget_s: float = BUDGET_S) -> dict[str, Any]:
    """The slower build counts; a build that failed (or did not finish) fails the budget.

    >>> verdict([{"wall_s": 2400.0, "rc": 0}, {"wall_s": 2800.0, "rc": 0}])["within_budget"]
    False
    >>> verdict([{"wall_s": 2400.0, "rc": 0}, {"wall_s": 2500.0, "rc": 0}])["slowest_s"]
    2500.0
    >>> verdict([{"wall_s": 600.0, "rc": 1}])["within_budget"]
    False
    """
    slowest = max((float(b["wall_s"]) for b in builds), default=None)
    ok = slowest is not None and slowest <= budget_s and all(b["rc"] == 0 for b in builds)
    return {"builds": len(builds), "slowest_s": slowest, "budget_s": budget_s, "within_budget": ok}


def seeds_per_study(profile: str = "sample") -> dict[str, dict[str, list[int]]]:
    """``{study: {variant: seeds}}`` that ``profile`` trains (variants it leaves to the
    full profile are absent).

    >>> seeds_per_study()["flagship"]["flagship"]
    [0]
    """
    from cifar_core.experiments import catalog

    resolved = catalog.get_profile(profile)
    return {
        study.name: {
            v.name: list(resolved.seeds_for(v)) for v in study.variants if resolved.includes(v)
        }
        for study in catalog.studies()
    }


def build_outcome(copy: Path) -> dict[str, Any]:
    """What the built report concluded and what trained it: the seed claims' outcome counts
    (``notebooks/09-findings.vars.json``, the numbers the article quotes), the comparisons
    tested and detected, and the build's line naming the backend and precision.

    >>> import tempfile
    >>> copy = Path(tempfile.mkdtemp())
    >>> (copy / "notebooks").mkdir()
    >>> _ = (copy / "notebooks" / "09-findings.vars.json").write_text(json.dumps({"findings": {
    ...     "n_claims": "3", "n_tested": "9", "n_detected": "4",
    ...     "claims": {"holds": "1", "reversed": "0", "inconclusive": "2", "not_evaluated": "0"}}}))
    >>> _ = (copy / "build.log").write_text("backend and precision: tensorflow, float32 (x)")
    >>> outcome = build_outcome(copy)
    >>> outcome["claims"]["inconclusive"], outcome["tested"], outcome["trained_with"]
    (2, 9, 'tensorflow, float32 (x)')
    """
    outcome: dict[str, Any] = {}
    values = copy / "notebooks" / "09-findings.vars.json"
    if values.is_file():
        findings = json.loads(values.read_text()).get("findings", {})
        outcome["claims"] = {k: int(v) for k, v in findings.get("claims", {}).items()}
        outcome["tested"] = int(findings.get("n_tested", 0))
        outcome["detected"] = int(findings.get("n_detected", 0))
    log = copy / "build.log"
    prefix = "backend and precision: "
    for line in log.read_text(errors="replace").splitlines() if log.is_file() else []:
        if prefix in line:
            outcome["trained_with"] = line.split(prefix, 1)[1].strip()
            break
    return outcome


def claim_outcomes(copy: Path, seeds: Mapping[str, Sequence[int]] | None = None) -> dict[str, str]:
    """``{"study: variant vs baseline": outcome}`` of every claim, judged by the findings of
    the built project ``copy`` as chapter 09 judges them; with ``seeds``
    (``{variant: seeds}``) each variant's runs are first cut to those seeds (a variant
    absent from ``seeds`` keeps none): what a budget with fewer seeds would have concluded
    from the same runs, without training them again."""
    from dataclasses import replace

    from cifar_core.analysis.chapter import StudyChapter
    from cifar_core.analysis.context import open_context

    ctx = open_context("09-findings", studies="all", root=copy)
    if seeds is not None:
        kept = {
            name: [r for r in runs if r.variant.seed in seeds.get(name, ())]
            for name, runs in ctx.runs.items()
        }
        ctx = replace(ctx, runs=kept)
    chapter = StudyChapter(ctx, [s.name for s in ctx.all_studies()])
    return {
        f"{r.claim.study}: {r.claim.variant} vs {r.claim.baseline}": r.outcome
        for r in chapter.claims()
    }


def variant_seeds(
    seeds_per_study: Mapping[str, Mapping[str, Sequence[int]]],
) -> dict[str, list[int]]:
    """``{variant: seeds}`` from a record's ``seeds_per_study``.

    >>> variant_seeds({"a": {"x": [0, 1]}, "b": {"x": [0, 1], "y": [0]}})
    {'x': [0, 1], 'y': [0]}
    """
    return {v: list(s) for study in seeds_per_study.values() for v, s in study.items()}


class LoadSampler(threading.Thread):
    """The 1-minute load average every ``LOAD_SAMPLE_S`` seconds while a build runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples = [os.getloadavg()[0]]
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(LOAD_SAMPLE_S):
            self.samples.append(os.getloadavg()[0])

    def summary(self) -> dict[str, float]:
        s = self.samples
        return {
            "start": round(s[0], 2),
            "min": round(min(s), 2),
            "mean": round(sum(s) / len(s), 2),
            "max": round(max(s), 2),
        }


def checkout(commit: str, into: Path) -> None:
    """The committed tree of ``commit`` in ``into`` (no run store, no notebooks, no site)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def environment(copy: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIFAR_REPORT_")}
    env.update(PYTHONPATH=str(copy), TF_CPP_MIN_LOG_LEVEL="2")
    env.setdefault("KERAS_BACKEND", "tensorflow")
    return env


def time_build(args: argparse.Namespace, index: int) -> dict[str, Any]:
    copy = Path(tempfile.mkdtemp(prefix=f"sample-build-{index}-"))
    checkout(args.commit, copy)
    runs = copy / "runs"
    command = build_command(
        sys.executable, args.profile, args.data, runs, args.jobs, args.build_args
    )
    log = copy / "build.log"
    sampler = LoadSampler()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    clock = time.perf_counter()
    sampler.start()
    with log.open("w") as out:
        rc = subprocess.run(
            command, cwd=copy, env=environment(copy), stdout=out, stderr=subprocess.STDOUT
        ).returncode
    wall = time.perf_counter() - clock
    sampler.stopped.set()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stored = sum(1 for p in runs.glob("*/metrics.json")) if runs.is_dir() else 0
    build = {
        "started": started,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "rc": rc,
        "runs_stored": stored,
        "load_average": sampler.summary(),
        "log_tail": log.read_text(errors="replace")[-2000:],
        **build_outcome(copy),
    }
    if rc == 0:
        build["claim_outcomes"] = claim_outcomes(copy)
        if args.compare_seeds:
            other = json.loads(args.compare_seeds.read_text())["seeds_per_study"]
            build["claim_outcomes_with_compared_seeds"] = claim_outcomes(copy, variant_seeds(other))
    if args.keep:
        build["copy"] = str(copy)
    else:
        shutil.rmtree(copy, ignore_errors=True)
    return build


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="the real CIFAR-10 sample folder")
    parser.add_argument("--profile", default="sample", help="the profile built (default sample)")
    parser.add_argument("--repeat", type=int, default=2, help="builds to time (default 2)")
    parser.add_argument("--jobs", default="2", help="training workers (the budget assumes 2)")
    parser.add_argument("--commit", default="HEAD", help="what is built (default HEAD)")
    parser.add_argument("--record", type=Path, default=RECORD, help="the JSON record")
    parser.add_argument("--keep", action="store_true", help="keep each build's copy and store")
    parser.add_argument("--dry-run", action="store_true", help="print what would run and stop")
    parser.add_argument(
        "--compare-seeds",
        type=Path,
        default=None,
        metavar="RECORD",
        help="a record whose seeds_per_study (e.g. an earlier budget's) also judges the claims, "
        "from the same runs cut to those seeds",
    )
    args, build_args = parser.parse_known_args(argv)
    args.build_args = build_args  # passed on to the build (e.g. --precision, --no-render)
    if args.data != "synthetic":
        args.data = str(Path(args.data).expanduser().resolve())
    args.commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", args.commit],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    command = build_command(
        sys.executable, args.profile, args.data, Path("<copy>/runs"), args.jobs, args.build_args
    )
    print(f"commit {args.commit[:12]}; {args.repeat} build(s) of: {shlex.join(command)}")
    if args.dry_run:
        return 0
    status = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    record: dict[str, Any] = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "build_command": shlex.join(command),
        "commit": args.commit,
        "dirty": bool(status.strip()),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "profile": args.profile,
        "seeds_per_study": seeds_per_study(args.profile),
        "builds": [],
    }
    for index in range(args.repeat):
        build = time_build(args, index)
        record["builds"].append(build)
        record["verdict"] = verdict(record["builds"])
        args.record.write_text(json.dumps(record, indent=1) + "\n")
        load = build["load_average"]
        print(
            f"build {index + 1}: {build['wall_s'] / 60:.1f} min wall, {build['cpu_s'] / 60:.1f} "
            f"min CPU, exit {build['rc']}, {build['runs_stored']} runs stored, load average "
            f"{load['min']}-{load['max']} (mean {load['mean']}); claims {build.get('claims')}",
            flush=True,
        )
        if "claim_outcomes_with_compared_seeds" in build:
            compared = Counter(build["claim_outcomes_with_compared_seeds"].values())
            print(f"  claims with the seeds of {args.compare_seeds}: {dict(compared)}", flush=True)
    result = record["verdict"]
    print(
        f"slower build {result['slowest_s'] / 60:.1f} min: "
        + ("within" if result["within_budget"] else "NOT within")
        + f" {result['budget_s'] / 60:.0f} min; record {args.record}"
    )
    return 0 if result["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
