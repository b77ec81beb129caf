"""What makes `quarto render` fail or go online, checked without Quarto.

Each check names the Quarto source behind it (quarto-cli v1.10.18; docs/quarto.md has
the longer story). `render_quarto` runs them before calling Quarto, and the tests run
them everywhere.

    python -m cifar_core.render.quarto_checks [PROJECT_ROOT] [--profile P]

Example
-------
>>> computation_lines("Fingerprint `{{< var dataset.fingerprint >}}`.\\nPlain text.")
[1]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path, PurePosixPath

import nbformat

from .config import load_config
from .tables import INCLUDE_FILE as TABLES_INCLUDE

#: manuscript-config.ts `hasComputations`: a line matching this makes Quarto treat the
#: article as a notebook of its own ("Article Notebook"), whose preview breaks the render.
COMPUTATION_HINT_RES = (re.compile(r"`+{[^\.]+.*}"), re.compile(r'.*"cell_type"\s*:\s*"code".*'))
#: Bootswatch themes that `@import` Google Fonts (resources/formats/html/bootstrap/themes).
WEB_FONT_THEMES = frozenset(
    {
        "cosmo",
        "cyborg",
        "darkly",
        "flatly",
        "journal",
        "lumen",
        "lux",
        "materia",
        "minty",
        "morph",
        "sandstone",
        "simplex",
        "sketchy",
        "solar",
        "spacelab",
        "superhero",
        "united",
        "vapor",
        "yeti",
        "zephyr",
    }
)
#: jupyter/widgets.ts: any such output makes Quarto add require.js and jquery from a CDN.
WIDGET_MIME_TYPES = ("text/html", "application/javascript")
REMOTE_SCRIPT_RE = re.compile(r"<script[^>]+src=[\"']?(?:https?:)?//", re.I)
QUARTO_GITIGNORE = ("/.quarto/", "**/*.quarto_ipynb")


def computation_lines(text: str) -> list[int]:
    """Line numbers (1-based) that Quarto's `hasComputations` takes for code cells."""
    return [
        i
        for i, line in enumerate(text.splitlines(), 1)
        if any(regex.search(line) for regex in COMPUTATION_HINT_RES)
    ]


def article_problems(config) -> list[str]:
    """The article must sit at the project root and must not look computational."""
    problems = []
    manuscript = config.raw.get("manuscript") or {}
    article = manuscript.get("article", "index.qmd")
    if PurePosixPath(article).parent != PurePosixPath("."):
        problems.append(
            f"manuscript.article is {article!r}: put the article at the project root. Quarto "
            "resolves the manuscript's notebook paths against the article's folder "
            "(format-html-notebook.ts), so a sub-folder article fails with "
            "'readfile <dir>/<dir>/…', and its HTML lands in _site/<dir>/."
        )
    text = config.article.read_text(encoding="utf-8")
    lines = computation_lines(text)
    if lines:
        problems.append(
            f"{config.article} lines {lines} look like code cells to Quarto (a backtick "
            "followed by '{', manuscript-config.ts hasComputations): it then renders the "
            "article as a notebook too and fails moving index-preview.html. Do not start "
            "inline code with '{' (e.g. drop the backticks around {{< var … >}})."
        )
    return problems


