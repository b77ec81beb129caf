"""k-nearest-neighbour classification on a trained network's penultimate features.

Seed 003 drops the softmax layer of its fine-tuned VGG16, embeds the training images
with what is left, and fits a k-NN classifier on those features (~84 % test accuracy).
:func:`knn_on_features` does the same for any trained Keras model, and
:func:`knn_for_run` for a run of the store (same split and preprocessing as its
training).

>>> knn_for_run(store.get(key), dataset, k=5)["test_accuracy"]   # doctest: +SKIP
0.71
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from cifar_core.data.dataset import Dataset
from cifar_core.files import write_text_atomic
from cifar_core.runs.derived_predictions import derived_dir
from cifar_core.runs.store import Run

if TYPE_CHECKING:
    import keras

KNN_VERSION = 1
"""Part of the cached k-NN results' file name: bump it when the method changes."""


def classifier_network(model: keras.Model) -> keras.Model:
    """The network that ends in the softmax layer: ``model`` itself, or the inner model
    that training wrapped behind augmentation layers or a float32 output cast
    (:func:`cifar_core.runs.augmentation.finalize_model`)."""
    import keras  # a model exists, so Keras is loaded; reading a cached result needs none

    last = [layer for layer in model.layers if layer.name != "float32_output"][-1]
    return classifier_network(last) if isinstance(last, keras.Model) else model


def feature_extractor(model: keras.Model) -> keras.Model:
    """A model from the classifier network's inputs to its second-to-last layer."""
    import keras  # as above

    network = classifier_network(model)
    return keras.Model(network.inputs, network.layers[-2].output, name=f"{network.name}_features")


def embed(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Penultimate features of ``x`` in inference mode, flattened to ``(N, D)``."""
    features = feature_extractor(model).predict(x, batch_size=256, verbose=0)
    return np.asarray(features, dtype="float32").reshape(len(x), -1)


def knn_on_features(
    model: keras.Model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    k: int = 5,
) -> dict[str, Any]:
    """Fit k-NN (scikit-learn) on the training features; score train and test.

    ``x_*`` must be preprocessed the way ``model`` was trained. Returns
    ``{"k", "feature_dim", "train_accuracy", "test_accuracy", "test_predictions"}``.
    """
    from sklearn.neighbors import KNeighborsClassifier  # ~1.5 s: only on a cache miss

    y_train, y_test = np.asarray(y_train).ravel(), np.asarray(y_test).ravel()
    if k < 1 or k > len(y_train):
        raise ValueError(f"k is {k}; it must be between 1 and the {len(y_train)} training images")
    train_features, test_features = embed(model, x_train), embed(model, x_test)
    classifier = KNeighborsClassifier(n_neighbors=k).fit(train_features, y_train)
    predictions = classifier.predict(test_features)
    return {
        "k": k,
        "feature_dim": int(train_features.shape[1]),
        "train_accuracy": float(classifier.score(train_features, y_train)),
        "test_accuracy": float(np.mean(predictions == y_test)),
        "test_predictions": predictions,
    }


def knn_for_run(run: Run, dataset: Dataset, *, k: int = 5) -> dict[str, Any]:
    """k-NN on the penultimate features of a stored run's model, cached beside the store.

    The images are split and preprocessed exactly as when ``run`` was trained
    (:func:`cifar_core.runs.train.prepare_splits`); k-NN is fitted on the training split
    and scored on the test set. Returns ``{"k", "feature_dim", "train_accuracy",
    "test_accuracy"}``. The result is kept in ``<store>/.derived/<run key>/`` (the run key
    covers the data), so a notebook re-executed later reads it without importing Keras.
    """
    cache = derived_dir(run) / f"knn-k{k}-v{KNN_VERSION}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    from cifar_core.runs.train import prepare_splits  # imports Keras: cache miss only

    splits = prepare_splits(run.variant, dataset)
    result = knn_on_features(
        run.load_model(), splits.x_train, splits.y_train, splits.x_test, splits.y_test, k=k
    )
    summary = {
        name: result[name] for name in ("k", "feature_dim", "train_accuracy", "test_accuracy")
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(cache, json.dumps(summary))  # a crash never leaves half a result
    return summary
