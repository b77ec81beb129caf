"""Cross-reference numbering follows Quarto's rules, and every rendered reference
matches the heading, figure or table it points to (built-in renderer always; Quarto
when it is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pypandoc
import pytest

from cifar_core.render import RenderError, render
from cifar_core.render.crossref import NBSP, number_document
from tests.support.render_fixtures import ROOT, expected_numbers, png_bytes, stub_project
from tests.support.xrefs import read_xrefs

ARTICLE = Path("article.qmd")


def numbers(markdown: str, chapters: bool = False) -> dict[str, str]:
    """``{label: "Figure 3"}`` with plain spaces, the form of the expectation files."""
    _, index = number_document(markdown, ARTICLE, chapters)
    return {label: t.ref_text.replace(NBSP, " ") for label, t in index.items()}


def figure(label: str) -> str:
    return f"\n\n![Caption of {label}.](x.png){{#{label}}}\n\n"


def table(label: str) -> str:
    return f"\n\n| a |\n|--|\n| 1 |\n\n: Caption of {label}. {{#{label}}}\n\n"


def test_sections_count_per_level_and_reset_deeper_levels():
    md = (
        "# A {#sec-a}\n\n# B {#sec-b}\n\n## B1 {#sec-b1}\n\n### B1a {#sec-b1a}\n\n"
        "## B2 {#sec-b2}\n\n# C {#sec-c}\n\n### C0a {#sec-c0a}\n"
    )
    assert numbers(md) == {
        "sec-a": "Section 1",
        "sec-b": "Section 2",
        "sec-b1": "Section 2.1",
        "sec-b1a": "Section 2.1.1",
        "sec-b2": "Section 2.2",
        "sec-c": "Section 3",
        "sec-c0a": "Section 3.0.1",
    }


def test_unnumbered_sections_and_callout_titles_take_no_number():
    md = (
        "# A {#sec-a}\n\n## A1 {#sec-a1}\n\n::: {.callout-warning}\n## Large gap\nx\n:::\n\n"
        "::: {.callout-note}\n## Another title\ny\n:::\n\n## A2 {#sec-a2}\n\n"
        "# Refs {.unnumbered}\n\n# Skipped {-}\n\n# B {#sec-b}\n"
    )
    assert numbers(md) == {
        "sec-a": "Section 1",
        "sec-a1": "Section 1.1",
        "sec-a2": "Section 1.2",
        "sec-b": "Section 2",
    }


def test_a_header_in_a_callout_with_a_title_attribute_is_a_section():
    md = '# A {#sec-a}\n\n::: {.callout-note title="T"}\n## Inside {#sec-in}\n:::\n'
    assert numbers(md)["sec-in"] == "Section 1.1"


def test_an_appendix_section_keeps_its_number_in_an_article():
    md = "# A {#sec-a}\n\n# Extra {#sec-extra .appendix}\n"
    assert numbers(md)["sec-extra"] == "Section 2"


def test_without_level_one_headers_the_top_level_counter_is_left_out():
    assert numbers("## A {#sec-a}\n\n### A1 {#sec-a1}\n\n## B {#sec-b}\n") == {
        "sec-a": "Section 1",
        "sec-a1": "Section 1.1",
        "sec-b": "Section 2",
    }


def test_figures_and_tables_are_numbered_through_the_document():
    md = (
        "# A\n"
        + figure("fig-a")
        + table("tbl-a")
        + "# B\n"
        + figure("fig-b")
        + "\n::: {#fig-div}\n![](y.png)\n\nDiv figure caption.\n:::\n"
        + table("tbl-b")
    )
    assert numbers(md) == {
        "fig-a": "Figure 1",
        "tbl-a": "Table 1",
        "fig-b": "Figure 2",
        "fig-div": "Figure 3",
        "tbl-b": "Table 2",
    }


def test_chapters_mode_restarts_figure_numbers_at_each_top_section():
    md = "# A\n" + figure("fig-a") + figure("fig-a2") + "# B\n" + figure("fig-b") + table("tbl-b")
    assert numbers(md, chapters=True) == {
        "fig-a": "Figure 1.1",
        "fig-a2": "Figure 1.2",
        "fig-b": "Figure 2.1",
        "tbl-b": "Table 2.1",
    }


def test_captions_get_the_number_and_references_their_forms():
    md = (
        "# A {#sec-a}\n"
        + figure("fig-a")
        + table("tbl-a")
        + "See @fig-a, [-@tbl-a], [Fig. @fig-a] and [@sec-a; @tbl-a].\n"
    )
    doc, _ = number_document(md, ARTICLE)
    html = pypandoc.convert_text(json.dumps(doc), "html", format="json")
    text = re.sub(r"\s+", " ", html.replace("\u00a0", " "))
    assert "Figure 1: Caption of fig-a." in text and "Table 1: Caption of tbl-a." in text
    links = re.findall(r'<a href="#([\w-]+)" class="quarto-xref">(.*?)</a>', text)
    assert links == [
        ("fig-a", "Figure 1"),
        ("tbl-a", "1"),
        ("fig-a", "Fig. 1"),
        ("sec-a", "Section 1"),
        ("tbl-a", "Table 1"),
    ]


@pytest.mark.parametrize(
    "markdown, needle",
    [
        ("# A {#sec-a}\n\nSee @fig-nowhere.\n", "@fig-nowhere"),
        ("# A {#sec-a .unnumbered}\n\nSee @sec-a.\n", "@sec-a"),
        ("# A {#sec-a}\n\nSee [@sec-a; @knuth84].\n", "mixes cross-references and citations"),
        ("# A {#sec-a}\n\n# B {#sec-a}\n", "'sec-a' is defined twice"),
    ],
)
def test_bad_references_fail_naming_the_label(markdown, needle):
    with pytest.raises(RenderError, match=re.escape(needle)):
        number_document(markdown, ARTICLE)


# --- the real article --------------------------------------------------------------


@pytest.fixture(scope="module")
def png() -> bytes:
    return png_bytes()


@pytest.fixture(scope="module")
def stub_render(tmp_path_factory, png) -> Path:
    """The real index.qmd rendered by the built-in renderer over stub notebooks."""
    project = stub_project(tmp_path_factory.mktemp("article"), png)
    render(project, renderer="builtin", profile="smoke", log=None)
    return project


def article_refs() -> list[str]:
    text = (ROOT / "index.qmd").read_text()
    return re.findall(r"@((?:fig|tbl|sec)-[\w-]*\w)", text)


def test_builtin_numbering_of_the_article_matches_the_recorded_expectation(stub_render):
    report = read_xrefs((stub_render / "_site" / "index.html").read_text())
    assert report.problems() == []
    assert report.targets == expected_numbers()
    assert len(report.links) == len(article_refs()), "every @ref became a checked link"


def test_pdf_headings_and_captions_carry_the_same_numbers(stub_render):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian package poppler-utils) is not installed")
    text = subprocess.run(
        ["pdftotext", str(stub_render / "_site" / "index.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = {line.strip() for line in text.splitlines()}
    for label, target in expected_numbers().items():
        kind, number = target.split(" ")
        if kind == "Section":
            assert any(re.fullmatch(rf"{re.escape(number)}\s+\S.*", line) for line in lines), (
                f"no heading numbered {number} ({label}) in the PDF"
            )
        else:
            assert f"{kind} {number}: Stub" in text.replace("\u00a0", " "), label


def test_the_stub_notes_reproduce_the_old_section_4_12_defect_trigger(stub_render):
    """The stub notes hold two `## Large gap` callouts per embedded notes cell (notes,
    findings sentences, the Discussion): a renderer that counted them as sections would
    print Section 4.12 or beyond."""
    from tests.support.render_fixtures import EMBEDDED_LABELS

    notes = [label for _, label in EMBEDDED_LABELS if not label.startswith(("fig-", "tbl-"))]
    html = (stub_render / "_site" / "index.html").read_text()
    assert len(notes) >= 12 and html.count("Large gap 1") == len(notes)
    assert "4.12" not in html.replace("\u00a0", " ")


def test_a_real_build_renders_with_every_reference_matching(tmp_path):
    """Over the executed notebooks of the last build (smoke/demo/...), if there is one."""
    if not (ROOT / "notebooks").is_dir() or not (ROOT / "_variables.yml").is_file():
        pytest.skip("no build in this checkout (run `cifar-report build --profile smoke`)")
    for name in ["index.qmd", "references.bib", "_variables.yml"] + [
        p.name for p in ROOT.glob("_quarto*.yml")
    ]:
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    html = render(tmp_path, renderer="builtin", to="html", log=None)[0].read_text()
    report = read_xrefs(html)
    assert report.problems() == []
    assert report.targets == expected_numbers()


@pytest.mark.skipif(
    shutil.which("quarto") is None,
    reason="`quarto` is not on PATH (install from https://quarto.org); "
    "the built-in renderer is checked against the recorded numbering",
)
def test_quarto_numbers_the_article_as_recorded(tmp_path, png):
    project = stub_project(tmp_path, png)
    render(project, renderer="quarto", to="html", profile="smoke", log=None)
    report = read_xrefs((project / "_site" / "index.html").read_text())
    assert report.problems() == []
    assert report.targets == expected_numbers()
