"""Fault injection over the smoke profile: builds killed with SIGKILL at named points
(the test hook ``CIFAR_REPORT_TEST_CRASH_AT``, :mod:`cifar_core.faults`), a corrupted
run, a full disk and a read-only store. Every scenario starts from a copy of the
session's smoke build (tests/conftest.py), so nothing is built from scratch here.

* a flipped byte in a stored ``predictions.npz`` (issue 21's example), then builds
  killed one after another at 6 points while training, executing a chapter and
  rendering, then a build that completes: it names the run and the file, retrains
  exactly that run (equal to the uninterrupted one but for its measured times), and its
  report equals an uninterrupted build's over the same runs, which executes each chapter
  that reads the run once; a further build does nothing, also in a moved copy;
* a full disk while a run is written (``RLIMIT_FSIZE``) → exit 1, a clear error, every
  earlier run kept; a read-only store → exit 2 before anything trains.

The kill points of the store's write, of the records and of the locks are exercised
more cheaply on a project of small chapters over fake smoke runs (tests/test_build.py).
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import yaml

from cifar_core.faults import CRASH_ENV
from cifar_core.runs.store import RunStore
from tests.support.fixtures import MEASURED_METRICS, PROJECT, copy_project, flip_byte

pytestmark = pytest.mark.slow

TIMING = MEASURED_METRICS
_CORES = os.cpu_count() or 1
WORKER_THREADS = {
    name: str(max(1, _CORES // min(_CORES, 4)))
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
} | {"TF_NUM_INTEROP_THREADS": "1"}
"""The threads each training worker of the smoke build had (runs/executors/local.py):
a run retrained alone, in the build's own process, gets the same numbers only with the
same threads (floating-point sums in another order differ in the last digits)."""
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\+00:00|Z)?")
BUILD = ["build", "--profile", "smoke", "--renderer", "builtin", "--jobs", "1", "-v"]


def cli(root: Path, *args: str, crash_at: str | None = None, limit_bytes: int | None = None):
    """``cifar-report ARGS`` in ``root`` as its own process group (the crash hook kills
    the whole group), optionally killed at ``crash_at`` or with files capped at
    ``limit_bytes`` (a full disk)."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT), TF_CPP_MIN_LOG_LEVEL="3", **WORKER_THREADS)
    env.pop(CRASH_ENV, None)
    if crash_at:
        env[CRASH_ENV] = crash_at

    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "cifar_core.cli", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        start_new_session=True,
        preexec_fn=limit,
    )


def killed_at(root: Path, point: str, *args: str) -> str:
    """Run a build that must die at ``point``; check that nothing half-written is
    visible in the store afterwards; return its output."""
    done = cli(root, *BUILD, *args, crash_at=point)
    output = done.stdout + done.stderr
    assert done.returncode == -9, f"{point}: not killed (exit {done.returncode})\n{output[-3000:]}"
    damaged = [row for row in RunStore(root / "runs").entries() if row["problem"]]
    assert not damaged, f"{point}: the store shows {damaged}"
    return output


def completes(root: Path, *args: str) -> str:
    done = cli(root, *BUILD, *args)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    return output


def report(root: Path) -> dict[str, object]:
    """What a reader gets, with execution times and dates masked: every notebook's cell
    outputs, ``_variables.yml`` and the HTML article."""
    notebooks = {}
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        cells = nbformat.read(str(path), as_version=4).cells
        notebooks[path.name] = [
            (cell.source, [_masked(output) for output in cell.get("outputs", [])]) for cell in cells
        ]
    variables = yaml.safe_load((root / "_variables.yml").read_text())
    variables["build"].pop("date")
    html = TIMESTAMP.sub("<time>", (root / "_site" / "index.html").read_text())
    return {"notebooks": notebooks, "variables": variables, "html": html}