def config_problems(config) -> list[str]:
    """Manuscript options that break or de-offline the render."""
    raw, problems = config.raw, []
    html = ((raw.get("format") or {}).get("html")) or {}
    if html.get("notebook-view", True) is not False:
        problems.append(
            "format.html.notebook-view must be false: the article's notebook "
            "view fails in Quarto 1.10 (see docs/quarto.md)."
        )
    theme = html.get("theme")
    themes = (
        theme
        if isinstance(theme, list)
        else list(theme.values())
        if isinstance(theme, dict)
        else [theme]
    )
    if theme is None:
        problems.append(
            "format.html.theme is not set: a manuscript then uses cosmo "
            "(manuscript.ts), which loads Google Fonts; set `theme: default`."
        )
    elif WEB_FONT_THEMES & {str(t) for t in themes}:
        problems.append(
            f"format.html.theme {theme!r} imports Google Fonts, which a "
            "self-contained page cannot fetch offline; use `default`, "
            "cerulean, litera, pulse, quartz or slate."
        )
    if html.get("embed-resources") is not True:
        problems.append(
            "format.html.embed-resources must be true: the README promises "
            "one self-contained _site/index.html."
        )
    includes = html.get("include-after-body") or []
    includes = [includes] if isinstance(includes, str) else list(includes)
    if TABLES_INCLUDE not in includes:
        problems.append(
            f"format.html.include-after-body must list {TABLES_INCLUDE} (written "
            "before each render by cifar_core.render.tables): without it the "
            "long tables are neither sortable nor filterable under Quarto."
        )
    if (raw.get("project") or {}).get("render"):
        problems.append(
            "project.render is ignored by manuscripts (manuscript.ts replaces "
            "it with the notebooks and the article); remove it."
        )
    for entry in (raw.get("manuscript") or {}).get("notebooks") or []:
        path = entry["notebook"] if isinstance(entry, dict) else entry
        if PurePosixPath(path).parts[:1] != ("notebooks",):
            problems.append(
                f"manuscript notebook {path!r} is not in notebooks/, where "
                "`cifar-report build` writes the executed notebooks."
            )
    return problems


def gitignore_problems(root: Path) -> list[str]:
    """Quarto appends its entries to .gitignore unless they are there verbatim."""
    path = root / ".gitignore"
    lines = {line.strip() for line in path.read_text().splitlines()} if path.is_file() else set()
    missing = [entry for entry in QUARTO_GITIGNORE if entry not in lines]
    return (
        [f"{path} lacks {missing}: `quarto render` would append them (project-gitignore.ts)."]
        if missing
        else []
    )


def notebook_problems(path: Path) -> list[str]:
    """Outputs of an executed notebook that make Quarto fetch scripts from a CDN."""
    nb = nbformat.read(str(path), as_version=4)
    problems = []
    if "widgets" in nb.metadata:
        problems.append(
            f"{path}: notebook metadata holds Jupyter widget state; Quarto "
            "loads the widget runtime from a CDN."
        )
    for number, cell in enumerate(nb.cells, 1):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            mimes = [m for m in WIDGET_MIME_TYPES if m in data]
            remote = any(
                REMOTE_SCRIPT_RE.search(_text(v))
                for v in data.values()
                if isinstance(v, (str, list))
            )
            if mimes or remote:
                label = _label(cell.source) or f"cell {number}"
                problems.append(
                    f"{path}#{label}: output carries {', '.join(mimes) or 'a remote <script>'}; "
                    "Quarto then adds require.js and jquery from cdn.jsdelivr.net "
                    "(jupyter/widgets.ts). Display tables as text/markdown only."
                )
                break
    return problems


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _label(source: str) -> str | None:
    match = re.search(r"^#\|\s*label:\s*(\S+)", source, re.M)
    return match.group(1) if match else None


def quarto_problems(
    project_root=".", profile: str | None = None, notebooks: bool = True
) -> list[str]:
    """All of the above for a project (notebooks only where they have been built)."""
    config = load_config(Path(project_root), profile)
    problems = article_problems(config) + config_problems(config)
    problems += gitignore_problems(config.root)
    if notebooks:
        for entry in (config.raw.get("manuscript") or {}).get("notebooks") or []:
            path = config.root / (entry["notebook"] if isinstance(entry, dict) else entry)
            if path.is_file():
                problems += notebook_problems(path)
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project_root", nargs="?", default=".")
    parser.add_argument("--profile")
    args = parser.parse_args(argv)
    problems = quarto_problems(args.project_root, args.profile)
    print("\n".join(f"- {p}" for p in problems) or "nothing known to break `quarto render`")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
