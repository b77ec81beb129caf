"""The chapters as the reader gets them: chapter sources that hold no code of their own,
a study chapter whose every cell is one call, and a Discussion that opens with the
largest effects the data support (on a fake run store with known effects)."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pypandoc
import pytest

from cifar_core.analysis.chapter import StudyChapter
from cifar_core.analysis.context import open_context
from cifar_core.analysis.discussion import OTHER, discussion, largest_effects
from cifar_core.analysis.stats.findings import BETTER, WORSE
from cifar_core.experiments import catalog
from tests.test_chapter_findings import RISING, fill, make_project

PROJECT = Path(__file__).resolve().parent.parent
STUDY_CHAPTERS = ("02-baselines", "03-architecture", "04-training", "05-regularization")


# ----------------------------------------------------------------- the sources
@pytest.mark.parametrize("path", sorted((PROJECT / "analyses").glob("*.py")), ids=lambda p: p.name)
def test_no_chapter_defines_a_function_or_a_class(path):
    for node in ast.walk(ast.parse(path.read_text())):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef), (
            f"{where}: a chapter defines {node.name}; move it to cifar_core/analysis"
        )
        assert not isinstance(node, ast.Lambda), f"{where}: a lambda in a chapter"


@pytest.mark.parametrize("name", STUDY_CHAPTERS)
def test_study_chapters_are_short_and_read_through_the_study_chapter(name):
    source = (PROJECT / "analyses" / f"{name}.py").read_text()
    assert len(source.splitlines()) < 40
    cells = source.split("# %%")[4:]  # after the title, the parameters and the setup
    for cell in cells:
        code = [line for line in cell.splitlines()[1:] if line and not line.startswith("#")]
        assert len(code) == 1 and code[0].startswith("chapter."), f"{name}: {cell!r}"


# ----------------------------------------------------------------- a study chapter
@pytest.fixture
def project(tmp_path, synthetic_dir):
    store, fingerprint = make_project(tmp_path, synthetic_dir)
    return tmp_path, store, fingerprint


def test_a_study_chapter_gives_each_cell_of_its_chapter(project):
    root, store, fp = project
    fill(store, fp, "dropout", {"ctl_s004_cnn_e10": 0.5, "s004_cnn": 0.3, "s004_cnn_dropout": 0.5})
    fill(store, fp, "batch_norm", {"s004_cnn_bn": 0.7}, history=RISING)
    ctx = open_context("05-regularization", studies=["dropout", "batch_norm"], root=root)
    chapter = StudyChapter(ctx, ["dropout", "batch_norm"])
    shown = chapter.runs_table(drop=("seeds",), gap=True)
    assert list(shown.columns[:2]) == ["study", "variant"] and "gap pts" in shown
    assert shown.set_index("variant").loc["s004_cnn_bn", "under-trained"].startswith("yes")
    findings = chapter.findings_table().set_index("variant")
    assert findings.loc["s004_cnn", "verdict"] == WORSE
    assert findings.loc["s004_cnn", "Δ test acc (pts)"] == "−20.0"
    text = chapter.findings_text()
    assert text.startswith("**Dropout (seed 004 CNN).** ") and "s004_cnn is worse than" in text
    notes = chapter.notes(overfitting=True)
    shared = "ctl_ variants match the baseline's"  # a remark two studies share: said once
    assert notes[0].startswith("**Dropout (seed 004 CNN), Batch normalization.**")
    assert notes[0].count(shared) == 1
    assert notes[-1].startswith("**Convergence.**")
    assert chapter.best() in chapter.runs
    chapter.publish("regularization", **chapter.gaps("ctl_s004_cnn_e10"))
    published = json.loads((root / "notebooks" / "05-regularization.vars.json").read_text())
    values = published["regularization"]
    assert values["best_test_acc"].endswith(" %") and values["baseline_gap"].endswith(" points")


# ----------------------------------------------------------------- the Discussion
TOPICS = {
    "Architecture": ["kernel_size"],
    "Training recipe": ["optimizer"],
    "Regularization": ["dropout"],
}
EFFECTS = {  # test accuracy of each arm: the effects are known by construction
    "kernel_size": {"ctl_cnn1_e5": 0.50, "s000_cnn1_k2": 0.40, "ctl_cnn1_k5": 0.62},
    "optimizer": {
        "s004_final": 0.60,
        "ctl_final_adam": 0.85,
        "ctl_final_rmsprop": 0.61,
        "ctl_final_sgd_momentum": 0.45,
    },
    "dropout": {"ctl_s004_cnn_e10": 0.55, "s004_cnn": 0.35, "s004_cnn_dropout": 0.56},
}


def test_the_discussion_opens_with_the_largest_decided_effects(project):
    root, store, fp = project
    for study, accuracies in EFFECTS.items():
        fill(store, fp, study, accuracies)
    ctx = open_context("09-findings", studies=list(EFFECTS), root=root)
    chapter = StudyChapter(ctx, list(EFFECTS))
    claims = chapter.claims()
    text = discussion(chapter.findings, claims, topics=TOPICS, titles=chapter.titles)
    opening = " ".join(text.split()[:300])

    decided = {}
    for study in chapter.findings.values():
        for c in study.comparisons:
            if c.verdict in (BETTER, WORSE):
                decided.setdefault(frozenset((c.variant, c.baseline)), (study.study, c))
    ranked = sorted(decided.values(), key=lambda item: -abs(item[1].diff))
    assert {c.variant for _, c in ranked} >= {"ctl_final_adam", "s004_cnn", "ctl_cnn1_k5"}
    named = re.findall(r"(\S+) vs (\S+) ([+−]\d+\.\d) points \(95 % CI", opening)
    assert named, opening
    expected = []
    for studies in TOPICS.values():
        top = [c for study, c in ranked if study in studies][:3]
        expected += [(c.variant, c.baseline, f"{c.diff * 100:+.1f}".replace("-", "−")) for c in top]
    assert sorted(named) == sorted(expected)  # each topic's largest decided effects, with Δ
    largest = ranked[0][1]
    assert named[0] == (largest.variant, largest.baseline, "+40.0")  # adam vs SGD: the largest
    for undecided in ("ctl_final_rmsprop", "s004_cnn_dropout"):
        assert undecided not in opening.split("**Seed claims")[0]
    assert "**Open at this budget.**" in text and 'collapse="true"' in text
    groups = largest_effects(chapter.findings, {"Training recipe": ["optimizer"]})
    assert list(groups) == ["Training recipe", OTHER]  # by the size of their largest effect


def test_a_collapsed_callout_folds_in_the_builtin_html_and_stays_open_in_typst():
    markdown = '::: {.callout-note collapse="true"}\n## Every sentence\n\nBody.\n:::\n'
    lua = PROJECT / "cifar_core" / "render" / "assets" / "callouts.lua"
    html = pypandoc.convert_text(markdown, "html", format="markdown", filters=[str(lua)])
    assert re.search(r'<details class="callout callout-note"><summary[^>]*>\s*Every sentence', html)
    typst = pypandoc.convert_text(markdown, "typst", format="markdown", filters=[str(lua)])
    assert '#callout("note")' in typst and "Body." in typst


def test_study_chapters_keep_the_parameters_users_override():
    from cifar_core.orchestrate.notebooks import declared_parameters

    for name in STUDY_CHAPTERS:
        declared = declared_parameters(PROJECT / "analyses" / f"{name}.py")
        assert {"studies", "variants", "seeds"} <= set(declared)
        assert declared["studies"].default is None  # the registry's studies of the chapter
        for study in catalog.chapter_studies(name):
            assert catalog.get_study(study).chapter == name


def test_the_added_studies_chapter_executes_on_a_project_study(tmp_path, synthetic_dir):
    """analyses/15-added-studies.py, executed with papermill on fake runs of the README's
    example study: its runs table, findings, sentences and claim verdict."""
    from cifar_core.orchestrate import notebooks
    from cifar_core.render.notebooks import cell_outputs

    store, fp = make_project(tmp_path, synthetic_dir)
    shutil.copy2(PROJECT / "analyses" / "15-added-studies.py", tmp_path / "analyses")
    (tmp_path / "studies").mkdir()
    shutil.copy2(PROJECT / "examples" / "studies" / "head_dropout.py", tmp_path / "studies")
    with catalog.use_project(tmp_path):
        fill(store, fp, "my_head_dropout", {"s000_cnn1": 0.5, "my_cnn1_head_dropout": 0.7})
        execution = notebooks.execute(tmp_path, "15-added-studies", {})
    assert execution.ok, execution.error
    notebook = tmp_path / "notebooks" / "15-added-studies.ipynb"
    findings = "\n".join(cell_outputs(notebook, "tbl-added-findings").markdown)
    assert re.search(
        r"my_cnn1_head_dropout\s*\|\s*s000_cnn1\s*\|\s*better\s*\|\s*\+20\.0", findings
    )
    text = "\n".join(cell_outputs(notebook, "added-findings-text").markdown)
    assert "my_cnn1_head_dropout is better than the baseline s000_cnn1 by 20.0 points" in text
    claims = "\n".join(cell_outputs(notebook, "tbl-added-claims").markdown)
    assert re.search(r"\|\s*holds\s*\|", claims)


def test_the_article_says_which_variants_the_regularization_gap_and_best_come_from():
    # StudyChapter.gaps and .best choose among every variant of the chapter's studies,
    # unregularised controls included (s004_cnn, ctl_s004_cnn_e10, s003_net_zscore, ...):
    # the article may not call the smallest gap or the best variant "regularised".
    article = (PROJECT / "index.qmd").read_text()
    section = article.split("## Regularization {#sec-regularization}")[1].split("{{< embed")[0]
    prose = " ".join(section.split())
    assert "regularised variants is" not in prose and "best regularised variant" not in prose
    assert "tests each regularised variant" not in prose
    assert "among the other variants of these studies" in prose


def test_the_pass_marks_note_calls_only_a_scaled_profile_scaled():
    # full-seed-protocol trains the seeds' epochs on all 50,000 images: its pass marks
    # are not "scaled" away.
    from types import SimpleNamespace

    from cifar_core.experiments import catalog

    def notes(profile):
        chapter = SimpleNamespace(
            catalog={"seed004_lab": catalog.get_study("seed004_lab")},
            ctx=SimpleNamespace(
                profile=SimpleNamespace(name=profile), dataset=SimpleNamespace(num_classes=10)
            ),
            runs={},
        )
        return " ".join(StudyChapter.notes(chapter))

    assert "Scaled profile" in notes("sample")
    assert "Scaled profile" not in notes("full")
    assert "Scaled profile" not in notes("full-seed-protocol")
