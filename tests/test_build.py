"""The build's chapter logic on tiny dummy chapters in a temporary project (no training,
no real analyses, no render): reuse, provenance-driven re-execution with reasons,
typed -p parameters, overrides scoped to a profile, failures, variables ownership."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cifar_core import faults
from cifar_core.experiments import catalog
from cifar_core.orchestrate import build as orchestrator
from cifar_core.orchestrate import notebooks, provenance
from cifar_core.project import ProjectError
from cifar_core.runs.keys import run_key
from cifar_core.runs.manifest import MANIFEST, RUN_FILES
from tests.support.fixtures import (
    FakeTrainer,
    chapter_project,
    flip_byte,
    store_run,
    truncate,
    write_chapter,
)

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path):
    """A project with two chapters (a2 imports the k-NN module, a1 does not)."""
    return chapter_project(tmp_path)


def build(root, **kwargs):
    lines: list[str] = []
    kwargs.setdefault("profile", "smoke")
    result = orchestrator.build(
        root=root, runs_dir=root / "runs", render=False, log=lines.append, **kwargs
    )
    return result, "\n".join(lines)


def test_second_build_reuses_every_chapter(project):
    first, log = build(project)
    assert first.executed == ["a1", "a2"] and first.exit_code == 0
    assert "executing a1: not executed yet" in log
    assert (project / "notebooks/a1.ipynb").is_file()
    second, log = build(project)
    assert second.executed == [] and second.reused == ["a1", "a2"]
    assert "reused chapter a1" in log


def test_record_holds_what_the_chapter_read(project):
    build(project)
    record = provenance.load_record(project, "a2")
    assert record["profile"] == "smoke" and record["parameters"] == {"x": 1, "label": "a"}
    assert "cifar_core/runs/knn.py" in record["modules"]
    assert "cifar_core/runs/knn.py" not in provenance.load_record(project, "a1")["modules"]
    assert record["versions"]["numpy"]


def test_changed_notebook_reexecutes_only_that_one_and_says_why(project):
    build(project)
    write_chapter(project, "a2", extra="y: int = 2  # new")
    result, log = build(project)
    assert result.executed == ["a2"] and result.reused == ["a1"]
    assert "executing a2: analyses/a2.py changed" in log


def test_a_changed_module_reexecutes_the_chapters_that_imported_it(project):
    build(project)
    for name in ("a1", "a2"):  # as if cifar_core/runs/knn.py had been edited since
        record = provenance.load_record(project, name)
        record["modules"] = {
            m: ("0" * 16 if m.endswith("knn.py") else d) for m, d in record["modules"].items()
        }
        provenance.record_path(project, name).write_text(json.dumps(record))
    result, log = build(project)
    assert result.executed == ["a2"] and result.reused == ["a1"]
    assert "executing a2: cifar_core/runs/knn.py changed" in log


@pytest.mark.slow
def test_editing_a_library_module_reexecutes_its_importers(project, tmp_path_factory):
    """For real: a copy of the package is edited between two builds run in subprocesses."""
    package = tmp_path_factory.mktemp("package")
    shutil.copytree(
        PROJECT / "cifar_core", package / "cifar_core", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = dict(os.environ, PYTHONPATH=str(package))
    script = (
        "from cifar_core.orchestrate.build import build; import sys; "
        "r = build('smoke', runs_dir='runs', render=False); "
        "print('EXECUTED', ' '.join(r.executed)); sys.exit(r.exit_code)"
    )

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "EXECUTED a1 a2" in run()
    knn = package / "cifar_core" / "runs" / "knn.py"
    knn.write_text(knn.read_text() + "\n# an edit\n")
    out = run()
    assert "EXECUTED a2\n" in out and "executing a2: cifar_core/runs/knn.py changed" in out


def test_analysis_overrides_are_typed_scoped_to_a_profile_and_reset(project):
    build(project)
    result = orchestrator.run_analysis(
        "a1",
        [("x", "7"), ("label", "no")],
        profile="smoke",
        root=project,
        runs_dir=project / "runs",
        log=lambda _: None,
    )
    assert result.executed == ["a1"]
    variables = yaml.safe_load((project / "_variables.yml").read_text())
    assert variables["a1"] == {"x": 7, "label": "no"}  # "no" stays a string: label is a str
    assert notebooks.load_overrides(project, "smoke") == {"a1": {"x": 7, "label": "no"}}
    assert notebooks.load_overrides(project, "demo") == {}
    again, _ = build(project)
    assert again.executed == []  # the override is remembered for this profile
    assert "`x = 7`" in (project / "notebooks/_provenance.md").read_text()
    reset = orchestrator.run_analysis(
        "a1",
        [],
        profile="smoke",
        root=project,
        runs_dir=project / "runs",
        reset=True,
        log=lambda _: None,
    )
    assert reset.executed == ["a1"] and notebooks.load_overrides(project, "smoke") == {}
    assert yaml.safe_load((project / "_variables.yml").read_text())["a1"]["x"] == 1


def test_unknown_parameter_lists_the_declared_ones_before_anything_runs(project):
    with pytest.raises(ProjectError) as error:
        orchestrator.run_analysis("a1", [("profile", "full")], profile="smoke", root=project)
    message = str(error.value)
    assert "unknown parameter 'profile'" in message and "x: int = 1" in message
    assert not (project / "notebooks" / "a1.ipynb").exists()


def test_value_of_the_wrong_type_is_refused(project):
    with pytest.raises(ProjectError, match=r"-p x 'many': expected int"):
        orchestrator.run_analysis("a1", [("x", "many")], profile="smoke", root=project)


def test_unknown_variant_in_a_parameter_lists_close_matches(project):
    write_chapter(project, "a3", extra="variants: list[str] | None = None  # runs to read")
    with pytest.raises(ProjectError, match=r"unknown variant 's004_finl'; did you mean s004_final"):
        orchestrator.run_analysis(
            "a3",
            [("variants", "[s004_finl]")],
            profile="smoke",
            root=project,
            runs_dir=project / "runs",
        )
    assert not (project / "runs").exists()


def test_unknown_analysis_named_with_close_matches(project):
    with pytest.raises(ProjectError, match="no analysis named 'a4'"):
        orchestrator.run_analysis("a4", [], profile="smoke", root=project)


def test_failing_chapter_is_named_the_others_run_and_the_exit_code_is_1(project):
    write_chapter(project, "a0", body="raise ValueError('broken chapter 42')\n")
    result, log = build(project)
    assert [c.name for c in result.failed] == ["a0"] and result.executed == ["a1", "a2"]
    assert result.exit_code == 1
    assert "FAILED chapter a0" in log and "broken chapter 42" in log
    assert (project / "notebooks/a0.failed.ipynb").exists()
    assert not (project / "notebooks/a0.ipynb").exists()
    again, _ = build(project)
    assert [c.name for c in again.failed] == ["a0"] and again.reused == ["a1", "a2"]


def test_render_refuses_chapters_from_two_profiles(project):
    build(project)
    record = provenance.load_record(project, "a2")
    record["profile"] = "demo"
    provenance.record_path(project, "a2").write_text(json.dumps(record))
    problems = orchestrator.chapter_problems(project)
    assert len(problems) == 1 and "different profiles" in problems[0]
    assert "demo: a2" in problems[0] and "smoke: a1" in problems[0]
    error = orchestrator.render_report(project, log=lambda _: None)
    assert error is not None and "render refused" in error
    assert not (project / "_site" / "index.html").exists()


def test_render_refuses_a_stale_chapter(project):
    build(project)
    write_chapter(project, "a1", extra="z: int = 3  # changed since")
    problems = orchestrator.chapter_problems(project)
    assert problems == ["a1 is stale (analyses/a1.py changed; parameters changed: z)"]


def test_two_writers_of_one_variable_are_refused(project):
    write_chapter(project, "a3", body='ctx.publish({"a1": {"x": 0}})\n')
    with pytest.raises(
        ProjectError, match="a3.vars.json writes `a1`, which chapter a1 already writes"
    ):
        build(project)


def test_parameters_must_declare_a_type(tmp_path):
    path = tmp_path / "n.py"
    path.write_text('# %% tags=["parameters"]\nx = 1\n')
    with pytest.raises(ProjectError, match="parameter x has no declared type"):
        notebooks.declared_parameters(path)


@pytest.mark.parametrize(
    "annotation, text, value",
    [
        ("int", "8", 8),
        ("str", "no", "no"),
        ("str", "3", "3"),
        ("bool", "true", True),
        ("int | list[int] | None", "[0, 1]", [0, 1]),
        ("int | list[int] | None", "null", None),
        ("str | list[str] | None", "all", "all"),
        ("list[str] | None", "[depth, pooling]", ["depth", "pooling"]),
        ("float", "0.5", 0.5),
        ("dict", "{flip: true}", {"flip": True}),
    ],
)
def test_parameter_values_parse_by_declared_type(annotation, text, value):
    assert notebooks.Parameter("p", annotation, None).parse(text) == value


def test_real_analyses_declare_typed_parameters():
    names = notebooks.analysis_names(PROJECT)
    assert names[:8] == [
        "01-data",
        "02-baselines",
        "03-architecture",
        "04-training",
        "05-regularization",
        "06-transfer",
        "07-errors",
        "08-summary",
    ]
    for name in names:
        declared = notebooks.declared_parameters(PROJECT / "analyses" / f"{name}.py")
        assert not {"profile", "data", "runs_dir", "project_root"} & set(declared), name
        source = (PROJECT / "analyses" / f"{name}.py").read_text()
        opens = f'open_context("{name}"' in source or f'StudyChapter.open("{name}"' in source
        publishes = "ctx.publish(" in source or "chapter.publish(" in source
        assert opens and publishes, name


def test_relative_data_path_reaches_notebooks_absolute(tmp_path, monkeypatch):
    from cifar_core.runs.store import RunStore

    monkeypatch.chdir(tmp_path)
    orchestrator._write_build_context(
        tmp_path, "sample", "data/cifar-10-batches-py", RunStore(tmp_path / "runs")
    )
    context = json.loads((tmp_path / "notebooks" / ".build-context.json").read_text())
    assert context["data"] == str(tmp_path / "data" / "cifar-10-batches-py")


# --------------------------------------------------------------------------- reliability
def test_a_second_build_waits_for_the_first_and_says_who_holds_the_project(project):
    from cifar_core.orchestrate.lock import project_lock

    script = (
        "import sys; from cifar_core.orchestrate.build import build; "
        f"r = build('smoke', root={str(project)!r}, runs_dir='runs', render=False, "
        "log=lambda line: print(line, flush=True)); sys.exit(r.exit_code)"
    )
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    with project_lock(project, "build"):
        second = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env, cwd=project
        )
        first_line = second.stdout.readline()
        assert first_line.startswith("waiting for the build started at ")
        assert f"by pid {os.getpid()} …" in first_line
        assert not (project / "notebooks" / "a1.ipynb").exists()  # it waits
    out, _ = second.communicate(timeout=300)
    assert second.returncode == 0 and "executing a1" in out


def test_no_wait_exits_2_naming_the_running_build(project, monkeypatch, capsys):
    from cifar_core.cli import main
    from cifar_core.orchestrate.lock import project_lock

    monkeypatch.chdir(project)
    with project_lock(project, "analysis"):
        code = main(["build", "--profile", "smoke", "--no-render", "--no-wait", "-v"])
        assert code == 2
        assert main(["render", "--no-wait"]) == 2
    error = capsys.readouterr().err
    assert "error: the analysis started at " in error and f"by pid {os.getpid()}" in error
    assert "--no-wait" in error


def test_a_lock_left_by_a_killed_build_is_taken_over(project):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from cifar_core.orchestrate.lock import project_lock\n"
            f"with project_lock(__import__('pathlib').Path({str(project)!r}), 'build'):\n"
            "    print('locked', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(PROJECT)),
    )
    assert holder.stdout.readline().strip() == "locked"
    holder.kill()  # SIGKILL: no chance to release anything
    holder.wait(timeout=30)
    result, log = build(project)
    assert result.exit_code == 0
    assert "taking over the project lock from the build started at" in log
    assert f"by pid {holder.pid}, which ended without releasing it" in log


def test_a_build_removes_what_a_crashed_build_left_and_says_how_much(project):
    from cifar_core.files import temp_path

    build(project)
    notebooks_dir = project / "notebooks"
    leftovers = [
        notebooks_dir / ".a1.running.ipynb",
        notebooks_dir / ".a1.provenance.json.pid999999999-0a1b.tmp",
        project / ".render-abc123",
        project / "_build" / ".measurements.json.pid999999999-0a1b.tmp",
        project / "runs" / ".tmp" / f"{'0' * 16}-pid999999999-0a1b",
        project / "runs" / ".partial" / ("1" * 16),  # killed before its first backup
    ]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir() if path.name.startswith((".render", "0", "1")) else path.write_text("{")
    (leftovers[-1] / "backup").mkdir()
    live = temp_path(notebooks_dir / "a2.vars.json")  # this process: alive
    live.write_text("{")
    result, log = build(project)
    assert result.exit_code == 0 and result.executed == []
    assert "removed 6 leftover(s) of an interrupted build: notebooks/.a1.running.ipynb" in log
    assert not any(path.exists() for path in leftovers) and live.exists()
    again, log = build(project)
    assert "leftover" not in log


def test_a_moved_project_rebuilds_with_nothing_executed(project, tmp_path_factory):

    build(project)
    moved = tmp_path_factory.mktemp("elsewhere") / "project"
    shutil.copytree(project, moved, copy_function=shutil.copy)  # new paths, new file times
    shutil.rmtree(project)
    result, log = build(moved)
    assert result.exit_code == 0 and result.executed == [], log
    context = json.loads((moved / "notebooks" / ".build-context.json").read_text())
    assert context["runs_dir"] == "runs"


CHAPTER_READING_RUNS = """# %% tags=["parameters"]
variants: list[str] | None = {variants!r}  # the runs it reads
# %%
from cifar_core.analysis.context import open_context

