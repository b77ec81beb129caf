"""Predictions of a stored run on flipped, translated and corrupted test sets: the same
preprocessing as training, cached beside the store, read back without Keras."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
pytest.importorskip("keras")

from cifar_core.experiments.variant import Variant  # noqa: E402
from cifar_core.runs import derived_predictions as dp  # noqa: E402
from cifar_core.runs.manifest import run_identity  # noqa: E402
from cifar_core.runs.predict import translate_images  # noqa: E402
from cifar_core.runs.store import RunStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASE = {
    "name": "tiny-derived",
    "family": "mlp",
    "params": {"units": [32]},
    "epochs": 1,
    "batch_size": 32,
    "preprocessing": "channel_zscore",
    "seed": 2,
}


def is_cached(run, name: str) -> bool:
    """Whether the derived result ``name`` (e.g. ``"flip"``) of ``run``'s current model is
    on disk, as the module's cache reads it."""
    return dp._read(dp._cache_path(run, name), run_identity(run.path)) is not None


@pytest.fixture(scope="module")
def runs(tiny_dataset, tmp_path_factory):
    """Two one-epoch runs on ``tiny_dataset``: plain inference and flip-TTA inference."""
    from cifar_core.runs.train import get_or_train

    store = RunStore(tmp_path_factory.mktemp("runs"))

    def train(**changes):
        return get_or_train(
            Variant.from_dict({**BASE, **changes}),
            tiny_dataset,
            store,
            verbose=0,
            log=lambda _: None,
        )

    return train(), train(name="tiny-derived-tta", tta_flip=True)


@pytest.fixture(scope="module")
def translate_run(tiny_dataset, runs):
    """A run whose own recipe is airbench's: flip and one-pixel translations."""
    from cifar_core.runs.train import get_or_train

    return get_or_train(
        Variant.from_dict(
            {**BASE, "name": "tiny-derived-tt", "tta_flip": True, "tta_translate": 1}
        ),
        tiny_dataset,
        RunStore(runs[0].path.parent),
        verbose=0,
        log=lambda _: None,
    )


def test_recomputed_clean_predictions_match_the_stored_ones(runs, tiny_dataset):
    plain_run, _ = runs
    again = dp.model_probs(plain_run, tiny_dataset, tiny_dataset.x_test)
    np.testing.assert_allclose(again, plain_run.predictions()["test_probs"], atol=1e-5)


def test_flipped_predictions_are_cached_and_reused_without_the_model(
    runs, tiny_dataset, monkeypatch
):
    run, _ = runs
    first = dp.flipped_test_probs(run, tiny_dataset)
    cache = dp.derived_dir(run) / f"flip-v{dp.DERIVED_VERSION}.npz"
    assert cache.is_file() and cache.parent == run.path.parent / ".derived" / run.key
    assert not list(cache.parent.glob("*.tmp"))
    assert first.shape == (len(tiny_dataset.y_test), 10) and first.dtype == np.float32
    assert not np.allclose(first, run.predictions()["test_probs"])  # flipping changed something
    monkeypatch.setattr(dp, "_model", lambda run: pytest.fail("the model was loaded again"))
    np.testing.assert_array_equal(dp.flipped_test_probs(run), first)  # no dataset needed now
    assert is_cached(run, "flip")


def test_a_fresh_process_reads_the_cache_without_importing_keras(runs, tiny_dataset):
    run, _ = runs
    dp.flipped_test_probs(run, tiny_dataset)
    dp.corruption_test_probs(run, tiny_dataset, ["contrast"], [1])
    code = f"""
import sys
from cifar_core.runs.store import RunStore
from cifar_core.runs import derived_predictions as dp
run = RunStore({str(run.path.parent)!r}).get({run.key!r})
flip = dp.flipped_test_probs(run)
table = dp.corruption_accuracy(run, None, ["contrast"], [1])
assert flip.shape[1] == 10 and len(table) == 1, (flip.shape, table)
heavy = [m for m in ("keras", "tensorflow", "torch", "jax") if m in sys.modules]
assert not heavy, heavy
"""
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_tta_of_plain_and_flipped_reproduces_a_tta_runs_stored_predictions(runs, tiny_dataset):
    _, tta_run = runs
    plain = dp.plain_test_probs(tta_run, tiny_dataset)
    flipped = dp.flipped_test_probs(tta_run, tiny_dataset)
    assert is_cached(tta_run, "plain")
    np.testing.assert_allclose(
        dp.tta_probs(plain, flipped), tta_run.predictions()["test_probs"], atol=1e-5
    )
    labels = tta_run.predictions()["test_labels"]
    accuracy = np.mean(dp.tta_probs(plain, flipped).argmax(axis=1) == labels)
    assert accuracy == pytest.approx(tta_run.metrics["test_accuracy"])


