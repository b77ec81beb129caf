# %% [markdown]
# # Summary: every variant, trade-offs, and the seeds' figures reproduced

# %% tags=["parameters"]
profile = "demo"  # demo | sample | full
data = None  # a CIFAR-10 path or "synthetic"; None: the profile's source
runs_dir = None  # run store (default: <project>/runs)
project_root = None  # default: the folder above analyses/
studies = "all"  # "all" or a list of catalog studies
variants = None  # extra variant names
seeds = None  # None: the profile's seeds; an int (how many) or a list
top = 40  # rows of the leaderboard

# %%
import pandas as pd

from cifar_core import catalog
from cifar_core import evaluation as ev
from cifar_core import plots
from cifar_core.pipeline import analysis_context, save_vars, variant_key

ctx = analysis_context(profile, data, runs_dir, studies, variants, seeds, project_root_dir=project_root)
SYN = ctx.synthetic
runs = ctx.runs_of()
table = ev.runs_table(runs)
table["study"] = [catalog.studies_of(n)[0] if catalog.studies_of(n) else "extra" for n in table["variant"]]

# %%
#| label: tbl-summary-leaderboard
#| tbl-cap: "Leaderboard: every variant of this build, sorted by test accuracy (mean ± std over seeds)."
board = table.sort_values("test_accuracy_mean", ascending=False).head(top)
shown = ev.display_table(board, losses=False)
shown.insert(1, "study", board["study"].to_numpy())
shown = shown.drop(columns=[c for c in ("val acc %", "FLOPs/img") if c in shown])
ev.show_table(shown, synthetic=SYN)

# %%
#| label: fig-summary-pareto
#| fig-cap: "Test accuracy against parameters (left) and training time (right); the step line is the Pareto front (no variant is both cheaper and more accurate)."
plots.show(plots.tradeoff_panels(table, {"params": "parameters", "wall_time_s_mean": "training time (s)"}))

# %%
#| label: tbl-summary-reported
#| tbl-cap: "Reproduced vs reported: the seed reports' test accuracies next to this build's (the seeds used full CIFAR-10 and their epochs)."
rows = []
for study in catalog.studies():
    for name, reported in study.reported.items():
        if any(r["experiment"] == name for r in rows):
            continue
        seed = name[1:4] if name.startswith("s") and name[1:4].isdigit() else "–"
        rows.append({"seed": seed, "experiment": name, "reported %": f"{ev.as_fraction(reported) * 100:.1f}",
                     "reproduced %": ev.acc_text(table, name).replace(" %", ""),
                     "profile": profile if runs.get(name) else f"{profile} (not run)"})
ev.show_table(pd.DataFrame(rows), synthetic=SYN)

# %%
#| label: summary-notes
if profile != "full":
    ev.show_markdown(ev.note_callout(
        f"Profile `{profile}` is **scaled** ({ctx.profile.description}). Its numbers show that "
        "the pipeline works and how variants rank under a small budget; they are not comparable "
        "with the seeds' full-CIFAR-10 figures. Build `--profile full` on a GPU for that.",
        kind="warning", title="Scaled profile"))
else:
    ev.show_markdown("Full profile: the reproduced figures are directly comparable with the seeds'.")
flags = ev.run_anomalies(runs, ctx.dataset.num_classes)
chance = [f for f in flags if f[1].kind == "chance_level"]
ev.show_markdown(ev.callout(chance) or "No run tested at chance level.")

# %%
#| label: tbl-summary-runs
#| tbl-cap: "The runs behind this report: variant, seed, run key, epochs and dataset fingerprint."
keys = []
for variant in ctx.variants:
    key = variant_key(variant, ctx.dataset.fingerprint)
    cached = any(r.key == key for r in ctx.runs.get(variant.name, []))
    keys.append({"variant": variant.name, "seed": variant.seed, "run key": key[:12],
                 "epochs": variant.epochs, "data": ctx.dataset.fingerprint[:12],
                 "cached": "yes" if cached else ctx.not_run.get(variant.name, "no")[:40]})
ev.show_table(pd.DataFrame(keys), synthetic=SYN)

# %%
best = ev.best_row(table)
save_vars("08-summary", {"summary": {
    "best_variant": best["variant"] if best is not None else "n/a",
    "best_test_acc": ev.acc_text(table, best["variant"]) if best is not None else "n/a",
    "n_variants": str(len(table)),
    # Two variants that a profile scales to the same config share their runs: count keys once.
    "n_runs": str(len({run.key for seeds in runs.values() for run in seeds}))}},
    project_root)
