"""Report what the article needs but the project lacks, without rendering anything.

python -m cifar_core.render.check [PROJECT_ROOT] [--profile P]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import load_config
from .document import embedded_labels
from .errors import RenderError
from .figures import figure_problems
from .notebooks import find_cell
from .variables import load_variables, lookup, used_variables


def check(project_root=".", profile: str | None = None) -> list[str]:
    """One message per missing variable, notebook, label, figure caption or figure
    alternative text (empty list: all present)."""
    config = load_config(Path(project_root), profile)
    text = config.article.read_text(encoding="utf-8")
    variables, source = load_variables(config.root)
    problems = []
    for key in used_variables(text):
        try:
            lookup(variables, key, source)
        except RenderError as exc:
            problems.append(str(exc))
    for notebook, label in embedded_labels(text):
        path = (config.article.parent / notebook).resolve()
        try:
            _, options = find_cell(path, label)
        except RenderError as exc:
            problems.append(str(exc))
            continue
        if label.startswith("fig-"):
            problems += figure_problems(path, label, options)
    return list(dict.fromkeys(problems))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project_root", nargs="?", default=".")
    parser.add_argument("--profile")
    args = parser.parse_args(argv)
    problems = check(args.project_root, args.profile)
    print("\n".join(f"- {p}" for p in problems) if problems else "all variables and embeds resolve")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
