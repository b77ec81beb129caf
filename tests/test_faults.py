"""Fault injection over the smoke profile: builds killed with SIGKILL at named points
(the test hook ``CIFAR_REPORT_TEST_CRASH_AT``, :mod:`cifar_core.faults`), a corrupted
run, a full disk and a read-only store. Every scenario starts from a copy of the
session's smoke build (tests/conftest.py), so nothing is built from scratch here.

* ``test_killed_while_training_and_storing_…``: a run is missing; builds are killed one
  after another at each point of training and of the store's write; then a build
  completes. The run it stored equals the uninterrupted one (same key, predictions,
  history and metrics but the measured times), and the report equals an uninterrupted
  build's over the same store.
* ``test_killed_while_executing_chapters_and_rendering_…``: two chapters and the render
  are due; builds are killed at each point of chapter execution, of the records and of
  the render; then a build completes and its report equals that of one uninterrupted
  build from the same starting state.
* the Must-show of issue 21: a flipped byte in a stored ``predictions.npz`` (and a build
  killed while moving it aside) → the build names the run and the file, retrains exactly
  that run, re-executes once the chapters that read it; a second build does nothing.
* a full disk while a run is written (``RLIMIT_FSIZE``) → exit 1, a clear error, every
  earlier run kept; a read-only store → exit 2 before anything trains.
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
from tests.support.fixtures import PROJECT, copy_project, flip_byte

pytestmark = pytest.mark.slow

TIMING = {"fit_time_s", "wall_time_s", "images_per_s", "resumed_from_epoch"}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\+00:00|Z)?")
BUILD = ["build", "--profile", "smoke", "--renderer", "builtin", "--jobs", "1", "-v"]


def cli(root: Path, *args: str, crash_at: str | None = None, limit_bytes: int | None = None):
    """``cifar-report ARGS`` in ``root`` as its own process group (the crash hook kills
    the whole group), optionally killed at ``crash_at`` or with files capped at
    ``limit_bytes`` (a full disk)."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT), TF_CPP_MIN_LOG_LEVEL="3")
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
    states = {row["state"] for row in RunStore(root / "runs").entries()}
    assert states <= {"cached", "stale"}, f"{point}: the store shows {states}"
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
TRAINING_POINTS = [
    "build.locked",
    "train.start",
    "train.epoch",
    "train.evaluated",
    "store.write:config.json",
    "store.write:metrics.json",
    "store.write:history.csv",
    "store.write:predictions.npz",
    "store.write:model.keras",
    "store.manifest",
    "store.renamed",
]


def test_killed_while_training_and_storing_then_a_build_completes_with_the_same_run(
    smoke_build, built, tmp_path
):
    reference = RunStore(smoke_build[1])
    key, chapters = cheapest_run(built)
    shutil.rmtree(built / "runs" / key)
    outputs = [killed_at(built, point) for point in TRAINING_POINTS]
    assert "taking over the project lock" in outputs[1]
    assert "resuming from epoch" in "".join(outputs[3:]), "the backed-up epoch was not reused"
    final = completes(built, "--to", "html")
    assert re.search(rf"build: 0 run\(s\) trained; chapters: {len(chapters)} executed", final)
    no_leftovers(built)

    run, before = RunStore(built / "runs").get(key, full=True), reference.get(key)
    assert run is not None and run.config == before.config
    assert run.history.equals(before.history)
    for name, array in before.predictions().items():
        np.testing.assert_array_equal(run.predictions()[name], array, err_msg=name)
    assert {k: v for k, v in run.metrics.items() if k not in TIMING} == {
        k: v for k, v in before.metrics.items() if k not in TIMING
    }
    # The uninterrupted build over the same store: the smoke build with this run.
    control = copy_project(smoke_build[0], tmp_path / "control", built=True, link_runs=True)
    shutil.rmtree(control / "runs" / key)
    shutil.copytree(run.path, control / "runs" / key)
    completes(control, "--to", "html")
    assert report(built) == report(control)


CHAPTER_POINTS = [
    "chapter.start:{a}",
    "chapter.cell:{a}@2",
    "chapter.executed:{a}",
    "chapter.replaced:{a}",
    "chapter.cell:{b}@3",
    "chapter.replaced:{b}",
    "build.variables",
    "render.start",
    "render.written",
]


def test_killed_while_executing_chapters_and_rendering_then_the_report_equals_an_uninterrupted_one(
    smoke_build, built, tmp_path
):
    a, b = "06-transfer", "09-findings"  # two chapters due again: their records are stale
    for name in (a, b):
        path = built / "notebooks" / f"{name}.provenance.json"
        record = json.loads(path.read_text())
        record["parameters"]["__stale__"] = True  # as if a parameter had changed
        path.write_text(json.dumps(record))
    control = copy_project(built, tmp_path / "control", built=True, link_runs=True)
    completes(control, "--to", "html")

    outputs = [killed_at(built, point.format(a=a, b=b), "--to", "html") for point in CHAPTER_POINTS]
    completes(built, "--to", "html")
    assert any(
        f"leftover(s) of an interrupted build: notebooks/.{a}.running.ipynb" in output
        for output in outputs
    )
    no_leftovers(built)
    assert report(built) == report(control)
    again = completes(built, "--to", "html")
    assert "chapters: 0 executed" in again and "render: up to date" in again


# ----------------------------------------------------------------------------- damage
def test_a_corrupt_predictions_file_is_named_retrained_and_its_chapters_reexecuted_once(built):
    key, chapters = cheapest_run(built)
    flip_byte(built / "runs" / key / "predictions.npz")

    status = cli(built, "status", "--verify").stdout
    assert re.search(rf"{key}\s+corrupt .*predictions\.npz: does not match its sha256", status)
    killed_at(built, "store.set_aside", "--no-render")  # killed while moving it aside
    output = completes(built, "--no-render")
    assert "corrupt run " in output and f"[{key}]: predictions.npz: " in output
    assert "moved aside (kept until `cifar-report clean`) and trained again" in output
    trained = re.findall(r"^done\s+\S+ \[(\w+)\]", output, re.M)
    assert trained == [key], trained
    executed = re.findall(r"^executed (\S+) in", output, re.M)
    assert sorted(executed) == sorted(chapters)
    assert output.count("runs trained again since") == len(chapters)
    assert "chapters: 0 executed" in completes(built, "--no-render")
    aside = RunStore(built / "runs").set_aside_entries()
    assert [(row["key"], row["file"]) for row in aside] == [(key, "predictions.npz")]


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


def test_a_moved_smoke_project_rebuilds_with_nothing_executed(built, tmp_path):
    """Copied elsewhere as `cp -r` copies (new paths, new file times, the old folder
    gone): no chapter is executed, nothing trained, the render is up to date."""
    completes(built, "--to", "html")  # a no-change build here first: 0 trained, rendered
    moved = copy_project(built, tmp_path / "moved", built=True, keep_times=False)
    shutil.rmtree(built)
    output = completes(moved, "--to", "html")
    assert "build: 0 run(s) trained; chapters: 0 executed" in output, output[-3000:]
    assert "render: up to date" in output
