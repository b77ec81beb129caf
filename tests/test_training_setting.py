"""The training setting (backend, precision, XLA): in the run key, chosen by ``auto`` only
from a recorded measurement of this device, applied by the command line, recorded in
each run and labelled in the tables where runs differ."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from cifar_core.experiments.variant import Variant  # noqa: E402
from cifar_core.runs import compute_choice  # noqa: E402
from cifar_core.runs.compute_choice import (  # noqa: E402
    BACKEND_ENV,
    MEASUREMENT_ENV,
    PRECISION_ENV,
    ComputeChoiceError,
    Setting,
    device_signature,
    resolve,
)
from cifar_core.runs.keys import environment, run_key  # noqa: E402

TENSORFLOW_ONLY = pytest.mark.skipif(
    os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
    reason="switches TensorFlow settings in a process whose Keras runs another backend",
)
VARIANT = Variant(name="m", family="mlp", params={"units": [8]}, epochs=1, batch_size=32)
FAMILIES = ("s000_cnn1", "flagship")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No choice in the environment, every backend 'installed', no measurement file."""
    for name in (BACKEND_ENV, PRECISION_ENV, "KERAS_BACKEND", "CIFAR_REPORT_MIXED_PRECISION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIFAR_REPORT_DEVICE", "cpu")
    monkeypatch.setenv(MEASUREMENT_ENV, str(tmp_path / "backends.json"))
    monkeypatch.setattr(compute_choice, "installed", lambda backend: True)
    return tmp_path / "backends.json"


def measurement(speed: dict[str, float], accuracy: dict[str, float], **fields) -> dict:
    """A measurement file's content: per setting, a training time of ``100 / speed`` s
    on every family and a mean final accuracy of ``accuracy`` over three seeds."""
    runs = [
        {
            "setting": setting,
            "family": family,
            "seed": seed,
            "fit_seconds": 100 / speed[setting],
            "final_accuracy": accuracy[setting] + (seed - 1) * 0.002,
            "finite": True,
            "error": None,
        }
        for setting in speed
        for family in FAMILIES
        for seed in range(3)
    ]
    return {
        "schema": 1,
        "quick": False,
        "complete": True,
        "finished": "2026-12-02T12:00",
        "device_signature": device_signature("cpu"),
        "runs": runs,
        **fields,
    }


def write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


# ---------------------------------------------------------------------- run keys
def test_run_key_differs_by_precision_backend_and_xla(clean_env, monkeypatch):
    keys = {}
    for backend, precision in (
        ("tensorflow", "float32"),
        ("tensorflow", "mixed_bfloat16"),
        ("tensorflow-xla", "float32"),
        ("jax", "float32"),
        ("torch", "float32"),
    ):
        monkeypatch.setenv(BACKEND_ENV, backend)
        monkeypatch.setenv(PRECISION_ENV, precision)
        keys[backend, precision] = run_key(VARIANT, "f" * 16)
    assert len(set(keys.values())) == len(keys)
    monkeypatch.setenv(BACKEND_ENV, "tensorflow-xla")
    monkeypatch.setenv(PRECISION_ENV, "mixed_bfloat16")
    env = environment()
    assert (env["backend"], env["precision"], env["jit_compile"]) == (
        "tensorflow",
        "mixed_bfloat16",
        True,
    )


def test_auto_without_a_measurement_is_the_default_and_says_so(clean_env, monkeypatch):
    choice = resolve("cpu")
    assert choice.setting == Setting("tensorflow", "float32")
    assert "the default" in choice.reason and "absent" in choice.reason
    automatic = run_key(VARIANT, "f" * 16)
    monkeypatch.setenv(BACKEND_ENV, "tensorflow")
    monkeypatch.setenv(PRECISION_ENV, "float32")
    assert run_key(VARIANT, "f" * 16) == automatic


# ---------------------------------------------------------------------- auto
SPEED = {
    "tensorflow:float32": 1.0,
    "tensorflow:mixed_bfloat16": 1.6,
    "tensorflow-xla:float32": 1.3,
    "jax:float32": 0.8,
}
SAME = dict.fromkeys(SPEED, 0.80)


def test_auto_picks_the_winner_of_the_recorded_measurement_not_a_guess(clean_env):
    write(clean_env, measurement(SPEED, SAME))
    choice = resolve("cpu")
    assert choice.setting == Setting("tensorflow", "mixed_bfloat16")
    assert "measured winner" in choice.reason and "1.60x" in choice.reason
    assert environment()["precision"] == "mixed_bfloat16"  # and the run key follows it
    # Another record on the same device, another winner: the choice follows the record.
    write(clean_env, measurement({**SPEED, "jax:float32": 2.0}, SAME))
    assert resolve("cpu").setting == Setting("jax", "float32")


