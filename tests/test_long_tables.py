"""Tables at the full profile's size: the 183-row runs table and the leaderboard of every
variant stay usable in the HTML (sorted, filtered, paged in a browser) and legible in
the PDF (split across pages, every row printed, nothing wider than the text).

The article is the real one over stub notebooks (tests/support/render_fixtures.py)
whose summary tables have the rows a `full` (or `rehearsal`) build gives them: one per
run of the profile, with 12-character run keys. Skipped with the reason when Chromium
or poppler is missing; page images go to test-output/ (git-ignored)."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from cifar_core.experiments.catalog import get_profile, plan, studies_of
from cifar_core.render import render
from tests.support.browser import find_chromium, inspect_page, use_long_table
from tests.support.pdfcheck import check_pdf
from tests.support.render_fixtures import ROOT, display, png_bytes, stub_project

pytestmark = pytest.mark.slow  # renders the article and starts a browser
OUTPUT = ROOT / "test-output"
FULL_RUNS = plan(get_profile("full"))


def run_key(variant) -> str:
    return hashlib.sha256(f"{variant.name}/{variant.seed}".encode()).hexdigest()[:12]


def runs_table() -> str:
    """The summary's runs table as the full profile fills it (one row per run)."""
    rows = ["| variant [SYNTHETIC DATA] | seed | run key | epochs | data | cached |"]
    rows.append("|:--|:--|:--|:--|:--|:--|")
    rows += [
        f"| {v.name} | {v.seed} | {run_key(v)} | {v.epochs} | 9d7b31797b4a | yes |"
        for v in FULL_RUNS
    ]
    return "\n".join(rows)


def leaderboard() -> str:
    """The leaderboard: one row per variant, the summary's nine columns."""
    header = (
        "| variant [SYNTHETIC DATA] | study | seeds | params | val acc % | test acc % | "
        "time s | under-trained | note |\n|:--|:--|:--|:--|:--|:--|:--|:--|:--|"
    )
    names = list(dict.fromkeys(v.name for v in FULL_RUNS))
    rows = [
        f"| {name} | {', '.join(studies_of(name))} | 3 | {i + 1}.2M | {60 - i / 3:.1f} ± 0.4 | "
        f"{59 - i / 3:.1f} ± 0.5 | {10 * i + 3:.1f} | {'yes' if i % 3 else 'no'} | |"
        for i, name in enumerate(names)
    ]
    return "\n".join([header, *rows])


@pytest.fixture(scope="module")
def long_site(tmp_path_factory) -> Path:
    project = stub_project(tmp_path_factory.mktemp("long"), png_bytes(), profile="rehearsal")
    notebook = project / "notebooks" / "08-summary.ipynb"
    nb = nbformat.read(str(notebook), as_version=4)
    tables = {"tbl-summary-runs": runs_table(), "tbl-summary-leaderboard": leaderboard()}
    for cell in nb.cells:
        label = re.search(r"#\| label: (\S+)", cell.source)
        if label and label.group(1) in tables:
            cell.outputs = [display({"text/markdown": tables[label.group(1)], "text/plain": "t"})]
    nbformat.write(nb, str(notebook))
    render(project, renderer="builtin", profile="rehearsal", log=None)
    return project / "_site"


@pytest.mark.skipif(
    find_chromium() is None or importlib.util.find_spec("websocket") is None,
    reason="needs Chromium on PATH (Debian: `apt-get install chromium`) and websocket-client",
)
def test_the_183_row_runs_table_is_sorted_filtered_and_paged_in_the_browser(long_site):
    page = inspect_page(long_site / "index.html", evaluate=(use_long_table(183),))
    assert page.problems() == []  # no console error, no horizontal scrollbar
    [used] = page.evaluated
    assert used["found"], "no interactive table with 183 entries"
    assert used["shown"] == 10 and used["pages"] >= 5  # paged, ten rows at a time
    flagship_runs = sum(v.name.startswith(("flagship", "ctl_flagship")) for v in FULL_RUNS)
    assert f"of {flagship_runs} entries" in used["filtered"]
    assert all("flagship" in name for name in used["filteredNames"])
    longest = max(v.epochs for v in FULL_RUNS)
    assert used["top"][0] == longest and used["top"] == sorted(used["top"], reverse=True)


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="pdftoppm/pdftotext not on PATH (Debian: `apt-get install poppler-utils`)",
)
def test_the_pdf_prints_every_run_across_pages_within_the_text_block(long_site):
    pdf = long_site / "index.pdf"
    report = check_pdf(pdf, OUTPUT / "long-tables-pages")
    assert report.problems() == []  # nothing drawn into the margins
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = text.split("\f")
    keys = {run_key(v) for v in FULL_RUNS}
    assert keys <= set(re.findall(r"\b[0-9a-f]{12}\b", text)), "a run is missing from the PDF"
    spanned = [i for i, page in enumerate(pages) if keys & set(re.findall(r"[0-9a-f]{12}", page))]
    assert len(spanned) >= 4 and spanned == list(range(spanned[0], spanned[-1] + 1))