def assert_same_report(root: Path, control: Path) -> None:
    """``report(root) == report(control)``, naming the first difference."""
    ours, theirs = report(root), report(control)
    assert ours["variables"] == theirs["variables"]
    for name, cells in theirs["notebooks"].items():
        assert ours["notebooks"].get(name) == cells, name
    lines = zip(ours["html"].splitlines(), theirs["html"].splitlines())
    for number, (mine, control_line) in enumerate(lines):
        assert mine == control_line, (
            f"index.html line {number}: {mine[:300]!r} != {control_line[:300]!r}"
        )
    assert ours == theirs


def _masked(output: dict) -> dict:
    output = {k: v for k, v in output.items() if k not in ("execution_count", "metadata")}
    if "text" in output:
        output["text"] = TIMESTAMP.sub("<time>", output["text"])
    return output


def no_leftovers(root: Path) -> None:
    notebooks = root / "notebooks"
    assert not list(notebooks.glob(".*.running.ipynb")) and not list(root.glob(".render-*"))
    assert not list(notebooks.glob("*.tmp")) and not list(notebooks.glob(".*.tmp"))
    assert RunStore(root / "runs").leftovers() == []
    assert not list((root / "runs" / ".tmp").iterdir())


def readers(root: Path) -> dict[str, list[str]]:
    """``{run key: [chapters that read it]}`` from the provenance records."""
    found: dict[str, list[str]] = {}
    for path in sorted((root / "notebooks").glob("*.provenance.json")):
        record = json.loads(path.read_text())
        for key in record["runs_read"]:
            found.setdefault(key, []).append(record["chapter"])
    return found


def cheapest_run(root: Path) -> tuple[str, list[str]]:
    """A run read by as few chapters as possible, the smallest model among them."""
    store = RunStore(root / "runs")
    by_key = readers(root)
    key = min(
        by_key,
        key=lambda k: (len(by_key[k]), (store.run_dir(k) / "model.keras").stat().st_size, k),
    )
    return key, by_key[key]


@pytest.fixture
def built(smoke_build, tmp_path):
    """A copy of the session's smoke build (its runs, notebooks, site), file times kept."""
    root, _, result = smoke_build
    assert result.exit_code == 0
    return copy_project(root, tmp_path / "project", built=True, link_runs=True)


# ----------------------------------------------------------------------------- kills
POINTS = [
    "train.start",
    "train.epoch",
    "train.evaluated",
    "chapter.cell:08-summary@2",
    "render.start",
    "render.written",
]
"""Kill points that only the real build reaches (Keras training, a real chapter's kernel,
the renderer), in the order a build reaches them. The store's write, the chapter's
records and the variables are killed more cheaply on fake runs (tests/test_build.py);
benchmarks/soak.py kills at every point, and at random times."""


