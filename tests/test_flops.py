"""The FLOP formulas: training is three forward passes per image and epoch; prediction
one per test-time view that :func:`cifar_core.runs.predict.predict` really runs."""

from __future__ import annotations

import numpy as np
import pytest

from cifar_core.experiments.variant import Variant
from cifar_core.runs.compute_plan import run_cost
from cifar_core.runs.flops import (
    TRAINING_PASSES,
    prediction_flops,
    prediction_passes,
    training_flops,
)
from cifar_core.runs.predict import predict


def test_training_is_three_forward_passes_per_image_and_epoch():
    assert TRAINING_PASSES == 3
    assert training_flops(7_831_296, 40_000, 100) == 7_831_296 * 3 * 40_000 * 100
    assert isinstance(training_flops(7, 2, 1), int)  # exact for counts
    assert training_flops(2e6, 40_000.0, 5.0) == 2e6 * 3 * 40_000 * 5


class CountingModel:
    """A stand-in model that counts the images it is asked about."""

    output_shape = (None, 2)

    def __init__(self):
        self.images = 0

    def predict(self, x, batch_size, verbose):
        self.images += len(x)
        return np.full((len(x), 2), 0.5, "float32")


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("translate", [0, 1, 2])
def test_prediction_passes_are_the_forward_passes_predict_runs(flip, translate):
    model = CountingModel()
    predict(model, np.zeros((5, 4, 4, 3), "float32"), flip=flip, translate=translate)
    assert model.images == 5 * prediction_passes(flip, translate)
    assert prediction_flops(1000, 5, flip=flip, translate=translate) == 1000 * model.images


def test_the_plan_scores_with_every_test_time_view_of_the_variant():
    base = {"name": "m", "family": "mlp", "params": {"units": [8]}, "epochs": 2}
    plain = run_cost(Variant.from_dict(base), 1000, 500, 100)
    both = run_cost(
        Variant.from_dict({**base, "tta_flip": True, "tta_translate": 1}), 1000, 500, 100
    )
    scored = plain["n_train"] + plain["n_val"] + plain["n_test"]
    assert plain["eval_flops"] == 1000 * (2 * plain["n_val"] + scored)
    assert both["eval_flops"] == 1000 * (2 * plain["n_val"] + 6 * scored)
    assert both["train_flops"] == plain["train_flops"] == training_flops(1000, 400, 2)