ctx = open_context("{name}", variants=variants)
read = {{
    name: [
        (run.name, run.metrics["test_accuracy"], len(run.history), run.predictions()["test_labels"].sum())
        for run in runs
    ]
    for name, runs in ctx.runs.items()
}}
ctx.publish({{"{name}": {{"read": len(read), "not_run": sorted(ctx.not_run)}}}})
"""


def reading_project(root: Path, names: list[str]):
    """A project whose one chapter reads the smoke runs of ``names`` (fake runs, stored)."""
    from cifar_core.experiments.plan import dataset_for, variants_for
    from cifar_core.runs.store import RunStore

    chapter_project(root, {})
    (root / "analyses" / "r1.py").write_text(CHAPTER_READING_RUNS.format(name="r1", variants=names))
    profile = orchestrator.resolve_profile("smoke")
    fingerprint = dataset_for(profile, None).fingerprint
    store = RunStore(root / "runs")
    runs = [store_run(store, v, fingerprint) for v in variants_for(profile, None, names, None)]
    return store, {run.name: run for run in runs}


def test_a_flipped_byte_in_predictions_is_corrupt_retrained_and_reread_once(tmp_path, capsys):
    """Issue 21's must-show, on fake runs: a flipped byte in a cached run's
    predictions.npz; `status --verify` says corrupt (not incomplete), naming the run and
    the file; `build` names them, retrains exactly that run and re-executes only the
    chapter that reads it, once; a second build executes and trains nothing."""
    from cifar_core.cli import main

    store, runs = reading_project(tmp_path, ["s000_cnn2", "s004_cnn"])
    (tmp_path / "analyses" / "r1.py").write_text(
        CHAPTER_READING_RUNS.format(name="r1", variants=["s000_cnn2"])
    )
    (tmp_path / "analyses" / "r2.py").write_text(
        CHAPTER_READING_RUNS.format(name="r2", variants=["s004_cnn"])
    )
    first, _ = build(tmp_path, executor=FakeTrainer())
    assert first.executed == ["r1", "r2"] and first.trained == []
    damaged = runs["s000_cnn2"]
    flip_byte(damaged.path / "predictions.npz")

    assert main(["status", "--runs", str(tmp_path / "runs"), "--verify"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if damaged.key in line)
    assert "corrupt" in row and "incomplete" not in row, row
    assert "predictions.npz: does not match its sha256" in row
    assert "1 damaged run(s)" in out

    trainer = FakeTrainer()
    result, log = build(tmp_path, executor=trainer)
    assert result.exit_code == 0, log
    corrupt = f"corrupt run s000_cnn2 [{damaged.key}]: predictions.npz: does not match its sha256"
    assert corrupt in log and "1 to train (1 of them corrupt)" in log
    assert trainer.trained == ["s000_cnn2"] and result.trained == [damaged.key]
    assert result.executed == ["r1"] and result.reused == ["r2"]
    assert log.count("executing r1:") == 1 and "not run" not in log
    assert [row["key"] for row in store.set_aside_entries()] == [damaged.key]

    again, log = build(tmp_path, executor=FakeTrainer())
    assert again.executed == [] and again.trained == [] and "corrupt" not in log


DAMAGES = [(name, how) for name in (*RUN_FILES, MANIFEST) for how in ("flip", "truncate")]


def test_every_kind_of_damage_is_detected_moved_aside_retrained_and_reported(tmp_path):
    """A flipped byte and a truncation in each kind of run file, one per run: one build
    names each run and file, moves each aside, trains each again and re-executes the
    chapter that reads them once; the next build does nothing."""
    from cifar_core.experiments.plan import not_runnable

    keys, names = set(), []
    for variant in catalog.plan("smoke"):  # runnable here, one name per run key
        key = run_key(variant, "x")
        if not_runnable(variant) is None and key not in keys:
            keys.add(key)
            names.append(variant.name)
    names = names[: len(DAMAGES)]
    store, runs = reading_project(tmp_path, names)
    first, _ = build(tmp_path, executor=FakeTrainer())
    assert first.executed == ["r1"] and first.trained == []
    damaged = {}
    for (file, how), name in zip(DAMAGES, names):
        (flip_byte if how == "flip" else truncate)(runs[name].path / file)
        damaged[runs[name].key] = (name, file)
    trainer = FakeTrainer()
    result, log = build(tmp_path, executor=trainer)
    assert result.exit_code == 0 and result.executed == ["r1"]
    assert sorted(result.trained) == sorted(damaged) and len(trainer.trained) == len(DAMAGES)
    for key, (name, file) in damaged.items():
        assert f"corrupt run {name} [{key}]: {file}: " in log, (name, file)
    assert f"{len(DAMAGES)} to train ({len(DAMAGES)} of them corrupt)" in log
    assert len(store.set_aside_entries()) == len(DAMAGES)
    assert all(store.check(key).usable for key in damaged)
    again, log = build(tmp_path, executor=FakeTrainer())
    assert again.executed == [] and again.trained == [] and "corrupt" not in log


def test_a_chapter_fails_on_a_run_it_cannot_read_naming_run_file_and_fix(tmp_path):
    """Damage that keeps a file's size and time passes the build's quick check; the
    chapter that reads it fails (never "not run"), naming run, file and fix, and the
    build exits 1; `build --verify` finds it, retrains it and the chapter runs again."""

    store, runs = reading_project(tmp_path, ["s000_cnn2"])
    build(tmp_path, executor=FakeTrainer())
    run = runs["s000_cnn2"]
    flip_byte(run.path / "predictions.npz", keep_time=True)
    result, log = build(tmp_path, force=True, executor=FakeTrainer())
    assert result.exit_code == 1 and [c.name for c in result.failed] == ["r1"]
    assert f"run s000_cnn2 [{run.key}]" in log and "predictions.npz cannot be read" in log
    assert "cifar-report build --verify" in log and "not trained yet" not in log
    repaired, log = build(tmp_path, verify=True, executor=FakeTrainer())
    assert repaired.exit_code == 0 and repaired.trained == [run.key]
    assert f"corrupt run s000_cnn2 [{run.key}]: predictions.npz: does not match its sha256" in log
    assert repaired.executed == ["r1"]


def test_a_chapter_whose_outputs_differ_from_its_record_is_executed_again(project):
    """What a build killed between publishing a chapter's numbers (or moving its
    notebook into place) and writing its record leaves: the record no longer describes
    the outputs, so the chapter runs again."""
    build(project)
    (project / "notebooks" / "a1.vars.json").write_text('{"a1": {"x": 99, "label": "a"}}')
    result, log = build(project)
    assert result.executed == ["a1"] and "differ from its record" in log
    assert yaml.safe_load((project / "_variables.yml").read_text())["a1"]["x"] == 1


def test_open_context_raises_on_a_damaged_run_and_lists_only_missing_ones_as_not_run(
    tmp_path,
):
    from cifar_core.analysis.context import open_context
    from cifar_core.runs.store import DamagedRunError

    store, runs = reading_project(tmp_path, ["s000_cnn2", "s004_cnn"])
    (tmp_path / "notebooks").mkdir()
    orchestrator._write_build_context(tmp_path, "smoke", None, store)
    shutil.rmtree(runs["s004_cnn"].path)  # never trained: "not run", with the reason
    ctx = open_context("r1", variants=["s000_cnn2", "s004_cnn"], root=tmp_path)
    assert list(ctx.runs_of()) == ["s000_cnn2"]
    assert ctx.not_run == {"s004_cnn": "not trained yet (run `cifar-report build`)"}
    truncate(runs["s000_cnn2"].path / "history.csv")  # damaged: an error, never "not run"
    with pytest.raises(DamagedRunError) as error:
        open_context("r1", variants=["s000_cnn2"], root=tmp_path)
    message = str(error.value)
    assert f"run s000_cnn2 [{runs['s000_cnn2'].key}]" in message and " is corrupt: " in message
    assert "history.csv: " in message and "Run `cifar-report build`" in message


def test_the_named_crash_points_are_the_ones_the_code_passes():
    passed = set()
    for path in (PROJECT / "cifar_core").rglob("*.py"):
        for point, detail in re.findall(
            r'crash_point\(\s*"([a-z_.]+)"(,\s*[^)]+)?\)', path.read_text()
        ):
            passed.add(point + (":" if detail else ""))
    named = {p.split(":")[0] + (":" if ":" in p else "") for p in faults.POINTS}
    assert named == passed
    chained = {p.split(":")[0] for p in CHEAP_POINTS}
    expensive = {p for p in faults.POINTS if p.startswith(("train.", "render."))}
    assert chained == {p.split(":")[0] for p in faults.POINTS} - expensive


# In the order a build reaches them (the chain below depends on it): every crash point
# of cifar_core/faults.py but training's and rendering's, which need a real trainer or a
# renderer (tests/test_faults.py kills those).
CHEAP_POINTS = [
    "build.locked",
    "store.set_aside",
    "store.write:config.json",
    "store.write:metrics.json",
    "store.write:history.csv",
    "store.write:predictions.npz",
    "store.write:model.keras",
    "store.manifest",
    "store.renamed",
    "build.trained",
    "chapter.start:r1",
    "chapter.cell:r1@2",
    "chapter.executed:r1",
    "chapter.replaced:r1",
    "build.variables",
]


def killed_build(root: Path, point: str) -> subprocess.CompletedProcess:
    """A build (fake training) in its own process group, killed at ``point``."""
    script = (
        "import sys; from cifar_core.orchestrate.build import build; "
        "from tests.support.fixtures import FakeTrainer; "
        f"r = build('smoke', root={str(root)!r}, runs_dir='runs', render=False, "
        "executor=FakeTrainer()); sys.exit(r.exit_code)"
    )
    env = dict(os.environ, PYTHONPATH=str(PROJECT), CIFAR_REPORT_TEST_CRASH_AT=point)
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )


def outputs(root: Path) -> tuple:
    """The chapters' cell outputs and the variables (what the report is made of)."""
    import nbformat

    cells = {
        path.name: [c.get("outputs") for c in nbformat.read(str(path), as_version=4).cells]
        for path in sorted((root / "notebooks").glob("*.ipynb"))
    }
    variables = yaml.safe_load((root / "_variables.yml").read_text())
    variables["build"].pop("date")
    variables["build"].pop("n_trained")  # runs trained by this very build: 0 after a crash
    return cells, variables


