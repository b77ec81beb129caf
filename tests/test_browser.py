"""The report as a reader gets it: the smoke build's self-contained HTML in a browser
(headless Chromium) and its PDF as printed pages (poppler). The report is the session's
smoke build (tests/conftest.py `smoke_build`, shared with the end-to-end test); the title
block, the notebook links and a clicked figure are checked on the real article over stub
notebooks (quick; test_quarto.py does the same for Quarto's HTML).
Skipped with the reason when Chromium or poppler is missing; screenshots and page
images go to test-output/ (git-ignored)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from cifar_core.render import render
from tests.support.browser import find_chromium, inspect_page
from tests.support.pdfcheck import check_pdf
from tests.support.reader import link_problems, reader_view
from tests.support.render_fixtures import ROOT, png_bytes, stub_project

pytestmark = pytest.mark.slow  # builds the smoke report (once a session) and starts a browser
OUTPUT = ROOT / "test-output"
needs_chromium = pytest.mark.skipif(
    find_chromium() is None or importlib.util.find_spec("websocket") is None,
    reason="needs Chromium on PATH (Debian: `apt-get install chromium`) and "
    "websocket-client (the dev extra)",
)
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None,
    reason="pdftoppm/pdfinfo not on PATH (Debian: `apt-get install poppler-utils`)",
)

#: What a reader can do with the long tables once the page has loaded.
TABLES = """(() => ({
  interactive: Number(document.documentElement.dataset.interactiveTables),
  searchable: document.querySelectorAll('.dt-search input').length,
  paged: document.querySelectorAll('.dt-paging').length,
  banner_top: document.querySelector('.synthetic-banner')?.getBoundingClientRect().top,
  toc_top: document.querySelector('#TOC')?.getBoundingClientRect().top,
}))()"""


@pytest.fixture(scope="module")
def stub_site(tmp_path_factory) -> Path:
    """The real article over stub notebooks, with the example report.yml, rendered by
    the built-in renderer (test_quarto.py checks Quarto's rendering the same way)."""
    project = stub_project(tmp_path_factory.mktemp("stub"), png_bytes())
    shutil.copy(ROOT / "report.example.yml", project / "report.yml")
    render(project, renderer="builtin", profile="smoke", log=None)
    return project / "_site"


@needs_chromium
def test_a_reader_sees_the_title_block_follows_notebook_links_and_enlarges_a_figure(stub_site):
    page = reader_view(stub_site / "index.html", OUTPUT / "builtin-stub")
    assert page.problems() == []
    [title] = page.evaluated
    assert "Jane Doe" in title and "Published January 15, 2026" in title and "ORCID" in title
    clicked = page.clicked
    assert clicked["url"] == page.url, "clicking a figure left the page"
    assert clicked["dialog"] and clicked["image"]["loaded"] and clicked["image"]["embedded"]
    assert clicked["image"]["shown_width"] > 600  # larger than in the text column
    assert link_problems(stub_site / "index.html") == []
    notebook = inspect_page(stub_site / "notebooks" / "01-data-preview.html")
    assert notebook.problems() == [] and notebook.title == "Data"


@pytest.fixture(scope="module")
def site(smoke_build) -> Path:
    root, _, result = smoke_build
    assert result.exit_code == 0, [a.name for a in result.failed]
    return root / "_site"


@needs_chromium
def test_the_built_report_loads_without_errors_broken_images_or_overflow(site):
    page = inspect_page(
        site / "index.html",
        width=1280,
        evaluate=(TABLES,),
        screenshot=OUTPUT / "smoke-first-screen.png",
        element=("#fig-summary-pareto", OUTPUT / "smoke-figure.png"),
    )
    print("screenshots:", *page.screenshots)
    assert page.problems() == []
    assert page.title.startswith("Rebuilding five CIFAR-10 studies") and page.lang == "en"
    assert all(p.stat().st_size > 10_000 for p in page.screenshots)
    [tables] = page.evaluated
    assert tables["interactive"] >= 3 and tables["searchable"] == tables["interactive"]
    assert tables["paged"] >= 1
    assert 0 <= tables["banner_top"] < tables["toc_top"] and tables["banner_top"] < 900


@needs_chromium
def test_the_browser_check_sees_what_a_reader_would(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html lang="en"><head><title>Bad</title></head><body>'
        '<img id="gone" src="data:image/png;base64,AAAA" alt="gone">'
        '<div style="width: 2000px">wide</div>'
        '<script>console.error("boom")</script></body></html>'
    )
    report = inspect_page(page, width=1280, element=("#gone", tmp_path / "img.png"))
    problems = report.problems()
    assert report.horizontal_scrollbar and report.scroll_width == 2000 + 8  # body margin
    assert any("boom" in p for p in problems)
    assert any("image did not load: gone" in p for p in problems)
    assert any("horizontal scrollbar" in p and "div" in p for p in problems)


@needs_poppler
def test_every_pdf_page_renders_and_nothing_is_wider_than_the_text(site):
    pdf = check_pdf(site / "index.pdf", OUTPUT / "smoke-pages")
    assert pdf.pages >= 10 and len(pdf.images) == pdf.pages
    assert pdf.problems() == []


@needs_poppler
def test_the_pdf_check_finds_a_figure_wider_than_the_text(tmp_path):
    import typst

    source = tmp_path / "wide.typ"
    source.write_text(
        '#set page(paper: "a4")\nSome text.\n\n#block(width: 130%, height: 3cm, fill: black)\n'
    )
    typst.compile(str(source), output=str(tmp_path / "wide.pdf"))
    pdf = check_pdf(tmp_path / "wide.pdf", tmp_path / "pages")
    assert pdf.pages == 1 and len(pdf.overflows) == 1 and "page 1" in pdf.overflows[0]


@needs_poppler
def test_the_pdf_check_finds_a_header_word_drawn_over_the_next_column(tmp_path):
    import typst

    source = tmp_path / "cells.typ"
    source.write_text(
        '#set page(paper: "a4")\n#table(columns: (12pt, 60pt), [preprocessing], [augmentation],'
        " [x], [y])\n"
    )
    typst.compile(str(source), output=str(tmp_path / "cells.pdf"))
    pdf = check_pdf(tmp_path / "cells.pdf", tmp_path / "pages")
    assert pdf.overlaps == ["page 1: 'preprocessing' and 'augmentation' overlap"]
    assert pdf.problems() == pdf.overlaps
