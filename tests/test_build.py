"""The build's chapter logic on tiny dummy chapters in a temporary project (no training,
no real analyses, no render): reuse, provenance-driven re-execution with reasons,
typed -p parameters, overrides scoped to a profile, failures, variables ownership."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cifar_core.orchestrate import build as orchestrator
from cifar_core.orchestrate import notebooks, provenance
from cifar_core.project import ProjectError

PROJECT = Path(__file__).resolve().parent.parent
CHAPTER = """# %% tags=["parameters"]
x: int = 1  # a number the chapter publishes
label: str = "a"  # a string parameter
{extra}
# %%
{imports}
from cifar_core.analysis.context import open_context

ctx = open_context("{name}")
ctx.publish({{"{name}": {{"x": x, "label": label}}}})
"""


def write_chapter(
    root: Path, name: str, *, extra: str = "", imports: str = "", body: str = ""
) -> None:
    source = CHAPTER.format(name=name, extra=extra, imports=imports)
    (root / "analyses" / f"{name}.py").write_text(source + body)


@pytest.fixture
def project(tmp_path):
    """A project with two chapters (a2 imports the k-NN module, a1 does not)."""
    (tmp_path / "analyses").mkdir()
    shutil.copy2(PROJECT / "_quarto.yml", tmp_path / "_quarto.yml")
    write_chapter(tmp_path, "a1")
    write_chapter(tmp_path, "a2", imports="import cifar_core.runs.knn  # noqa: F401")
    return tmp_path


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
    outputs, error = orchestrator.render_report(project, log=lambda _: None)
    assert outputs == [] and "render refused" in error


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
