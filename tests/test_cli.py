"""The ``cifar-report`` command: help, data, train (files and catalog names), status,
clean, list, and one-line errors with exit status 2."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cifar_core.runs.keys as keys_module  # noqa: E402
from cifar_core.cli import build_parser, main  # noqa: E402
from cifar_core.cli.runs import resolve_variants  # noqa: E402
from cifar_core.data.official_format import write_batches  # noqa: E402

VARIANT = {
    "name": "cli-tiny",
    "family": "mlp",
    "params": {"units": [8]},
    "epochs": 1,
    "batch_size": 32,
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A 200/50-image dataset in the official layout, two training batches of 100."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("data") / "cifar-10-batches-py"
    write_batches(
        folder,
        rng.integers(0, 256, (200, 32, 32, 3), dtype=np.uint8),
        np.arange(200) % 10,
        rng.integers(0, 256, (50, 32, 32, 3), dtype=np.uint8),
        np.arange(50) % 10,
        [f"c{i}" for i in range(10)],
        batch_size=100,
        synthetic=False,
    )
    return folder


@pytest.fixture(scope="module")
def variant_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("variants") / "tiny.json"
    path.write_text(json.dumps(VARIANT))
    return path


@pytest.fixture(scope="module")
def trained_store(tmp_path_factory, data_dir, variant_file):
    """`train` run twice on the same variant file: output of both calls."""
    runs = tmp_path_factory.mktemp("runs")
    argv = [
        "train",
        str(variant_file),
        "--data",
        str(data_dir),
        "--limit-per-batch",
        "60",
        "--runs",
        str(runs),
        "--verbose",
    ]
    outputs = []
    for _ in range(2):
        code, out, err = run_cli(argv)
        assert code == 0, err
        outputs.append(out)
    return runs, outputs


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` → (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", ["data", "train", "status", "clean", "list"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: cifar-report {command}" in capsys.readouterr().out


def test_report_commands_are_attached():
    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"data", "train", "status", "clean", "list", "build"} <= set(commands)


def test_data_describes_the_dataset(data_dir):
    code, out, _ = run_cli(["data", "--data", str(data_dir), "--limit-per-batch", "60"])
    assert code == 0 and str(data_dir) in out and "train 96, val 24, test 50" in out


def test_train_trains_then_reuses(trained_store):
    runs, (first, second) = trained_store
    assert "120 train / 50 test" in first
    assert (
        "[1/1] cli-tiny" in first
        and "training cli-tiny [" in first
        and "done     cli-tiny" in first
    )
    assert "runs: 1 of 1 reused from the store, 0 to train" in second and "training" not in second
    assert "cli-tiny" in second and "test accuracy" in second
    key = next(p.name for p in runs.iterdir() if not p.name.startswith("."))
    assert json.loads((runs / key / "config.json").read_text())["variant"]["name"] == "cli-tiny"


def test_status_and_clean(trained_store, monkeypatch):
    runs, _ = trained_store
    code, out, _ = run_cli(["status", "--runs", str(runs)])
    assert code == 0 and "cli-tiny" in out and "cached" in out and "test_accuracy" in out
    monkeypatch.setattr(keys_module, "training_code_hash", lambda: "edited-training-code")
    code, out, _ = run_cli(["status", "--runs", str(runs)])
    assert "stale" in out and "cached" not in out
    assert "cli-tiny" in run_cli(["status", "--runs", str(runs), "--stale"])[1]
    code, out, _ = run_cli(["clean", "--runs", str(runs)])
    assert code == 0 and "removed 0 entries" in out  # stale runs go only with --stale
    code, out, _ = run_cli(["clean", "--runs", str(runs), "--stale", "--dry-run"])
    assert code == 0 and "would remove 1 entry" in out
    assert run_cli(["status", "--runs", str(runs)])[1].count("stale") == 1
    code, out, _ = run_cli(["clean", "--runs", str(runs), "--stale"])
    assert "removed 1 entry" in out
    assert "(none)" in run_cli(["status", "--runs", str(runs)])[1]


def test_epochs_override_and_catalog_names(variant_file):
    args = build_parser().parse_args(["train", str(variant_file), "--epochs", "3"])
    assert [v.epochs for v in resolve_variants(args)] == [3]
    args = build_parser().parse_args(["train", "s004_mlp", "--profile", "demo"])
    planned = resolve_variants(args)
    assert planned and {v.name for v in planned} == {"s004_mlp"}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "s004_mpl"], "unknown variant 's004_mpl'; did you mean s004_mlp"),
        (["train"], "name at least one VARIANT"),
        (["train", "--study", "no-such-study"], "no-such-study"),
        (["data", "--data", "/no/such/dir"], "/no/such/dir"),
        (["list", "--profile", "huge"], "--profile"),
    ],
)
def test_user_errors_are_one_line_with_status_2(argv, message):
    code, out, err = run_cli(argv)
    assert code == 2 and err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_variant_file_names_the_file_and_key(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**VARIANT, "epoch": 3}))
    code, _, err = run_cli(["train", str(path), "--data", "synthetic"])
    assert code == 2 and str(path) in err and "unknown key 'epoch'" in err
    path.write_text("{oops")
    code, _, err = run_cli(["train", str(path)])
    assert code == 2 and str(path) in err and "not valid JSON" in err
    yaml_path = tmp_path / "v.yaml"
    yaml_path.write_text("name: y\nfamily: mlp\nepochs: 0\n")
    code, _, err = run_cli(["train", str(yaml_path)])
    assert code == 2 and str(yaml_path) in err and "epochs must be >= 1" in err


def test_list_json_has_the_catalog_fields(tmp_path):
    code, out, _ = run_cli(
        ["list", "--study", "pooling", "--json", "--runs", str(tmp_path), "--profile", "full"]
    )
    rows = json.loads(out)
    assert code == 0 and rows
    for field in ("name", "study", "source", "reported_test_accuracy", "params", "flops"):
        assert field in rows[0]


def test_list_text_shows_counts_and_percentages(tmp_path):
    code, out, _ = run_cli(
        ["list", "--study", "seed004_lab", "--runs", str(tmp_path), "--profile", "full"]
    )
    line = next(row for row in out.splitlines() if row.strip().startswith("s004_final "))
    assert code == 0 and "1,856,650" in line and "75.8 %" in line


# ---------------------------------------------------------------------- report commands
@pytest.fixture
def chapter_project(tmp_path, monkeypatch):
    """A project with one tiny chapter that reads the s004_mlp runs."""
    import shutil

    root = tmp_path / "project"
    (root / "analyses").mkdir(parents=True)
    shutil.copy2(Path(__file__).resolve().parents[1] / "_quarto.yml", root / "_quarto.yml")
    (root / "analyses" / "a1.py").write_text(
        '# %% tags=["parameters"]\n'
        'variants: list[str] | None = ["s004_mlp"]  # runs to read\n'
        "seeds: int | list[int] | None = None  # the profile's seeds\n"
        'label: str = "x"  # a string\n'
        "# %%\nfrom cifar_core.analysis.context import open_context\n"
        'ctx = open_context("a1", variants=variants, seeds=seeds)\n'
        'ctx.publish({"a1": {"label": label, "runs": len(ctx.runs_of())}})\n'
    )
    monkeypatch.chdir(root)
    monkeypatch.delenv("CIFAR_REPORT_RUNS", raising=False)
    return root


def test_analysis_with_an_unknown_parameter_exits_2_and_trains_nothing(chapter_project):
    code, _, err = run_cli(["analysis", "a1", "-p", "runs_dir", "/tmp/x", "--profile", "smoke"])
    assert code == 2 and "unknown parameter 'runs_dir'" in err and "label: str = 'x'" in err
    code, _, err = run_cli(["analysis", "a1", "-p", "variants", "[s004_mpl]", "--profile", "smoke"])
    assert code == 2 and "unknown variant 's004_mpl'; did you mean s004_mlp" in err
    assert not (chapter_project / "runs").exists() and not (chapter_project / "notebooks").exists()


def test_a_quiet_analysis_shows_progress_logs_detail_and_status_shows_the_override(chapter_project):
    import re

    code, out, err = run_cli(
        ["analysis", "a1", "-p", "label", "no", "--profile", "smoke", "--jobs", "1"]
    )
    assert code == 0, err
    logs = sorted((chapter_project / "_build" / "logs").glob("analysis-*.log"))
    detail = logs[-1].read_text()
    assert "training s004_mlp [" in detail and "executed a1 in" in detail
    assert not re.search(r"\x1b\[", detail), "no terminal escape codes in the log"
    assert "Epoch 1/1" not in out and "training s004_mlp" not in out
    code, out, _ = run_cli(["status"])
    assert code == 0 and 'smoke   a1: label = "no"' in out
