"""The chapter registry (cifar_core/experiments/chapters.py) is the one list of chapters:
the analyses' sources, _quarto.yml's notebooks and titles, the build's order, each
chapter's default studies and the findings chapter's own table follow it.

_quarto.yml is checked, not generated: it is a hand-edited file (comments, Quarto
options) that Quarto reads before any build runs, so a test that fails on disagreement
keeps it right without the build rewriting it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from cifar_core.experiments import catalog
from cifar_core.experiments.chapters import ADDED_STUDIES, CHAPTERS
from cifar_core.orchestrate import added_studies, notebooks

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE = PROJECT / "examples" / "studies" / "head_dropout.py"


def test_the_analyses_are_the_registry_chapters_in_order():
    sources = sorted(p.stem for p in (PROJECT / "analyses").glob("*.py"))
    assert sources == [c.name for c in CHAPTERS]


def test_quarto_lists_the_registry_notebooks_with_their_titles():
    listed = yaml.safe_load((PROJECT / "_quarto.yml").read_text())["manuscript"]["notebooks"]
    expected = [
        {"notebook": f"notebooks/{c.name}.ipynb", "title": c.title}
        for c in CHAPTERS
        if not c.added_studies  # embedded only when the project has studies of its own
    ]
    assert listed == expected


def test_each_study_chapter_takes_its_studies_from_the_registry():
    assert {c.name: catalog.chapter_studies(c.name) for c in CHAPTERS[1:6]} == {
        "02-baselines": ["baselines", "seed004_lab"],
        "03-architecture": ["depth", "filters", "kernel_size", "activation", "pooling"],
        "04-training": ["batch_size", "optimizer", "lr_schedule", "normalization", "flagship"],
        "05-regularization": ["dropout", "batch_norm", "l2", "augmentation", "seed001_trio"],
        "06-transfer": ["transfer"],
    }
    assert catalog.findings_elsewhere() == ["seed002_families", "wrn", "transfer"]
    for chapter in CHAPTERS:
        declared = notebooks.declared_parameters(PROJECT / "analyses" / f"{chapter.name}.py")
        default = declared["studies"].default if "studies" in declared else None
        assert default in (None, "all"), chapter.name  # no copy of the registry's lists
        if default is None and catalog.chapter_studies(chapter.name):
            source = (PROJECT / "analyses" / f"{chapter.name}.py").read_text()
            resolved = (  # directly, or through the study chapter that resolves it
                f'catalog.chapter_studies("{chapter.name}", studies)',
                f'StudyChapter.open("{chapter.name}", studies',
            )
            assert any(call in source for call in resolved), chapter.name
    declared = notebooks.declared_parameters(PROJECT / "analyses" / "09-findings.py")
    assert declared["table_studies"].default is None


def test_the_build_executes_the_registry_order_and_added_studies_only_when_declared(tmp_path):
    assert notebooks.analysis_names(PROJECT) == [c.name for c in CHAPTERS if not c.added_studies]
    (tmp_path / "analyses").mkdir()
    for name in ("02-baselines", "01-data", ADDED_STUDIES, "zz-extra"):
        (tmp_path / "analyses" / f"{name}.py").write_text("")
    assert notebooks.analysis_names(tmp_path) == ["01-data", "02-baselines", "zz-extra"]
    (tmp_path / "studies").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "studies")
    assert notebooks.analysis_names(tmp_path) == [
        "01-data",
        "02-baselines",
        ADDED_STUDIES,
        "zz-extra",
    ]


def test_the_article_includes_the_added_studies_section_the_build_writes(tmp_path):
    assert "{{< include notebooks/_added-studies.md >}}" in (PROJECT / "index.qmd").read_text()
    source = (PROJECT / "analyses" / f"{ADDED_STUDIES}.py").read_text()
    labels = re.findall(r"^#\| label: (\S+)$", source, re.M)
    assert labels == list(added_studies.LABELS)
    empty = added_studies.write_added_studies(tmp_path, ["01-data"])
    assert empty.read_text() == ""
    section = added_studies.write_added_studies(tmp_path, ["01-data", ADDED_STUDIES]).read_text()
    assert section.startswith("## Added studies {#sec-added-studies}")
    assert section.count("{{< embed notebooks/15-added-studies.ipynb#") == len(labels)


def test_the_leaderboard_lists_every_variant_as_its_caption_and_the_article_say():
    # The caption says "every variant of this build" and the article "ranks all N
    # variants" (N = every variant): by default no row is cut.
    source = (PROJECT / "analyses" / "08-summary.py").read_text()
    assert "Leaderboard: every variant of this build" in source
    assert (
        "ranks all {{< var summary.n_variants >}} variants" in (PROJECT / "index.qmd").read_text()
    )
    declared = notebooks.declared_parameters(PROJECT / "analyses" / "08-summary.py")
    assert declared["top"].default is None


def test_the_transfer_status_says_what_was_checked():
    # The build looks for the weights file and never downloads it: "not found" is what
    # it knows, on- or offline ("unavailable offline" was published on any machine).
    source = (PROJECT / "analyses" / "06-transfer.py").read_text()
    assert '"not run: ImageNet weights not found"' in source
    assert "offline" not in source


def test_the_introduction_says_how_many_seeds_this_build_trains():
    # demo and smoke train one seed, sample one to three: "over several seeds" was
    # hand-written; the number comes from the build (build.seeds_text, as in the Methods:
    # "one seed" or "up to N seeds", never "up to 1 seeds").
    article = (PROJECT / "index.qmd").read_text()
    intro = " ".join(article.split("# Introduction")[1].split("# Data")[0].split())
    assert "over several seeds" not in intro
    assert "with {{< var build.seeds_text >}} per variant" in intro
    methods = " ".join(article.split("# Methods")[1].split("\n# ")[0].split())
    assert "{{< var build.seeds >}}" not in article  # "up to 1 seeds" in demo and smoke
    assert "trained with {{< var build.seeds_text >}} (the findings tables" in methods


def test_the_robustness_section_does_not_say_the_corruptions_cannot_be_downloaded():
    # The build never tries to download CIFAR-10-C (it regenerates the corruptions from
    # the build's own test split, whatever the profile): "cannot be downloaded here" was
    # a claim about the machine that nothing checks.
    article = " ".join((PROJECT / "index.qmd").read_text().split())
    assert "cannot be downloaded here" not in article
    assert "The build does not use its official files: the corruptions are regenerated" in article
    assert article.count("official files") == 1  # said once


def test_the_added_studies_claims_say_when_their_arms_trained_for_different_epochs():
    # 31a3513 gave claims_table the epochs each variant trained for (09-findings passes
    # them); the added-studies chapter called it without, so its notes never said so.
    source = (PROJECT / "analyses" / "15-added-studies.py").read_text()
    assert "claims_table(claims, epochs)" in source
    assert "claims_table(claims)" not in source


def test_the_transfer_callout_ends_the_weights_message_once():
    # demo: "... Transfer-learning variants are not run without them.. To run them, ..."
    source = (PROJECT / "analyses" / "06-transfer.py").read_text()
    assert "**not run**: {weights.rstrip('.')}. " in source


def test_the_methods_quote_the_findings_rules_this_build_used():
    # alpha and equivalence_margin are 09-findings' parameters (-p alpha 0.01): the
    # Methods typed "below 0.05" and "within ± 1 point", and the claims caption "± 1 point".
    article = (PROJECT / "index.qmd").read_text()
    methods = " ".join(
        article.split("**Selection and statistics.**")[1].split("**Run store")[0].split()
    )
    # ... and only 09 takes them: the study chapters' captions state their own level
    assert (
        "below the significance level its table's caption states "
        "({{< var findings.alpha >}} in the Findings chapter and the Discussion)" in methods
    )
    assert "within ± {{< var findings.equivalence_margin >}} in the Findings chapter)" in methods
    assert "0.05" not in methods and "1 point" not in methods
    source = (PROJECT / "analyses" / "09-findings.py").read_text()
    assert "± 1 point" not in source
    assert "findings_values(chapter.findings, claims, alpha, equivalence_margin)" in source


def test_beyond_the_seeds_names_no_hand_written_variants():
    # the three chapters' variants are parameters: the article listed five by hand, and
    # once that list went, "the main variants" named nothing the reader had been told.
    article = (PROJECT / "index.qmd").read_text()
    assert "main variant" not in article
    beyond = " ".join(article.split("# Beyond the seeds")[1].split("## Calibration")[0].split())
    assert "the perceptron and convolutional baselines" not in beyond
    assert (
        "compare {{< var calibration.n_variants >}}, {{< var tta.n_variants >}} and "
        "{{< var robustness.n_variants >}} variants" in beyond
    )


def test_run_time_and_fit_time_are_labelled_as_what_they_measure():
    # the summary plotted wall_time_s (the whole run, evaluation included) as "training
    # time", the compute chapter fit_time_s (model.fit) as "training wall time".
    summary = (PROJECT / "analyses" / "08-summary.py").read_text()
    assert '"wall_time_s_mean": "run time (s)"' in summary and "training time" not in summary
    for name in ("02-baselines", "03-architecture", "04-training", "15-added-studies"):
        source = (PROJECT / "analyses" / f"{name}.py").read_text()
        assert "run time in seconds (wall time of the whole run, evaluation included)" in source
    assert (
        "over fit time (seconds of model.fit"
        in (PROJECT / "analyses" / "04-training.py").read_text()
    )
    assert 'xlabel="fit time (s)"' in (PROJECT / "cifar_core" / "analysis" / "plots.py").read_text()
    article = " ".join((PROJECT / "index.qmd").read_text().split())
    assert (
        "{{< var training.flagship.flagship.time >}} of run time (wall time of the whole run"
        in article
    )
    assert "against parameters and training time" not in article


def test_the_errors_section_says_which_seeds_run_it_quotes():
    # the section quoted one run's accuracy beside tables of the mean over seeds.
    article = " ".join((PROJECT / "index.qmd").read_text().split())
    assert (
        "uses one run of {{< var errors.model >}}, the one with seed {{< var errors.seed >}} "
        "({{< var errors.test_acc >}} test accuracy; the results tables give the mean" in article
    )
    source = (PROJECT / "analyses" / "07-errors.py").read_text()
    assert '"seed": str(run.variant.seed),' in source


def test_the_hardest_and_easiest_and_most_frequent_name_every_tie():
    # errors.worst_class, errors.top_pair and per_class.hardest/easiest_class took the
    # first of a tie (idxmin, idxmax, iloc[0]); text.extreme names every tied one.
    errors = (PROJECT / "analyses" / "07-errors.py").read_text()
    assert '"worst_class": text.extreme(per_class, lowest=True),' in errors
    assert "every_pair = predictions.most_confused_pairs(counts, top=len(names) ** 2)" in errors
    assert '"top_pair": text.extreme(' in errors
    per_class = (PROJECT / "analyses" / "13-per-class.py").read_text()
    assert '"hardest_class": text.extreme(mean_by_class, lowest=True),' in per_class
    assert '"easiest_class": text.extreme(mean_by_class),' in per_class
    assert "idxmin" not in errors + per_class and "idxmax" not in per_class


def test_the_robustness_ranking_sentence_is_generated_with_its_rule():
    article = " ".join((PROJECT / "index.qmd").read_text().split())
    assert "over the corruptions; {{< var robustness.most_robust_text >}}. At the" in article
    assert "robustness.most_robust_kept" not in article


def test_the_summary_says_its_pareto_front_is_chosen_on_validation():
    # the front was chosen on test accuracy, against the Methods ("no choice is made on
    # test data") and chapter 14, whose fronts are chosen on validation.
    article = " ".join((PROJECT / "index.qmd").read_text().split())
    assert "beats on both cost and validation accuracy (the Pareto front, chosen on" in article
    summary = (PROJECT / "analyses" / "08-summary.py").read_text()
    assert "the step line joins the Pareto front chosen on validation accuracy" in summary
