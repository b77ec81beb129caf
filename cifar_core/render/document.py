"""Shortcode and cross-reference glue: turn the article into plain pandoc markdown.

`{{< embed nb.ipynb#label >}}` becomes the cell's outputs (figures written to
`figures/`, tables as pipe tables with their caption and label). Numbering and
`@fig-x` / `@tbl-x` / `@sec-x` references are resolved afterwards on pandoc's AST by
`crossref` (Quarto's rules). Everything else (callouts, citations, the table of
contents) is left to pandoc.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pypandoc
import yaml

from .crossref import CrossrefIndex, number_document
from .errors import RenderError
from .figures import figure_problems
from .notebooks import CellOutputs, cell_outputs, is_table
from .variables import resolve_vars

EMBED_RE = re.compile(r"\{\{<\s*embed\s+([^\s>#]+)#([^\s>]+)[^>]*>\}\}")
SHORTCODE_RE = re.compile(r"\{\{<\s*([\w-]+)[^>]*>\}\}")
INCLUDE_RE = re.compile(r"\{\{<\s*include\s+([^\s>]+)\s*>\}\}")
STYLE_RE = re.compile(r"<style.*?</style>", re.S | re.I)
PAGEBREAK = '\n```{=typst}\n#pagebreak()\n```\n\n```{=html}\n<div style="page-break-after: always"></div>\n```\n'


def split_front_matter(text: str) -> tuple[str, str]:
    """Split `---` YAML front matter from the body (front matter keeps its fences)."""
    match = re.match(r"^---\s*\n.*?\n---\s*\n", text, re.S)
    return (match.group(0), text[match.end() :]) if match else ("", text)


def normalize_front_matter(front: str, article: Path) -> str:
    """The front matter re-dumped as plain YAML (an error names the article when the
    resolved variables made it invalid)."""
    if not front:
        return front
    try:
        meta = yaml.safe_load(front.strip().strip("-")) or {}
    except yaml.YAMLError as exc:
        raise RenderError(
            f"{article}: invalid YAML front matter after resolving "
            f"variables ({exc}); quote the values."
        ) from exc
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n"


def html_to_markdown(html: str) -> str:
    """Convert an HTML fragment (e.g. a DataFrame's `_repr_html_`) to pandoc markdown."""
    return pypandoc.convert_text(
        STYLE_RE.sub("", html),
        "markdown-raw_html-native_divs-native_spans-fenced_divs-bracketed_spans",
        format="html",
        extra_args=["--wrap=none"],
    ).strip()


class Embedder:
    """Resolves embed shortcodes of one article, writing figures into `figures_dir`."""

    def __init__(self, article: Path, figures_dir: Path):
        self.article = article
        self.figures_dir = figures_dir
        self.embedded: set[str] = set()

    def __call__(self, match: re.Match) -> str:
        path, label = match.group(1), match.group(2)
        if label in self.embedded:
            raise RenderError(
                f"{label!r} is embedded twice in {self.article}; "
                "a figure or table can appear only once."
            )
        self.embedded.add(label)
        outputs = cell_outputs((self.article.parent / path).resolve(), label)
        kind = label.split("-", 1)[0] if label.startswith(("fig-", "tbl-")) else ""
        block = {"fig": self._figure, "tbl": self._table}.get(kind, self._plain)(outputs)
        # The wrapper Quarto's embed writes (jupyter-embed.ts); notebook-links.lua reads it.
        return (
            f'\n\n::: {{.quarto-embed-nb-cell notebook="{path}" notebook-cellId="cell-{label}"}}'
            f"\n\n{block}\n\n:::\n\n"
        )

    def _caption(self, outputs: CellOutputs, key: str) -> str:
        """The cell's caption option; `crossref` adds the "Figure N:" prefix later."""
        return str(outputs.options.get(key) or "").strip()

    def _figure(self, outputs: CellOutputs) -> str:
        problems = figure_problems(outputs.notebook, outputs.label, outputs.options)
        if problems:
            raise RenderError("\n".join(problems))
        if not outputs.images:
            raise RenderError(
                f"cell {outputs.label!r} in {outputs.notebook} has no PNG "
                "output; a fig- cell must display one matplotlib figure."
            )
        if len(outputs.images) > 1:
            print(
                f"warning: {outputs.notebook}#{outputs.label} has "
                f"{len(outputs.images)} images; using the first."
            )
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        (self.figures_dir / f"{outputs.label}.png").write_bytes(outputs.images[0])
        caption = self._caption(outputs, "fig-cap")
        alt = json.dumps(" ".join(str(outputs.options["fig-alt"]).split()), ensure_ascii=False)
        image = (
            f"![{caption}]({self.figures_dir.name}/{outputs.label}.png)"
            f"{{#{outputs.label} alt={alt}}}"
        )
        return "\n\n".join(outputs.markdown + [image])

    def _table(self, outputs: CellOutputs) -> str:
        tables = [m for m in outputs.markdown if is_table(m)]
        others = [m for m in outputs.markdown if not is_table(m)]
        if tables:
            table = tables[-1].strip()
        elif outputs.html:
            table = html_to_markdown(outputs.html[-1])
        elif outputs.plain:
            table = "```\n" + outputs.plain[-1] + "\n```"
        else:
            raise RenderError(
                f"cell {outputs.label!r} in {outputs.notebook} has no table "
                "output; display `Markdown(df.to_markdown(index=False))`."
            )
        caption = f": {self._caption(outputs, 'tbl-cap')} {{#{outputs.label}}}"
        return "\n\n".join(others + [table, caption])

    def _plain(self, outputs: CellOutputs) -> str:
        parts = outputs.markdown + [html_to_markdown(h) for h in outputs.html]
        parts += ["```\n" + p + "\n```" for p in outputs.plain if not outputs.markdown]
        if not parts and not outputs.images:
            raise RenderError(
                f"cell {outputs.label!r} in {outputs.notebook} has no output "
                "to embed; make it display markdown (e.g. a callout)."
            )
        for i, image in enumerate(outputs.images):
            self.figures_dir.mkdir(parents=True, exist_ok=True)
            name = f"{outputs.label}-{i}.png"
            (self.figures_dir / name).write_bytes(image)
            parts.append(f"![]({self.figures_dir.name}/{name})")
        return "\n\n".join(parts)


def resolve_includes(text: str, article: Path) -> str:
    """Replace `{{< include path >}}` with the file's text (path relative to the article)."""

    def replace(match: re.Match) -> str:
        path = article.parent / match.group(1)
        if not path.is_file():
            raise RenderError(
                f"{article}: `{match.group(0)}` names {path}, which does not "
                "exist; run `cifar-report build` to write it."
            )
        return path.read_text(encoding="utf-8")

    return INCLUDE_RE.sub(replace, text)


def resolve_other_shortcodes(body: str, article: Path) -> str:
    """Support `{{< pagebreak >}}`; any other leftover shortcode is an error."""

    def replace(match: re.Match) -> str:
        if match.group(1) == "pagebreak":
            return PAGEBREAK
        raise RenderError(
            f"shortcode {match.group(0)!r} in {article} is not supported "
            "by the built-in renderer (only var, embed, pagebreak); "
            "use Quarto or remove it."
        )

    return SHORTCODE_RE.sub(replace, body)


def build_markdown(
    article: Path, variables: dict, variables_source: Path, figures_dir: Path
) -> str:
    """The article as pandoc markdown with every shortcode resolved (refs still `@x`)."""
    text = resolve_includes(article.read_text(encoding="utf-8"), article)
    embedder = Embedder(article, figures_dir)
    front, body = split_front_matter(text)
    body = EMBED_RE.sub(embedder, body)
    text = resolve_vars(front + body, variables, variables_source)
    front, body = split_front_matter(text)
    front = normalize_front_matter(front, article)
    return front + resolve_other_shortcodes(body, article)


def build_document(
    article: Path,
    variables: dict,
    variables_source: Path,
    figures_dir: Path,
    chapters: bool = False,
) -> tuple[dict, CrossrefIndex]:
    """The article as pandoc's JSON AST, numbered and with references resolved."""
    markdown = build_markdown(article, variables, variables_source, figures_dir)
    return number_document(markdown, article, chapters)


def embedded_labels(text: str) -> tuple[tuple[str, str], ...]:
    """(notebook path, label) of every embed shortcode in `text`, in order."""
    return tuple((m.group(1), m.group(2)) for m in EMBED_RE.finditer(text))
