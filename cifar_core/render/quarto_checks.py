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
import yaml

from .config import load_config, read_yaml
from .document import split_front_matter
from .notebooks import output_text
from .report_meta import GENERATED_FILE as REPORT_METADATA
from .report_meta import REPORT_KEYS
from .tables import INCLUDE_FILE as TABLES_INCLUDE

NOTEBOOK_LINKS_FILTER = "cifar_core/render/assets/notebook-links.lua"
TITLE_BLOCK_FILTER = "cifar_core/render/assets/title-block.lua"
TABLE_WIDTHS_FILTER = "cifar_core/render/assets/table-widths.lua"
#: The filters _quarto.yml must list, and what the report loses without each.
REQUIRED_FILTERS = {
    NOTEBOOK_LINKS_FILTER: "no figure or table names the notebook that made it",
    TITLE_BLOCK_FILTER: "the PDF prints neither keywords nor licence",
    TABLE_WIDTHS_FILTER: "the PDF draws long words of wide tables over the next column",
}
LIGHTBOX_INCLUDE = "cifar_core/render/assets/lightbox.html"
NOTEBOOK_RESOURCES = "notebooks/*.ipynb"

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
            "format.html.notebook-view must be false: with embed-resources, Quarto 1.10 "
            "deletes the notebook pages it links to and then fails moving them "
            "(render.ts self-contained cleanup; docs/quarto.md); notebook-links.lua "
            "links the notebooks instead."
        )
    if html.get("lightbox", raw.get("lightbox")) is not False:
        problems.append(
            "format.html.lightbox must be false: Quarto's lightbox links each figure "
            "to index_files/…, which a self-contained page does not ship; "
            f"{LIGHTBOX_INCLUDE} opens the embedded image instead."
        )
    links = html.get("format-links")
    links = links if isinstance(links, list) else []
    if not any(
        isinstance(link, dict) and link.get("format") == "typst" and link.get("text") == "PDF"
        for link in links
    ) or not any(isinstance(link, str) for link in links):
        problems.append(
            "format.html.format-links must list `html` and `{format: typst, text: PDF}`: "
            "Quarto labels the typst link 'Typst', and lists every format again unless "
            "one entry is a plain format name (format-html-links.ts)."
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
    if LIGHTBOX_INCLUDE not in includes:
        problems.append(
            f"format.html.include-after-body must list {LIGHTBOX_INCLUDE}: without it "
            "a figure does nothing when clicked."
        )
    filters = raw.get("filters") or []
    problems += [
        f"filters must list {name}: without it {loss}."
        for name, loss in REQUIRED_FILTERS.items()
        if name not in filters
    ]
    resources = (raw.get("project") or {}).get("resources") or []
    if NOTEBOOK_RESOURCES not in ([resources] if isinstance(resources, str) else resources):
        problems.append(
            f"project.resources must list {NOTEBOOK_RESOURCES}: with embed-resources "
            "Quarto copies no notebook to _site/notebooks/, so every download link breaks."
        )
    if REPORT_METADATA not in (raw.get("metadata-files") or []):
        problems.append(
            f"metadata-files must list {REPORT_METADATA}: the title block (title, "
            "authors, date, ...) comes from it (cifar_core/render/report_meta.py)."
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


def metadata_problems(config) -> list[str]:
    """Title-block keys set where they would override report.yml: in a profile file
    (Quarto merges profiles over metadata-files) or in the article's front matter."""
    problems = []
    for path in sorted(config.root.glob("_quarto-*.yml")):
        keys = sorted(REPORT_KEYS & set(read_yaml(path)))
        if keys:
            problems.append(
                f"{path.name} sets {keys}, which would override report.yml under Quarto "
                "(profiles win over metadata-files); a profile names its kind of build "
                "in `build-subtitle`."
            )
    front, _ = split_front_matter(config.article.read_text(encoding="utf-8"))
    keys = sorted(REPORT_KEYS & set(yaml.safe_load(front.strip().strip("-") or "{}") or {}))
    if keys:
        problems.append(
            f"{config.article.name}'s front matter sets {keys}, which would override "
            "report.yml; set them in report.yml (cifar_core/render/report_meta.py)."
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
                REMOTE_SCRIPT_RE.search(output_text(v))
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


def _label(source: str) -> str | None:
    match = re.search(r"^#\|\s*label:\s*(\S+)", source, re.M)
    return match.group(1) if match else None


def quarto_problems(
    project_root=".", profile: str | None = None, notebooks: bool = True
) -> list[str]:
    """All of the above for a project (notebooks only where they have been built)."""
    config = load_config(Path(project_root), profile)
    problems = article_problems(config) + config_problems(config) + metadata_problems(config)
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
