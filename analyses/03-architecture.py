# %% [markdown]
# # Architecture ablations: depth, width, kernel size, activation, pooling
#
# One table and one chart per study, learning curves, mean ± std over seeds.

# %% tags=["parameters"]
studies: list[str] | None = ["depth", "filters", "kernel_size", "activation", "pooling"]  # catalog studies this analysis reads
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list

# %%
from cifar_core.analysis import flags, plots, present, tables
from cifar_core.analysis.context import open_context

ctx = open_context("03-architecture", studies=studies, variants=variants, seeds=seeds)
by_study = {s: ctx.study_runs(s) for s in studies}
catalog_studies = {s: ctx.study(s) for s in studies}
table = tables.studies_table(by_study, {s: st.reported for s, st in catalog_studies.items()})

# %%
#| label: tbl-architecture
#| tbl-cap: "Architecture studies: parameters, FLOPs per image, train and test accuracy (mean ± std over seeds), time; reported = the seed report's figure."
shown = tables.display_table(table, losses=False) if len(table) else table
if len(table):
    shown.insert(0, "study", table["study"])
    shown = shown.drop(columns=[c for c in ("val acc %", "seeds") if c in shown])
present.show_table(shown, synthetic=ctx.synthetic)

# %%
#| label: fig-architecture-studies
#| fig-cap: "One panel per study: test accuracy per variant (mean over seeds, error bars = std; hatched = the study's baseline)."
per_study = {s: table[table["study"] == s].reset_index(drop=True) for s in studies}
plots.show(plots.study_panels(per_study, baselines={s: st.baseline for s, st in catalog_studies.items()}))

# %%
#| label: fig-architecture-curves
#| fig-cap: "Validation accuracy per epoch for every variant, one panel per study (mean ± std over seeds)."
plots.show(plots.curve_panels({s: ctx.histories(runs) for s, runs in by_study.items()},
                              metric="val_accuracy"))

# %%
#| label: architecture-notes
present.show_markdown(present.study_notes(catalog_studies.values()))
found = flags.run_anomalies({n: r for runs in by_study.values() for n, r in runs.items()},
                      ctx.dataset.num_classes)
present.show_markdown(present.callout(found) or "No anomalies were flagged in these studies.")

# %%
best = tables.best_row(table)
ctx.publish({"architecture": {
    "best_variant": best["variant"] if best is not None else "n/a",
    "best_test_acc": tables.acc_text(table, best["variant"]) if best is not None else "n/a"}})
