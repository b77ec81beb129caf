# %% [markdown]
# # Regularization: dropout, batch norm, L2, augmentation, and seed 001's trio
#
# How much each technique closes the generalization gap (train − validation accuracy),
# and where the curves show overfitting.

# %% tags=["parameters"]
studies: list[str] | None = None  # None: the studies the registry gives this chapter
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list
trio: list[str] = ["s001_model_a", "s001_model_b", "s001_model_c"]  # curves of this figure
gap_baseline: str = "s001_model_a"  # the unregularized model the gap is quoted for

# %%
from cifar_core.analysis import chapter_findings, flags, plots, present, tables
from cifar_core.analysis.context import open_context
from cifar_core.experiments import catalog

studies = catalog.chapter_studies("05-regularization", studies)
ctx = open_context("05-regularization", studies=studies, variants=variants, seeds=seeds)
studies = studies or []
by_study = {s: ctx.study_runs(s) for s in studies}
catalog_studies = {s: ctx.study(s) for s in studies}
table = tables.studies_table(by_study, {s: st.reported for s, st in catalog_studies.items()})
all_runs = chapter_findings.study_runs_with_duplicates(by_study)
findings = chapter_findings.chapter_findings(ctx, studies)

# %%
#| label: tbl-regularization
#| tbl-cap: "Regularization studies: train, validation and test accuracy and the generalization gap (train − validation, points), mean ± std over seeds; under-trained = runs whose validation metrics were still improving when training stopped."
shown = tables.display_table(table, losses=False) if len(table) else table
if len(table):
    shown.insert(0, "study", table["study"])
    shown["gap pts"] = [f"{g * 100:.1f}" for g in table["gap_mean"]]
    shown = shown.drop(columns=[c for c in ("seeds", "FLOPs/img", "time s") if c in shown])
    shown = chapter_findings.show_runs_table(
        shown, all_runs, baselines=[st.baseline for st in catalog_studies.values()]
    )
present.show_table(shown, synthetic=ctx.synthetic)

# %%
#| label: tbl-regularization-findings
#| tbl-cap: "Findings of the regularization studies: each variant against its own study's baseline (and the seeds' claims within the study); Δ = variant − baseline test accuracy in points with a 95 % bootstrap interval over test images; p-values Holm-adjusted within each study (each study is its own family); verdict better/worse only when the adjusted p < 0.05 and the interval excludes 0."
present.show_table(chapter_findings.findings_display(findings), synthetic=ctx.synthetic)

# %%
#| label: regularization-findings-text
present.show_markdown(chapter_findings.findings_markdown(findings, ctx))

# %%
#| label: fig-regularization-gap
#| fig-cap: "Generalization gap (train − validation accuracy, percentage points) per variant; error bars = std over seeds."
plots.show(plots.gap_bars(tables.generalization_gap(all_runs)))

# %%
#| label: fig-regularization-curves
#| fig-cap: "Seed 001's model_a (plain), model_b (+ augmentation) and model_c (+ batch norm): training (solid) and validation (dashed) loss and accuracy."
plots.show(plots.learning_curves(ctx.histories([n for n in trio if n in all_runs])))

# %%
#| label: regularization-notes
found = flags.run_anomalies(all_runs, ctx.dataset.num_classes)
overfit = [f for f in found if f[1].kind == "overfitting"]
present.show_markdown(
    present.callout(found)
    or "No overfitting was flagged: no validation loss rose while the training loss fell."
)
if not overfit and found:
    present.show_markdown("None of the flags above is a rising validation loss.")
present.show_markdown(chapter_findings.convergence_note(all_runs))

# %%
unique = table.drop_duplicates("variant") if len(table) else table
best = chapter_findings.best_by_validation(unique)
regularized = unique[unique["variant"] != gap_baseline] if len(unique) else unique
base_gap = unique.loc[unique["variant"] == gap_baseline, "gap_mean"] if len(unique) else []
ctx.publish(
    {
        "regularization": {
            "best_variant": best or "none (no validation split)",
            "best_test_acc": tables.acc_text(unique, best) if best else "n/a",
            "baseline_gap": tables.points_text(base_gap.iloc[0]) if len(base_gap) else "n/a",
            "best_gap": tables.points_text(regularized["gap_mean"].min())
            if len(regularized)
            else "n/a",
        }
    }
)
