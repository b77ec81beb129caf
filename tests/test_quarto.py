"""What makes `quarto render` fail, checked without Quarto; renderer selection and
Quarto's failures as the user sees them (a stand-in `quarto` script on PATH); and the
real `quarto render`, skipped with a reason when Quarto is not installed."""

from __future__ import annotations

import base64
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml

from cifar_core.render import RenderError, render
from cifar_core.render.config import load_config
from cifar_core.render.document import embedded_labels
from cifar_core.render.quarto_checks import (
    NOTEBOOK_LINKS_FILTER,
    TABLE_WIDTHS_FILTER,
    TITLE_BLOCK_FILTER,
    article_problems,
    computation_lines,
    config_problems,
    gitignore_problems,
    metadata_problems,
    notebook_problems,
    quarto_problems,
)
from tests.support.reader import link_problems, read_links, reader_view
from tests.support.render_fixtures import (
    ROOT,
    code_cell,
    display,
    expected_numbers,
    png_bytes,
    stub_project,
)
from tests.support.xrefs import read_xrefs

PROFILES = ("demo", "sample", "full", "smoke")


@pytest.fixture(scope="module")
def png() -> bytes:
    return png_bytes()


@pytest.fixture()
def project(tmp_path, png) -> Path:
    return stub_project(tmp_path, png)


def _edit_yaml(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


# --- the real configuration, without Quarto ----------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_the_real_project_has_nothing_known_to_break_quarto(profile):
    """Article at the root, manuscript options, theme, .gitignore (not the notebooks,
    which exist only after a build)."""
    assert quarto_problems(ROOT, profile, notebooks=False) == []
    config = load_config(ROOT, profile)
    assert config.article == ROOT / "index.qmd" and config.output_dir == ROOT / "_site"


def test_the_manuscript_notebooks_are_the_ones_the_pipeline_writes():
    from cifar_core.experiments.chapters import ADDED_STUDIES
    from cifar_core.project import NOTEBOOKS_DIR

    raw = yaml.safe_load((ROOT / "_quarto.yml").read_text())
    listed = [Path(n["notebook"]) for n in raw["manuscript"]["notebooks"]]
    assert {p.parent for p in listed} == {Path(NOTEBOOKS_DIR)}
    assert sorted(p.stem for p in listed) == sorted(
        p.stem for p in (ROOT / "analyses").glob("*.py") if p.stem != ADDED_STUDIES
    )  # the added-studies chapter is embedded through an include, only with studies/


def test_profile_files_only_add_metadata():
    for path in ROOT.glob("_quarto-*.yml"):
        keys = set(yaml.safe_load(path.read_text()))
        assert keys <= {"build-subtitle", "params"}, f"{path.name} overrides {keys}"


# --- each check fails on what breaks Quarto ----------------------------------------


def test_an_article_in_a_subfolder_is_refused(project):
    (project / "report").mkdir()
    shutil.move(project / "index.qmd", project / "report" / "index.qmd")
    _edit_yaml(
        project / "_quarto.yml", lambda d: d["manuscript"].update(article="report/index.qmd")
    )
    problems = article_problems(load_config(project))
    assert len(problems) == 1 and "project root" in problems[0]


def test_inline_code_starting_with_a_brace_is_refused(project):
    text = (project / "index.qmd").read_text()
    (project / "index.qmd").write_text(text + "\nHash `{{< var dataset.fingerprint >}}`.\n")
    problems = article_problems(load_config(project))
    assert len(problems) == 1 and "hasComputations" in problems[0]
    assert computation_lines("`x` and {y}") == [] and computation_lines("```{python}") == [1]


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda d: d["format"]["html"].pop("notebook-view"), "notebook-view"),
        (lambda d: d["format"]["html"].update({"notebook-view": True}), "notebook-view"),
        (lambda d: d["format"]["html"].pop("lightbox"), "lightbox"),
        (lambda d: d["format"]["html"].update(lightbox="auto"), "lightbox"),
        (lambda d: d["format"]["html"].pop("format-links"), "format-links"),
        (lambda d: d["format"]["html"]["format-links"].remove("html"), "every format again"),
        (lambda d: d["format"]["html"]["format-links"][1].update(text="Typst"), "text: PDF"),
        (lambda d: d["format"]["html"]["include-after-body"].pop(1), "lightbox.html"),
        (lambda d: d["filters"].remove(NOTEBOOK_LINKS_FILTER), "notebook-links.lua"),
        (lambda d: d["filters"].remove(TITLE_BLOCK_FILTER), "title-block.lua"),
        (lambda d: d["filters"].remove(TABLE_WIDTHS_FILTER), "table-widths.lua"),
        (lambda d: d["project"].pop("resources"), "notebooks/*.ipynb"),
        (lambda d: d.pop("metadata-files"), "_report-metadata.yml"),
        (lambda d: d["format"]["html"].pop("theme"), "cosmo"),
        (lambda d: d["format"]["html"].update(theme="flatly"), "Google Fonts"),
        (
            lambda d: d["format"]["html"].update(theme={"light": "lux", "dark": "slate"}),
            "Google Fonts",
        ),
        (lambda d: d["format"]["html"].update({"embed-resources": False}), "embed-resources"),
        (lambda d: d["project"].update(render=["index.qmd"]), "project.render"),
        (lambda d: d["format"]["html"]["include-after-body"].pop(0), "_tables.html"),
        (
            lambda d: d["manuscript"]["notebooks"].append({"notebook": "report/notebooks/x.ipynb"}),
            "not in notebooks/",
        ),
    ],
)
def test_manuscript_options_that_break_the_render_are_refused(project, edit, needle):
    _edit_yaml(project / "_quarto.yml", edit)
    problems = config_problems(load_config(project))
    assert len(problems) == 1 and needle in problems[0]


