"""Sortable, filterable, paginated long tables in the HTML report, offline.

The library is DataTables, as bundled by the `itables` Python package
(``itables/html/dt_bundle.js`` and ``.css``: DataTables 2 with jQuery, MIT licensed,
https://itables.org). It is read from the installed package when the report is
rendered, never committed and never fetched: :func:`write_include` writes one HTML
fragment (``<style>`` + ``<script type="module">``) with the bundle gzip-compressed and
base64-encoded inside, which the page decompresses in the browser
(``DecompressionStream``) and imports from a ``blob:`` URL, as itables' own offline
mode does.

The fragment goes at the end of the HTML body: the built-in renderer passes it to
pandoc (``--include-after-body``), and ``_quarto.yml`` lists it under
``format.html.include-after-body`` (HTML only: the PDF keeps plain tables). The
notebooks' tables stay markdown (a ``text/html`` output would make Quarto load scripts
from a CDN, docs/quarto.md). Which tables become interactive is decided in the page:
every table with at least :data:`MIN_ROWS` body rows, and every table inside an element
with the class ``interactive-table``. Numbers sort as numbers even when the cell is
"68.9 ± 0.4", "1.71M", "−26.1" or "46.4 %".

    python -m cifar_core.render.tables [PROJECT_ROOT]    # writes PROJECT_ROOT/_tables.html
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
from importlib import metadata, resources
from pathlib import Path

from .errors import RenderError

INCLUDE_FILE = "_tables.html"
"""The fragment's name in the project root (git-ignored; `_quarto.yml` includes it)."""
MIN_ROWS = 12
PAGE_LENGTH = 10

#: Runs in the page. ``BUNDLE``, ``CSS``, ``MIN_ROWS`` and ``PAGE_LENGTH`` are filled in.
SCRIPT = r"""
const inflate = async (b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).blob();
};
const style = document.createElement("style");
style.textContent = await (await inflate(CSS)).text();
document.head.appendChild(style);
const url = URL.createObjectURL(new Blob([await inflate(BUNDLE)], {type: "text/javascript"}));
const { default: DataTable } = await import(url);
URL.revokeObjectURL(url);

// "68.9 ± 0.4" sorts by 68.9, "1.71M" by 1.71e6, "−26.1" as negative; "–" is missing.
const NUMBER = /^[+\-\u2212]?\d[\d,]*(\.\d+)?(e[+\-]?\d+)?\s*([kMG]{0,1})(\s|%|$)/;
const text = (d) => String(d).replace(/<[^>]*>/g, "").trim();
const missing = (t) => t === "" || t === "\u2013" || t === "-" || t === "nan";
DataTable.ext.type.detect.unshift((d) => {
  const t = text(d);
  return missing(t) || NUMBER.test(t) ? "leading-number" : null;
});
DataTable.ext.type.order["leading-number-pre"] = (d) => {
  const t = text(d), m = t.match(NUMBER);
  if (!m) return -Infinity;
  const value = parseFloat(m[0].replace(/,/g, "").replace("\u2212", "-"));
  return value * ({"": 1, k: 1e3, M: 1e6, G: 1e9}[m[3]]);
};

let made = 0;
document.querySelectorAll("table").forEach((table) => {
  const body = table.tBodies[0];
  if (!table.tHead || !body || table.querySelector("[rowspan], [colspan]")) return;
  const marked = table.closest(".interactive-table") !== null;
  if (body.rows.length < MIN_ROWS && !marked) return;
  table.classList.add("interactive-table", "display", "compact");
  // The caption goes above the search box and page-size menu, and still names the table.
  const caption = table.caption;
  if (caption) {
    const title = document.createElement("div");
    title.className = "table-caption";
    title.id = (table.id || table.closest("[id]")?.id || "table") + "-caption";
    title.append(...caption.childNodes);
    caption.remove();
    table.before(title);
    table.setAttribute("aria-labelledby", title.id);
  }
  new DataTable(table, {
    order: [], autoWidth: false,
    paging: body.rows.length > PAGE_LENGTH, pageLength: PAGE_LENGTH,
    lengthMenu: [[PAGE_LENGTH, 25, 100, -1], [PAGE_LENGTH, 25, 100, "all"]],
    language: {search: "Filter:"},
  });
  made += 1;
});
document.documentElement.dataset.interactiveTables = String(made);   // tests wait for it
"""

#: Layout fixes on top of DataTables' CSS: wide tables scroll inside their box, not the page.
EXTRA_CSS = """
div.dt-container { margin: 0.6em 0 1em; font-size: 0.95em; }
div.dt-container .dt-layout-table { overflow-x: auto; }
div.dt-container table.dataTable { margin: 0; }
div.table-caption { font-size: 0.92em; color: #444; text-align: left; padding: 0.4em 0; }
@media print { div.dt-container .dt-layout-row:not(.dt-layout-table) { display: none; } }
"""


def bundle_files() -> tuple[Path, Path]:
    """The DataTables bundle shipped by the installed itables: (``.js``, ``.css``)."""
    try:
        folder = resources.files("itables") / "html"
    except ModuleNotFoundError as exc:
        raise RenderError(
            "the HTML report's sortable tables need the `itables` package "
            "(a dependency of cifar-report): `pip install -e .`"
        ) from exc
    js, css = Path(str(folder / "dt_bundle.js")), Path(str(folder / "dt_bundle.css"))
    if not js.is_file() or not css.is_file():
        raise RenderError(
            f"itables {metadata.version('itables')} has no {js.name}/{css.name} "
            f"in {folder}; install a version that ships them (>= 2.0)."
        )
    return js, css


def _packed(path: Path) -> str:
    # mtime=0: the same bundle always gives the same bytes (reproducible pages).
    return base64.b64encode(gzip.compress(path.read_bytes(), 9, mtime=0)).decode("ascii")


def include_html() -> str:
    """The HTML fragment that makes the page's long tables interactive."""
    js, css = bundle_files()
    version = metadata.version("itables")
    constants = (
        f"const BUNDLE = {json.dumps(_packed(js))};\n"
        f"const CSS = {json.dumps(_packed(css))};\n"
        f"const MIN_ROWS = {MIN_ROWS}, PAGE_LENGTH = {PAGE_LENGTH};\n"
    )
    return (
        f"<!-- Sortable tables: DataTables as bundled by itables {version} (MIT, "
        f"https://itables.org); written by cifar_core.render.tables -->\n"
        f"<style>{EXTRA_CSS}</style>\n"
        f'<script type="module">\n{constants}{SCRIPT}</script>\n'
    )


def write_include(project_root=".") -> Path:
    """Write :data:`INCLUDE_FILE` into the project root (only when its text changed)."""
    path = Path(project_root) / INCLUDE_FILE
    text = include_html()
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    root = Path(args[0] if args else ".")
    print(f"wrote {write_include(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
