# %% [markdown]
# # Training ablations: batch size, optimizer, learning-rate schedule, input normalization, and the flagship recipe
#
# One table and one chart per study, learning curves, mean ± std over seeds; the fast
# flagship recipe against seed 004's final recipe in accuracy over training time.

# %% tags=["parameters"]
studies: list[str] | None = None  # None: the studies the registry gives this chapter
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list

# %%
from cifar_core.analysis import chapter_findings, flags, plots, present, tables
from cifar_core.analysis.context import open_context
from cifar_core.experiments import catalog

studies = catalog.chapter_studies("04-training", studies)
ctx = open_context("04-training", studies=studies, variants=variants, seeds=seeds)
studies = studies or []
by_study = {s: ctx.study_runs(s) for s in studies}
catalog_studies = {s: ctx.study(s) for s in studies}
table = tables.studies_table(by_study, {s: st.reported for s, st in catalog_studies.items()})
all_runs = chapter_findings.study_runs_with_duplicates(by_study)
findings = chapter_findings.chapter_findings(ctx, studies)

# %%
#| label: tbl-training
#| tbl-cap: "Training studies: batch size, optimizer, learning-rate schedule, input normalization and the flagship recipe; validation and test accuracy (mean ± std over seeds), time; reported = the seed report's figure; under-trained = runs whose validation metrics were still improving when training stopped."
shown = tables.display_table(table, losses=False) if len(table) else table
if len(table):
    shown.insert(0, "study", table["study"])
    shown = shown.drop(columns=[c for c in ("train acc %", "seeds") if c in shown])
    shown = chapter_findings.show_runs_table(
        shown, all_runs, baselines=[st.baseline for st in catalog_studies.values()]
    )
present.show_table(shown, synthetic=ctx.synthetic)

# %%
#| label: tbl-training-findings
#| tbl-cap: "Findings of the training studies and of the flagship study (seed 004's final recipe and each one-setting ablation against the flagship recipe): each variant against its own study's baseline (and the seeds' claims within the study); Δ = variant − baseline test accuracy in points with a 95 % bootstrap interval over test images; p-values Holm-adjusted within each study (each study is its own family); verdict better/worse only when the adjusted p < 0.05 and the interval excludes 0."
present.show_table(chapter_findings.findings_display(findings), synthetic=ctx.synthetic)

# %%
#| label: training-findings-text
present.show_markdown(chapter_findings.findings_markdown(findings, ctx))

# %%
#| label: fig-training-studies
#| fig-cap: "One panel per study: test accuracy per variant (mean over seeds, error bars = std; hatched = the study's baseline)."
per_study = {s: table[table["study"] == s].reset_index(drop=True) for s in studies}
plots.show(
    plots.study_panels(per_study, baselines={s: st.baseline for s, st in catalog_studies.items()})
)

# %%
#| label: fig-training-curves
#| fig-cap: "Validation loss per epoch for every variant, one panel per study (mean ± std over seeds)."
plots.show(
    plots.curve_panels({s: ctx.histories(runs) for s, runs in by_study.items()}, metric="val_loss")
)

# %%
#| label: fig-training-flagship
#| fig-cap: "The flagship recipe against seed 004's final recipe: validation accuracy over training time (mean ± std over seeds; epochs taken as equally long); dotted: seed 004's final test accuracy."
flagship_runs = ctx.study_runs("flagship")
flagship_table = tables.runs_table(flagship_runs)
s004_acc = flagship_table.set_index("variant")["test_accuracy_mean"].get("s004_final")
plots.show(
    plots.time_curves(
        tables.time_curves(flagship_runs), target=s004_acc, target_label="seed 004 final, test"
    )
)

# %%
#| label: training-notes
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
        "training": {
            "best_variant": best or "none (no validation split)",
            "best_test_acc": tables.acc_text(table, best) if best else "n/a",
            "flagship": {
                name: {
                    "test_acc": tables.acc_text(flagship_table, name),
                    "time": tables.seconds_text(flagship_table, name),
                }
                for name in ("flagship", "s004_final")
            },
        }
    }
)