def test_title_block_keys_outside_report_yml_are_refused(project):
    """Quarto merges a profile over metadata-files, and the article's front matter over
    both: a title there would silently win over the user's report.yml."""
    assert metadata_problems(load_config(project, "smoke")) == []
    (project / "_quarto-smoke.yml").write_text("subtitle: x\nparams: {profile: smoke}\n")
    text = (project / "index.qmd").read_text()
    (project / "index.qmd").write_text(text.replace("---\n", '---\ntitle: "Mine"\n', 1))
    problems = metadata_problems(load_config(project, "smoke"))
    assert len(problems) == 2
    assert "_quarto-smoke.yml sets ['subtitle']" in problems[0] and "build-subtitle" in problems[0]
    assert "index.qmd's front matter sets ['title']" in problems[1]


def test_a_theme_without_web_fonts_passes(project):
    _edit_yaml(project / "_quarto.yml", lambda d: d["format"]["html"].update(theme="litera"))
    assert config_problems(load_config(project)) == []


def test_gitignore_needs_quartos_entries_verbatim(project):
    assert gitignore_problems(project) == []
    text = (project / ".gitignore").read_text().replace("/.quarto/\n", ".quarto/\n")
    (project / ".gitignore").write_text(text)
    assert "/.quarto/" in gitignore_problems(project)[0]


def test_stub_notebooks_have_no_cdn_triggers(project):
    assert quarto_problems(project, "smoke") == []


@pytest.mark.parametrize(
    "data",
    [
        {"text/html": "<table></table>", "text/markdown": "| a |\n|--|\n| 1 |"},
        {"application/javascript": "require(['jquery'])"},
        {"text/markdown": '<script src="https://cdn.jsdelivr.net/npm/jquery.min.js"></script>'},
    ],
)
def test_outputs_that_make_quarto_load_cdn_scripts_are_named(tmp_path, data):
    path = tmp_path / "nb.ipynb"
    cell = code_cell("#| label: tbl-x\nshow()", [display(data)])
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(path))
    problems = notebook_problems(path)
    assert len(problems) == 1 and "#tbl-x" in problems[0] and "jsdelivr" in problems[0]


