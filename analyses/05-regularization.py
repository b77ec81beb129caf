# %% [markdown]
# # Regularization: dropout, batch norm, L2, augmentation, and seed 001's trio
#
# How much each technique closes the generalization gap (train − validation accuracy),
# and where the curves show overfitting.

# %% tags=["parameters"]
profile = "demo"  # demo | sample | full
data = None  # a CIFAR-10 path or "synthetic"; None: the profile's source
runs_dir = None  # run store (default: <project>/runs)
project_root = None  # default: the folder above analyses/
studies = ["dropout", "batch_norm", "l2", "augmentation", "seed001_trio"]  # catalog studies
variants = None  # extra variant names
seeds = None  # None: the profile's seeds; an int (how many) or a list
trio = ["s001_model_a", "s001_model_b", "s001_model_c"]  # curves of this figure
gap_baseline = "s001_model_a"  # the unregularized model the gap is quoted for

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
all_runs = {n: r for runs in by_study.values() for n, r in runs.items()}

# %%
#| label: tbl-regularization
#| tbl-cap: "Regularization studies: train, validation and test accuracy and the generalization gap (train − validation, points), mean ± std over seeds."
shown = ev.display_table(table, losses=False) if len(table) else table
if len(table):
    shown.insert(0, "study", table["study"])
    shown["gap pts"] = [f"{g * 100:.1f}" for g in table["gap_mean"]]
    shown = shown.drop(columns=[c for c in ("seeds", "FLOPs/img", "time s") if c in shown])
ev.show_table(shown, synthetic=SYN)

# %%
#| label: fig-regularization-gap
#| fig-cap: "Generalization gap (train − validation accuracy, percentage points) per variant; error bars = std over seeds."
plots.show(plots.gap_bars(ev.generalization_gap(all_runs)))

# %%
#| label: fig-regularization-curves
#| fig-cap: "Seed 001's model_a (plain), model_b (+ augmentation) and model_c (+ batch norm): training (solid) and validation (dashed) loss and accuracy."
plots.show(plots.learning_curves(ctx.histories([n for n in trio if n in all_runs])))

# %%
#| label: regularization-notes
flags = ev.run_anomalies(all_runs, ctx.dataset.num_classes)
overfit = [f for f in flags if f[1].kind == "overfitting"]
ev.show_markdown(ev.callout(flags) or
                 "No overfitting was flagged: no validation loss rose while the training loss fell.")
if not overfit and flags:
    ev.show_markdown("None of the flags above is a rising validation loss.")

# %%
def gap_text(value):
    return "n/a" if value != value else f"{value * 100:.1f} pp"

unique = table.drop_duplicates("variant")
best = ev.best_row(unique)
regularized = unique[unique["variant"] != gap_baseline]
base_gap = unique.loc[unique["variant"] == gap_baseline, "gap_mean"]
save_vars("05-regularization", {"regularization": {
    "best_variant": best["variant"] if best is not None else "n/a",
    "best_test_acc": ev.acc_text(unique, best["variant"]) if best is not None else "n/a",
    "baseline_gap": gap_text(base_gap.iloc[0]) if len(base_gap) else "n/a",
    "best_gap": gap_text(regularized["gap_mean"].min()) if len(regularized) else "n/a",
}}, project_root)
