# %% [markdown]
# # Compute-controlled comparison: accuracy for what it costs to train
#
# Every variant of the build against its training compute: training FLOPs (forward
# FLOPs per image × 3 for forward and backward × training images × epochs run) and
# wall time of `model.fit`, on log axes. The Pareto front (no variant is both cheaper
# and better) is chosen on **validation** accuracy; the plots show test accuracy.
# Published reference points (airbench, a ResNet-18 baseline; full CIFAR-10 on an A100)
# are drawn only for the full profiles, where they apply.

# %% tags=["parameters"]
studies: str | list[str] | None = "all"  # "all" or a list of catalog studies
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list

# %%
import pandas as pd

from cifar_core.analysis import present, text
from cifar_core.analysis.comparison_plots import compute_scatter
from cifar_core.analysis.context import open_context
from cifar_core.analysis.plots import show
from cifar_core.analysis.selection import best_by_validation
from cifar_core.analysis.views import compute

ctx = open_context("14-compute", studies=studies, variants=variants, seeds=seeds)
runs = ctx.runs_of()
table = compute.compute_table(runs) if runs else pd.DataFrame()
references = compute.reference_points(ctx.profile.name)
note = compute.reference_note(
    ctx.profile.name,
    None if ctx.synthetic else len(ctx.dataset.y_train),
    ctx.profile.max_steps_per_epoch,
)
devices = sorted({str(r.metrics.get("device_name")) for rs in runs.values() for r in rs})
print(f"{len(table)} variants; devices: {', '.join(devices) or text.UNKNOWN}")

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
present.show_table(compute.front_table(table), synthetic=ctx.synthetic)

# %%
#| label: compute-notes
notes = compute.compute_notes(devices, note)
present.show_markdown(present.note_callout(" ".join(notes), title="Reading the compute plots"))

# %%
best = best_by_validation(table.reset_index(), by="val_accuracy") if len(table) else None
ctx.publish({"compute": compute.compute_values(table, best, note)})
