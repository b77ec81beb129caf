"""The one prediction function: each test-time view, their weighting, and the exact
float32 arithmetic that every stored ``test_probs`` depends on."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")

from cifar_core.runs.predict import (  # noqa: E402
    TRANSLATE_SHIFTS,
    average_views,
    flip_images,
    predict,
    translate_images,
    translate_shifts,
)


@pytest.fixture(scope="module")
def model():
    """Softmax of the left column's pixels: neither mirror- nor translation-invariant."""
    inputs = keras.Input((4, 4, 1))
    column = keras.layers.Lambda(lambda t: t[:, :, 0, 0])(inputs)
    return keras.Model(inputs, keras.layers.Softmax()(keras.layers.Reshape((4,))(column)))


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((300, 4, 4, 1)).astype("float32")


def one_pass(model, x):
    return model.predict(x, batch_size=256, verbose=0)


def test_plain_is_one_forward_pass(model, images):
    probs = predict(model, images)
    assert probs.dtype == np.float32 and probs.shape == (300, 4)
    np.testing.assert_array_equal(probs, one_pass(model, images))


def test_flip_is_the_mean_of_the_images_and_their_mirror_images(model, images):
    plain, mirrored = one_pass(model, images), one_pass(model, images[:, :, ::-1])
    assert not np.allclose(plain, mirrored)
    np.testing.assert_array_equal(predict(model, images, flip=True), (plain + mirrored) / 2)


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("pixels", [1, 2])
def test_translate_weighs_half_on_the_images_and_a_quarter_on_each_shift(
    model, images, flip, pixels
):
    """The arithmetic training used before the views were one function, written out:
    every stored test_probs has exactly these bits."""

    def pair(x):
        probs = one_pass(model, x)
        return (probs + one_pass(model, x[:, :, ::-1])) / 2 if flip else probs

    padded = np.pad(images, ((0, 0), (pixels,) * 2, (pixels,) * 2, (0, 0)), mode="reflect")
    down_right, up_left = padded[:, :4, :4], padded[:, 2 * pixels :, 2 * pixels :]
    expected = pair(images) / 2 + (pair(down_right) + pair(up_left)) / 4
    got = predict(model, images, flip=flip, translate=pixels)
    np.testing.assert_array_equal(got, expected.astype("float32"))
    assert not np.allclose(got, predict(model, images, flip=flip))


def test_an_empty_set_has_no_rows(model):
    assert predict(model, np.zeros((0, 4, 4, 1), "float32"), flip=True).shape == (0, 4)


def test_cached_single_views_recombine_to_the_same_probabilities(model, images):
    """What the TTA chapter does with cached passes equals what training computes."""
    plain, mirrored = one_pass(model, images), one_pass(model, flip_images(images))
    translated = [
        [one_pass(model, moved), one_pass(model, flip_images(moved))]
        for moved in (translate_images(images, dy, dx) for dy, dx in TRANSLATE_SHIFTS)
    ]
    np.testing.assert_array_equal(
        average_views(plain, mirrored, translated), predict(model, images, flip=True, translate=1)
    )
    np.testing.assert_array_equal(
        average_views(plain, translated=[[views[0]] for views in translated]),
        predict(model, images, translate=1),
    )


def test_translate_moves_content_and_reflects_the_border():
    image = np.arange(16).reshape(1, 4, 4, 1)
    down_right = translate_images(image, 1, 1)[0, :, :, 0]
    np.testing.assert_array_equal(down_right[1:, 1:], image[0, :3, :3, 0])
    np.testing.assert_array_equal(down_right[0, 1:], image[0, 1, :3, 0])  # reflected row
    np.testing.assert_array_equal(translate_images(image, -1, 0)[0, :3, :, 0], image[0, 1:, :, 0])
    with pytest.raises(ValueError, match="not smaller than"):
        translate_images(image, 4, 0)
    assert translate_shifts(2) == ((-2, -2), (2, 2)) and translate_shifts(1) == TRANSLATE_SHIFTS


def test_views_are_weighted_as_airbench_does():
    plain, flipped = np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]])
    shifted = [[np.array([[0.0, 1.0]]), np.array([[0.0, 1.0]])]] * 2
    np.testing.assert_array_equal(average_views(plain, flipped, shifted), [[0.5, 0.5]])
    np.testing.assert_array_equal(average_views(plain, np.array([[0.0, 1.0]])), [[0.5, 0.5]])


def test_prediction_and_cost_modules_do_not_import_keras():
    """Cold paths (plan, status, cached chapters) import these; the model brings Keras."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, cifar_core.runs.predict, cifar_core.runs.flops, "
        "cifar_core.runs.compute_plan, cifar_core.runs.derived_predictions, "
        "cifar_core.runs.knn, cifar_core.runs.executors; "
        "print(sorted(m for m in ('keras', 'tensorflow', 'sklearn') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.stdout.strip() == "[]"
