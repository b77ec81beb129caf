"""``cifar-report plan`` and the executor options of ``cifar-report train``."""

from __future__ import annotations

import json
import socket
import sys
import time

import pytest

from cifar_core.cli import main


def test_plan_json_lists_every_run_and_the_total_is_their_sum(capsys):
    assert (
        main(
            ["plan", "--profile", "smoke", "--study", "batch_size", "--measure", "never", "--json"]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)

    assert [r["name"] for r in data["runs"]] == [
        "s002_model1_b32",
        "s002_model1_b64",
        "s002_model1_b128",
    ]
    assert data["total"]["train_flops"] == sum(r["train_flops"] for r in data["runs"])
    assert all(r["seconds_accelerator"] > 0 and r["seconds_here"] is None for r in data["runs"])
    assert all(r["cached"] is False for r in data["runs"])  # synthetic data: keys are known
    assert data["settings"]["images_from"] == "dataset"


def test_plan_table_prints_the_totals_and_the_assumptions(capsys):
    assert (
        main(
            [
                "plan",
                "--profile",
                "full",
                "--study",
                "wrn",
                "--measure",
                "never",
                "--accelerator",
                "a100",
                "--utilization",
                "0.5",
                "--gpus",
                "1,3",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "s002_wrn_16_8" in out and "A100" in out and "on N × A100 under Ray ≈ 1:" in out
    assert "Assumptions:" in out and "50,000 official training" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--accelerator", "B200"], "accelerator 'B200' is unknown"),
        (["--utilization", "2"], "utilization must be a fraction"),
        (["--gpus", "one"], "--gpus takes whole numbers"),
        (["--study", "nope"], "unknown study"),
    ],
)
def test_plan_refuses_bad_options_in_one_line(argv, message, capsys):
    assert main(["plan", "--profile", "smoke", "--measure", "never", *argv]) == 2
    assert message in capsys.readouterr().err


def test_address_without_the_ray_executor_is_refused(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "s004_mlp",
                "--profile",
                "smoke",
                "--runs",
                str(tmp_path / "runs"),
                "--address",
                "ray://head:10001",
            ]
        )
        == 2
    )
    assert "--address and --ray-ship-code need --executor ray" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_train_on_an_unreachable_cluster_fails_in_seconds_and_trains_nothing(tmp_path, capsys):
    pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[ray]")')
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.perf_counter()
    assert (
        main(
            [
                "train",
                "s004_mlp",
                "--profile",
                "smoke",
                "--runs",
                str(tmp_path / "runs"),
                "--executor",
                "ray",
                "--address",
                f"127.0.0.1:{port}",
            ]
        )
        == 2
    )
    assert time.perf_counter() - started < 10
    assert f"error: no Ray cluster answers at 127.0.0.1:{port}" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_train_with_ray_missing_names_the_install_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    assert (
        main(
            [
                "train",
                "s004_mlp",
                "--profile",
                "smoke",
                "--runs",
                str(tmp_path / "runs"),
                "--executor",
                "ray",
            ]
        )
        == 2
    )
    assert 'pip install -e ".[ray]"' in capsys.readouterr().err