def test_views_recombine_to_a_flip_and_translate_runs_own_recipe(translate_run, tiny_dataset):
    run = translate_run
    plain = dp.plain_test_probs(run, tiny_dataset)
    assert is_cached(run, "plain")  # its stored predictions are averaged: not one pass
    combined = dp.translate_tta_probs(
        plain, dp.flipped_test_probs(run, tiny_dataset), dp.translated_test_probs(run, tiny_dataset)
    )
    np.testing.assert_allclose(combined, run.predictions()["test_probs"], atol=1e-5)
    # corrupted sets are scored with the same recipe as the stored clean accuracy
    from cifar_core.data.corruptions import cached_corruption

    images = cached_corruption(
        tiny_dataset.x_test, "contrast", 3, fingerprint=tiny_dataset.fingerprint
    )
    np.testing.assert_allclose(
        dp.corruption_test_probs(run, tiny_dataset, ["contrast"], [3])[("contrast", 3)],
        dp.model_probs(run, tiny_dataset, images, flip=True, translate=1),
        atol=1e-6,
    )


def test_plain_probs_of_a_run_without_tta_are_the_stored_ones(runs):
    run, _ = runs
    np.testing.assert_array_equal(dp.plain_test_probs(run), run.predictions()["test_probs"])
    assert not is_cached(run, "plain")


def test_translated_predictions_have_one_pair_per_shift(runs, tiny_dataset):
    run, _ = runs
    views = dp.translated_test_probs(run, tiny_dataset)
    assert views.shape == (2, 2, len(tiny_dataset.y_test), 10)
    assert is_cached(run, "translate-m1m1_p1p1")
    expected = dp.model_probs(run, tiny_dataset, translate_images(tiny_dataset.x_test, 1, 1))
    np.testing.assert_allclose(views[1, 0], expected, atol=1e-6)
    combined = dp.translate_tta_probs(
        run.predictions()["test_probs"], dp.flipped_test_probs(run, tiny_dataset), views
    )
    np.testing.assert_allclose(combined.sum(axis=1), 1.0, atol=1e-5)


def test_translated_views_predicted_a_few_at_a_time_equal_one_call(runs, tiny_dataset, monkeypatch):
    """At full size the views are predicted in chunks of PREDICT_IMAGES images: force
    one view per call and compare with the views in one call."""
    run, _ = runs
    monkeypatch.setattr(dp, "TRANSLATE_SHIFTS", ((1, 0), (0, -1)))
    calls: list[int] = []
    model_probs = dp.model_probs

    def counted(run, dataset, images, **views):
        calls.append(len(images))
        return model_probs(run, dataset, images, **views)

    monkeypatch.setattr(dp, "model_probs", counted)
    one_call = dp.translated_test_probs(run, tiny_dataset)
    size = len(tiny_dataset.x_test)
    assert calls == [4 * size]
    dp._cache_path(run, "translate-p1p0_p0m1").unlink()
    monkeypatch.setattr(dp, "PREDICT_IMAGES", size)
    calls.clear()
    chunked = dp.translated_test_probs(run, tiny_dataset)
    assert calls == [size] * 4
    np.testing.assert_allclose(chunked, one_call, atol=1e-6)
    moved_flipped = translate_images(tiny_dataset.x_test, 0, -1)[:, :, ::-1]
    np.testing.assert_allclose(
        chunked[1, 1], model_probs(run, tiny_dataset, moved_flipped), atol=1e-6
    )


def test_corruption_predictions_use_the_cached_corrupted_images(runs, tiny_dataset):
    from cifar_core.data.corruptions import cached_corruption

    run, tta_run = runs
    probs = dp.corruption_test_probs(
        run, tiny_dataset, ["gaussian_noise", "contrast"], [1, 5], seed=4
    )
    assert sorted(probs) == [
        ("contrast", 1),
        ("contrast", 5),
        ("gaussian_noise", 1),
        ("gaussian_noise", 5),
    ]
    assert is_cached(run, "corruption-gaussian_noise-s5-seed4-c1")
    images = cached_corruption(
        tiny_dataset.x_test, "contrast", 5, fingerprint=tiny_dataset.fingerprint
    )
    np.testing.assert_allclose(
        probs[("contrast", 5)], dp.model_probs(run, tiny_dataset, images), atol=1e-6
    )
    # a tta_flip run is scored with its own recipe, the flip average
    tta = dp.corruption_test_probs(tta_run, tiny_dataset, ["contrast"], [5])[("contrast", 5)]
    np.testing.assert_allclose(
        tta, dp.model_probs(tta_run, tiny_dataset, images, flip=True), atol=1e-6
    )
    table = dp.corruption_accuracy(run, tiny_dataset, ["contrast"], [1, 5])
    assert list(table.columns) == ["corruption", "severity", "accuracy"] and len(table) == 2


