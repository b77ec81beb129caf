"""Choosing the "best" variant by validation data only.

Every "best"/"selected" choice in the report (best optimizer, best regularizer, the
model a chapter inspects, the leaderboard's order) goes through
:func:`rank_by_validation`, which accepts nothing but validation metrics: a table whose
columns are the name column and ``val_…`` columns, or a ``pandas.Series`` named
``val_…``. Anything test-derived (a ``test_…`` column, ``test_probs``, a run object
that carries test predictions) raises :class:`TestDataInSelectionError`, so a
selection cannot peek at the test set even by accident. :func:`best_by_validation`
and :func:`sort_by_validation` hand it only :func:`validation_view` of a runs table.
Test accuracy is reported once, for what was selected.

Example
-------
>>> import pandas as pd
>>> table = pd.DataFrame({"variant": ["a", "b"], "val_accuracy_mean": [0.61, 0.64],
...                       "test_accuracy_mean": [0.66, 0.60]})
>>> best_by_validation(table)
'b'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

NAME_COLUMNS = ("variant", "name", "study", "seed", "seeds")
"""Columns that identify a row and may travel with the validation metrics."""

_TEST_PATTERN = re.compile(r"(^|[_\W])test([_\W]|$)", re.IGNORECASE)


class TestDataInSelectionError(ValueError):
    """A selection function was handed test-derived data."""

    __test__ = False  # not a pytest test class


def _is_test_name(name: Any) -> bool:
    return isinstance(name, str) and bool(_TEST_PATTERN.search(name))


def check_no_test_data(scores: Any, *, where: str = "scores") -> None:
    """Raise :class:`TestDataInSelectionError` if ``scores`` carries test data.

    Checks DataFrame columns, a Series' name and index name, mapping keys (one level
    deep) and objects with a ``predictions`` method (runs, whose predictions include
    the test set).

    Examples
    --------
    >>> check_no_test_data(pd.Series([0.5], name="val_accuracy"))
    >>> check_no_test_data({"test_probs": None})
    Traceback (most recent call last):
    ...
    cifar_core.analysis.selection.TestDataInSelectionError: scores: 'test_probs' is test-derived; selection uses validation data only (val_accuracy or val_loss); report test accuracy afterwards, for the selected variant
    """

    def fail(name: str) -> None:
        raise TestDataInSelectionError(
            f"{where}: {name!r} is test-derived; selection uses validation data only "
            "(val_accuracy or val_loss); report test accuracy afterwards, for the selected variant"
        )

    if callable(getattr(scores, "predictions", None)):
        fail(f"{type(scores).__name__}.predictions")
    if isinstance(scores, pd.DataFrame):
        for column in scores.columns:
            if _is_test_name(column):
                fail(column)
    elif isinstance(scores, pd.Series):
        for name in (scores.name, scores.index.name):
            if _is_test_name(name):
                fail(str(name))
    elif isinstance(scores, Mapping):
        for key, value in scores.items():
            if _is_test_name(key):
                fail(key)
            if isinstance(value, Mapping) or callable(getattr(value, "predictions", None)):
                check_no_test_data(value, where=f"{where}[{key!r}]")


def validation_view(table: pd.DataFrame) -> pd.DataFrame:
    """The name columns and the ``val_…`` columns of ``table``: what a selection may see.

    >>> validation_view(pd.DataFrame({"variant": ["a"], "val_loss_mean": [1.0],
    ...                               "test_accuracy_mean": [0.6], "delta": [0.1]})).columns.tolist()
    ['variant', 'val_loss_mean']
    """
    keep = [c for c in table.columns if c in NAME_COLUMNS or str(c).startswith("val_")]
    return table[keep].copy()


def _higher_is_better(by: str, higher_is_better: bool | None) -> bool:
    if higher_is_better is not None:
        return higher_is_better
    if "loss" in by:
        return False
    if "acc" in by:
        return True
    raise ValueError(f"cannot tell whether a higher {by!r} is better; pass higher_is_better=")


def _scores_frame(scores: pd.DataFrame | pd.Series, by: str) -> pd.DataFrame:
    check_no_test_data(scores)
    if not by.startswith("val_"):
        raise TestDataInSelectionError(
            f"by={by!r}: selection ranks by a validation metric (val_accuracy…, val_loss…) only"
        )
    if isinstance(scores, pd.Series):
        if scores.name != by:
            raise ValueError(
                f"the Series is named {scores.name!r}; name it {by!r} "
                "(the validation metric it holds)"
            )
        return pd.DataFrame({"variant": scores.index.astype(str), by: scores.to_numpy(float)})
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(
            f"scores must be a DataFrame or a Series named {by!r}, got {type(scores).__name__}"
        )
    extra = [c for c in scores.columns if c not in NAME_COLUMNS and not str(c).startswith("val_")]
    if extra:
        raise ValueError(
            f"scores has non-validation columns {extra}; pass "
            "validation_view(table) (name and val_… columns only)"
        )
    for column in ("variant", by):
        if column not in scores.columns:
            raise KeyError(f"scores has no column {column!r}; columns: {list(scores.columns)}")
    return scores[["variant", by]]


def rank_by_validation(
    scores: pd.DataFrame | pd.Series,
    by: str = "val_accuracy_mean",
    *,
    higher_is_better: bool | None = None,
) -> pd.DataFrame:
    """``scores`` sorted best first by the validation metric ``by`` (stable: ties keep
    their order), with a ``rank`` column (1 = best). Rows whose metric is NaN go last.

    >>> s = pd.Series({"adam": 0.9, "sgd": 0.7}, name="val_loss")
    >>> rank_by_validation(s, by="val_loss")["variant"].tolist()
    ['sgd', 'adam']
    """
    frame = _scores_frame(scores, by)
    ascending = not _higher_is_better(by, higher_is_better)
    ranked = frame.sort_values(by, ascending=ascending, kind="stable", na_position="last")
    ranked = ranked.reset_index(drop=True)
    ranked["rank"] = range(1, len(ranked) + 1)
    return ranked


def best_by_validation(table: pd.DataFrame, by: str = "val_accuracy_mean") -> str | None:
    """The variant with the best validation metric ``by`` in a runs table, ranked by
    :func:`rank_by_validation` on :func:`validation_view` of the table (test columns
    never reach it); ``None`` when no variant has a validation metric (e.g. a
    seed-protocol build, which has no validation split).

    >>> t = pd.DataFrame({"variant": ["a", "b"], "val_accuracy_mean": [.6, .5],
    ...                   "test_accuracy_mean": [.5, .7]})
    >>> best_by_validation(t), best_by_validation(t.assign(val_accuracy_mean=float("nan")))
    ('a', None)
    """
    if table.empty or by not in table or table[by].isna().all():
        return None
    return str(rank_by_validation(validation_view(table), by).iloc[0]["variant"])


def sort_by_validation(table: pd.DataFrame, by: str = "val_accuracy_mean") -> pd.DataFrame:
    """``table`` (a runs table) ordered best first by the validation metric ``by``, the
    order coming from :func:`rank_by_validation` on the validation columns only; rows
    without a validation metric go last, in their order.

    >>> t = pd.DataFrame({"variant": ["a", "b"], "val_accuracy_mean": [.5, .6],
    ...                   "test_accuracy_mean": [.7, .4]})
    >>> sort_by_validation(t)["variant"].tolist()
    ['b', 'a']
    """
    if table.empty or by not in table:
        return table
    view = validation_view(table).reset_index(drop=True).rename_axis(None)
    ranked = rank_by_validation(view.assign(variant=range(len(view))), by)
    return table.iloc[list(ranked["variant"])]
