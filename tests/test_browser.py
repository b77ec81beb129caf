"""The self-contained HTML as a browser shows it (headless Chromium) and the PDF as
printed pages (poppler). Skipped with the reason when Chromium or poppler is missing;
screenshots and page images go to test-output/ (git-ignored)."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from cifar_core.render import render
from cifar_core.render.browser import find_chromium, inspect_page
from cifar_core.render.pdfcheck import check_pdf
from tests.render_fixtures import ROOT, png_bytes, stub_project

pytestmark = pytest.mark.slow   # starts a browser (~3 s a page) and renders a report
OUTPUT = ROOT / "test-output"
needs_chromium = pytest.mark.skipif(
    find_chromium() is None or importlib.util.find_spec("websocket") is None,
    reason="needs Chromium on PATH (Debian: `apt-get install chromium`) and "
           "websocket-client (the dev extra)")
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None,
    reason="pdftoppm/pdfinfo not on PATH (Debian: `apt-get install poppler-utils`)")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """The real article over stub notebooks, rendered by the built-in renderer."""
    project = stub_project(tmp_path_factory.mktemp("browser"), png_bytes(8, 4, 100))
    render(project, renderer="builtin", profile="smoke", log=None)
    return project / "_site"


def _built_site() -> Path:
    site = ROOT / "_site"
    if not (site / "index.html").is_file():
        pytest.skip("no built report in this checkout (`cifar-report build --profile smoke`)")
    return site


def _assert_reads_well(html: Path, name: str) -> None:
    page = inspect_page(html, width=1280, screenshot=OUTPUT / f"{name}-first-screen.png")
    print(f"screenshot: {page.screenshots[0]}")
    assert page.problems() == []
    assert page.title and page.lang == "en"
    assert page.screenshots[0].stat().st_size > 10_000


@needs_chromium
def test_the_html_loads_without_errors_broken_images_or_overflow(report):
    _assert_reads_well(report / "index.html", "stub")


@needs_chromium
def test_the_built_report_loads_without_errors_broken_images_or_overflow():
    _assert_reads_well(_built_site() / "index.html", "built")


@needs_chromium
def test_the_browser_check_sees_what_a_reader_would(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html lang="en"><head><title>Bad</title></head><body>'
                    '<img id="gone" src="data:image/png;base64,AAAA" alt="gone">'
                    '<div style="width: 2000px">wide</div>'
                    '<script>console.error("boom")</script></body></html>')
    report = inspect_page(page, width=1280, element=("#gone", tmp_path / "img.png"))
    problems = report.problems()
    assert report.horizontal_scrollbar and report.scroll_width == 2000 + 8  # body margin
    assert any("boom" in p for p in problems)
    assert any("image did not load: gone" in p for p in problems)
    assert any("horizontal scrollbar" in p and "div" in p for p in problems)


@needs_poppler
def test_every_pdf_page_renders_and_nothing_is_wider_than_the_text(report):
    pdf = check_pdf(report / "index.pdf", OUTPUT / "stub-pages")
    assert pdf.pages >= 10 and len(pdf.images) == pdf.pages
    assert pdf.problems() == []


@needs_poppler
def test_the_built_pdf_pages_render_within_the_text_block():
    pdf = check_pdf(_built_site() / "index.pdf", OUTPUT / "built-pages")
    assert pdf.problems() == []


@needs_poppler
def test_the_pdf_check_finds_a_figure_wider_than_the_text(tmp_path):
    import typst

    source = tmp_path / "wide.typ"
    source.write_text('#set page(paper: "a4")\nSome text.\n\n'
                      '#block(width: 130%, height: 3cm, fill: black)\n')
    typst.compile(str(source), output=str(tmp_path / "wide.pdf"))
    pdf = check_pdf(tmp_path / "wide.pdf", tmp_path / "pages")
    assert pdf.pages == 1 and len(pdf.overflows) == 1 and "page 1" in pdf.overflows[0]
