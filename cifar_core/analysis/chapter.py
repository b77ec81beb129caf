"""A results chapter over a few catalog studies, as one object: its runs table, its
findings (table and sentences), its notes, its figures and the variant it calls best,
so that a study chapter (``analyses/02-baselines.py`` … ``05-regularization.py``) is a
few one-call cells.

Every study of the chapter is read through the chapter's context (the runs of its
variants, paired by seed and looked up by run key), compared with its baseline
(:func:`cifar_core.analysis.views.findings.chapter_findings`: each study its own Holm
family, the seeds' claims within it included) and described only by generated text.
"Best" is chosen on validation accuracy (:mod:`cifar_core.analysis.selection`).

Example
-------
>>> from types import SimpleNamespace as S
>>> study = S(name="s", title="S: a study", baseline="a", notes=(), reported={},
...           pass_marks={}, names=lambda: ["a", "b"])
>>> runs = {"a": [S(key="ka", variant=S(seed=0), history=None,
...                 metrics={"val_accuracy": 0.5, "test_accuracy": 0.6})],
...         "b": [S(key="kb", variant=S(seed=0), history=None,
...                 metrics={"val_accuracy": 0.7, "test_accuracy": 0.4})]}
>>> ctx = S(runs=runs, not_run={}, variants=[], study=lambda name: study,
...         study_runs=lambda name: runs, profile=S(name="demo"))
>>> chapter = StudyChapter(ctx, ["s"], findings=False)
>>> chapter.best(), chapter.accuracy("b")
('b', '40.0 %')
>>> chapter.runs_table()[["study", "variant", "val acc %", "test acc %"]].values.tolist()
[['s', 'a', '50.0', '60.0'], ['s', 'b', '70.0', '40.0']]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from cifar_core.analysis import plots, present, text
from cifar_core.analysis.context import AnalysisContext, open_context
from cifar_core.analysis.flags import pass_marks_table, run_anomalies
from cifar_core.analysis.selection import best_by_validation
from cifar_core.analysis.sentences import convergence_note, findings_markdown
from cifar_core.analysis.stats.claims import ClaimResult, evaluate_claims
from cifar_core.analysis.stats.findings import StudyFindings
from cifar_core.analysis.views import runs as views
from cifar_core.analysis.views.findings import chapter_findings, findings_table
from cifar_core.experiments import catalog, chapters
from cifar_core.experiments.profiles import UNSCALED_PROFILES

NO_BEST = "none (no validation split)"


class StudyChapter:
    """The studies ``studies`` of a chapter, read through ``ctx``.

    ``findings=False`` skips the statistics (for a chapter, or a test, that shows none);
    ``alpha`` is the significance level after Holm's correction within each study.
    """

    def __init__(
        self,
        ctx: AnalysisContext,
        studies: Sequence[str] | None,
        *,
        findings: bool = True,
        alpha: float = 0.05,
    ) -> None:
        self.ctx = ctx
        self.studies = list(studies or [])
        self.catalog = {name: ctx.study(name) for name in self.studies}
        self.runs_by_study = {name: ctx.study_runs(name) for name in self.studies}
        self.runs = views.merged_runs(self.runs_by_study)
        self.table = views.studies_table(
            self.runs_by_study, {name: s.reported for name, s in self.catalog.items()}
        )
        self.findings: dict[str, StudyFindings] = (
            chapter_findings(ctx, self.studies, alpha=alpha) if findings else {}
        )
        self.titles = {name: s.title for name, s in self.catalog.items()}

    @classmethod
    def open(
        cls,
        name: str,
        studies: Sequence[str] | None,
        variants: Sequence[str] | None = None,
        seeds: int | Sequence[int] | None = None,
        *,
        findings: bool = True,
    ) -> StudyChapter:
        """The chapter ``name`` of this build (:func:`~cifar_core.analysis.context.open_context`)
        over ``studies``, or (``None``) the studies the chapter registry gives it."""
        studies = catalog.chapter_studies(name, studies)
        ctx = open_context(name, studies=studies, variants=variants, seeds=seeds)
        return cls(ctx, list(studies), findings=findings)

    # ------------------------------------------------------------------ numbers
    @property
    def baselines(self) -> list[str]:
        return [s.baseline for s in self.catalog.values()]

    def best(self) -> str | None:
        """The variant with the best validation accuracy (``None`` without a validation
        split); test accuracy is reported for it once."""
        return best_by_validation(self.table.drop_duplicates("variant"))

    def accuracy(self, name: str) -> str:
        """``"68.9 ± 0.4 %"``: test accuracy of a variant of the chapter (mean ± std over seeds)."""
        return views.accuracy_text(self.table, name)

    def quote(self, **arms: str) -> dict[str, str]:
        """``{"<arm>_test_acc", "<arm>_params"}`` of each ``arm=variant``: what the article
        quotes of a variant (``quote(cnn="s000_cnn2")``)."""
        values = {}
        for arm, name in arms.items():
            values[f"{arm}_test_acc"] = self.accuracy(name)
            values[f"{arm}_params"] = text.count(views.value(self.table, name, "params"))
        return values

    def settings(self, name: str) -> dict[str, str]:
        """Epochs and batch size of a variant as this profile trains it: ``{"epochs": "2", …}``."""
        planned = {v.name: v for v in self.ctx.variants}
        return {
            f: str(getattr(planned[name], f)) if name in planned else text.UNKNOWN
            for f in ("epochs", "batch_size")
        }

    def accuracy_and_time(self, *names: str) -> dict[str, dict[str, str]]:
        """``{variant: {"test_acc", "time"}}``: test accuracy and mean run time
        (``"42 s"``: wall time of the whole run, evaluation included, not ``fit_time_s``)."""
        return {
            name: {"test_acc": self.accuracy(name), "time": views.seconds_text(self.table, name)}
            for name in names
        }

    def gaps(self, baseline: str) -> dict[str, str]:
        """The generalization gap (train − validation accuracy, mean over seeds, points)
        of ``baseline`` and the smallest gap among the other variants:
        ``{"baseline_gap", "best_gap"}``."""
        unique = self.table.drop_duplicates("variant")
        others = unique[unique["variant"] != baseline]
        return {
            "baseline_gap": text.points(views.value(unique, baseline, "gap_mean"), unit=True),
            "best_gap": text.points(others["gap_mean"].min(), unit=True)
            if len(others)
            else text.UNKNOWN,
        }

    def publish(self, key: str, *, best: bool = True, **values: Any) -> None:
        """Publish ``{key: values}`` for the article (with the best variant and its test
        accuracy unless ``best=False``); call it once, last."""
        if best:
            chosen = self.best()
            values = {
                "best_variant": chosen or NO_BEST,
                "best_test_acc": self.accuracy(chosen) if chosen else text.UNKNOWN,
                **values,
            }
        self.ctx.publish({key: values})

    # ------------------------------------------------------------------ tables
    def runs_table(
        self,
        study: str | None = None,
        *,
        losses: bool = False,
        drop: Iterable[str] = (),
        gap: bool = False,
    ) -> pd.DataFrame:
        """The runs table as text: one study's (``study``), or every study's with a
        ``study`` column; ``drop`` leaves columns out, ``gap`` adds the generalization
        gap in points; each row says whether its runs are under-trained and whether a
        profile scaled it into another variant's run."""
        if study is not None:
            found = self.catalog[study]
            table = views.runs_table(self.runs_by_study[study], reported=found.reported)
            shown = views.display_table(table, losses=losses)
            return views.with_run_flags(shown, self.runs_by_study[study], [found.baseline])
        if not len(self.table):
            return self.table
        shown = views.display_table(self.table, losses=losses)
        shown.insert(0, "study", self.table["study"])
        if gap:
            shown["gap pts"] = [text.points(g) for g in self.table["gap_mean"]]
        shown = shown.drop(columns=[c for c in drop if c in shown])
        return views.with_run_flags(shown, self.runs, self.baselines)

    def pass_marks_table(self, study: str) -> pd.DataFrame:
        """A study's pass marks (seed 004's) checked on this build's runs, as text."""
        found = self.catalog[study]
        runs = self.runs_by_study[study]
        table = views.runs_table(runs, reported=found.reported)
        epochs = {v.name: v.epochs for v in self.ctx.variants}
        shown = pass_marks_table(found.pass_marks, found.reported, table, epochs)
        return views.with_run_flags(shown, runs, [found.baseline])

    def findings_table(self, studies: Iterable[str] | None = None) -> pd.DataFrame:
        """One row per comparison of the chapter's studies (or of ``studies``)."""
        names = self.studies if studies is None else [s for s in studies if s in self.findings]
        return findings_table([self.findings[name] for name in names])

    def findings_text(self) -> str:
        """The findings in words, one paragraph per study, and what could not be compared."""
        return findings_markdown(self.findings, self.titles)

    def claims(self, equivalence_margin: float = 0.01) -> list[ClaimResult]:
        """The claims about the chapter's studies (the seeds' and a project's own),
        judged by their findings."""
        relevant = [c for c in catalog.claims() if c.study in self.findings]
        return evaluate_claims(relevant, self.findings, equivalence_margin=equivalence_margin)

    def topics(self) -> dict[str, list[str]]:
        """``{topic: studies}``: the chapter's studies grouped by the chapter of the report
        that shows them (its title in the chapter registry); a study this chapter shows
        itself (the findings chapter's own) is a topic of its own, under its title."""
        grouped: dict[str, list[str]] = {}
        for name, study in self.catalog.items():
            shown_elsewhere = study.chapter and study.chapter != self.ctx.name
            topic = chapters.chapter(study.chapter).title if shown_elsewhere else study.title
            grouped.setdefault(topic, []).append(name)
        return grouped

    def notes(self, *, overfitting: bool = False) -> list[str]:
        """Markdown notes: each study remark once, a scaled-profile note where the
        chapter checks pass marks, the flagged runs (``overfitting``: said of rising
        validation loss), and the convergence of the chapter's runs."""
        parts = [present.study_notes(self.catalog.values())]
        if (
            any(s.pass_marks for s in self.catalog.values())
            and self.ctx.profile.name not in UNSCALED_PROFILES
        ):
            parts.append(
                present.note_callout(
                    f"Profile `{self.ctx.profile.name}` scales epochs and data, so the pass "
                    "marks (set for full CIFAR-10 and the seeds' epochs) are not expected to be "
                    "met here.",
                    title="Scaled profile",
                )
            )
        found = run_anomalies(self.runs, self.ctx.dataset.num_classes)
        quiet = (
            "No overfitting was flagged: no validation loss rose while the training loss fell."
            if overfitting
            else "No anomalies were flagged in these studies."
        )
        parts.append(present.callout(found) or quiet)
        if overfitting and found and not any(a.kind == "overfitting" for _, a in found):
            parts.append("None of the flags above is a rising validation loss.")
        parts.append(convergence_note(self.runs))
        return [part for part in parts if part]

    # ------------------------------------------------------------------ figures
    def study_panels(self) -> plt.Figure:
        """One panel per study: test accuracy per variant, the baseline hatched."""
        per_study = {
            s: self.table[self.table["study"] == s].reset_index(drop=True) for s in self.studies
        }
        return plots.study_panels(
            per_study, baselines={name: s.baseline for name, s in self.catalog.items()}
        )

    def curves(self, metric: str) -> plt.Figure:
        """One panel per study: ``metric`` per epoch for each variant."""
        histories = {s: self.ctx.histories(runs) for s, runs in self.runs_by_study.items()}
        return plots.curve_panels(histories, metric=metric)

    def learning_curves(self, names: Iterable[str]) -> plt.Figure:
        """Training and validation loss and accuracy of the named variants."""
        wanted = {n for n in names if n in self.runs}
        runs = {n: rs for n, rs in self.ctx.runs.items() if n in wanted}  # in the context's order
        return plots.learning_curves(self.ctx.histories(runs))

    def gap_bars(self) -> plt.Figure:
        """The generalization gap of every variant (mean ± std over seeds)."""
        return plots.gap_bars(views.generalization_gap(self.runs))

    def time_curves(self, study: str, target: str, target_label: str) -> plt.Figure:
        """Validation accuracy over training time of a study's variants, with the test
        accuracy of ``target`` as a level."""
        runs = self.runs_by_study[study]
        level = views.value(views.runs_table(runs), target, "test_accuracy_mean")
        return plots.time_curves(
            views.time_curves(runs),
            target=None if text.is_unknown(level) else level,
            target_label=target_label,
        )

    # ------------------------------------------------------------------ showing
    def show(self, item: pd.DataFrame | str | list[str] | plt.Figure) -> None:
        """Display a table (markdown), markdown text (one output per string) or a figure."""
        if isinstance(item, pd.DataFrame):
            present.show_table(item, synthetic=self.ctx.synthetic)
        elif isinstance(item, str):
            present.show_markdown(item)
        elif isinstance(item, list):
            for part in item:
                present.show_markdown(part)
        else:
            plots.show(item)
