# %% [markdown]
# # Calibration: are the models' confidences honest?
#
# Expected calibration error (ECE, equal-width confidence bins) and negative
# log-likelihood (NLL) on the test set, before and after temperature scaling fitted on
# the validation split (Guo et al. 2017), for the main variants; reliability diagrams.
# Computed from the stored predictions: nothing is trained or re-predicted.

# %% tags=["parameters"]
studies: list[str] | None = None  # catalog studies (None: only the variants below)
variants: list[str] | None = [
    "s000_mlp",
    "s000_cnn2",
    "s004_final",
    "s003_net_l2_step",
    "flagship",
]  # the main variants: MLP and CNN baselines, seed 004's final, a regularized net (L2 + augmentation), the flagship
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list
n_bins: int = 15  # equal-width confidence bins of the ECE and of the reliability diagrams
diagrams: int = 6  # reliability diagrams drawn (the first variants, each its first seed)

# %%
import pandas as pd

from cifar_core.analysis import present
from cifar_core.analysis.calibration_plots import reliability_panels
from cifar_core.analysis.context import open_context
from cifar_core.analysis.plots import show
from cifar_core.analysis.selection import best_by_validation
from cifar_core.analysis.views import calibration
from cifar_core.analysis.views.runs import runs_table

ctx = open_context("10-calibration", studies=studies, variants=variants, seeds=seeds)
runs = ctx.runs_of()
table = calibration.calibration_by_variant(runs, n_bins=n_bins) if runs else pd.DataFrame()
print(f"{len(runs)} variant(s) with runs; not run: {ctx.not_run or 'none'}")

# %%
#| label: tbl-calibration
#| tbl-cap: "Calibration of the main variants on the test set: accuracy, expected calibration error (ECE, equal-width confidence bins) and negative log-likelihood (NLL) as trained and after temperature scaling with the temperature T fitted on the validation split (mean ± std over seeds). The interval is the 95 % bootstrap interval (BCa, over test images) of the first seed's ECE."
present.show_table(calibration.calibration_table(table), synthetic=ctx.synthetic)

# %%
#| label: fig-calibration-reliability
#| fig-cap: "Reliability diagrams of the main variants (first seed, test set): accuracy per confidence bin (bars; below the diagonal = over-confident) and, as points, after temperature scaling; below each, the share of test images per bin."
chosen = {name: rs[0] for name, rs in list(runs.items())[:diagrams]}
if chosen:
    show(reliability_panels(chosen, n_bins=n_bins))
else:
    present.show_markdown("No main variant has a run in this build.")

# %%
#| label: calibration-notes
notes = present.not_run_notes(ctx.not_run) + calibration.calibration_notes(
    table, runs, ctx.profile.name
)
present.show_markdown(
    present.note_callout(" ".join(notes), title="Reading the calibration table")
    if notes
    else "All main variants ran."
)

# %%
best = best_by_validation(runs_table(runs)) if runs else None
ctx.publish({"calibration": {"n_bins": str(n_bins), **calibration.calibration_values(table, best)}})