# 2-3 minutes of real builds killed one after another: run with `-m faults` (the kill
# points of the store and the records run in CI, cheaply, in tests/test_build.py)
@pytest.mark.faults
def test_a_corrupt_run_repaired_through_killed_builds_gives_the_uninterrupted_report(
    smoke_build, built, tmp_path
):
    """A flipped byte in a stored ``predictions.npz``; then builds killed, one after
    another, while training, executing a chapter and rendering; then a build
    completes. It names the run and the file, retrains exactly that run, and its report
    equals that of an uninterrupted build over the same runs; the next build does
    nothing, and neither does one in a copy of the project moved elsewhere."""
    key, chapters = cheapest_run(built)
    assert chapters == ["08-summary", "09-findings", "14-compute"], chapters
    start = {run.key: run.identity for run in RunStore(built / "runs").runs()}
    flip_byte(built / "runs" / key / "predictions.npz")

    outputs = [killed_at(built, point, "--to", "html") for point in POINTS]
    assert f"[{key}]: predictions.npz: does not match its sha256" in outputs[0]
    assert "moved aside (kept until `cifar-report clean`) and trained again" in outputs[0]
    assert "taking over the project lock" in outputs[1]
    assert "resuming from epoch" in "".join(outputs[2:4]), "the backed-up epoch was not reused"
    assert any("leftover(s) of an interrupted build: notebooks/.08-summary" in o for o in outputs)
    final = completes(built, "--to", "html")
    assert "build: 0 run(s) trained" in final and "0 failed" in final
    no_leftovers(built)

    store, reference = RunStore(built / "runs"), RunStore(smoke_build[1])
    now = {run.key: run.identity for run in store.runs(full=True)}
    assert {k for k in now if now[k] != start[k]} == {key}  # exactly that run retrained
    (aside,) = store.set_aside_entries()
    assert (aside["key"], aside["file"]) == (key, "predictions.npz")
    run, before = store.get(key), reference.get(key)
    assert run.config == before.config and run.history.equals(before.history)
    for name, array in before.predictions().items():
        np.testing.assert_array_equal(run.predictions()[name], array, err_msg=name)
    assert {k: v for k, v in run.metrics.items() if k not in TIMING} == {
        k: v for k, v in before.metrics.items() if k not in TIMING
    }

    # The uninterrupted build over the same runs: the smoke build with the run retrained.
    control = copy_project(smoke_build[0], tmp_path / "control", built=True, link_runs=True)
    shutil.rmtree(control / "runs" / key)
    shutil.copytree(run.path, control / "runs" / key)
    once = completes(control, "--to", "html")
    assert sorted(re.findall(r"^executed (\S+) in", once, re.M)) == chapters
    assert len(re.findall(r"^executing \S+: runs trained again since: ", once, re.M)) == 3
    assert_same_report(built, control)

    again = completes(built, "--to", "html")
    assert "chapters: 0 executed" in again and "render: up to date" in again
    moved = copy_project(built, tmp_path / "moved", built=True, keep_times=False)
    shutil.rmtree(built)
    output = completes(moved, "--to", "html")
    assert "build: 0 run(s) trained; chapters: 0 executed" in output, output[-3000:]
    assert "render: up to date" in output


# ----------------------------------------------------------------------------- disks
def test_a_full_disk_while_a_run_is_written_is_a_clear_error_and_keeps_every_run(built):
    key, _ = cheapest_run(built)
    store = RunStore(built / "runs")
    sizes = {p.name: p.stat().st_size for p in store.run_dir(key).iterdir()}
    limit = sizes["model.keras"] // 2
    assert all(size < limit for name, size in sizes.items() if name != "model.keras"), sizes
    shutil.rmtree(store.run_dir(key))
    before = {run.key: run.identity for run in store.runs()}

    done = cli(built, *BUILD, "--no-render", limit_bytes=limit)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("error: could not write run ") and f"[{key}]" in error
    assert f"into the run store {built / 'runs'}: File too large (" in error
    assert "every run stored before is untouched" in error
    assert {run.key: run.identity for run in store.runs(full=True)} == before
    assert store.check(key).state == "missing" and store.leftovers() == []


def read_only(path: Path, command: list[str]) -> list[str]:
    """``command`` with ``path`` read-only: a read-only bind mount when running as root
    (root ignores permission bits), else the permission bits."""
    if os.geteuid() != 0:
        for folder in [path, *[p for p in path.rglob("*") if p.is_dir()]]:
            folder.chmod(0o555)
        return command
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare: cannot make a folder read-only")
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("running as root where mount namespaces are not allowed")
    mount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    return ["unshare", "--mount", "sh", "-c", mount, str(path), *command]


def test_a_read_only_store_is_refused_before_anything_trains(built):
    key, _ = cheapest_run(built)
    shutil.rmtree(built / "runs" / key)
    command = [sys.executable, "-m", "cifar_core.cli", *BUILD, "--no-render"]
    started = time.perf_counter()
    done = subprocess.run(
        read_only(built / "runs", command),
        cwd=built,
        env=dict(os.environ, PYTHONPATH=str(PROJECT)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: the run store {built / 'runs'} cannot be written")
    assert "nothing was trained" in error and "--runs DIR" in error
    assert "training " not in done.stdout and time.perf_counter() - started < 120
