"""Sortable, filterable long tables in the HTML (`cifar_core.render.tables`): the fragment
is self-contained and deterministic, it is wired into both renderers' HTML and never into
the PDF, and in a real browser it sorts numbers as numbers and filters rows."""

from __future__ import annotations

import importlib.util
import json
import re
from importlib import resources

import pytest

from cifar_core.render import RenderError, tables
from tests.support.browser import find_chromium, inspect_page

needs_chromium = pytest.mark.skipif(
    find_chromium() is None or importlib.util.find_spec("websocket") is None,
    reason="needs Chromium on PATH (Debian: `apt-get install chromium`) and websocket-client",
)


def test_the_fragment_inlines_itables_datatables_and_loads_nothing_from_the_network():
    html = tables.include_html()
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", html)
    assert "import(url)" in html and "DecompressionStream" in html
    js, css = tables.bundle_files()
    assert js.name == "dt_bundle.js" and css.name == "dt_bundle.css"
    packed = json.loads(re.search(r"const BUNDLE = (\"[^\"]+\");", html).group(1))
    import base64
    import gzip

    assert gzip.decompress(base64.b64decode(packed)) == js.read_bytes()
    assert html == tables.include_html(), "the same bundle must give the same page"


def test_write_include_rewrites_only_when_the_text_changes(tmp_path):
    path = tables.write_include(tmp_path)
    assert path == tmp_path / "_tables.html"
    stamp = path.stat().st_mtime_ns
    tables.write_include(tmp_path)
    assert path.stat().st_mtime_ns == stamp
    path.write_text("an older fragment", encoding="utf-8")
    tables.write_include(tmp_path)
    assert path.read_text(encoding="utf-8") == tables.include_html()


def test_a_missing_itables_is_named(monkeypatch):
    def missing(name):
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(resources, "files", missing)
    with pytest.raises(RenderError, match="itables.*pip install"):
        tables.include_html()


def test_the_builtin_html_has_the_tables_script_and_the_typst_source_does_not(tmp_path):
    from cifar_core.render.config import load_config
    from cifar_core.render.document import build_document
    from cifar_core.render.variables import load_variables
    from cifar_core.render.writers import write_html, write_pdf
    from tests.support.render_fixtures import png_bytes, stub_project
    from tests.test_render import ARTICLE, BIB, VARIABLES, write_notebooks  # noqa: F401

    project = stub_project(tmp_path, png_bytes())
    config = load_config(project, "smoke")
    variables, source = load_variables(project)
    build = tmp_path / "build"
    build.mkdir()
    doc, _ = build_document(config.article, variables, source, build / "figures")
    html = write_html(doc, config, build).read_text()
    assert "DataTables as bundled by itables" in html
    write_pdf(doc, config, build)
    assert "DataTable" not in (build / "index.typ").read_text()


def _page(tmp_path, rows: int) -> str:
    assert (tables.MIN_ROWS, tables.PAGE_LENGTH) == (12, 10)  # what the checks below count on
    values = ["68.9 ± 0.4", "1.71M", "\u221226.1", "–", "9.5 %", "714k", "12,230,010"]
    body = "".join(
        f"<tr><td>v{i:02d}</td><td>{'even' if i % 2 == 0 else 'odd'}</td>"
        f"<td>{values[i % len(values)]}</td></tr>"
        for i in range(rows)
    )
    page = tmp_path / "page.html"
    page.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>T</title></head>'
        '<body><table id="long"><caption>Table 1: Long.</caption><thead><tr><th>variant</th>'
        f"<th>group</th><th>value</th></tr></thead><tbody>{body}</tbody></table>"
        '<table id="short"><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr>'
        "</tbody></table>" + tables.include_html() + "</body></html>",
        encoding="utf-8",
    )
    return page


SORT_BY_VALUE = """(async () => {
  const th = document.querySelectorAll('#long thead th')[2];
  const settle = () => new Promise(r => setTimeout(r, 300));   // DataTables redraws async
  const column = () => Array.from(document.querySelectorAll('#long tbody tr'))
                            .map(r => r.cells[2].textContent);
  th.click();
  await settle();
  const ascending = column();
  th.click();
  await settle();
  return {ascending, descending: column()};
})()"""
FILTER_ODD = """(async () => {
  const input = document.querySelector('.dt-search input');
  input.value = 'odd';
  input.dispatchEvent(new Event('input', {bubbles: true}));
  await new Promise(r => setTimeout(r, 300));
  return {rows: document.querySelectorAll('#long tbody tr').length,
          groups: Array.from(new Set(Array.from(document.querySelectorAll('#long tbody tr'))
                                         .map(r => r.cells[1].textContent))),
          info: document.querySelector('.dt-info').textContent};
})()"""
STATE = """({made: document.documentElement.dataset.interactiveTables,
             short: document.querySelector('#short').classList.contains('dataTable'),
             caption: document.querySelector('.table-caption')?.textContent,
             shown: document.querySelectorAll('#long tbody tr').length})"""


@needs_chromium
def test_long_tables_sort_numbers_as_numbers_filter_and_paginate(tmp_path):
    page = inspect_page(
        _page(tmp_path, 21), width=1280, evaluate=(STATE, SORT_BY_VALUE, FILTER_ODD)
    )
    assert page.problems() == []
    state, order, filtered = page.evaluated
    assert state == {"made": "1", "short": False, "caption": "Table 1: Long.", "shown": 10}
    # "–" (missing) lowest, then −26.1 < 9.5 % < 68.9 ± 0.4 < 714k < 1.71M < 12,230,010
    assert order["ascending"][:7] == ["–"] * 3 + ["\u221226.1"] * 3 + ["9.5 %"]
    assert order["descending"][:7] == ["12,230,010"] * 3 + ["1.71M"] * 3 + ["714k"]
    assert filtered["groups"] == ["odd"] and filtered["rows"] == 10
    assert "of 10 entries" in filtered["info"] and "21 total" in filtered["info"]
