# %% [markdown]
# # Architecture ablations: depth, width, kernel size, activation, pooling
#
# One table and one chart per study, learning curves, mean ± std over seeds.

# %% tags=["parameters"]
profile = "demo"  # demo | sample | full
data = None  # a CIFAR-10 path or "synthetic"; None: the profile's source
runs_dir = None  # run store (default: <project>/runs)
project_root = None  # default: the folder above analyses/
studies = ["depth", "filters", "kernel_size", "activation", "pooling"]  # catalog studies this analysis reads
variants = None  # extra variant names
seeds = None  # None: the profile's seeds; an int (how many) or a list

# %%

from cifar_core import catalog
from cifar_core import evaluation as ev
from cifar_core import plots
from cifar_core.pipeline import analysis_context, save_vars

ctx = analysis_context(profile, data, runs_dir, studies, variants, seeds, project_root_dir=project_root)
SYN = ctx.synthetic
by_study = {s: ctx.study_runs(s) for s in studies}
catalog_studies = {s: catalog.get_study(s) for s in studies}
table = ev.studies_table(by_study, {s: st.reported for s, st in catalog_studies.items()})

# %%
#| label: tbl-architecture
#| tbl-cap: "Architecture studies: parameters, FLOPs per image, train and test accuracy (mean ± std over seeds), time; reported = the seed report's figure."
shown = ev.display_table(table, losses=False) if len(table) else table
if len(table):
    shown.insert(0, "study", table["study"])
    shown = shown.drop(columns=[c for c in ("val acc %", "seeds") if c in shown])
ev.show_table(shown, synthetic=SYN)

# %%
#| label: fig-architecture-studies
#| fig-cap: "One panel per study: test accuracy per variant (mean over seeds, error bars = std; hatched = the study's baseline)."
tables = {s: table[table["study"] == s].reset_index(drop=True) for s in studies}
plots.show(plots.study_panels(tables, baselines={s: st.baseline for s, st in catalog_studies.items()}))

# %%
#| label: fig-architecture-curves
#| fig-cap: "Validation accuracy per epoch for every variant, one panel per study (mean ± std over seeds)."
plots.show(plots.curve_panels({s: ctx.histories(runs) for s, runs in by_study.items()},
                              metric="val_accuracy"))

# %%
#| label: architecture-notes
ev.show_markdown(ev.study_notes(catalog_studies.values()))
flags = ev.run_anomalies({n: r for runs in by_study.values() for n, r in runs.items()},
                         ctx.dataset.num_classes)
ev.show_markdown(ev.callout(flags) or "No anomalies were flagged in these studies.")

# %%
best = ev.best_row(table)
save_vars("03-architecture", {"architecture": {
    "best_variant": best["variant"] if best is not None else "n/a",
    "best_test_acc": ev.acc_text(table, best["variant"]) if best is not None else "n/a"}},
    project_root)
