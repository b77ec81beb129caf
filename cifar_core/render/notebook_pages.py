"""The embedded chapter notebooks as pages of the built-in renderer's HTML.

Quarto renders each manuscript notebook as ``notebooks/<name>-preview.html`` (and, with
``project.resources``, copies the ``.ipynb`` beside it); the built-in renderer writes the
same two files, so the article's "Source" links (``assets/notebook-links.lua``) and its
notebook list work under either renderer. A page shows the notebook's markdown, its code
and its outputs (figures, tables, printed text) the way the article shows an embed, opens
with a link back to the article and one to download the notebook, and gives every
labelled cell its label as anchor (``#fig-x``), as Quarto's page does.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

import pypandoc

from .errors import RenderError
from .notebooks import cell_options, outputs_of, read_notebook

PAGE_SUFFIX = "-preview.html"
ASSETS = Path(__file__).with_name("assets")


def page_name(notebook: str) -> str:
    """Where a notebook's page goes, relative to the article (Quarto's naming).

    >>> page_name("notebooks/01-data.ipynb")
    'notebooks/01-data-preview.html'
    """
    path = PurePosixPath(notebook)
    return str(path.with_name(path.stem + PAGE_SUFFIX))


def notebook_titles(manuscript: dict) -> dict[str, str]:
    """``{path: title}`` from ``manuscript.notebooks`` of ``_quarto.yml``.

    >>> notebook_titles({"notebooks": [{"notebook": "nb/a.ipynb", "title": "A"}, "nb/b.ipynb"]})
    {'nb/a.ipynb': 'A'}
    """
    titles = {}
    for entry in manuscript.get("notebooks") or []:
        if isinstance(entry, dict) and entry.get("title"):
            titles[str(entry["notebook"])] = str(entry["title"])
    return titles


def page_markdown(path: Path, images: Path, back: str) -> str:
    """The notebook as pandoc markdown: links, then each cell (outputs under the code)."""
    nb = read_notebook(path)
    parts = [
        f"[← Back to the article]({back}) · "
        f'[Download the notebook]({path.name}){{download="{path.name}"}}'
    ]
    for number, cell in enumerate(nb.cells, 1):
        if cell.cell_type == "markdown":
            parts.append(cell.source)
            continue
        if cell.cell_type != "code":
            continue
        options = cell_options(cell.source, cell.get("metadata"))
        label = str(options.get("label") or "")
        outputs = outputs_of(cell, path, label or f"cell {number}", options)
        body = [f"``` python\n{cell.source}\n```"] if cell.source.strip() else []
        body += [
            "```\n" + "".join(o.get("text", "")).rstrip() + "\n```"
            for o in cell.get("outputs", [])
            if o.get("output_type") == "stream" and "".join(o.get("text", "")).strip()
        ]
        body += outputs.markdown + [f"```\n{p}\n```" for p in outputs.plain if not outputs.markdown]
        for i, image in enumerate(outputs.images):
            name = f"{path.stem}-{number}-{i}.png"
            (images / name).write_bytes(image)
            alt = " ".join(str(options.get("fig-alt") or options.get("fig-cap") or "").split())
            body.append(f"![]({images.name}/{name}){{alt={_quoted(alt)}}}")
        anchor = f"#{label} " if label else ""
        parts.append(f"::: {{{anchor}.cell}}\n\n" + "\n\n".join(body) + "\n\n:::")
    return "\n\n".join(parts) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_page(path: Path, title: str, build_dir: Path, page: str, back: str) -> Path:
    """Render ``path`` as the self-contained page ``build_dir/page``."""
    out = build_dir / page
    out.parent.mkdir(parents=True, exist_ok=True)
    images = out.parent / f".{path.stem}-images"
    images.mkdir(exist_ok=True)
    try:
        pypandoc.convert_text(
            page_markdown(path, images, back),
            "html5",
            format="markdown",
            outputfile=str(out),
            extra_args=[
                "--standalone",
                "--embed-resources",
                f"--resource-path={out.parent}",
                f"--css={ASSETS / 'report.css'}",
                f"--css={ASSETS / 'notebook-page.css'}",
                f"--lua-filter={ASSETS / 'callouts.lua'}",
                f"--metadata=title:{title}",
                "--metadata=lang:en",
                "--columns=1000",
            ],
        )
    except RuntimeError as exc:
        raise RenderError(f"pandoc failed writing the page of {path}: {exc}") from exc
    finally:
        shutil.rmtree(images, ignore_errors=True)
    return out


def write_notebook_pages(
    root: Path,
    notebooks: list[str],
    titles: dict[str, str],
    build_dir: Path,
    article_html: str = "index.html",
) -> list[Path]:
    """Each notebook's page and a copy of the notebook, under ``build_dir`` at the paths
    the article links to (notebook paths are relative to the article, in ``root``);
    returns the files written."""
    written = []
    for notebook in dict.fromkeys(notebooks):
        source = root / notebook
        page = page_name(notebook)
        back = "../" * (len(PurePosixPath(page).parts) - 1) + article_html
        title = titles.get(notebook) or PurePosixPath(notebook).stem
        written.append(write_page(source, title, build_dir, page, back))
        copy = build_dir / notebook
        shutil.copyfile(source, copy)
        written.append(copy)
    return written