def test_auto_passes_over_a_faster_setting_that_loses_accuracy(clean_env):
    write(clean_env, measurement(SPEED, {**SAME, "tensorflow:mixed_bfloat16": 0.786}))
    assert resolve("cpu").setting == Setting("tensorflow-xla", "float32")
    reason = compute_choice.disqualification(
        "tensorflow:mixed_bfloat16",
        compute_choice.summarize(
            measurement(SPEED, {**SAME, "tensorflow:mixed_bfloat16": 0.786})["runs"]
        ),
    )
    assert reason is not None and "less accurate" in reason


def test_the_committed_measurement_keeps_float32_and_says_why():
    """benchmarks/backends.json (2 cores, 3 seeds): bfloat16 is 1.48x faster but loses
    0.6 points on the flagship, over the half-point tolerance; a tenth of a point more
    bfloat16 accuracy per flagship run would make it the winner."""
    record = json.loads((Path(__file__).parents[1] / "benchmarks/backends.json").read_text())
    allowed = [Setting("tensorflow"), Setting("tensorflow", "mixed_bfloat16")]
    signature = record["device_signature"]
    winner, reason = compute_choice.pick(record, signature, Setting("tensorflow"), allowed)
    assert winner is None
    assert "mixed_bfloat16 (1.48x) is 0.6 points less accurate" in reason and "flagship" in reason
    for run in record["runs"]:
        if run["setting"] == "tensorflow:mixed_bfloat16" and run["family"] == "flagship":
            run["final_accuracy"] += 0.001
    winner, reason = compute_choice.pick(record, signature, Setting("tensorflow"), allowed)
    assert winner == Setting("tensorflow", "mixed_bfloat16") and "1.48x" in reason


def test_auto_keeps_the_default_for_a_small_gain_a_quick_check_or_another_device(clean_env):
    write(
        clean_env,
        measurement(
            {"tensorflow:float32": 1.0, "jax:float32": 1.03},
            {"tensorflow:float32": 0.8, "jax:float32": 0.8},
        ),
    )
    choice = resolve("cpu")
    assert choice.setting == Setting("tensorflow") and "1.05x" in choice.reason
    write(clean_env, measurement(SPEED, SAME, quick=True))
    choice = resolve("cpu")
    assert choice.setting == Setting("tensorflow") and "--quick" in choice.reason
    other = {**device_signature("cpu"), "cpu_count": 64}
    write(clean_env, measurement(SPEED, SAME, device_signature=other))
    choice = resolve("cpu")
    assert choice.setting == Setting("tensorflow") and "not on this device" in choice.reason


def test_auto_chooses_only_among_what_is_pinned_and_installed(clean_env, monkeypatch):
    speed = {**SPEED, "jax:float32": 3.0}
    write(clean_env, measurement(speed, dict.fromkeys(speed, 0.8)))
    assert resolve("cpu").setting == Setting("jax")
    monkeypatch.setattr(compute_choice, "installed", lambda backend: backend != "jax")
    assert resolve("cpu").setting == Setting("tensorflow", "mixed_bfloat16")
    monkeypatch.setenv(PRECISION_ENV, "float32")  # precision pinned: the backend is auto
    assert resolve("cpu").setting == Setting("tensorflow-xla", "float32")
    monkeypatch.setenv("KERAS_BACKEND", "torch")  # library pinned, not measured: default
    choice = resolve("cpu")
    assert choice.setting == Setting("torch", "float32")
    assert "(torch:float32) was measured and qualifies" in choice.reason


def test_a_bad_choice_or_a_broken_measurement_is_a_clear_error(clean_env, monkeypatch):
    monkeypatch.setenv(PRECISION_ENV, "bfloat16")
    with pytest.raises(ComputeChoiceError, match="CIFAR_REPORT_PRECISION='bfloat16'"):
        resolve("cpu")
    monkeypatch.delenv(PRECISION_ENV)
    monkeypatch.setenv(BACKEND_ENV, "jax")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    with pytest.raises(ComputeChoiceError, match="one backend per process"):
        resolve("cpu")
    monkeypatch.delenv("KERAS_BACKEND")
    clean_env.write_text("{not json")
    with pytest.raises(ComputeChoiceError, match="backends.json"):
        resolve("cpu")


# ---------------------------------------------------------------------- the command line
def run_cli(argv: list[str]) -> tuple[int, str, str]:
    from cifar_core.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_a_backend_that_is_not_installed_exits_2_before_training(clean_env, monkeypatch, tmp_path):
    monkeypatch.setattr(compute_choice, "installed", lambda backend: backend != "torch")
    code, out, err = run_cli(
        [
            "train",
            "s000_mlp",
            "--data",
            "synthetic",
            "--runs",
            str(tmp_path / "runs"),
            "--backend",
            "torch",
        ]
    )
    assert code == 2 and "torch package, which is not installed" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert os.environ.get(BACKEND_ENV) is None  # the command leaves the environment as it was


