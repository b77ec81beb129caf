"""What a reader of the rendered article can follow: links to local files, the notebook
behind every embedded figure and table, the title block, a figure when clicked.

Works on the built-in renderer's HTML and on Quarto's (both wrap an embed in
``<div class="quarto-embed-nb-cell">`` and add ``notebook-links.lua``'s
``<div class="notebook-source">``).

    python -m tests.support.reader _site/index.html

Example
-------
>>> page = ('<div class="quarto-embed-nb-cell"><figure id="fig-a"><img src="data:,"/>'
...         '</figure></div><a href="gone.html">x</a>')
>>> links = read_links(page)
>>> links.embeds, links.sources, links.hrefs
(['fig-a'], {}, ['gone.html'])
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tests.support.browser import inspect_page

#: The title block as text, and the first embedded figure's image (to click).
TITLE_BLOCK = """(() => {
  const header = document.querySelector('header#title-block-header');
  return header ? header.innerText : null;
})()"""
FIGURE = ".quarto-embed-nb-cell figure img"


@dataclass
class Links:
    """Embedded figure/table labels, their source links (label → hrefs), every local
    href/src of the page, and the element ids."""

    embeds: list[str] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)
    hrefs: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = Links()
        self.embed: list[int] = []  # depth of the embed divs we are in
        self.label: str | None = None
        self.source_depth: int | None = None
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        ident = attrs.get("id") or ""
        if ident:
            self.links.ids.add(ident)
        if tag in ("img", "input", "br", "hr", "meta", "link", "source"):
            self._local(attrs.get("src") or attrs.get("href"))
            return
        self.depth += 1
        if tag == "div" and "quarto-embed-nb-cell" in classes:
            self.embed.append(self.depth)
        elif self.embed and re.match(r"^(fig|tbl)-[\w-]+$", ident) and self.label is None:
            if "caption" not in ident:
                self.label = ident
                self.links.embeds.append(ident)
        if tag == "div" and "notebook-source" in classes and self.label:
            self.source_depth = self.depth
        if tag == "a":
            href = attrs.get("href") or ""
            if self.source_depth is not None and self.label:
                self.links.sources.setdefault(self.label, []).append(href)
            self._local(href)

    def _local(self, ref: str | None) -> None:
        if ref and not re.match(r"^(#|data:|[a-z]+:|//)", ref):
            self.links.hrefs.append(ref)

    def handle_endtag(self, tag):
        if tag in ("img", "input", "br", "hr", "meta", "link", "source"):
            return
        if self.source_depth == self.depth:
            self.source_depth = None
        if self.embed and self.embed[-1] == self.depth:
            self.embed.pop()
            self.label = None
        self.depth -= 1


def read_links(html: str) -> Links:
    """The links of an HTML page (see :class:`Links`)."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.links


def link_problems(page: Path) -> list[str]:
    """Local links to files that do not exist, embedded figures and tables without a
    link to their notebook's page and .ipynb, and notebook links whose anchor is not in
    the notebook's page."""
    links = read_links(page.read_text(encoding="utf-8"))
    problems = []
    for href in dict.fromkeys(links.hrefs):
        target = page.parent / unquote(urlsplit(href).path)
        if not target.exists():
            problems.append(f"{page.name} links {href}, which does not exist")
    pages: dict[Path, set[str]] = {}
    for label in links.embeds:
        hrefs = links.sources.get(label, [])
        notebook_pages = [h for h in hrefs if urlsplit(h).path.endswith(".html")]
        notebooks = [h for h in hrefs if h.endswith(".ipynb")]
        if not notebook_pages or not notebooks:
            problems.append(f"{label} does not link its notebook's page and .ipynb ({hrefs})")
            continue
        url = urlsplit(notebook_pages[0])
        target = page.parent / unquote(url.path)
        if target.is_file():
            if target not in pages:
                pages[target] = read_links(target.read_text(encoding="utf-8")).ids
            if url.fragment not in pages[target]:
                problems.append(f"{label}: {target.name} has no #{url.fragment}")
    return problems


def reader_view(page: Path, screenshots: Path | None = None):
    """The page in a browser: the title block's text, and what a click on the first
    embedded figure shows (``report.evaluated[0]``, ``report.clicked``)."""
    return inspect_page(
        page,
        evaluate=(TITLE_BLOCK,),
        screenshot=screenshots / "first-screen.png" if screenshots else None,
        click=(FIGURE, screenshots / "figure-clicked.png" if screenshots else None),
    )


def main(argv=None) -> int:
    paths = argv if argv is not None else sys.argv[1:]
    failed = 0
    for path in map(Path, paths):
        problems = link_problems(path)
        print(f"{path}: {len(problems)} link problem(s)")
        for problem in problems:
            print(f"- {problem}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
