"""The title block from report.yml: defaults, the user's values (replacing, never
appended to, the defaults), bad values named with their fix, and what the built-in
renderer prints (HTML title block, PDF title page and PDF metadata). Quarto's side is
in test_quarto.py."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cifar_core.render import RenderError, render
from cifar_core.render.report_meta import (
    DEFAULT_KEYWORDS,
    DEFAULT_TITLE,
    GENERATED_FILE,
    report_metadata,
    write_report_metadata,
)
from tests.support.render_fixtures import ROOT, STUB_DATE, png_bytes, stub_project

REPORT = {
    "title": "My CIFAR-10 report",
    "subtitle": "Run on the lab machine",
    "author": [
        {
            "name": "Jane Doe",
            "orcid": "0000-0002-1825-0097",
            "email": "jane@example.org",
            "affiliations": [{"name": "Example University"}],
        },
        "John Roe",
    ],
    "keywords": ["CIFAR-10", "dropout"],
    "license": "CC BY 4.0",
}


@pytest.fixture(scope="module")
def png() -> bytes:
    return png_bytes()


@pytest.fixture()
def project(tmp_path, png) -> Path:
    return stub_project(tmp_path, png)


def write_report(project: Path, report: dict) -> None:
    (project / "report.yml").write_text(yaml.safe_dump(report, allow_unicode=True))


def test_without_report_yml_the_defaults_apply(project):
    meta = report_metadata(project, "Smoke build")
    assert meta == {
        "title": DEFAULT_TITLE,
        "subtitle": "Smoke build",
        "keywords": list(DEFAULT_KEYWORDS),
        "date": STUB_DATE,  # build.date of _variables.yml
    }
    assert "author" not in meta and "license" not in meta  # no invented author or licence


def test_report_yml_replaces_each_default_it_sets(project):
    write_report(project, REPORT)
    meta = report_metadata(project, "Smoke build")
    assert meta["title"] == "My CIFAR-10 report" and meta["subtitle"] == "Run on the lab machine"
    assert meta["keywords"] == ["CIFAR-10", "dropout"]  # replaced, not appended
    assert [a["name"] for a in meta["author"]] == ["Jane Doe", "John Roe"]
    assert meta["author"][0]["affiliations"] == [{"name": "Example University"}]
    assert meta["license"] == "CC BY 4.0" and meta["date"] == STUB_DATE
    write_report(project, {"date": "2027-03-04"})
    assert report_metadata(project)["date"] == "2027-03-04"


def test_the_generated_file_is_written_only_when_it_changes(project):
    path = write_report_metadata(project, "Smoke build")
    assert path.name == GENERATED_FILE and yaml.safe_load(path.read_text())["date"] == STUB_DATE
    stamp = path.stat().st_mtime_ns
    write_report_metadata(project, "Smoke build")
    assert path.stat().st_mtime_ns == stamp  # a watching `quarto preview` sees no change
    write_report(project, {"title": "Other"})
    assert yaml.safe_load(write_report_metadata(project).read_text())["title"] == "Other"


@pytest.mark.parametrize(
    "report, needle",
    [
        ({"authors": ["x"]}, "`authors` is not a report setting"),
        ({"author": [{"name": "A", "orcid": "1234"}]}, "`author[0].orcid` is '1234'"),
        ({"author": [{"name": "A", "affil": "U"}]}, "unknown keys ['affil']"),
        ({"author": [{"orcid": "0000-0002-1825-0097"}]}, "give each author a `name:`"),
        ({"keywords": "CIFAR-10, dropout"}, "write a list"),
        ({"date": "yesterday"}, "write it as YYYY-MM-DD"),
        ({"title": ""}, "non-empty text"),
    ],
)
def test_a_bad_report_yml_names_the_file_the_key_and_the_fix(project, report, needle):
    write_report(project, report)
    with pytest.raises(RenderError) as info:
        render(project, renderer="builtin", profile="smoke", to="html", log=None)
    assert str(project / "report.yml") in str(info.value) and needle in str(info.value)


def test_the_builtin_renderer_prints_the_title_block(project):
    write_report(project, REPORT)
    html = render(project, renderer="builtin", profile="smoke", log=None)[0].read_text()
    header = re.search(r'<header id="title-block-header">.*?</header>', html, re.S).group(0)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", header))
    assert "My CIFAR-10 report" in text and "Run on the lab machine" in text
    assert "Jane Doe , Example University" in text or "Jane Doe, Example University" in text
    assert 'href="https://orcid.org/0000-0002-1825-0097"' in header
    assert "John Roe" in text and "Published January 15, 2026" in text
    assert "Keywords: CIFAR-10, dropout" in text and "Licence: CC BY 4.0" in text
    assert re.search(r'<a href="index\.pdf">PDF</a>', header) and "Typst" not in header


def test_the_builtin_pdf_prints_the_title_block_and_carries_it_as_metadata(project):
    if shutil.which("pdfinfo") is None or shutil.which("pdftotext") is None:
        pytest.skip("pdfinfo/pdftotext (Debian package poppler-utils) are not installed")
    write_report(project, REPORT)
    pdf = render(project, renderer="builtin", profile="smoke", to="pdf", log=None)[0]
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"^Title:\s+My CIFAR-10 report$", info, re.M)
    assert re.search(r"^Author:\s+Jane Doe & John Roe$", info, re.M)
    assert re.search(r"^Keywords:\s+CIFAR-10, dropout$", info, re.M)
    first = subprocess.run(
        ["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True
    ).stdout
    for needle in ("Jane Doe", "Example University", "ORCID 0000-0002-1825-0097",
                   "Published January 15, 2026", "Keywords: CIFAR-10, dropout",
                   "Licence: CC BY 4.0"):  # fmt: skip
        assert needle in first, needle


def test_the_real_project_ships_no_report_yml_and_a_valid_example(tmp_path):
    """report.yml is the user's (git-ignored); the example is a valid one."""
    assert "/report.yml" in (ROOT / ".gitignore").read_text().splitlines()
    shutil.copy(ROOT / "report.example.yml", tmp_path / "report.yml")
    meta = report_metadata(tmp_path)
    assert meta["author"][0]["orcid"] and meta["license"]
