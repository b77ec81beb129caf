"""The one exception type of the data layer, and a parameter check that raises it."""

from __future__ import annotations

from numbers import Integral


class DataError(Exception):
    """Data cannot be found, read or trusted.

    Every message names the offending path or parameter and says what to do about it.
    """


def positive_int(value: object, parameter: str) -> int:
    """``value`` as an int if it is a positive integer, else a DataError naming ``parameter``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise DataError(f"{parameter} must be a positive integer, got {value!r}.")
    return int(value)
