# %% [markdown]
# # Test-time augmentation: what does averaging over views buy?
#
# Each main variant's stored model predicts the test set once, mirrored, and translated
# by one pixel (airbench's set); flip TTA averages the softmax of the image and its
# mirror (2 forward passes), flip + translate adds the two translations and their
# mirrors (6 passes, half the weight on the flip pair). The gain over one pass is
# paired image by image, with an exact bootstrap interval and an exact McNemar test
# (one seed) or sign-flip permutation test (several seeds), Holm-adjusted over the table.
# The predictions are cached beside the run store; the models are loaded only to
# compute a missing one.

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

# %%
import pandas as pd

from cifar_core.analysis import present, text
from cifar_core.analysis.comparison_plots import gain_intervals
from cifar_core.analysis.context import open_context
from cifar_core.analysis.plots import show
from cifar_core.analysis.selection import best_by_validation
from cifar_core.analysis.views.runs import runs_table
from cifar_core.analysis.views.tta import tta_display, tta_notes, tta_table, tta_values

ctx = open_context("11-tta", studies=studies, variants=variants, seeds=seeds)
runs = ctx.runs_of()
table = tta_table(runs, ctx.dataset) if runs else pd.DataFrame()
print(
    f"{len(table)} variant(s); paired test: {table['test'].iloc[0] if len(table) else text.UNKNOWN}"
)

# %%
#| label: tbl-tta
#| tbl-cap: "Test-time augmentation of the main variants: test accuracy with one forward pass, with flip TTA (2 passes) and with flip + translate TTA (6 passes), the gain over one pass in points with its 95 % bootstrap interval over test images, the Holm-adjusted p-value of the paired test, and the inference FLOPs each recipe adds per image. Mean over seeds."
present.show_table(tta_display(table, runs), synthetic=ctx.synthetic)

# %%
#| label: fig-tta-gains
#| fig-cap: "Accuracy gain of test-time augmentation over one forward pass (percentage points, paired over the same test images) with 95 % bootstrap intervals."
if len(table):
    show(
        gain_intervals(
            table,
            {"flip": "flip (2 passes)", "translate": "flip + translate (6 passes)"},
            xlabel="test accuracy gain over one pass (points)",
        )
    )
else:
    present.show_markdown("No main variant has a run in this build.")

# %%
#| label: tta-notes
notes = tta_notes(table, runs) + present.not_run_notes(ctx.not_run)
present.show_markdown(
    present.note_callout(" ".join(notes), title="Reading the TTA table") if notes else ""
)

# %%
best = best_by_validation(runs_table(runs)) if runs else None
ctx.publish({"tta": tta_values(table, best)})