def test_the_last_builds_notebooks_have_no_cdn_triggers():
    """Fails while analyses display tables with a text/html view
    (cifar_core.analysis.present.show_table): Quarto then adds require.js and jquery."""
    built = sorted((ROOT / "notebooks").glob("*.ipynb")) if (ROOT / "notebooks").is_dir() else []
    if not built:
        pytest.skip("no build in this checkout (run `cifar-report build --profile smoke`)")
    problems = [p for path in built for p in notebook_problems(path)]
    assert problems == [], "\n".join(problems)


# --- the pre-render hook (quarto render / quarto preview) ----------------------------


def test_the_prerender_hook_builds_only_when_a_build_input_changed(project, monkeypatch):
    """`quarto preview` runs the hook before every re-render: an edit of the article must
    not rebuild, nor rewrite a file Quarto watches; an edit of a chapter must."""
    from cifar_core.render import prerender

    builds: list[list[str]] = []
    monkeypatch.setattr(prerender.subprocess, "call", lambda cmd: builds.append(cmd) or 0)
    monkeypatch.chdir(project)
    monkeypatch.setenv("QUARTO_PROFILE", "smoke")
    monkeypatch.delenv("CIFAR_REPORT_IN_BUILD", raising=False)
    (project / "analyses").mkdir()
    (project / "analyses" / "01-data.py").write_text("x = 1\n")

    def run() -> int:
        before = len(builds)
        assert prerender.main() == 0
        return len(builds) - before

    assert run() == 1 and builds[0][-4:] == ["build", "--no-render", "--profile", "smoke"]
    generated = [project / "_tables.html", project / "_report-metadata.yml"]
    stamps = [p.stat().st_mtime_ns for p in generated]
    assert run() == 0  # nothing changed
    (project / "index.qmd").write_text((project / "index.qmd").read_text() + "\nMore prose.\n")
    assert run() == 0  # an article-only edit
    assert [p.stat().st_mtime_ns for p in generated] == stamps  # nothing rewritten
    (project / "analyses" / "01-data.py").write_text("x = 2\n")
    assert run() == 1  # a chapter changed
    assert run() == 0
    (project / "notebooks" / "02-baselines.ipynb").unlink()
    assert run() == 1  # an output is missing
    monkeypatch.setenv("QUARTO_PROFILE", "demo")
    assert run() == 1  # another profile
    monkeypatch.setenv("CIFAR_REPORT_IN_BUILD", "1")
    (project / "analyses" / "01-data.py").write_text("x = 3\n")
    assert run() == 0  # `cifar-report build` runs Quarto: it has just built


# --- renderer selection and Quarto's failures (a stand-in `quarto` on PATH) ---------


