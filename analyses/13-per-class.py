# %% [markdown]
# # Per-class view: which classes move between variants?
#
# Test accuracy of every class (recall, scikit-learn) for a set of variants, shown as
# the change against a baseline, and the classes that gain and lose most from four
# one-factor changes: convolution, depth, regularization (dropout) and augmentation.
# Each change comes with a paired bootstrap interval over that class's test images.
# Computed from the stored predictions.

# %% tags=["parameters"]
studies: list[str] | None = None  # catalog studies (None: only the variants below)
variants: list[str] | None = [
    "s000_mlp",
    "s000_cnn2",
    "s000_cnn3",
    "ctl_s004_cnn_e10",
    "s004_cnn_dropout",
    "s001_model_a",
    "s001_model_b",
    "s004_final",
    "s003_net_l2_step",
    "flagship",
]  # heatmap rows, in order (must include the comparisons' variants)
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list
baseline: str = (
    "s000_cnn2"  # the heatmap row shown as accuracy; the others as the change against it
)
comparisons: dict[str, list[str]] = {
    "convolution": ["s000_mlp", "s000_cnn2"],
    "depth": ["s000_cnn2", "s000_cnn3"],
    "regularization": ["ctl_s004_cnn_e10", "s004_cnn_dropout"],
    "augmentation": ["s001_model_a", "s001_model_b"],
}  # label: [without, with] the change, same epochs
top: int = 1  # classes listed per direction (gain, loss) and comparison
n_resamples: int = 2000  # bootstrap resamples of each class's test images

# %%
import pandas as pd

from cifar_core.analysis import per_class, present
from cifar_core.analysis.comparison_plots import accuracy_heatmap
from cifar_core.analysis.context import open_context
from cifar_core.analysis.plots import show

ctx = open_context("13-per-class", studies=studies, variants=variants, seeds=seeds)
unknown = sorted({n for pair in comparisons.values() for n in pair} - set(variants or []))
if unknown:
    raise ValueError(
        f"comparisons name {', '.join(unknown)}, which -p variants does not include: "
        "add them to variants so that the build trains them"
    )
runs = ctx.runs_of()
names = list(ctx.dataset.class_names)
table = per_class.per_class_table(runs, class_names=names) if runs else pd.DataFrame()
pairs = {label: tuple(pair) for label, pair in comparisons.items()}
changes = per_class.comparison_changes(table, pairs, n=top) if len(table) else pd.DataFrame()
changes = (
    per_class.change_intervals(changes, runs, names, n_resamples=n_resamples)
    if len(changes)
    else changes
)
print(f"{len(table)} variant(s) x {len(names)} classes; {len(changes)} listed changes")

# %%
#| label: fig-per-class-heatmap
#| fig-cap: "Per-class test accuracy across variants (mean over seeds): the baseline row in %, every other row as its change against the baseline in percentage points (blue: better, red: worse)."
if len(table) and baseline in table.index:
    show(accuracy_heatmap(table, baseline=baseline))
elif len(table):
    show(accuracy_heatmap(table))
else:
    present.show_markdown("No variant has a run in this build.")

# %%
#| label: tbl-per-class-changes
#| tbl-cap: "The classes that gain and lose most from each one-factor change: class accuracy without and with the change, and the change in points with its 95 % bootstrap interval over that class's test images (paired by image and by the seeds both variants share, counted in the last column)."
shown = pd.DataFrame(
    [
        {
            "change": row["comparison"],
            "without → with": f"{row['baseline']} → {row['variant']}",
            "direction": row["direction"],
            "class": row["class"],
            "without %": f"{row['baseline_accuracy'] * 100:.1f}",
            "with %": f"{row['variant_accuracy'] * 100:.1f}",
            "change pts [95 % CI]": (
                f"{row['change'] * 100:+.1f} [{row['low'] * 100:+.1f}, {row['high'] * 100:+.1f}]"
                if row["seeds"]
                else row["test"]
            ),
            "images": int(row["images"]),
            "seeds": int(row["seeds"]),
        }
        for _, row in changes.iterrows()
    ]
)
present.show_table(shown, synthetic=ctx.synthetic)

# %%
#| label: per-class-notes
notes = [
    "The listed classes are the largest changes of their comparison, chosen after looking, so "
    "their intervals are optimistic about how far the change stands out; an interval that "
    "includes 0 is no evidence of a class-specific effect."
]
skipped = [label for label, (a, b) in pairs.items() if a not in table.index or b not in table.index]
if skipped:
    notes.append(f"Not shown (a variant did not run in this build): {', '.join(skipped)}.")
if ctx.not_run:
    notes.append("Not run: " + "; ".join(f"{n} ({why})" for n, why in ctx.not_run.items()) + ".")
present.show_markdown(present.note_callout(" ".join(notes), title="Reading the per-class changes"))


# %%
def pick(label, direction):
    rows = (
        changes[(changes["comparison"] == label) & (changes["direction"] == direction)]
        if len(changes)
        else changes
    )
    if not len(rows):
        return {"class": "none", "change": "n/a", "ci": "n/a"}
    row = rows.iloc[0]
    return {
        "class": row["class"],
        "change": f"{row['change'] * 100:+.1f} pp",
        "ci": f"{row['low'] * 100:+.1f} to {row['high'] * 100:+.1f} pp",
    }


mean_by_class = table.mean(axis=0) if len(table) else pd.Series(dtype=float)
ctx.publish(
    {
        "per_class": {
            "n_variants": str(len(table)),
            "baseline": baseline,
            "hardest_class": mean_by_class.idxmin() if len(mean_by_class) else "n/a",
            "hardest_class_acc": f"{mean_by_class.min() * 100:.1f} %"
            if len(mean_by_class)
            else "n/a",
            "easiest_class": mean_by_class.idxmax() if len(mean_by_class) else "n/a",
            "easiest_class_acc": f"{mean_by_class.max() * 100:.1f} %"
            if len(mean_by_class)
            else "n/a",
            **{
                label: {"gain": pick(label, "gain"), "loss": pick(label, "loss")}
                for label in comparisons
            },
        }
    }
)
