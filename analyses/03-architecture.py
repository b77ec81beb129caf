# %% [markdown]
# # Architecture ablations: depth, width, kernel size, activation, pooling
#
# One table and one chart per study, learning curves, mean ± std over seeds; the findings
# table tests each variant against its study's baseline (each study has its own baseline).

# %% tags=["parameters"]
studies: list[str] | None = None  # None: the studies the registry gives this chapter
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list

# %%
from cifar_core.analysis import chapter_findings, flags, plots, present, tables
from cifar_core.analysis.context import open_context
from cifar_core.experiments import catalog

studies = catalog.chapter_studies("03-architecture", studies)
ctx = open_context("03-architecture", studies=studies, variants=variants, seeds=seeds)
studies = studies or []
by_study = {s: ctx.study_runs(s) for s in studies}
catalog_studies = {s: ctx.study(s) for s in studies}
table = tables.studies_table(by_study, {s: st.reported for s, st in catalog_studies.items()})
all_runs = chapter_findings.study_runs_with_duplicates(by_study)
findings = chapter_findings.chapter_findings(ctx, studies)

# %%
#| label: tbl-architecture
#| tbl-cap: "Architecture studies: parameters, FLOPs per image, validation and test accuracy (mean ± std over seeds), time; reported = the seed report's figure; under-trained = runs whose validation metrics were still improving when training stopped."
shown = tables.display_table(table, losses=False) if len(table) else table
if len(table):
    shown.insert(0, "study", table["study"])
    shown = shown.drop(columns=[c for c in ("train acc %", "seeds") if c in shown])
    shown = chapter_findings.show_runs_table(
        shown, all_runs, baselines=[st.baseline for st in catalog_studies.values()]
    )
present.show_table(shown, synthetic=ctx.synthetic)

# %%
#| label: tbl-architecture-findings
#| tbl-cap: "Findings of the architecture studies: each variant against its own study's baseline (and the seeds' claims within the study); Δ = variant − baseline test accuracy in points with a 95 % bootstrap interval over test images; p-values Holm-adjusted within each study (each study is its own family); verdict better/worse only when the adjusted p < 0.05 and the interval excludes 0."
present.show_table(chapter_findings.findings_display(findings), synthetic=ctx.synthetic)

# %%
#| label: architecture-findings-text
present.show_markdown(chapter_findings.findings_markdown(findings, ctx))

# %%
#| label: fig-architecture-studies
#| fig-cap: "One panel per study: test accuracy per variant (mean over seeds, error bars = std; hatched = the study's baseline)."
per_study = {s: table[table["study"] == s].reset_index(drop=True) for s in studies}
plots.show(
    plots.study_panels(per_study, baselines={s: st.baseline for s, st in catalog_studies.items()})
)

# %%
#| label: fig-architecture-curves
#| fig-cap: "Validation accuracy per epoch for every variant, one panel per study (mean ± std over seeds)."
plots.show(
    plots.curve_panels(
        {s: ctx.histories(runs) for s, runs in by_study.items()}, metric="val_accuracy"
    )
)

# %%
#| label: architecture-notes
present.show_markdown(present.study_notes(catalog_studies.values()))
found = flags.run_anomalies(all_runs, ctx.dataset.num_classes)
present.show_markdown(present.callout(found) or "No anomalies were flagged in these studies.")
present.show_markdown(chapter_findings.convergence_note(all_runs))

# %%
best = chapter_findings.best_by_validation(
    table.drop_duplicates("variant") if len(table) else table
)
ctx.publish(
    {
        "architecture": {
            "best_variant": best or "none (no validation split)",
            "best_test_acc": tables.acc_text(table, best) if best else "n/a",
        }
    }
)