def fake_quarto(folder: Path, body: str) -> Path:
    """A `quarto` script that answers --version and runs ``body`` for `render`."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    script = bin_dir / "quarto"
    script.write_text(
        '#!/bin/sh\nif [ "$1" = "--version" ]; then echo 1.10.18; exit 0; fi\n' + body
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir


@pytest.fixture()
def on_path(monkeypatch, tmp_path):
    def put(body: str) -> None:
        bin_dir = fake_quarto(tmp_path, body)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    return put


def test_auto_uses_quarto_when_on_path_and_says_so(project, on_path):
    on_path(
        'mkdir -p _site && echo "<html></html>" > _site/index.html\n'
        'echo "%PDF" > _site/index.pdf\necho "Output created: _site/index.html"\n'
    )
    lines: list[str] = []
    outputs = render(project, profile="smoke", log=lines.append)
    assert outputs == [project / "_site" / "index.html", project / "_site" / "index.pdf"]
    assert lines[0].startswith("rendering with Quarto (Quarto 1.10.18, ")
    assert "Output created: _site/index.html" in lines


def test_quartos_output_goes_to_the_log_and_the_console_keeps_its_lines(project, on_path):
    """`cifar-report build`/`render`: which renderer ran and what it wrote on the console;
    Quarto's own output, without colour codes, in the log file."""
    from cifar_core.orchestrate.build import render_report

    on_path(
        "mkdir -p _site && touch _site/index.html _site/index.pdf\n"
        'printf "\\033[1m\\033[34m[ 1/15] notebooks/01-data.ipynb\\033[39m\\033[22m\\n"\n'
        'echo "NO_COLOR=$NO_COLOR"\necho "Output created: _site/index.html"\n'
    )
    console: list[str] = []
    log: list[str] = []
    error = render_report(project, ("html", "pdf"), "auto", "smoke", console.append, log.append)
    assert error is None
    assert console[0].startswith("rendering with Quarto (Quarto 1.10.18")
    assert [line.split()[0] for line in console[1:]] == ["rendered", "rendered"]
    assert "[ 1/15] notebooks/01-data.ipynb" in log and "NO_COLOR=1" in log
    assert log[0].startswith("$ ") and " render " in log[0]
    assert not any("\x1b" in line for line in log + console)


def test_auto_without_quarto_says_it_used_the_builtin_renderer(project, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    lines: list[str] = []
    render(project, profile="smoke", to="html", log=lines.append)
    assert lines == [
        "rendering with the built-in renderer, pandoc + typst (`quarto` is "
        "not on PATH; install it from https://quarto.org to render with Quarto)"
    ]


def test_quarto_requested_but_absent_names_the_install_and_the_fallback(project, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RenderError, match=r"quarto\.org.*--renderer builtin"):
        render(project, renderer="quarto", profile="smoke")


def test_a_failing_quarto_names_its_message_and_the_builtin_renderer(project, on_path):
    on_path(
        'echo "Rendering index.qmd"\n'
        "echo \"ERROR: readfile '$PWD/report/report/index.qmd'\" >&2\nexit 1\n"
    )
    (project / "notebooks" / "keep.txt").write_text("executed notebooks stay")
    with pytest.raises(RenderError) as info:
        render(project, profile="smoke", log=None)
    message = str(info.value)
    assert "ERROR: readfile" in message and "--renderer builtin" in message
    assert "exit code 1" in message and "Rendering index.qmd" not in message
    assert (project / "notebooks" / "keep.txt").exists()


def test_quarto_reporting_an_unresolved_reference_fails(project, on_path):
    on_path(
        "mkdir -p _site && touch _site/index.html _site/index.pdf\n"
        'echo "WARNING (quarto-filters) Unable to resolve crossref @fig-gone"\n'
    )
    with pytest.raises(RenderError, match="@fig-gone"):
        render(project, profile="smoke", log=None)


def test_quarto_not_fetching_a_resource_is_a_warning(project, on_path):
    on_path(
        "mkdir -p _site && touch _site/index.html _site/index.pdf\n"
        'echo "WARN: Could not fetch resource https://fonts.googleapis.com/css2"\n'
    )
    lines: list[str] = []
    render(project, profile="smoke", log=lines.append)
    assert any(line.startswith("warning: Quarto could not fetch") for line in lines)


def test_a_missing_notebook_label_fails_before_quarto_runs(project, on_path):
    on_path("touch quarto-ran\nexit 0\n")
    text = (project / "index.qmd").read_text()
    (project / "index.qmd").write_text(text.replace("#tbl-baselines >", "#tbl-baselines-gone >"))
    with pytest.raises(RenderError, match=r"tbl-baselines-gone.*02-baselines\.ipynb"):
        render(project, profile="smoke", log=None)
    assert not (project / "quarto-ran").exists()


def test_a_missing_notebook_label_fails_the_builtin_renderer_too(project):
    text = (project / "index.qmd").read_text()
    (project / "index.qmd").write_text(text.replace("#tbl-baselines >", "#tbl-baselines-gone >"))
    with pytest.raises(RenderError, match=r"tbl-baselines-gone.*02-baselines\.ipynb"):
        render(project, renderer="builtin", profile="smoke", log=None)


# --- the real Quarto ----------------------------------------------------------------

needs_quarto = pytest.mark.skipif(
    shutil.which("quarto") is None,
    reason="`quarto` is not on PATH (install it from https://quarto.org); the checks above "
    "cover what made Quarto fail without it",
)


@pytest.fixture(scope="module")
def quarto_site(tmp_path_factory, png):
    """The real article over stub notebooks, in a git repository, with the example
    report.yml, rendered once by Quarto (HTML and PDF): ``(project, outputs, lines)``."""
    project = stub_project(tmp_path_factory.mktemp("quarto"), png)
    shutil.copy(ROOT / "report.example.yml", project / "report.yml")
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "stub"], check=True)
    lines: list[str] = []
    outputs = render(project, renderer="quarto", profile="smoke", log=lines.append)
    return project, outputs, lines