@TENSORFLOW_ONLY
def test_the_command_line_shows_the_choice_and_hands_it_to_workers(clean_env, monkeypatch):
    from cifar_core.cli import build_parser
    from cifar_core.cli.options import compute_choice_applied
    from cifar_core.runs.hardware import worker_environment

    write(clean_env, measurement(SPEED, SAME))
    args = build_parser().parse_args(["train", "s000_mlp"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), compute_choice_applied(args):
        assert os.environ[PRECISION_ENV] == "mixed_bfloat16"  # auto, resolved once
        assert os.environ["KERAS_BACKEND"] == "tensorflow"
        assert worker_environment(1)[PRECISION_ENV] == "mixed_bfloat16"
    assert (
        "backend and precision: tensorflow, mixed_bfloat16 (chosen automatically" in out.getvalue()
    )
    assert PRECISION_ENV not in os.environ
    args = build_parser().parse_args(["train", "s000_mlp", "--precision", "float32"])
    with contextlib.redirect_stdout(io.StringIO()), compute_choice_applied(args):
        assert environment()["precision"] == "float32"


# ---------------------------------------------------------------------- runs and tables
def test_a_bfloat16_row_lands_in_the_float32_table_labelled(clean_env):
    from cifar_core.analysis.views.runs import display_table, runs_table

    def run(precision: str, accuracy: float) -> SimpleNamespace:
        return SimpleNamespace(
            metrics={"backend": "tensorflow", "precision": precision, "test_accuracy": accuracy}
        )

    same = runs_table({"a": [run("float32", 0.5)], "b": [run("float32", 0.6)]})
    assert "trained_with" not in same
    mixed = runs_table({"a": [run("float32", 0.5)], "b": [run("mixed_bfloat16", 0.6)]})
    assert mixed.set_index("variant")["trained_with"].to_dict() == {
        "a": "tensorflow float32",
        "b": "tensorflow mixed_bfloat16",
    }
    assert mixed["test_accuracy_mean"].tolist() == [0.5, 0.6]
    assert display_table(mixed)["trained with"].tolist() == [
        "tensorflow float32",
        "tensorflow mixed_bfloat16",
    ]


@pytest.fixture
def keras_policy_restored():
    import keras

    yield
    keras.mixed_precision.set_global_policy("float32")


def test_a_bfloat16_run_is_stored_beside_the_float32_one_and_labelled_in_its_table(
    clean_env, monkeypatch, tiny_dataset, tmp_path, keras_policy_restored
):
    """On the backend this process runs (the tests run on each); XLA on TensorFlow."""
    from cifar_core.analysis.views.runs import display_table, runs_table
    from cifar_core.runs.store import RunStore
    from cifar_core.runs.train import get_or_train

    library = os.environ.get("KERAS_BACKEND") or "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", library)
    settings = [(library, "float32"), (library, "mixed_bfloat16")]
    if library == "tensorflow":
        settings.append(("tensorflow-xla", "float32"))
    store, lines = RunStore(tmp_path / "runs"), []
    runs = {}
    for backend, precision in settings:
        monkeypatch.setenv(BACKEND_ENV, backend)
        monkeypatch.setenv(PRECISION_ENV, precision)
        runs[backend, precision] = get_or_train(
            VARIANT, tiny_dataset, store, verbose=0, log=lines.append
        )
    assert len({r.key for r in runs.values()}) == len(settings)  # nothing reused across them
    assert not any(line.startswith("reused") for line in lines)
    bf16 = runs[library, "mixed_bfloat16"].metrics
    assert bf16["precision"] == "mixed_bfloat16" and bf16["backend"] == library
    assert bf16["test_loss"] == bf16["test_loss"]  # not NaN
    assert runs[library, "float32"].metrics["precision"] == "float32"
    # The stored runs, as a chapter reads them: one table, each row saying what trained it.
    table = runs_table(
        {"f32": [runs[library, "float32"]], "bf16": [runs[library, "mixed_bfloat16"]]}
    )
    rows = display_table(table).set_index("variant")["trained with"].to_dict()
    assert rows == {"f32": f"{library} float32", "bf16": f"{library} mixed_bfloat16"}
    assert table.set_index("variant").loc["bf16", "test_accuracy_mean"] == bf16["test_accuracy"]
    if library == "tensorflow":
        xla = runs["tensorflow-xla", "float32"].metrics
        assert xla["jit_compile"] is True and xla["jit_compiled"] is True
        assert runs["tensorflow", "float32"].metrics["jit_compiled"] is False
        assert compute_choice.training_label(xla) == "tensorflow-xla float32"
