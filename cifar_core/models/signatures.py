"""Each model family's hyper-parameters and their defaults, read from the builders'
source without importing Keras.

The run key must not depend on whether a variant writes a default out
(``kernel_size: 3``) or leaves it implicit, and computing a key must stay cheap (no
Keras import), so the defaults are read from the ``@register("name")`` builders'
signatures with :mod:`ast`. Importing the registry (:mod:`cifar_core.models`) gives the
same answer through :func:`inspect.signature`; a test keeps the two in agreement.

>>> family_defaults("mlp")["activation"]
'relu'
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import Any

_RESERVED = ("input_shape", "num_classes")
_CONSTANT_NODES = (
    ast.Expression,
    ast.Constant,
    ast.Tuple,
    ast.List,
    ast.BinOp,
    ast.UnaryOp,
    ast.operator,
    ast.unaryop,
    ast.Load,
)


def _constant(node: ast.expr) -> Any:
    """The value of a default made of literals and arithmetic (``1 / 9``)."""
    expression = ast.Expression(node)
    if not all(isinstance(n, _CONSTANT_NODES) for n in ast.walk(expression)):
        raise ValueError(f"default {ast.unparse(node)!r} is not a literal")
    return eval(compile(expression, "<default>", "eval"), {"__builtins__": {}}, {})  # noqa: S307


def _registered_name(function: ast.FunctionDef) -> str | None:
    for decorator in function.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and getattr(decorator.func, "id", None) == "register"
            and decorator.args
            and isinstance(decorator.args[0], ast.Constant)
        ):
            return str(decorator.args[0].value)
    return None


@cache
def _all_defaults() -> dict[str, dict[str, Any]]:
    families: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(__file__).parent.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and (name := _registered_name(node)):
                arguments = node.args.kwonlyargs
                families[name] = {
                    arg.arg: _constant(default)
                    for arg, default in zip(arguments, node.args.kw_defaults)
                    if default is not None and arg.arg not in _RESERVED
                }
    return families


def family_defaults(family: str) -> dict[str, Any]:
    """``{parameter: default}`` of a registered family (``{}`` for an unknown family:
    training reports that one by name)."""
    return dict(_all_defaults().get(family, {}))


def with_defaults(family: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with every default of ``family`` that they leave out filled in.

    >>> with_defaults("wide_resnet", {"depth": 16})["width"]
    8
    """
    return {**family_defaults(family), **params}
