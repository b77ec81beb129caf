"""What a model got right and wrong on the test set: confusion matrices, per-class
scores, the most confused pairs, and the most/least confident predictions (seed 003's
galleries). Computation from stored probabilities; no Keras.

Examples
--------
>>> import numpy as np
>>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
>>> confusion([0, 1, 1], probs, ["cat", "dog"]).values.tolist()
[[1, 0], [1, 1]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report, confusion_matrix


def _predicted(probs: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs)
    if probs.ndim != 2:
        raise ValueError(
            f"probabilities must be a 2-D (samples, classes) array, got shape {probs.shape}"
        )
    return probs.argmax(axis=1)


def _check_lengths(labels: np.ndarray, probs: np.ndarray) -> None:
    if len(labels) != len(probs):
        raise ValueError(f"{len(labels)} labels but {len(probs)} probability rows")


def confusion(
    labels: Sequence[int],
    probs: np.ndarray,
    class_names: Sequence[str],
    normalize: str | None = None,
) -> pd.DataFrame:
    """Confusion matrix (rows = true class, columns = predicted) as a labelled DataFrame.

    ``normalize`` is passed to :func:`sklearn.metrics.confusion_matrix`: ``None`` (counts),
    ``"true"`` (row-normalized: recall on the diagonal), ``"pred"`` or ``"all"``.
    """
    truth = np.asarray(labels)
    _check_lengths(truth, probs)
    matrix = confusion_matrix(
        truth, _predicted(probs), labels=range(len(class_names)), normalize=normalize
    )
    frame = pd.DataFrame(matrix, index=list(class_names), columns=list(class_names))
    frame.index.name, frame.columns.name = "true", "predicted"
    return frame


def classification_table(
    labels: Sequence[int], probs: np.ndarray, class_names: Sequence[str]
) -> pd.DataFrame:
    """Precision, recall, F1 and support per class plus the averages, from
    :func:`sklearn.metrics.classification_report` (``output_dict=True``)."""
    truth = np.asarray(labels)
    _check_lengths(truth, probs)
    report = classification_report(
        truth,
        _predicted(probs),
        labels=range(len(class_names)),
        target_names=list(class_names),
        output_dict=True,
        zero_division=0,
    )
    accuracy = report.pop("accuracy", None)
    table = pd.DataFrame(report).T
    table["support"] = table["support"].astype(int)
    if accuracy is not None:
        table.loc["accuracy"] = [math.nan, math.nan, accuracy, int(len(truth))]
    table.index.name = "class"
    return table


def per_class_accuracy(
    labels: Sequence[int], probs: np.ndarray, class_names: Sequence[str]
) -> pd.Series:
    """Accuracy within each true class (the diagonal of the row-normalized matrix)."""
    matrix = confusion(labels, probs, class_names, normalize="true")
    return pd.Series(np.diag(matrix.values), index=list(class_names), name="accuracy")


def most_confused_pairs(cm: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """The ``top`` off-diagonal cells of a labelled count confusion matrix
    (:func:`confusion`), largest first.

    Columns: ``true``, ``predicted``, ``count``, ``share`` (of the true class), and
    ``reverse`` (the count the other way round, e.g. truck → automobile).
    """
    values = cm.to_numpy(dtype=float)
    class_names = [str(c) for c in cm.index]
    rows = values.sum(axis=1)
    off_diagonal = values * (1 - np.eye(len(values)))
    true, predicted = np.nonzero(off_diagonal > 0)  # row-major, so ties stay in (i, j) order
    order = np.argsort(-off_diagonal[true, predicted], kind="stable")[:top]
    records = [
        {
            "true": class_names[i],
            "predicted": class_names[j],
            "count": int(values[i, j]),
            "share": values[i, j] / rows[i] if rows[i] else math.nan,
            "reverse": int(values[j, i]),
        }
        for i, j in zip(true[order], predicted[order])
    ]
    return pd.DataFrame(records, columns=["true", "predicted", "count", "share", "reverse"])


def top_k_text(probs: np.ndarray, index: int, class_names: Sequence[str], k: int = 3) -> str:
    """``"cat 0.91, dog 0.05, frog 0.02"``: the ``k`` most probable classes of one row."""
    row = np.asarray(probs)[index]
    order = np.argsort(-row, kind="stable")[:k]
    return ", ".join(f"{class_names[i]} {row[i]:.2f}" for i in order)


def _pick(
    probs: np.ndarray,
    labels: Sequence[int],
    n: int,
    *,
    correct: bool,
    most_confident: bool,
    class_names: Sequence[str] | None,
) -> pd.DataFrame:
    """The ``n`` correct (or wrong) predictions with the highest (or lowest) probability,
    most extreme first: ``idx``, true and predicted class and their probabilities."""
    probs, truth = np.asarray(probs), np.asarray(labels)
    _check_lengths(truth, probs)
    predicted = _predicted(probs)
    confidence = probs.max(axis=1)
    pool = np.flatnonzero((predicted == truth) == correct)
    order = np.argsort(-confidence[pool] if most_confident else confidence[pool], kind="stable")
    chosen = pool[order[:n]]
    table = pd.DataFrame(
        {
            "idx": chosen.astype(int),
            "true": truth[chosen].astype(int),
            "pred": predicted[chosen].astype(int),
            "pred_prob": probs[chosen, predicted[chosen]],
            "true_prob": probs[chosen, truth[chosen]],
        }
    )
    if class_names is not None:
        table.insert(2, "true_class", [class_names[i] for i in table["true"]])
        table.insert(4, "pred_class", [class_names[i] for i in table["pred"]])
    return table


def confident_mistakes(
    probs: np.ndarray, labels: Sequence[int], n: int = 16, class_names: Sequence[str] | None = None
) -> pd.DataFrame:
    """The ``n`` wrong predictions made with the highest probability (seed 003's
    "bad classification with highest probability"), with ``idx``, true/predicted class
    and probabilities."""
    return _pick(probs, labels, n, correct=False, most_confident=True, class_names=class_names)


def least_confident_correct(
    probs: np.ndarray, labels: Sequence[int], n: int = 16, class_names: Sequence[str] | None = None
) -> pd.DataFrame:
    """The ``n`` correct predictions made with the lowest probability (seed 003's
    "good classification with lowest probability")."""
    return _pick(probs, labels, n, correct=True, most_confident=False, class_names=class_names)