@pytest.mark.slow
def test_builds_killed_at_every_point_of_the_store_and_the_records_then_one_completes(
    tmp_path,
):
    """A chapter reads two smoke runs, one corrupt and one missing (trained by a fake
    trainer); builds are killed one after another at 15 points (the lock, moving the
    corrupt run aside, each file of the store's write, the manifest, the rename, the
    chapter's start, a cell, its notebook and its record, the variables); then a build
    completes and gives what one uninterrupted build gives."""
    store, runs = reading_project(tmp_path / "chain", ["s000_cnn2", "s004_cnn"])
    truncate(runs["s000_cnn2"].path / "predictions.npz")
    shutil.rmtree(runs["s004_cnn"].path)
    control = tmp_path / "control"
    shutil.copytree(tmp_path / "chain", control)
    uninterrupted, _ = build(control, executor=FakeTrainer())
    assert uninterrupted.exit_code == 0 and len(uninterrupted.trained) == 2

    for point in CHEAP_POINTS:
        done = killed_build(tmp_path / "chain", point)
        assert done.returncode == -9, f"{point}: exit {done.returncode}\n{done.stderr[-2000:]}"
        damaged = {row["key"] for row in store.entries() if row["state"] != "cached"}
        assert damaged <= {runs["s000_cnn2"].key}, f"after {point}: {damaged} damaged"
    result, log = build(tmp_path / "chain", executor=FakeTrainer())
    assert result.exit_code == 0, log
    assert outputs(tmp_path / "chain") == outputs(control)
    assert store.leftovers() == [] and not list((tmp_path / "chain").rglob(".*.running.ipynb"))
    assert [row["key"] for row in store.set_aside_entries()] == [runs["s000_cnn2"].key]
    again, _ = build(tmp_path / "chain", executor=FakeTrainer())
    assert again.executed == [] and again.trained == []