@needs_quarto
def test_quarto_renders_the_article_cleanly(quarto_site):
    project, outputs, lines = quarto_site
    assert outputs == [project / "_site" / "index.html", project / "_site" / "index.pdf"]
    html = outputs[0].read_text()
    report = read_xrefs(html)
    assert report.problems() == [] and report.targets == expected_numbers()
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', html)
    assert not [line for line in lines if line.startswith("warning:")]
    assert not any((project / name).exists() for name in ("index.html", "index.typ", "index_files"))
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True)
    assert status.returncode == 0 and b".gitignore" not in status.stdout  # Quarto left it


@needs_quarto
def test_quarto_links_every_figure_and_table_to_its_notebook(quarto_site):
    """Source links to pages that exist, with the anchor; the .ipynb beside them; the
    notebooks listed in the margin; no link to a file that was not shipped (the
    lightbox's index_files/… links before)."""
    project = quarto_site[0]
    page = project / "_site" / "index.html"
    links = read_links(page.read_text())
    assert [label for _, label in embedded_labels((project / "index.qmd").read_text())
            if label.startswith(("fig-", "tbl-"))] == links.embeds  # fmt: skip
    assert link_problems(page) == []
    html = page.read_text()
    listed = re.search(  # in the margin: Quarto moves a .column-margin block there
        r'<div class="[^"]*column-margin[^"]*"><div id="notebooks" class="notebook-list">.*?</ul>',
        html,
        re.S,
    )
    assert listed and listed.group(0).count('-preview.html"') == 14
    assert not re.search(r'<a [^>]*class="lightbox"', html)  # Quarto's lightbox links
    assert not re.search(r'(href|src)="[^"]*_files/', html)


@needs_quarto
def test_quarto_prints_the_title_block_from_report_yml(quarto_site):
    project = quarto_site[0]
    html = (project / "_site" / "index.html").read_text()
    header = re.search(r"<header id=\"title-block-header\".*?</header>", html, re.S).group(0)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", header))
    assert "Invalid Date" not in html and "Published January 15, 2026" in text
    assert "Jane Doe" in text and "Example University" in text
    assert 'href="https://orcid.org/0000-0002-1825-0097"' in header
    assert "CIFAR-10, image classification" in text and "Smoke build" in text
    assert re.search(r'<a href="index\.pdf"><i class="bi bi-file-pdf"></i>PDF</a>', header)
    assert "Typst" not in header
    assert re.search(r'id="quarto-reuse".*CC BY 4\.0', html, re.S)  # the licence


