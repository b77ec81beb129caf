"""The rehearsal: a training cap that keeps every variant's architecture, batch size,
seeds and data size, and never shares a run key with a real run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from cifar_core.data.dataset import Dataset  # noqa: E402
from cifar_core.data.synthetic import make_synthetic  # noqa: E402
from cifar_core.experiments.profiles import Profile  # noqa: E402
from cifar_core.experiments.variant import Variant, VariantError  # noqa: E402
from cifar_core.runs.keys import run_key  # noqa: E402
from cifar_core.runs.store import RunStore  # noqa: E402
from tests.support.fixtures import load_benchmark  # noqa: E402

BASE = Variant(name="tiny", family="mlp", params={"units": [16]}, epochs=2, batch_size=16, seed=1)


def small_dataset(n_train: int, n_test: int) -> Dataset:
    x, y, xt, yt, names = make_synthetic(n_train, n_test, seed=3)
    return Dataset(x, y, xt, yt, names, "synthetic", True, "synthetic")


def test_the_cap_is_validated_and_only_a_capped_variant_hashes_differently():
    assert "max_steps_per_epoch" not in BASE.normalized()  # uncapped: hashed as before
    capped = BASE.replace(max_steps_per_epoch=3)
    assert capped.normalized()["max_steps_per_epoch"] == 3
    assert run_key(capped, "f" * 16) != run_key(BASE, "f" * 16)
    assert run_key(capped, "f" * 16) != run_key(BASE.replace(max_steps_per_epoch=4), "f" * 16)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(VariantError, match="max_steps_per_epoch"):
            BASE.replace(max_steps_per_epoch=bad)


def test_a_profile_gives_its_cap_to_every_variant_and_keeps_the_rest():
    profile = Profile("r", "a rehearsal", "synthetic", (0, 1), max_steps_per_epoch=2)
    scaled = profile.scale(BASE.replace(batch_size=100), seed=1)
    assert scaled.max_steps_per_epoch == 2
    assert (scaled.batch_size, scaled.params, scaled.seed) == (100, BASE.params, 1)
    real = Profile("f", "full", "synthetic", (0, 1)).scale(BASE)
    assert real.max_steps_per_epoch is None


def test_augmented_batches_stop_at_the_cap():
    from cifar_core.runs.batches import AugmentedBatches

    x = np.zeros((100, 8, 8, 3), "float32")
    y = np.eye(100, 10, dtype="float32")
    assert AugmentedBatches(x, y, batch_size=10, translate=1).steps_per_epoch == 10
    capped = AugmentedBatches(x, y, batch_size=10, translate=1, max_steps_per_epoch=3)
    assert capped.steps_per_epoch == 3 and capped[3][0].shape == (10, 8, 8, 3)


@pytest.mark.parametrize("augmentation", [{}, {"translate": 2}], ids=["arrays", "batches"])
def test_a_capped_run_trains_a_few_steps_and_predicts_val_and_test_in_full(tmp_path, augmentation):
    from cifar_core.runs.train import get_or_train

    data = small_dataset(700, 60)  # 560 training images: 35 steps per epoch uncapped
    capped = BASE.replace(max_steps_per_epoch=1, augmentation=augmentation)
    run = get_or_train(capped, data, RunStore(tmp_path), verbose=0, log=lambda line: None)
    assert int(run.load_model(compile=True).optimizer.iterations) == 2  # 1 step × 2 epochs
    metrics = run.metrics
    assert metrics["n_train"] == 560 and metrics["n_train_scored"] == 256
    assert (
        set(metrics["inference_s"]) == set(metrics["inference_cpu_s"]) == {"train", "val", "test"}
    )
    assert all(seconds > 0 for seconds in metrics["inference_s"].values())
    assert metrics["cpu_s"] > 0 and metrics["peak_rss"] > 100_000_000  # Keras is loaded
    predictions = run.predictions()
    assert len(predictions["val_probs"]) == 140 and len(predictions["test_probs"]) == 60
    assert run.config["variant"]["max_steps_per_epoch"] == 1


def test_a_chapter_kernels_peak_memory_and_cpu_seconds_are_measured():
    import subprocess
    import sys

    from cifar_core.orchestrate.measure import ChildUsage

    if not Path("/proc/self/status").is_file():
        pytest.skip("no /proc: peak memory of child processes is not measured here")
    grow_and_shrink = (
        "b = b'x' * 300_000_000; del b; import time; t = time.process_time()\n"
        "while time.process_time() - t < 0.5: pass\ntime.sleep(0.5)"
    )
    with ChildUsage(interval=0.05) as usage:
        subprocess.run([sys.executable, "-c", grow_and_shrink], check=True)
    assert usage.peak_rss is not None and usage.peak_rss > 300e6  # the peak, not the end
    assert usage.cpu_s is not None and 0.5 <= usage.cpu_s < 5  # busy 0.5 s, then asleep
    with ChildUsage(interval=0.05) as nothing:
        pass
    assert nothing.peak_rss is None and nothing.cpu_s is None  # the driver is no chapter


def test_a_build_record_holds_chapters_and_driver_phases(tmp_path):
    import json

    from cifar_core.orchestrate.measure import MEASUREMENTS, DriverPhases, write_build_record

    phases = DriverPhases()
    phases.mark("data loaded")
    write_build_record(
        tmp_path,
        profile="rehearsal",
        dataset={"n_test": 10_000},
        chapters=[{"name": "01-data", "status": "executed", "seconds": 2.0, "peak_rss": 10}],
        driver=phases,
        trained=3,
        exit_code=0,
    )
    record = json.loads((tmp_path / MEASUREMENTS).read_text())
    assert record["chapters"][0]["peak_rss"] == 10 and record["runs_trained"] == 3
    assert record["driver"][0]["phase"] == "data loaded"
    assert record["driver"][0]["peak_rss"] > 10_000_000  # a Python process with NumPy


# A reduced rehearsal, built for real: two small variants of the full profile, one seed,
# capped training, on the rehearsal's own 50,000 / 10,000 generated images, and one
# chapter that computes paired per-class intervals over the 10,000 test images. It
# keeps the full-size code paths exercised (split of 50,000 images, prediction of
# 10,000 validation and 10,000 test images, statistics over 10,000 paired images) at
# the cost of one capped build; the full rehearsal is benchmarks/rehearsal.py.
REDUCED = ["s000_cnn1", "s000_cnn2"]
REDUCED_CHAPTER = "13-per-class"
REDUCED_PARAMETERS = {
    "variants": REDUCED,
    "seeds": 1,
    "comparisons": {"depth": REDUCED},
}


@pytest.mark.slow
def test_a_reduced_rehearsal_plans_trains_and_runs_a_chapter_at_full_size(tmp_path):
    import json
    import shutil

    from cifar_core.orchestrate import notebooks
    from cifar_core.orchestrate.build import build
    from cifar_core.orchestrate.measure import MEASUREMENTS
    from cifar_core.runs.compute_plan import compute_plan
    from cifar_core.runs.executors import LocalExecutor

    project = Path(__file__).resolve().parents[1]
    shutil.copytree(project / "analyses", tmp_path / "analyses")
    for name in ("index.qmd", "references.bib", *(p.name for p in project.glob("_quarto*.yml"))):
        shutil.copy2(project / name, tmp_path / name)
    notebooks.save_overrides(tmp_path, "rehearsal", REDUCED_CHAPTER, REDUCED_PARAMETERS)

    plan = compute_plan("rehearsal", names=REDUCED, speed=None).runs
    assert set(plan["n_train"]) == {40_000} and set(plan["n_test"]) == {10_000}
    assert set(plan["train_steps"]) == {2 * 2}  # 2 epochs of REHEARSAL_STEPS, not 2 × 1,250

    lines: list[str] = []
    result = build(
        "rehearsal",
        root=tmp_path,
        runs_dir=tmp_path / "runs",
        analyses=[REDUCED_CHAPTER],
        render=False,
        executor=LocalExecutor(jobs=1),  # in this process: no second TensorFlow start
        log=lines.append,
    )
    assert result.ok, "\n".join(lines)
    assert len(result.trained) == 2 and [c.status for c in result.chapters] == ["executed"]

    store = RunStore(tmp_path / "runs")
    for key in result.trained:
        run = store.get(key)
        assert run is not None
        metrics = run.metrics
        assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (40_000, 10_000, 10_000)
        assert metrics["n_train_scored"] < 40_000  # the cap scores the first batches only
        assert len(run.predictions()["test_probs"]) == 10_000
        variant = run.config["variant"]
        planned = plan.loc[(plan["name"] == variant["name"]) & (plan["seed"] == variant["seed"])]
        steps = int(run.load_model(compile=True).optimizer.iterations)
        assert list(planned["train_steps"]) == [steps]  # the plan prices what trains

    record = json.loads((tmp_path / MEASUREMENTS).read_text())
    assert record["dataset"]["n_test"] == 10_000 and record["exit_code"] == 0
    (chapter,) = record["chapters"]
    assert chapter["name"] == REDUCED_CHAPTER and chapter["peak_rss"] > 50_000_000
    executed = json.loads((tmp_path / "notebooks" / f"{REDUCED_CHAPTER}.ipynb").read_text())
    printed = "".join(
        "".join(output.get("text", ""))
        for cell in executed["cells"]
        for output in cell.get("outputs", [])
    )
    assert "2 variant(s) x 10 classes; 2 listed changes" in printed


def test_the_rehearsal_benchmark_reports_a_finished_workdir_and_the_missed_targets(
    tmp_path, capsys
):
    import json

    from cifar_core.orchestrate.measure import MEASUREMENTS

    benchmark = load_benchmark("rehearsal")

    (tmp_path / MEASUREMENTS).parent.mkdir()
    (tmp_path / MEASUREMENTS).write_text(
        json.dumps(
            {
                "dataset": {"n_train": 50_000, "n_test": 10_000, "synthetic": True},
                "runs_trained": 1,
                "chapters": [
                    {"name": "01-data", "status": "executed", "seconds": 12.0, "cpu_s": 9.0},
                    {"name": "12-robustness", "status": "executed", "seconds": 900.0},
                ],
                "driver": [{"phase": "data loaded", "peak_rss": 500_000_000, "elapsed_s": 4.0}],
            }
        )
    )
    run = tmp_path / "runs" / "abc"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(
        json.dumps({"n_test": 10_000, "inference_s": {"test": 3.0, "val": 2.5}})
    )
    (run / "config.json").write_text(
        json.dumps({"variant": {"name": "s000_cnn1", "seed": 0, "family": "cnn"}})
    )
    assert benchmark.main(["--workdir", str(tmp_path), "--report-only"]) == 1
    out = capsys.readouterr().out
    assert "| 01-data | executed | 12 s | 9 s |" in out
    assert "| cnn | 1 | 10,000 | 3 s (3 s) | 2 s |" in out
    assert "MISSED: 12-robustness took 15.0 min (target 10 min)" in out
    saved = json.loads((tmp_path / "rehearsal.json").read_text())
    assert saved["runs"][0]["test_inference_s"] == 3.0
    assert saved["output"] == {"html": None, "pdf": None}  # nothing rendered here
    # what the reader's checks of a rendered report count as missed
    unsorted = {"found": True, "shown": 10, "pages": 9, "top": [1, 2]}
    checked = {
        "html": {"problems": ["horizontal scrollbar"], "runs_table": unsorted},
        "pdf": {"pages": 40, "problems": [], "run_keys": 168, "run_keys_printed": 160},
    }
    assert benchmark.output_problems(checked, 168) == [
        "HTML: horizontal scrollbar",
        f"HTML: the runs table is not paged or sorted: {unsorted}",
        "PDF: 160 of 168 run keys printed",
    ]
    checked["html"]["runs_table"] = {"found": False}
    assert "HTML: no interactive table of 168 entries" in benchmark.output_problems(checked, 168)


def test_report_only_prices_a_record_whose_build_found_no_speed(tmp_path, monkeypatch, capsys):
    import json

    benchmark = load_benchmark("rehearsal")
    build = {"exit_code": 0, "wall_s": 60.0, "peak_rss": 1e9, "cpu_s": 60.0}
    build |= {"load_before": 0.1, "load_after": 0.1, "only": None, "parameters": {}}
    build |= {"jobs": "auto", "cpus": 2, "plan": {"whole_build_s_here": None}}
    (tmp_path / "rehearsal.json").write_text(json.dumps({"build": build}))
    priced = {"training_s_here": 60.0, "analysis_s_here": 0.0, "whole_build_s_here": 60.0}
    monkeypatch.setattr(benchmark, "plan_estimate", lambda workdir, args: priced)

    benchmark.main(["--workdir", str(tmp_path), "--report-only"])

    saved = json.loads((tmp_path / "rehearsal.json").read_text())
    assert saved["build"]["plan"] == priced
