"""`_variables.yml` and the `{{< var key >}}` shortcode."""

from __future__ import annotations

import re
from pathlib import Path

from .config import read_yaml
from .errors import RenderError

VAR_RE = re.compile(r"\{\{<\s*var\s+([^\s>]+)\s*>\}\}")
UNIT_SPACE_RE = re.compile(r"(\d) (%|pp\b)")  # keep "68.9 %" on one line


def variables_file(root: Path) -> Path:
    """The variables file: `_variables.yml` at the project root, where Quarto reads it."""
    return root / "_variables.yml"


def load_variables(root: Path) -> tuple[dict, Path]:
    """Return the variables mapping and the file it came from (empty when absent)."""
    path = variables_file(root)
    return (read_yaml(path) if path.is_file() else {}), path


def lookup(variables: dict, key: str, source: Path):
    """Resolve a dotted key (`a.b.c`) in nested mappings or raise RenderError naming it."""
    node = variables
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise RenderError(
                f"variable {key!r} is not defined in {source}; `cifar-report build` "
                "writes it from the chapters' published values — run it, or fix the key."
            )
        node = node[part]
    if isinstance(node, (dict, list)):
        raise RenderError(
            f"variable {key!r} in {source} is a {type(node).__name__}, "
            "not a value; use one of its sub-keys."
        )
    return node


def format_value(value) -> str:
    """Render a YAML scalar as markdown text (booleans as yes/no, None as empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return UNIT_SPACE_RE.sub("\\1\u00a0\\2", str(value))


def resolve_vars(text: str, variables: dict, source: Path) -> str:
    """Replace every `{{< var key >}}` in `text` with its formatted value."""
    return VAR_RE.sub(lambda m: format_value(lookup(variables, m.group(1), source)), text)


def used_variables(text: str) -> tuple[str, ...]:
    """The distinct variable keys used in `text`, in order of first use."""
    return tuple(dict.fromkeys(VAR_RE.findall(text)))
