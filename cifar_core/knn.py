"""k-nearest-neighbour classification on a trained network's penultimate features.

Seed 003 drops the softmax layer of its fine-tuned VGG16, embeds the training images
with what is left, and fits a k-NN classifier on those features (~84 % test accuracy).
:func:`knn_on_features` does the same for any trained Keras model.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def feature_extractor(model):
    """A model from ``model``'s inputs to the output of its second-to-last layer."""
    import keras

    return keras.Model(model.inputs, model.layers[-2].output, name=f"{model.name}_features")


def embed(model, x: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
    """Penultimate features of ``x`` in inference mode, flattened to ``(N, D)``."""
    features = feature_extractor(model).predict(x, batch_size=batch_size, verbose=0)
    return np.asarray(features, dtype="float32").reshape(len(x), -1)


def knn_on_features(model, x_train, y_train, x_test, y_test, *, k: int = 5,
                    batch_size: int = 256) -> dict[str, Any]:
    """Fit k-NN (scikit-learn) on the training features; score train and test.

    ``x_*`` must be preprocessed the way ``model`` was trained. Returns
    ``{"k", "feature_dim", "train_accuracy", "test_accuracy", "test_predictions"}``.
    """
    from sklearn.neighbors import KNeighborsClassifier

    y_train, y_test = np.asarray(y_train).ravel(), np.asarray(y_test).ravel()
    if k < 1 or k > len(y_train):
        raise ValueError(f"k is {k}; it must be between 1 and the {len(y_train)} training images")
    train_features = embed(model, x_train, batch_size=batch_size)
    test_features = embed(model, x_test, batch_size=batch_size)
    classifier = KNeighborsClassifier(n_neighbors=k).fit(train_features, y_train)
    predictions = classifier.predict(test_features)
    return {
        "k": k,
        "feature_dim": int(train_features.shape[1]),
        "train_accuracy": float(classifier.score(train_features, y_train)),
        "test_accuracy": float(np.mean(predictions == y_test)),
        "test_predictions": predictions,
    }
