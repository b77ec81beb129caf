# %% [markdown]
# # Summary: every variant, trade-offs, and the seeds' figures reproduced

# %% tags=["parameters"]
studies: str | list[str] | None = "all"  # "all" or a list of catalog studies
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list
top: int = 40  # rows of the leaderboard

# %%
import pandas as pd

from cifar_core.analysis import flags, plots, present, tables
from cifar_core.analysis.context import open_context

ctx = open_context("08-summary", studies=studies, variants=variants, seeds=seeds)
runs = ctx.runs_of()
table = tables.runs_table(runs)
table["study"] = [ctx.studies_of(n)[0] if ctx.studies_of(n) else "extra" for n in table["variant"]]

# %%
#| label: tbl-summary-leaderboard
#| tbl-cap: "Leaderboard: every variant of this build, sorted by test accuracy (mean ± std over seeds)."
board = table.sort_values("test_accuracy_mean", ascending=False).head(top)
shown = tables.display_table(board, losses=False)
shown.insert(1, "study", board["study"].to_numpy())
shown = shown.drop(columns=[c for c in ("val acc %", "FLOPs/img") if c in shown])
present.show_table(shown, synthetic=ctx.synthetic)

# %%
#| label: fig-summary-pareto
#| fig-cap: "Test accuracy against parameters (left) and training time (right); the step line is the Pareto front (no variant is both cheaper and more accurate)."
plots.show(plots.tradeoff_panels(table, {"params": "parameters", "wall_time_s_mean": "training time (s)"}))

# %%
#| label: tbl-summary-reported
#| tbl-cap: "Reproduced vs reported: the seed reports' test accuracies next to this build's (the seeds used full CIFAR-10 and their epochs)."
rows = []
for study in ctx.all_studies():
    for name, reported in study.reported.items():
        if any(r["experiment"] == name for r in rows):
            continue
        seed = name[1:4] if name.startswith("s") and name[1:4].isdigit() else "–"
        rows.append({"seed": seed, "experiment": name, "reported %": f"{tables.as_fraction(reported) * 100:.1f}",
                     "reproduced %": tables.acc_text(table, name).replace(" %", ""),
                     "profile": ctx.profile.name if runs.get(name) else f"{ctx.profile.name} (not run)"})
present.show_table(pd.DataFrame(rows), synthetic=ctx.synthetic)

# %%
#| label: summary-notes
if ctx.profile.name != "full":
    present.show_markdown(present.note_callout(
        f"Profile `{ctx.profile.name}` is **scaled** ({ctx.profile.description}). Its numbers show that "
        "the pipeline works and how variants rank under a small budget; they are not comparable "
        "with the seeds' full-CIFAR-10 figures. Build `--profile full` on a GPU for that.",
        kind="warning", title="Scaled profile"))
else:
    present.show_markdown("Full profile: the reproduced figures are directly comparable with the seeds'.")
found = flags.run_anomalies(runs, ctx.dataset.num_classes)
chance = [f for f in found if f[1].kind == "chance_level"]
present.show_markdown(present.callout(chance) or "No run tested at chance level.")

# %%
#| label: tbl-summary-runs
#| tbl-cap: "The runs behind this report: variant, seed, run key, epochs and dataset fingerprint."
keys = []
for variant in ctx.variants:
    key = ctx.key(variant)
    cached = any(r.key == key for r in ctx.runs.get(variant.name, []))
    keys.append({"variant": variant.name, "seed": variant.seed, "run key": key[:12],
                 "epochs": variant.epochs, "data": ctx.dataset.fingerprint[:12],
                 "cached": "yes" if cached else ctx.not_run.get(variant.name, "no")[:40]})
present.show_table(pd.DataFrame(keys), synthetic=ctx.synthetic)

# %%
best = tables.best_row(table)
ctx.publish({"summary": {
    "best_variant": best["variant"] if best is not None else "n/a",
    "best_test_acc": tables.acc_text(table, best["variant"]) if best is not None else "n/a",
    "n_variants": str(len(table)),
    # Two variants that a profile scales to the same config share their runs: count keys once.
    "n_runs": str(len({run.key for seeds in runs.values() for run in seeds}))}})
