"""Built-in renderer: a tiny project rendered to one self-contained HTML file and a PDF."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from cifar_core.experiments.chapters import ADDED_STUDIES
from cifar_core.render import RenderError, check, render
from cifar_core.render.config import load_config
from cifar_core.render.document import embedded_labels
from cifar_core.render.variables import used_variables
from tests.support.render_fixtures import code_cell, png_bytes

ROOT = Path(__file__).resolve().parents[1]

ARTICLE = """---
title: "Tiny report"
author:
  - name: cifar-report
abstract: "Built on {{< var dataset.source >}} data."
---

::: {.synthetic-banner}
{{< var dataset.synthetic_banner >}}
:::

# Results {#sec-results}

In @sec-results, the CNN reaches {{< var baselines.cnn_test_acc >}} test accuracy (@tbl-demo-scores),
and its curves are in @fig-demo-curves; see also [-@fig-demo-curves]. Adam [@kingma2015adam].

{{< embed notebooks/01-demo.ipynb#fig-demo-curves >}}

{{< embed notebooks/02-demo.ipynb#tbl-demo-scores >}}

{{< embed notebooks/02-demo.ipynb#demo-notes >}}

::: {.callout-warning}
## Chance level
Test accuracy equals chance here.
:::

# References {.unnumbered}

::: {#refs}
:::
"""

BIB = """@inproceedings{kingma2015adam,
  title = {Adam: A Method for Stochastic Optimization},
  author = {Kingma, Diederik P. and Ba, Jimmy},
  booktitle = {International Conference on Learning Representations},
  year = {2015}
}
"""

VARIABLES = {
    "dataset": {"source": "synthetic", "synthetic_banner": "**SYNTHETIC DATA** banner text"},
    "baselines": {"cnn_test_acc": "68.9 %"},
}


def write_notebooks(nb_dir: Path, png: bytes) -> None:
    """01-demo: a figure cell; 02-demo: a markdown-table cell and a notes cell."""
    nb_dir.mkdir(parents=True)
    figure = code_cell(
        '#| label: fig-demo-curves\n#| fig-cap: "Validation curves."\nplot()',
        [
            nbformat.v4.new_output(
                "display_data",
                data={"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"},
            )
        ],
    )
    figure.metadata["fig-alt"] = "Validation curves. lines: val from 0.2 to 0.7."
    nb1 = nbformat.v4.new_notebook(cells=[code_cell("x = 1", []), figure])
    table = code_cell(
        '#| label: tbl-demo-scores\n#| tbl-cap: "Scores per model."\nshow()',
        [
            nbformat.v4.new_output(
                "display_data",
                data={
                    "text/markdown": "| model | test acc |\n|:--|--:|\n| mlp | 46.4 % |\n| cnn | 68.9 % |",
                    "text/plain": "df",
                },
            )
        ],
    )
    notes = code_cell(
        "#| label: demo-notes\nnotes()",
        [
            nbformat.v4.new_output(
                "display_data",
                data={"text/markdown": "::: {.callout-note}\nNo anomalies were flagged.\n:::"},
            )
        ],
    )
    nb2 = nbformat.v4.new_notebook(cells=[table, notes])
    nbformat.write(nb1, str(nb_dir / "01-demo.ipynb"))
    nbformat.write(nb2, str(nb_dir / "02-demo.ipynb"))


@pytest.fixture(scope="module")
def png() -> bytes:
    return png_bytes()


@pytest.fixture()
def project(tmp_path: Path, png: bytes) -> Path:
    """A minimal manuscript project with the same layout as the real one."""
    (tmp_path / "_quarto.yml").write_text(
        yaml.safe_dump(
            {
                "project": {"type": "manuscript", "output-dir": "_site"},
                "manuscript": {"article": "index.qmd"},
                "bibliography": "references.bib",
                "profile": {"default": "demo"},
            }
        )
    )
    (tmp_path / "_quarto-demo.yml").write_text("subtitle: Demo profile\n")
    (tmp_path / "index.qmd").write_text(ARTICLE)
    (tmp_path / "references.bib").write_text(BIB)
    (tmp_path / "_variables.yml").write_text(yaml.safe_dump(VARIABLES))
    write_notebooks(tmp_path / "notebooks", png)
    return tmp_path


@pytest.fixture()
def rendered(project: Path) -> tuple[Path, list[Path]]:
    return project, render(project, renderer="builtin", profile="demo")


def test_render_writes_html_and_pdf(rendered):
    project, outputs = rendered
    assert outputs == [project / "_site" / "index.html", project / "_site" / "index.pdf"]
    assert (project / "_site" / "index.pdf").read_bytes()[:4] == b"%PDF"
    assert not list(project.glob(".render-*")), "temporary build dir left behind"


def test_html_is_self_contained(rendered, png):
    html = (rendered[0] / "_site" / "index.html").read_text()
    assert not re.search(r'<(img|script|link)[^>]+(src|href)="(?!data:)[^"]+', html)
    assert base64.b64encode(png).decode()[:200] in html


def test_numbers_crossrefs_variables_citations(rendered):
    html = (rendered[0] / "_site" / "index.html").read_text()
    text = re.sub(r"[ \t\n]+", " ", html)
    # Quarto's forms: prefix, no-break space, number; -@ prints the number alone.
    assert 'href="#fig-demo-curves" class="quarto-xref">Figure\u00a01</a>' in text
    assert 'href="#tbl-demo-scores" class="quarto-xref">Table\u00a01</a>' in text
    assert 'href="#fig-demo-curves" class="quarto-xref">1</a>' in text
    assert 'href="#sec-results" class="quarto-xref">Section\u00a01</a>' in text
    assert "Figure\u00a01: Validation curves." in text
    assert "Table\u00a01: Scores per model." in text
    assert 'id="fig-demo-curves"' in text and 'id="tbl-demo-scores"' in text
    assert "the CNN reaches 68.9\u00a0% test accuracy" in text
    assert "Built on synthetic data." in text  # var in the abstract
    assert "Kingma" in text and "2015" in text  # citeproc bibliography
    assert "{{<" not in text and "@fig-" not in text and "?)" not in text
    assert '<p class="author">cifar-report</p>' in text
    assert "Demo profile" in text  # profile metadata


def test_callouts_and_banner(rendered):
    html = (rendered[0] / "_site" / "index.html").read_text()
    assert 'class="callout callout-warning"' in html
    assert "Chance level" in html and "No anomalies were flagged." in html
    assert re.search(r'class="synthetic-banner".*SYNTHETIC DATA', html, re.S)
    # on the first screen: above the title block and the table of contents
    assert (
        html.index('class="synthetic-banner"')
        < html.index('id="title-block-header"')
        < html.index('id="TOC"')
    )
    assert "<style" in html and ".callout-warning" in html  # CSS inlined


def test_banner_disappears_on_real_data(project):
    (project / "_variables.yml").write_text(
        yaml.safe_dump({**VARIABLES, "dataset": {"source": "cifar10", "synthetic_banner": ""}})
    )
    html = render(project, renderer="builtin", to="html")[0].read_text()
    assert 'class="synthetic-banner"' not in html


def test_html_table_fallback(project):
    nb_path = project / "notebooks" / "02-demo.ipynb"
    nb = nbformat.read(str(nb_path), as_version=4)
    nb.cells[0].outputs[0].data = {
        "text/html": "<style>x{}</style><table><thead><tr>"
        "<th>model</th><th>acc</th></tr></thead><tbody><tr>"
        "<td>vgg</td><td>81.6 %</td></tr></tbody></table>"
    }
    nbformat.write(nb, str(nb_path))
    html = render(project, renderer="builtin", to="html")[0].read_text()
    assert "81.6 %" in html and 'id="tbl-demo-scores"' in html


@pytest.mark.parametrize(
    "edit, needle",
    [
        (
            lambda p: (p / "_variables.yml").write_text(
                yaml.safe_dump({"dataset": VARIABLES["dataset"]})
            ),
            "baselines.cnn_test_acc",
        ),
        (lambda p: (p / "notebooks" / "01-demo.ipynb").unlink(), "01-demo.ipynb"),
        (
            lambda p: _replace(p / "index.qmd", "#tbl-demo-scores >", "#tbl-demo-nope >"),
            "tbl-demo-nope",
        ),
        (
            lambda p: _replace(p / "index.qmd", "in @fig-demo-curves", "in @fig-missing"),
            "fig-missing",
        ),
        (lambda p: _replace(p / "index.qmd", "[@kingma2015adam]", "[@nobody2020]"), "nobody2020"),
    ],
)
def test_missing_inputs_raise_naming_them(project, edit, needle):
    edit(project)
    with pytest.raises(RenderError, match=re.escape(needle)):
        render(project, renderer="builtin", to="html")
    assert not (project / "_site" / "index.html").exists(), "half-written report published"


def test_failed_cell_is_reported(project):
    nb_path = project / "notebooks" / "01-demo.ipynb"
    nb = nbformat.read(str(nb_path), as_version=4)
    nb.cells[1].outputs = [
        nbformat.v4.new_output(
            "error",
            ename="ValueError",
            evalue="bad run",
            traceback=["Traceback", "ValueError: bad run"],
        )
    ]
    nbformat.write(nb, str(nb_path))
    with pytest.raises(RenderError, match="ValueError: bad run"):
        render(project, renderer="builtin", to="html")


def test_check_lists_missing(project):
    assert check(project) == []
    (project / "_variables.yml").write_text("{}\n")
    problems = check(project)
    assert len(problems) == 3 and any("dataset.source" in p for p in problems)


def test_quarto_renderer_without_quarto(project, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RenderError, match="quarto.*not on PATH.*builtin"):
        render(project, renderer="quarto")


def test_unknown_profile_names_the_file(project):
    with pytest.raises(RenderError, match="_quarto-nope.yml"):
        render(project, renderer="builtin", profile="nope")


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


# --- the real project -------------------------------------------------------------


def test_real_quarto_config_names_existing_files():
    for name in ("demo", "sample", "full"):
        config = load_config(ROOT, name)
        assert config.article.is_file()
        assert config.bibliography and all(b.is_file() for b in config.bibliography)
        assert config.output_dir == ROOT / "_site"


def test_real_article_embeds_existing_analyses():
    raw = yaml.safe_load((ROOT / "_quarto.yml").read_text())
    listed = [Path(n["notebook"]).name for n in raw["manuscript"]["notebooks"]]
    text = (ROOT / "index.qmd").read_text()
    embedded = {Path(nb).name for nb, _ in embedded_labels(text)}
    assert embedded <= set(listed)
    assert {"dataset.synthetic_banner", "dataset.fingerprint", "profile"} <= set(
        used_variables(text)
    )
    sources = {p.stem + ".ipynb" for p in (ROOT / "analyses").glob("*.py")}
    added = {f"{ADDED_STUDIES}.ipynb"}  # embedded through an include, only with studies/
    assert set(listed) == sources - added, "every analysis is listed in _quarto.yml, and only those"


def test_render_takes_the_built_profile_and_refuses_to_mislabel_it(project):
    variables = yaml.safe_load((project / "_variables.yml").read_text())
    (project / "_variables.yml").write_text(yaml.safe_dump({**variables, "profile": "sample"}))
    (project / "_quarto-sample.yml").write_text("subtitle: Sample profile\n")
    render(project, renderer="builtin", to="html")  # no profile: the built one
    text = (project / "_site" / "index.html").read_text()
    assert "Sample profile" in text and "Demo profile" not in text
    with pytest.raises(RenderError, match="from profile 'sample'.*--profile sample"):
        render(project, renderer="builtin", to="html", profile="demo")


def test_build_reports_a_render_error_as_its_message(project):
    from cifar_core.orchestrate.build import render_report

    lines: list[str] = []
    error = render_report(project, ("html",), "builtin", "nope", log=lines.append)
    assert error is not None and "_quarto-nope.yml" in error and "Traceback" not in error
    assert not (project / "_site" / "index.html").exists()
    assert lines == [f"FAILED render:\n{error}"]


def test_every_embedded_figure_and_table_links_its_notebook(rendered):
    """Source link under each embed: the notebook's page (anchor = label) and the .ipynb,
    both written to _site; every local link of the page exists."""
    from tests.support.reader import link_problems, read_links

    page = rendered[0] / "_site" / "index.html"
    links = read_links(page.read_text())
    assert links.embeds == ["fig-demo-curves", "tbl-demo-scores"]
    assert links.sources["fig-demo-curves"] == [
        "notebooks/01-demo-preview.html#fig-demo-curves",
        "notebooks/01-demo.ipynb",
    ]
    assert link_problems(page) == []
    html = page.read_text()
    notebook_list = re.search(
        r'<div id="notebooks" class="notebook-list[^"]*">.*?</ul>', html, re.S
    )
    assert notebook_list and notebook_list.group(0).count('-preview.html"') == 2


def test_a_notebook_page_shows_the_notebook_and_links_back(rendered, png):
    site = rendered[0] / "_site" / "notebooks"
    page = (site / "01-demo-preview.html").read_text()
    assert '<a href="../index.html">← Back to the article</a>' in page
    assert 'href="01-demo.ipynb" download="01-demo.ipynb"' in page
    text = re.sub(r"<[^>]+>", "", page)  # the code is highlighted
    assert 'id="fig-demo-curves"' in page and "plot()" in text  # the cell, its code
    assert base64.b64encode(png).decode()[:200] in page  # its output, embedded
    assert "x = 1" in text  # cells that are not embedded too
    table = (site / "02-demo-preview.html").read_text()
    assert 'id="tbl-demo-scores"' in table and "<td" in table and "68.9 %" in table
    assert nbformat.read(str(site / "01-demo.ipynb"), as_version=4).cells[1].outputs


def test_a_broken_notebook_link_is_found(rendered):
    """The link check fails when a page or its anchor is missing."""
    from tests.support.reader import link_problems

    site = rendered[0] / "_site"
    (site / "notebooks" / "02-demo.ipynb").unlink()
    page = site / "notebooks" / "01-demo-preview.html"
    page.write_text(page.read_text().replace('id="fig-demo-curves"', 'id="elsewhere"'))
    problems = link_problems(site / "index.html")
    assert any("02-demo.ipynb, which does not exist" in p for p in problems)
    assert any(
        "fig-demo-curves: 01-demo-preview.html has no #fig-demo-curves" in p for p in problems
    )


def test_a_wide_table_gives_each_pdf_column_room_for_its_longest_word(project, monkeypatch):
    # The PDF once drew header words of the seeds' protocol table (Table 17 of the demo
    # report) over the next column: pandoc's widths came from the markdown's dashes.
    pytest.importorskip("PIL")
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext")):
        pytest.skip("pdftoppm/pdftotext not on PATH (Debian: `apt-get install poppler-utils`)")
    from cifar_core.render import writers
    from tests.support.pdfcheck import check_pdf

    header = ["seed", "experiment", "reported %", "reproduced %", "train images", "epochs"]
    header += ["optimizer", "preprocessing", "augmentation", "differs"]
    row = ["000", "s000_mlp", "46.4", "15.0", "50,000 → 1,600", "200 → 2", "SGD 0.01, batch 32"]
    row += ["not stated → ÷255", "none", "train images (not stated by the seed), " * 3]
    table = pd.DataFrame([row, row], columns=header).to_markdown(index=False)  # as chapters do
    path = project / "notebooks" / "02-demo.ipynb"
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells[0].outputs[0].data["text/markdown"] = table
    nbformat.write(notebook, str(path))

    def overlaps() -> list[str]:
        [pdf] = render(project, renderer="builtin", profile="demo", to=("pdf",))
        return check_pdf(pdf, project / "pages").overlaps

    assert overlaps() == []
    no_filter = project / "none.lua"
    no_filter.write_text("return {}\n")
    monkeypatch.setattr(writers, "TABLE_WIDTHS_FILTER", no_filter)
    assert any("'experiment' and 'reported'" in o for o in overlaps())  # pandoc's widths


def test_a_wide_table_of_single_words_gets_widths_by_its_words():
    import pypandoc

    from cifar_core.render.writers import TABLE_WIDTHS_FILTER

    def columns(markdown: str) -> str:
        typst_source = pypandoc.convert_text(
            markdown, "typst", format="markdown", extra_args=[f"--lua-filter={TABLE_WIDTHS_FILTER}"]
        )
        return re.search(r"columns: (.*),\n", typst_source).group(1)

    words = ["preprocessing", "augmentation", "normalization"] * 4
    wide = "| " + " | ".join(words) + " |\n|" + "--|" * 12 + "\n| " + " | ".join(words) + " |\n"
    widths = [float(w.rstrip("%")) for w in columns(wide).strip("()").split(", ")]
    assert widths[:3] == widths[3:6] and abs(sum(widths) - 100) < 0.1
    assert widths[0] > widths[1]  # "preprocessing" is the widest word
    assert columns("| a | b |\n|--|--|\n| x | y |\n") == "2"  # a table that fits: unchanged
    html = [  # the HTML keeps pandoc's widths: the filter acts on Typst only
        pypandoc.convert_text(wide, "html", format="markdown", extra_args=args)
        for args in ([], [f"--lua-filter={TABLE_WIDTHS_FILTER}"])
    ]
    assert html[0] == html[1]
