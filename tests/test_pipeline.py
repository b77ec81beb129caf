"""Pipeline reuse logic with tiny dummy notebooks in a temporary project (fast: no
training, no real analyses, no render)."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
import yaml

from cifar_core import pipeline


def write_notebook(path: Path, body: str, params: str = "x = 1\nproject_root = None") -> None:
    """A notebook with a ``parameters`` cell and one code cell."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    parameters = nbformat.v4.new_code_cell(params)
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell(body)]
    nbformat.write(notebook, path)


SAVE_VARS = """
import json, pathlib
out = pathlib.Path(project_root) / "notebooks" / "{name}.vars.json"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps({{"{name}": {{"x": x}}}}))
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project root with two working dummy analyses and a fake profile/dataset/store."""
    analyses = tmp_path / "analyses"
    analyses.mkdir()
    for name in ("a1", "a2"):
        write_notebook(analyses / f"{name}.ipynb", SAVE_VARS.format(name=name))
    dataset = SimpleNamespace(fingerprint="f" * 16, synthetic=True, source="synthetic",
                              name="cifar10", num_classes=10, y_test=[0] * 5)
    profile = SimpleNamespace(name="demo", seeds=(0,), description="tiny")
    monkeypatch.setattr(pipeline, "_prepare", lambda root, profile_name, data, runs_dir:
                        (profile, dataset, SimpleNamespace(), tmp_path / "runs"))
    return tmp_path


def build(root, **kwargs):
    lines: list[str] = []
    result = pipeline.build(root=root, render=False, log=lines.append, **kwargs)
    return result, "\n".join(lines)


def test_second_build_executes_nothing(project):
    first, _ = build(project)
    assert first.executed == ["a1", "a2"] and first.exit_code == 0
    assert (project / "notebooks/a1.ipynb").exists()
    second, log = build(project)
    assert second.executed == [] and second.reused == ["a1", "a2"]
    assert "reused analysis a1" in log


def test_variables_merged_into_variables_yml(project):
    result, _ = build(project)
    variables = yaml.safe_load(result.variables.read_text())
    assert variables["a1"] == {"x": 1} and variables["a2"] == {"x": 1}
    assert variables["profile"] == "demo"
    assert variables["dataset"]["synthetic"] == "yes"
    assert "SYNTHETIC" in variables["dataset"]["synthetic_banner"]
    assert variables["env"]["python"]


def test_changed_notebook_reexecutes_only_that_one(project):
    build(project)
    write_notebook(project / "analyses/a2.ipynb", SAVE_VARS.format(name="a2"), params="x = 5\nproject_root = None")
    result, _ = build(project)
    assert result.executed == ["a2"] and result.reused == ["a1"]
    variables = yaml.safe_load(result.variables.read_text())
    assert variables["a2"] == {"x": 5}


def test_run_analysis_overrides_parameter_and_build_keeps_it(project):
    build(project)
    result = pipeline.run_analysis("a1", pipeline.parse_cli_parameters([("x", "7")]),
                                   root=project, log=lambda _: None)
    assert result.executed == ["a1"]
    variables = yaml.safe_load((project / "_variables.yml").read_text())
    assert variables["a1"] == {"x": 7}
    again, _ = build(project)
    assert again.executed == []  # the override is remembered: nothing changed
    reset = pipeline.run_analysis("a1", {}, root=project, reset=True, log=lambda _: None)
    assert reset.executed == ["a1"]
    assert yaml.safe_load((project / "_variables.yml").read_text())["a1"] == {"x": 1}


def test_unknown_parameter_lists_the_notebooks_parameters(project):
    with pytest.raises(pipeline.PipelineError) as error:
        pipeline.run_analysis("a1", {"gallery": 3}, root=project, log=lambda _: None)
    message = str(error.value)
    assert "unknown parameter(s) gallery" in message and "x = 1" in message


def test_unknown_analysis_named(project):
    with pytest.raises(pipeline.PipelineError, match="no analysis named 'nope'.*a1, a2"):
        pipeline.run_analysis("nope", {}, root=project)


