"""Every number the report prints, in one spelling: percentages, percentage points,
intervals, mean ± std, p-values, counts, SI-prefixed counts (parameters, FLOPs),
seconds, and the one mark for a value that is not known (:data:`UNKNOWN`).

A format turns a number into text and never rounds it differently from another
format of the same kind, so a table cell, a sentence and a published variable agree.
Conventions: a real minus sign (``−``); an effect is signed (``+4.0``), the bounds of
its interval are not (``−5.1 to 14.0``); a percentage has a space before ``%``;
fractions in, percent or points out.

>>> percent(0.6894), points(-0.02, signed=True), interval(-0.051, 0.14)
('68.9 %', '−2.0', '−5.1 to 14.0')
>>> mean_std(0.689, 0.004), p_value(0.0031), si(3.1e15, "FLOPs"), count(1707274)
('68.9 ± 0.4', '0.003', '3.1 PFLOPs', '1,707,274')
>>> percent(float("nan")), p_value(None)
('–', '–')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

UNKNOWN = "–"
"""The one spelling of a value that is not known or does not apply (an en dash)."""

MINUS = "\u2212"


def is_unknown(value: Any) -> bool:
    """True for ``None``, NaN and values that are not numbers.

    >>> is_unknown(None), is_unknown(float("nan")), is_unknown("x"), is_unknown(0)
    (True, True, True, False)
    """
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def number(value: Any, digits: int = 1, *, signed: bool = False) -> str:
    """A number with ``digits`` decimals and a real minus sign; ``+`` when ``signed``.

    >>> number(-2.04), number(4, signed=True), number(1.2345, 3)
    ('−2.0', '+4.0', '1.234')
    """
    if is_unknown(value):
        return UNKNOWN
    text = f"{float(value):{'+' if signed else ''}.{digits}f}"
    return text.replace("-", MINUS)


def percent(fraction: Any, digits: int = 1) -> str:
    """A fraction as a percentage: ``0.6894`` → ``"68.9 %"``.

    >>> percent(0.2, 0), percent(0.10249)
    ('20 %', '10.2 %')
    """
    return UNKNOWN if is_unknown(fraction) else f"{number(float(fraction) * 100, digits)} %"


def points(fraction: Any, *, signed: bool = False, unit: bool = False) -> str:
    """A difference of fractions in percentage points, one decimal; ``unit`` appends
    ``points`` (running text), tables name the unit in the header.

    >>> points(0.0412), points(-0.02, signed=True), points(0.123, unit=True)
    ('4.1', '−2.0', '12.3 points')
    """
    if is_unknown(fraction):
        return UNKNOWN
    text = number(float(fraction) * 100, 1, signed=signed)
    return f"{text} points" if unit else text


def interval(low: Any, high: Any, *, unit: bool = False) -> str:
    """An interval of differences in points: ``"−5.1 to 14.0"`` (bounds unsigned).

    >>> interval(-0.051, 0.14, unit=True), interval(float("nan"), 0.1)
    ('−5.1 to 14.0 points', '–')
    """
    if is_unknown(low) or is_unknown(high):
        return UNKNOWN
    return f"{points(low)} to {points(high, unit=unit)}"


def effect(diff: Any, low: Any, high: Any) -> str:
    """An effect with its interval in one cell: ``"+0.4 (−0.2 to 1.0)"`` (points).

    >>> effect(0.004, -0.002, 0.01)
    '+0.4 (−0.2 to 1.0)'
    """
    if is_unknown(diff):
        return UNKNOWN
    return f"{points(diff, signed=True)} ({interval(low, high)})"


def mean_std(mean: Any, std: Any = None, *, percent: bool = True, digits: int = 1) -> str:
    """``"68.9 ± 0.4"`` (fractions shown in percent) or ``"1.234 ± 0.010"``; the std is
    left out when unknown or zero (one seed).

    >>> mean_std(0.65, 0.0707), mean_std(2.14, None, percent=False, digits=3)
    ('65.0 ± 7.1', '2.140')
    """
    if is_unknown(mean):
        return UNKNOWN
    scale = 100.0 if percent else 1.0
    text = number(float(mean) * scale, digits)
    if not is_unknown(std) and float(std) > 0:
        text += f" ± {number(float(std) * scale, digits)}"
    return text


def accuracy(mean: Any, std: Any = None) -> str:
    """Accuracy (mean ± std over seeds) with its unit: ``"68.9 ± 0.4 %"``.

    >>> accuracy(0.492), accuracy(float("nan"))
    ('49.2 %', '–')
    """
    return UNKNOWN if is_unknown(mean) else f"{mean_std(mean, std)} %"


def p_value(p: Any) -> str:
    """``"< 0.001"``, ``"0.003"``, ``"0.62"``, ``"1"``; :data:`UNKNOWN` when not tested.

    >>> p_value(0.00031), p_value(0.0031), p_value(0.618), p_value(1.0)
    ('< 0.001', '0.003', '0.62', '1')
    """
    if is_unknown(p):
        return UNKNOWN
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.01 else f"{p:.2g}"


def p_phrase(p: Any) -> str:
    """A p-value after its symbol in a sentence: ``"= 0.003"`` or ``"< 0.001"``.

    >>> p_phrase(0.0031), p_phrase(1e-5)
    ('= 0.003', '< 0.001')
    """
    text = p_value(p)
    return text if text.startswith("<") else f"= {text}"


def count(value: Any) -> str:
    """A count with thousands separators: ``1707274`` → ``"1,707,274"``.

    >>> count(1600), count("x")
    ('1,600', '–')
    """
    return UNKNOWN if is_unknown(value) else f"{float(value):,.0f}"


_PREFIXES = ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def si(value: Any, unit: str = "") -> str:
    """Three significant digits and an SI prefix: ``1707274`` → ``"1.71M"`` (a table
    column names the unit), ``si(3.1e15, "FLOPs")`` → ``"3.1 PFLOPs"`` (running text).

    >>> si(1707274), si(10_600), si(950), si(2.5e9, "FLOPs"), si(12.0, "FLOPs")
    ('1.71M', '10.6k', '950', '2.5 GFLOPs', '12 FLOPs')
    """
    if is_unknown(value):
        return UNKNOWN
    value = float(value)
    scaled, prefix = value, ""
    for limit, name in _PREFIXES:
        if abs(value) >= limit:
            scaled, prefix = value / limit, name
            break
    digits = f"{scaled:.3g}" if prefix or unit else f"{scaled:.0f}"
    return f"{digits} {prefix}{unit}" if unit else f"{digits}{prefix}"


def seconds(value: Any) -> str:
    """A duration: ``"42 s"`` below two minutes, else ``"3.2 min"``.

    >>> seconds(45.2), seconds(300)
    ('45 s', '5.0 min')
    """
    if is_unknown(value):
        return UNKNOWN
    value = float(value)
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def plural(n: int, word: str) -> str:
    """``"1 comparison"``, ``"3 studies"``, ``"2 seeds"``.

    >>> plural(1, "study"), plural(3, "study"), plural(2, "seed")
    ('1 study', '3 studies', '2 seeds')
    """
    if n == 1:
        return f"1 {word}"
    return f"{n} {word[:-1] + 'ies' if word.endswith('y') else word + 's'}"


def extreme(values: Mapping[Any, Any], *, lowest: bool = False) -> str:
    """The key of the highest (``lowest``) known value, naming every key tied with it
    (in the mapping's order), or :data:`UNKNOWN` when no value is known. A pandas
    Series is such a mapping.

    >>> extreme({"cat": 0.4, "dog": 0.7}), extreme({"cat": 0.4, "dog": 0.4}, lowest=True)
    ('dog', 'cat, tied with dog')
    >>> extreme({"a": 1, "b": 1, "c": 1, "d": 0}), extreme({"a": None})
    ('a, tied with b and c', '–')
    """
    known = {k: float(v) for k, v in values.items() if not is_unknown(v)}
    if not known:
        return UNKNOWN
    best = min(known.values()) if lowest else max(known.values())
    tied = [str(k) for k, v in known.items() if math.isclose(v, best, rel_tol=1e-9, abs_tol=1e-12)]
    if len(tied) == 1:
        return tied[0]
    others = tied[1:]
    rest = others[0] if len(others) == 1 else f"{', '.join(others[:-1])} and {others[-1]}"
    return f"{tied[0]}, tied with {rest}"
