# %% [markdown]
# # Compute-controlled comparison: accuracy for what it costs to train
#
# Every variant of the build against its training compute: training FLOPs (forward
# FLOPs per image × 3 for forward and backward × training images × epochs run) and
# wall time of `model.fit`, on log axes. The Pareto front (no variant is both cheaper
# and better) is chosen on **validation** accuracy; the plots show test accuracy.
# Published reference points (airbench, a ResNet-18 baseline; full CIFAR-10 on an A100)
# are drawn only for the full profile, where they apply.

# %% tags=["parameters"]
studies: str | list[str] | None = "all"  # "all" or a list of catalog studies
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list

# %%
import pandas as pd

from cifar_core.analysis import compute, present, selection, tables
from cifar_core.analysis.comparison_plots import compute_scatter
from cifar_core.analysis.context import open_context
from cifar_core.analysis.plots import show

ctx = open_context("14-compute", studies=studies, variants=variants, seeds=seeds)
runs = ctx.runs_of()
table = compute.compute_table(runs) if runs else pd.DataFrame()
references = compute.reference_points(ctx.profile.name)
note = compute.reference_note(ctx.profile.name, None if ctx.synthetic else len(ctx.dataset.y_train))
devices = sorted({str(r.metrics.get("device_name")) for rs in runs.values() for r in rs})
print(f"{len(table)} variants; devices: {', '.join(devices) or 'n/a'}")


# %%
#| label: fig-compute-flops
#| fig-cap: "Test accuracy against training FLOPs (forward FLOPs per image × 3 × training images × epochs), log scale, mean over seeds. The line joins the Pareto front chosen on validation accuracy; published reference points (stars, labelled with source and setting) are drawn only where they apply (full CIFAR-10)."
if len(table):
    show(
        compute_scatter(
            table,
            "train_flops",
            pareto="pareto_flops",
            references=references,
            reference_cost="train_flops",
            xlabel="training FLOPs (log scale)",
        )
    )
else:
    present.show_markdown("No run in this build.")

# %%
#| label: fig-compute-time
#| fig-cap: "Test accuracy against training wall time (seconds of model.fit on this build's hardware), log scale, mean over seeds; Pareto front on validation accuracy; published points as in the FLOPs plot."
if len(table):
    show(
        compute_scatter(
            table,
            "fit_time_s",
            pareto="pareto_time",
            references=references,
            reference_cost="wall_time_s",
            xlabel="training wall time (s, log scale)",
        )
    )
else:
    present.show_markdown("No run in this build.")

# %%
#| label: tbl-compute-front
#| tbl-cap: "The variants on either Pareto front (chosen on validation accuracy): training FLOPs, wall time, validation and test accuracy (mean over seeds), and the fronts they are on."
front = (
    table[table["pareto_flops"] | table["pareto_time"]].sort_values("train_flops")
    if len(table)
    else table
)
shown = pd.DataFrame(
    [
        {
            "variant": name,
            "training FLOPs": compute.flops_text(row["train_flops"]),
            "wall time s": f"{row['fit_time_s']:.1f}",
            "val acc %": f"{row['val_accuracy'] * 100:.1f}",
            "test acc %": tables.mean_std(row["test_accuracy"], row["test_accuracy_std"]),
            "front": " + ".join(
                f for f, on in (("FLOPs", row["pareto_flops"]), ("time", row["pareto_time"])) if on
            ),
        }
        for name, row in front.iterrows()
    ]
)
present.show_table(shown, synthetic=ctx.synthetic)

# %%
#| label: compute-notes
notes = [
    f"Wall times are `model.fit` seconds on {', '.join(devices) or 'this machine'}, where several "
    "runs may have trained at once (`--jobs`), so they rank variants only roughly; FLOPs do not "
    "depend on the machine."
]
if note:
    notes.insert(0, note)
present.show_markdown(present.note_callout(" ".join(notes), title="Reading the compute plots"))

# %%
scored = table["val_accuracy"].dropna() if len(table) else table
best = selection.select_best(scored, by="val_accuracy") if len(scored) else None
ctx.publish(
    {
        "compute": {
            "n_variants": str(len(table)),
            "n_front_flops": str(int(table["pareto_flops"].sum())) if len(table) else "0",
            "n_front_time": str(int(table["pareto_time"].sum())) if len(table) else "0",
            "front_flops": ", ".join(table[table["pareto_flops"]].sort_values("train_flops").index)
            if len(table)
            else "none",
            "best_variant": best or "n/a",
            "best_flops": compute.flops_text(table.loc[best, "train_flops"]) if best else "n/a",
            "best_time": f"{table.loc[best, 'fit_time_s']:.0f} s" if best else "n/a",
            "best_test_acc": tables.mean_std(
                table.loc[best, "test_accuracy"], table.loc[best, "test_accuracy_std"]
            )
            + " %"
            if best
            else "n/a",
            "best_on_front": ("yes" if table.loc[best, "pareto_flops"] else "no")
            if best
            else "n/a",
            "references": "drawn" if note is None else "not drawn",
            "reference_note": note
            or "Published reference points are drawn: this build uses full CIFAR-10.",
        }
    }
)