def test_a_cache_miss_needs_the_runs_own_dataset(runs, tiny_dataset):
    run, _ = runs
    with pytest.raises(ValueError, match="not cached yet: pass the dataset"):
        dp.corruption_test_probs(run, None, ["brightness"], [2])
    other = SimpleNamespace(fingerprint="0" * 16, source="elsewhere")
    with pytest.raises(
        ValueError, match=f"fingerprint {tiny_dataset.fingerprint}.*0000000000000000"
    ):
        dp.corruption_test_probs(run, other, ["brightness"], [2])


# ----------------------------------------------------------------------------- pure parts
def test_tta_combines_cached_views_in_float64():
    plain = np.array([[0.6, 0.4], [0.45, 0.55]], np.float32)
    flipped = np.array([[0.2, 0.8], [0.45, 0.55]], np.float32)
    combined = dp.tta_probs(plain, flipped)
    assert combined.dtype == np.float64
    np.testing.assert_array_equal(combined, (plain.astype(float) + flipped) / 2)


def test_translate_tta_weights_half_on_the_flip_pair():
    plain, flipped = np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]])
    translated = np.array([[[[0.0, 1.0]], [[0.0, 1.0]]], [[[0.0, 1.0]], [[0.0, 1.0]]]])
    np.testing.assert_allclose(dp.translate_tta_probs(plain, flipped, translated), [[0.5, 0.5]])


# ----------------------------------------------------------------------------- identity, provenance
def test_a_run_retrained_under_the_same_key_is_not_answered_from_the_old_cache(runs, tiny_dataset):
    run, _ = runs
    dp.flipped_test_probs(run, tiny_dataset)
    assert is_cached(run, "flip")
    manifest = run.path / "manifest.json"
    before = manifest.read_text()
    try:  # a new model under the same key has other checksums, so another manifest
        manifest.write_text(before.replace('"files"', '"files" ', 1))
        assert not is_cached(run, "flip")
    finally:
        manifest.write_text(before)
    assert is_cached(run, "flip")


CHAPTER = """# %% tags=["parameters"]
n: int = 1  # unused

# %%
from cifar_core.analysis.context import open_context
from cifar_core.runs import derived_predictions as dp
from cifar_core.runs.store import RunStore

flipped = dp.flipped_test_probs(RunStore({store!r}).get({key!r}))  # cached: no model, no data
ctx = open_context("d1")
ctx.publish({{"d1": {{"images": int(len(flipped))}}}})
"""


def test_a_chapter_records_the_derived_predictions_it_read_and_reruns_when_they_change(
    runs, tiny_dataset, tmp_path
):
    import shutil

    from cifar_core.orchestrate import build as orchestrator
    from cifar_core.orchestrate import provenance

    run, _ = runs
    cache = dp.derived_dir(run) / f"flip-v{dp.DERIVED_VERSION}.npz"
    dp.flipped_test_probs(run, tiny_dataset)
    (tmp_path / "analyses").mkdir()
    shutil.copy2(ROOT / "_quarto.yml", tmp_path / "_quarto.yml")
    (tmp_path / "analyses" / "d1.py").write_text(
        CHAPTER.format(store=str(run.path.parent), key=run.key)
    )

    def build():
        lines = []
        result = orchestrator.build(
            root=tmp_path,
            runs_dir=tmp_path / "runs",
            profile="smoke",
            render=False,
            log=lines.append,
        )
        return result, "\n".join(lines)

    first, log = build()
    assert first.executed == ["d1"], log
    record = provenance.load_record(tmp_path, "d1")
    assert record["derived"] == {str(cache): dp.content_digest(cache)}
    assert build()[0].reused == ["d1"]

    cache.unlink()  # deleted: the chapter is stale (it would recompute from the stored model)
    problems = orchestrator.chapter_problems(tmp_path)
    assert (
        len(problems) == 1
        and f"derived predictions no longer cached ({run.key[:12]} flip-v" in problems[0]
    )
    dp.flipped_test_probs(run, tiny_dataset)  # the same numbers recomputed: nothing to redo
    assert orchestrator.chapter_problems(tmp_path) == [] and build()[0].reused == ["d1"]

    with np.load(cache) as stored:  # other numbers under the same name: the chapter reruns
        dp._write(cache, stored["probs"][:, ::-1], str(stored["run"]))
    again, log = build()
    assert again.executed == ["d1"] and "derived predictions rewritten since" in log
    assert build()[0].reused == ["d1"]
