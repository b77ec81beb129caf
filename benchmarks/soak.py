"""Soak: kill builds at random moments, damage runs at random, and check every time that
the next build repairs everything (the long version of tests/test_faults.py).

    python benchmarks/soak.py [--project DIR] [--rounds 10] [--seed 0] [--max-delay 90]

``--project`` is a built smoke project (``cifar-report build --profile smoke`` done in
it); without it one is built first into a temporary folder (10-15 minutes on 2 cores).
It is copied, never changed. Each round, on the copy:

1. makes work: deletes a random run, marks one or two random chapters stale, and
   (one round in three) flips a byte in a random file of a random run;
2. starts ``cifar-report build`` and kills its process group with SIGKILL, either at a
   random named point (``CIFAR_REPORT_TEST_CRASH_AT``, :mod:`cifar_core.faults`, with a
   random chapter and count) or after a random delay;
3. runs a build to completion and checks: exit 0; no leftover of the killed build; every
   run in the store passes a full checksum verification; every run equals the pristine
   store's run of the same key (config, history, predictions; metrics but the measured
   times); a further build trains and executes nothing.

Prints one line per round and a summary (rounds, kills by kind, builds that died,
recoveries, failures); exits 1 when any check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from cifar_core.faults import CRASH_ENV, POINTS  # noqa: E402
from cifar_core.runs.manifest import MEASURED_METRICS  # noqa: E402
from cifar_core.runs.store import RunStore  # noqa: E402
from tests.support.fixtures import copy_project  # noqa: E402

TIMING = MEASURED_METRICS
"""Metrics measured while training (times, CPU seconds, memory): they differ between two
trainings of one run; everything else must not."""
BUILD = [
    "build",
    "--profile",
    "smoke",
    "--renderer",
    "builtin",
    "--to",
    "html",
    "--jobs",
    "1",
    "-v",
]
_CORES = os.cpu_count() or 1
WORKER_THREADS = {
    name: str(max(1, _CORES // min(_CORES, 4)))
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
} | {"TF_NUM_INTEROP_THREADS": "1"}
"""The threads each worker of a smoke build had (runs/executors/local.py): a run trained
again in the build's own process (``--jobs 1``) equals the original only with the same
threads (tests/test_faults.py does the same)."""


def command(root: Path, crash_at: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3", **WORKER_THREADS)
    env.pop(CRASH_ENV, None)
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.Popen(
        [sys.executable, "-m", "cifar_core.cli", *BUILD],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def finish(process: subprocess.Popen, timeout: float = 1800) -> tuple[int, str]:
    out, _ = process.communicate(timeout=timeout)
    return process.returncode, out


def make_work(root: Path, rng: random.Random) -> list[str]:
    """Delete a run, stale chapters, maybe corrupt a file; say what was done."""
    done = []
    store = RunStore(root / "runs")
    keys = sorted(run.key for run in store.runs())
    victim = rng.choice(keys)
    shutil.rmtree(store.run_dir(victim))
    done.append(f"deleted {victim}")
    records = sorted((root / "notebooks").glob("*.provenance.json"))
    for path in rng.sample(records, rng.randint(1, 2)):
        record = json.loads(path.read_text())
        record["parameters"]["__soak__"] = rng.random()
        path.write_text(json.dumps(record))
        done.append(f"stale {path.name.split('.')[0]}")
    if rng.random() < 1 / 3:
        key = rng.choice([k for k in keys if k != victim])
        file = store.run_dir(key) / rng.choice(
            ["config.json", "history.csv", "metrics.json", "predictions.npz", "model.keras"]
        )
        data = bytearray(file.read_bytes())
        data[rng.randrange(len(data))] ^= 0xFF
        file.write_bytes(bytes(data))
        done.append(f"flipped a byte of {key}/{file.name}")
    return done


def check(root: Path, reference: RunStore) -> list[str]:
    """Everything a repaired project must satisfy; returns the problems."""
    problems = []
    notebooks = root / "notebooks"
    if list(notebooks.glob(".*.running.ipynb")) or list(root.glob(".render-*")):
        problems.append("leftovers of the killed build remain")
    store = RunStore(root / "runs")
    bad = [row for row in store.entries(verify=True) if row["state"] not in ("cached", "stale")]
    if bad:
        problems.append(f"damaged runs after recovery: {[(r['key'], r['problem']) for r in bad]}")
    for run in store.runs():
        before = reference.get(run.key, warn=False)
        if before is None:
            continue
        same = (
            run.config == before.config
            and run.history.equals(before.history)
            and {k: v for k, v in run.metrics.items() if k not in TIMING}
            == {k: v for k, v in before.metrics.items() if k not in TIMING}
            and all(
                np.array_equal(run.predictions()[n], a) for n, a in before.predictions().items()
            )
        )
        if not same:
            problems.append(f"run {run.key} differs from the uninterrupted one")
    code, out = finish(command(root))
    if code != 0 or "chapters: 0 executed" not in out or "0 run(s) trained" not in out:
        problems.append(f"a further build did work or failed (exit {code})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a built smoke project (copied)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-delay", type=float, default=90.0, help="seconds, timed kills")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="cifar-soak-"))
    source = args.project
    if source is None:
        source = copy_project(ROOT, work / "built")
        code, out = finish(command(source))
        if code != 0:
            print(out[-3000:])
            return 1
    pristine = copy_project(source, work / "pristine", built=True)
    reference = RunStore(pristine / "runs")
    project = copy_project(source, work / "project", built=True)
    tally = {"named": 0, "timed": 0, "died": 0, "recovered": 0, "failed": 0}
    started = time.perf_counter()
    for index in range(1, args.rounds + 1):
        work_done = make_work(project, rng)
        chapters = sorted(p.stem for p in (project / "analyses").glob("*.py"))
        if rng.random() < 0.5:
            point = rng.choice(POINTS).format(chapter=rng.choice(chapters))
            if ":" in point and point.startswith("chapter.cell"):
                point += f"@{rng.randint(1, 6)}"
            kind, process = f"at {point}", command(project, point)
            tally["named"] += 1
        else:
            delay = rng.uniform(0, args.max_delay)
            kind, process = f"after {delay:.1f} s", command(project)
            tally["timed"] += 1
            try:
                process.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        code, _ = finish(process)
        died = code == -9
        tally["died"] += died
        recovery_started = time.perf_counter()
        code, out = finish(command(project))
        problems = [f"recovery build exit {code}: {out[-2000:]}"] if code != 0 else []
        problems += check(project, reference)
        tally["recovered" if not problems else "failed"] += 1
        print(
            f"round {index:>2}: {'; '.join(work_done)}; killed {kind} "
            f"({'died' if died else 'finished first'}); recovery "
            f"{time.perf_counter() - recovery_started:.0f} s: "
            + ("OK" if not problems else "FAILED: " + " | ".join(problems)),
            flush=True,
        )
    print(
        f"soak: {args.rounds} rounds in {time.perf_counter() - started:.0f} s; kills "
        f"{tally['named']} at named points, {tally['timed']} timed; {tally['died']} builds "
        f"died; {tally['recovered']} recovered, {tally['failed']} failed (work folder {work})"
    )
    return 0 if not tally["failed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