@needs_quarto
def test_quartos_pdf_prints_the_title_block_and_carries_it_as_metadata(quarto_site):
    if shutil.which("pdfinfo") is None:
        pytest.skip("pdfinfo (Debian package poppler-utils) is not installed")
    pdf = quarto_site[0] / "_site" / "index.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"^Title:\s+Rebuilding five CIFAR-10 studies", info, re.M)
    assert re.search(r"^Author:\s+Jane Doe$", info, re.M)
    assert re.search(r"^Keywords:\s+CIFAR-10, image classification", info, re.M)
    first = subprocess.run(["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True)
    for needle in ("Jane Doe", "Example University", "2026-01-15", "Keywords: CIFAR-10",
                   "Licence: CC BY 4.0"):  # fmt: skip
        assert needle in first.stdout, needle


@needs_quarto
def test_a_reader_of_quartos_html_sees_the_title_block_and_enlarges_a_figure(quarto_site):
    from tests.support.browser import find_chromium

    if find_chromium() is None:
        pytest.skip("needs Chromium on PATH (Debian: `apt-get install chromium`)")
    page = reader_view(quarto_site[0] / "_site" / "index.html", ROOT / "test-output" / "quarto")
    assert page.problems() == []
    [title] = page.evaluated
    assert "Jane Doe" in title and "January 15, 2026" in title
    clicked = page.clicked
    assert clicked["url"] == page.url, "clicking a figure left the page"
    assert clicked["dialog"] and clicked["image"]["loaded"] and clicked["image"]["embedded"]


@needs_quarto
def test_quarto_bug_the_notebook_view_deletes_a_self_contained_articles_pages(tmp_path, png):
    """docs/quarto.md: Quarto 1.10's notebook view with `embed-resources: true` deletes
    the notebook pages (render.ts, self-contained cleanup) and fails moving them. This
    is why `notebook-view: false`; when this test fails, Quarto fixed it."""
    (tmp_path / "notebooks").mkdir()
    for name in ("a", "b"):
        cell = code_cell(f'#| label: fig-{name}\n#| fig-cap: "{name}"\nplot()', [display(
            {"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"})])  # fmt: skip
        nbformat.write(
            nbformat.v4.new_notebook(cells=[cell]), str(tmp_path / f"notebooks/{name}.ipynb")
        )
    (tmp_path / "_quarto.yml").write_text(MINIMAL_MANUSCRIPT)
    (tmp_path / "index.qmd").write_text(
        "See @fig-a.\n\n{{< embed notebooks/a.ipynb#fig-a >}}\n\n{{< embed notebooks/b.ipynb#fig-b >}}\n"
    )
    failed = subprocess.run(["quarto", "render"], cwd=tmp_path, capture_output=True, text=True)
    assert failed.returncode != 0
    assert re.search(
        r"NotFound.*rename '.*notebooks/b-preview\.html'", failed.stderr + failed.stdout
    )
    (tmp_path / "_quarto.yml").write_text(MINIMAL_MANUSCRIPT.replace("true", "false"))
    works = subprocess.run(["quarto", "render"], cwd=tmp_path, capture_output=True, text=True)
    assert works.returncode == 0 and (tmp_path / "_site/notebooks/b-preview.html").is_file()


MINIMAL_MANUSCRIPT = """project:
  type: manuscript
  output-dir: _site
manuscript:
  article: index.qmd
  notebooks: [notebooks/a.ipynb, notebooks/b.ipynb]
execute:
  enabled: false
format:
  html:
    theme: default
    embed-resources: true
"""


@needs_quarto
def test_quarto_reports_a_missing_notebook_label(project):
    """Quarto itself (not our pre-check) names the label and the notebook."""
    text = (project / "index.qmd").read_text()
    (project / "index.qmd").write_text(text.replace("#tbl-baselines >", "#tbl-baselines-gone >"))
    result = subprocess.run(
        ["quarto", "render", "--profile", "smoke", "--to", "html"],
        cwd=project,
        capture_output=True,
        text=True,
        env=dict(os.environ, CIFAR_REPORT_IN_BUILD="1"),
    )
    assert result.returncode != 0
    assert "tbl-baselines-gone" in result.stdout + result.stderr
