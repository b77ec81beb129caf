"""A study of the project's own in one file (README, "Add your own experiment"): a file
dropped into ``studies/`` is planned, listed, trained, compared and reported; a broken
one stops ``build``, ``plan`` and ``list`` with exit 2, naming the file and the name,
before anything trains."""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

import pytest

from cifar_core.cli import main
from cifar_core.cli.listing import listing
from cifar_core.experiments import catalog
from cifar_core.experiments.chapters import ADDED_STUDIES
from cifar_core.experiments.claims import claim_pairs, claims_for

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE = PROJECT / "examples" / "studies" / "head_dropout.py"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with the example study, as the working directory."""
    for name in ("analyses", "index.qmd", "_quarto.yml", "references.bib"):
        source = PROJECT / name
        copy = shutil.copytree if source.is_dir() else shutil.copy
        copy(source, tmp_path / name)
    (tmp_path / "studies").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "studies")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CIFAR_REPORT_RUNS", str(tmp_path / "runs"))
    return tmp_path


def test_the_readme_shows_the_example_file():
    readme = (PROJECT / "README.md").read_text()
    assert "## Add your own experiment" in readme
    assert EXAMPLE.read_text() in readme


def test_the_example_joins_the_catalog_of_its_project_only(project):
    study = catalog.get_study("my_head_dropout")
    assert study.chapter == ADDED_STUDIES and study.baseline == "s000_cnn1"
    assert [s.name for s in catalog.studies()][-1] == "my_head_dropout"
    assert catalog.studies_of("s000_cnn1")[-1] == "my_head_dropout"
    assert catalog.chapter_studies(ADDED_STUDIES) == ["my_head_dropout"]
    assert claim_pairs("my_head_dropout") == [("my_cnn1_head_dropout", "s000_cnn1")]
    (claim,) = claims_for("my_head_dropout")
    assert (claim.seed, claim.quote, claim.expected) == ("", "", "better")
    planned = [(v.name, v.epochs) for v in catalog.plan("demo", studies=["my_head_dropout"])]
    assert planned == [("s000_cnn1", 2), ("my_cnn1_head_dropout", 2)]
    built_in = catalog.get_profile("demo").epochs_for(catalog.get_variant("ctl_cnn1_e5"))
    assert built_in == 1  # a study of one's own never moves a built-in variant's epochs
    row = listing("demo", studies=["my_head_dropout"], with_stats=False)[1]
    assert (row["name"], row["source"]) == ("my_cnn1_head_dropout", "studies/head_dropout.py")
    os.chdir(PROJECT)
    assert "my_head_dropout" not in [s.name for s in catalog.studies()]


def test_a_changed_study_file_is_read_again_and_marks_its_chapters_stale(project):
    before = catalog.added_studies_digest()
    assert catalog.reads_added_studies("all") and catalog.reads_added_studies(["my_head_dropout"])
    assert not catalog.reads_added_studies(["depth"])
    path = project / "studies" / "head_dropout.py"
    path.write_text(path.read_text().replace("improves the one-block", "helps the one-block"))
    assert catalog.added_studies_digest() != before
    assert claims_for("my_head_dropout")[0].statement.startswith("Dropout before the head helps")


BROKEN = {
    "unknown baseline": (
        ('baseline="s000_cnn1"', 'baseline="s000_cnn9"'),
        "study 'my_head_dropout': baseline 's000_cnn9' is not one of its variants",
    ),
    "duplicate variant": (
        ('        "my_cnn1_head_dropout",\n        "cnn",', '        "s000_cnn1",\n        "cnn",'),
        "variant 's000_cnn1' is already declared in cifar_core/experiments/seeds/s000.py",
    ),
    "claim on a missing variant": (
        (
            '        "my_cnn1_head_dropout",\n        "s000_cnn1",\n        BETTER',
            '        "my_cnn1_dropout",\n        "s000_cnn1",\n        BETTER',
        ),
        "'my_cnn1_dropout' is not a variant of study 'my_head_dropout'",
    ),
    "python error": (
        ("CLAIMS = [", "CLAIMS = undefined_name + ["),
        ", line {line}: NameError: name 'undefined_name' is not defined",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
@pytest.mark.parametrize("command", ["build", "plan", "list"])
def test_a_broken_study_file_exits_2_naming_file_and_name_before_training(
    project, capsys, case, command
):
    (old, new), message = BROKEN[case]
    path = project / "studies" / "head_dropout.py"
    assert old in path.read_text()
    message = message.format(line=path.read_text().splitlines().index("CLAIMS = [") + 1)
    path.write_text(path.read_text().replace(old, new))
    assert main([command, "--profile", "smoke"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: studies/head_dropout.py") and message in error, error
    assert not (project / "runs").exists() and not (project / "notebooks").exists()


def test_a_study_file_added_to_a_built_project_is_trained_compared_and_reported(
    smoke_build, tmp_path
):
    """One more smoke build over a copy of the session's: only the new variant trains,
    only the chapters that read the study re-execute, and the article shows it."""
    from cifar_core.orchestrate.build import build, chapter_problems

    built, runs, _ = smoke_build
    root = tmp_path / "project"
    shutil.copytree(built, root, ignore=shutil.ignore_patterns("runs", "_site", "_build"))
    shutil.copytree(runs, root / "runs", copy_function=os.link)  # the store is write-once
    (root / "studies").mkdir()
    shutil.copy(EXAMPLE, root / "studies")

    result = build(
        profile="smoke", root=root, runs_dir=root / "runs", to=("html",), renderer="builtin"
    )

    assert result.exit_code == 0, [c.error for c in result.failed]
    assert len(result.trained) == 1  # my_cnn1_head_dropout; s000_cnn1 is reused
    assert sorted(result.executed) == ["08-summary", "09-findings", "14-compute", ADDED_STUDIES]
    page = html.unescape((root / "_site" / "index.html").read_text())
    section = page[page.index('id="sec-added-studies"') : page.index('id="sec-beyond"')]
    assert "Added studies" in section
    assert "my_cnn1_head_dropout" in section and "s000_cnn1" in section  # runs and findings
    assert "Dropout before the head improves the one-block CNN." in section
    assert re.search(r"holds|reversed|inconclusive at this budget|not evaluated", section)
    path = root / "studies" / "head_dropout.py"
    path.write_text(path.read_text().replace("improves the one-block", "helps the one-block"))
    stale = "\n".join(chapter_problems(root, "smoke"))
    assert f"{ADDED_STUDIES} is stale (studies changed" in stale
    assert "02-baselines" not in stale


def test_a_study_file_may_build_on_a_catalog_variant(project):
    (project / "studies" / "derived.py").write_text(
        "from cifar_core.experiments import catalog\n"
        "from cifar_core.experiments.declare import study\n\n"
        "BASE = catalog.get_variant('s004_final')\n"
        "VARIANTS = [BASE.replace(name='my_final_b64', batch_size=64)]\n"
        "STUDIES = [study('my_batch', 'Batch 64', baseline='s004_final',\n"
        "                 variants=['s004_final', 'my_final_b64'])]\n"
    )
    assert catalog.get_variant("my_final_b64").batch_size == 64
    assert catalog.chapter_studies(ADDED_STUDIES) == ["my_batch", "my_head_dropout"]