def test_failing_analysis_named_others_run_exit_nonzero(project):
    write_notebook(project / "analyses/a0.ipynb", "raise ValueError('broken analysis 42')")
    result, log = build(project)
    assert [a.name for a in result.failed] == ["a0"]
    assert result.executed == ["a1", "a2"]
    assert result.exit_code == 1
    assert "FAILED analysis a0" in log and "broken analysis 42" in log
    assert (project / "notebooks/a0.failed.ipynb").exists()
    assert not (project / "notebooks/a0.ipynb").exists()
    # still failing: re-executed (no hash recorded), the good ones reused
    again, _ = build(project)
    assert [a.name for a in again.failed] == ["a0"] and again.reused == ["a1", "a2"]


def test_cli_parameters_parsed_with_yaml():
    parsed = pipeline.parse_cli_parameters([("n", "8"), ("seeds", "[0, 1]"), ("name", "cnn"),
                                            ("flag", "true"), ("none", "null")])
    assert parsed == {"n": 8, "seeds": [0, 1], "name": "cnn", "flag": True, "none": None}


def test_seed_list():
    assert pipeline._seed_list([0, 1, 2], None) is None
    assert pipeline._seed_list([0, 1, 2], 2) == [0, 1]
    assert pipeline._seed_list([0], 3) == [0, 1, 2]
    assert pipeline._seed_list([0], [5, 7]) == [5, 7]


def test_notebook_defaults_reads_literals(tmp_path):
    path = tmp_path / "n.ipynb"
    write_notebook(path, "pass", params="a = [1, 2]  # comment\nb = None\nc = {'k': 'v'}")
    assert pipeline.notebook_defaults(path) == {"a": [1, 2], "b": None, "c": {"k": "v"}}


def test_deep_merge():
    merged = pipeline._deep_merge({"training": {"seeds": "1"}}, {"training": {"epochs": "2"}})
    assert merged == {"training": {"seeds": "1", "epochs": "2"}}


def test_real_analyses_declare_parameters_and_labels():
    root = Path(__file__).resolve().parent.parent
    names = pipeline.list_analyses(root)
    assert names[:8] == ["01-data", "02-baselines", "03-architecture", "04-training",
                         "05-regularization", "06-transfer", "07-errors", "08-summary"]
    for name in names:
        defaults = pipeline.notebook_defaults(root / "analyses" / f"{name}.ipynb")
        assert {"profile", "data", "runs_dir", "project_root"} <= set(defaults), name
    embeds = root / "cifar_core" / "render" / "EMBEDS.md"
    if embeds.exists():  # every label the article embeds exists exactly once in its notebook
        for line in embeds.read_text().splitlines():
            cells = [c.strip(" `") for c in line.split("|")]
            if len(cells) > 3 and cells[1].endswith(".ipynb"):
                source = (root / "analyses" / cells[1]).read_text()
                assert json.dumps(f"#| label: {cells[2]}")[1:-1] in source, (cells[1], cells[2])


def test_relative_data_path_reaches_notebooks_absolute(tmp_path, monkeypatch):
    from cifar_core.pipeline import _base_parameters

    monkeypatch.chdir(tmp_path)
    params = _base_parameters(tmp_path, "sample", "data/cifar-10-batches-py", tmp_path / "runs")
    assert params["data"] == str(tmp_path / "data" / "cifar-10-batches-py")
    assert _base_parameters(tmp_path, "demo", "synthetic", tmp_path)["data"] == "synthetic"


def test_ensure_runs_says_what_is_reused_trained_and_refused(tmp_path, monkeypatch):
    from cifar_core import catalog

    monkeypatch.setenv(pipeline.VGG16_WEIGHTS_ENV, str(tmp_path / "missing.h5"))
    cached, missing, refused = catalog.plan("demo", names=["s000_cnn2", "s004_cnn", "s003_vgg16_b3"])
    dataset = SimpleNamespace(fingerprint="f" * 16)
    cached_key = pipeline.variant_key(cached, dataset.fingerprint)
    store = SimpleNamespace(get=lambda key: "a run" if key == cached_key else None)
    lines: list[str] = []
    runs = pipeline.ensure_runs([cached, missing, refused], dataset, store, train=False,
                                log=lines.append)
    assert runs[cached_key] == "a run" and list(runs.values()).count(None) == 2
    assert lines == ["runs: 1 of 3 reused from the store, 1 missing (not trained), 1 cannot run "
                     f"here (s003_vgg16_b3: $CIFAR_REPORT_VGG16_WEIGHTS points to "
                     f"{tmp_path / 'missing.h5'}, which is not a file)"]
