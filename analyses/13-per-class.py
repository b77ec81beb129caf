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
}  # label: [without, with] the change, meant at the same epochs (the notes say where not)
top: int = 1  # classes listed per direction (gain, loss) and comparison

# %%
import pandas as pd

from cifar_core.analysis import present, sentences, text
from cifar_core.analysis.comparison_plots import accuracy_heatmap
from cifar_core.analysis.context import open_context
from cifar_core.analysis.plots import show
from cifar_core.analysis.views import per_class

ctx = open_context("13-per-class", studies=studies, variants=variants, seeds=seeds)
unknown = sorted({n for pair in comparisons.values() for n in pair} - set(variants or []))
if unknown:
    raise ValueError(
        f"comparisons name {', '.join(unknown)}, which -p variants does not include: "
        "add them to variants so that the build trains them"
    )
runs = ctx.runs_of()
names = list(ctx.dataset.class_names)
table = per_class.per_class_table(runs, names) if runs else pd.DataFrame()
pairs = {label: (pair[0], pair[1]) for label, pair in comparisons.items()}
changes = per_class.comparison_changes(table, pairs, n=top) if len(table) else pd.DataFrame()
changes = per_class.change_intervals(changes, runs, names) if len(changes) else changes
print(f"{len(table)} variant(s) x {len(names)} classes; {len(changes)} listed changes")

# %%
#| label: fig-per-class-heatmap
#| fig-cap: "Per-class test accuracy across variants (mean over seeds): the baseline row in %, every other row as its change against the baseline in percentage points (blue: higher, red: lower)."
if len(table):
    show(accuracy_heatmap(table, baseline=baseline if baseline in table.index else None))
else:
    present.show_markdown("No variant has a run in this build.")

# %%
#| label: tbl-per-class-changes
#| tbl-cap: "The classes that gain and lose most from each one-factor change: class accuracy without and with the change, and the change in points with its 95 % bootstrap interval over that class's test images (paired by image and by the seeds both variants share, counted in the last column)."
present.show_table(per_class.changes_display(changes), synthetic=ctx.synthetic)

# %%
#| label: per-class-text
present.show_markdown(sentences.class_changes_paragraph(changes))

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
unequal = per_class.unequal_epochs(runs, pairs)
if unequal:
    notes.append(
        f"Not trained for the same epochs in this build: {'; '.join(unequal)}; their class changes "
        "include the effect of the different training length."
    )
notes += present.not_run_notes(ctx.not_run, lead="Not run")
present.show_markdown(present.note_callout(" ".join(notes), title="Reading the per-class changes"))

# %%
mean_by_class = table.mean(axis=0) if len(table) else pd.Series(dtype=float)
known = len(mean_by_class) > 0
ctx.publish(
    {
        "per_class": {
            "n_variants": str(len(table)),
            "n_changes": str(len(pairs) - len(skipped)),  # the ones the table shows
            "baseline": baseline,
            "hardest_class": text.extreme(mean_by_class, lowest=True),
            "hardest_class_acc": text.percent(mean_by_class.min()) if known else text.UNKNOWN,
            "easiest_class": text.extreme(mean_by_class),
            "easiest_class_acc": text.percent(mean_by_class.max()) if known else text.UNKNOWN,
            **per_class.change_values(changes, list(comparisons)),
        }
    }
)
