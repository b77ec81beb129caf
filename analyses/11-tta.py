# %% [markdown]
# # Test-time augmentation: what does averaging over views buy?
#
# Each main variant's stored model predicts the test set once, mirrored, and translated
# by one pixel (airbench's set); flip TTA averages the softmax of the image and its
# mirror (2 forward passes), flip + translate adds the two translations and their
# mirrors (6 passes, half the weight on the flip pair). The gain over one pass is
# paired image by image, with a bootstrap interval and an exact McNemar test (one
# seed) or a sign-flip permutation test (several seeds), Holm-adjusted over the table.
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
n_resamples: int = 2000  # bootstrap resamples of the test images for each interval

# %%
import pandas as pd

from cifar_core.analysis import chapter_findings, present, tables
from cifar_core.analysis.comparison_plots import gain_intervals
from cifar_core.analysis.context import open_context
from cifar_core.analysis.plots import show
from cifar_core.analysis.tta import tta_table

ctx = open_context("11-tta", studies=studies, variants=variants, seeds=seeds)
runs = ctx.runs_of()
table = tta_table(runs, ctx.dataset, n_resamples=n_resamples) if runs else pd.DataFrame()
flip_trained = {
    name: bool((rs[0].config["variant"].get("augmentation") or {}).get("flip"))
    for name, rs in runs.items()
}
print(f"{len(table)} variant(s); paired test: {table['test'].iloc[0] if len(table) else 'n/a'}")

# %%
#| label: tbl-tta
#| tbl-cap: "Test-time augmentation of the main variants: test accuracy with one forward pass, with flip TTA (2 passes) and with flip + translate TTA (6 passes), the gain over one pass in points with its 95 % bootstrap interval over test images, the Holm-adjusted p-value of the paired test, and the inference FLOPs each recipe adds per image. Mean over seeds."


def gain(row, recipe):
    return (
        f"{row[f'{recipe}_gain'] * 100:+.1f} [{row[f'{recipe}_low'] * 100:+.1f}, "
        f"{row[f'{recipe}_high'] * 100:+.1f}]"
    )


shown = pd.DataFrame(
    [
        {
            "variant": name,
            "seeds": int(row["seeds"]),
            "trained with flips": "yes" if flip_trained[name] else "no",
            "1 pass %": f"{row['plain'] * 100:.1f}",
            "flip %": f"{row['flip'] * 100:.1f}",
            "flip gain pts [95 % CI]": gain(row, "flip"),
            "flip p (Holm)": f"{row['flip_p_holm']:.3g}",
            "flip+translate %": f"{row['translate'] * 100:.1f}",
            "f+t gain pts [95 % CI]": gain(row, "translate"),
            "f+t p (Holm)": f"{row['translate_p_holm']:.3g}",
            "extra FLOPs/img (flip, f+t)": f"{tables.human_count(row['flip_extra_flops'])}, "
            f"{tables.human_count(row['translate_extra_flops'])}",
        }
        for name, row in table.iterrows()
    ]
)
present.show_table(shown, synthetic=ctx.synthetic)

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
notes = []
if len(table):
    notes.append(
        f"Intervals and tests treat the {int(table['images'].iloc[0]):,} test images as "
        f"independent and condition on the trained models ({table['test'].iloc[0]})."
    )
own = [
    n
    for n, rs in runs.items()
    if rs[0].config["variant"].get("tta_flip") or rs[0].config["variant"].get("tta_translate")
]
if own:
    notes.append(
        f"{', '.join(own)} evaluate(s) with test-time augmentation as part of the recipe, so "
        "the accuracy reported elsewhere in this report for them is the averaged one; the "
        "one-pass accuracy here is a single plain pass."
    )
if ctx.not_run:
    notes.append(
        "Not run in this build: "
        + "; ".join(f"{n} ({why})" for n, why in ctx.not_run.items())
        + "."
    )
present.show_markdown(
    present.note_callout(" ".join(notes), title="Reading the TTA table") if notes else ""
)


# %%
def points(value):
    return "n/a" if pd.isna(value) else f"{value * 100:+.1f} pp"


def interval(row, recipe):
    return f"{row[f'{recipe}_low'] * 100:+.1f} to {row[f'{recipe}_high'] * 100:+.1f} pp"


best = chapter_findings.best_by_validation(tables.runs_table(runs)) if runs else None
row = table.loc[best] if best is not None else None
significant = (
    int(((table["flip_p_holm"] < 0.05) & (table["flip_gain"] > 0)).sum()) if len(table) else 0
)
ctx.publish(
    {
        "tta": {
            "n_variants": str(len(table)),
            "best_variant": best or "n/a",
            "best_plain": f"{row['plain'] * 100:.1f} %" if row is not None else "n/a",
            "best_flip_gain": points(row["flip_gain"]) if row is not None else "n/a",
            "best_flip_ci": interval(row, "flip") if row is not None else "n/a",
            "best_translate_gain": points(row["translate_gain"]) if row is not None else "n/a",
            "best_translate_ci": interval(row, "translate") if row is not None else "n/a",
            "n_flip_significant": str(significant),
            "mean_flip_gain": points(table["flip_gain"].mean()) if len(table) else "n/a",
            "mean_translate_gain": points(table["translate_gain"].mean()) if len(table) else "n/a",
            "translate_views": str(int(table["views"].iloc[0])) if len(table) else "6",
        }
    }
)
