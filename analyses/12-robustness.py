# %% [markdown]
# # Corruption robustness: CIFAR-10-C-style corruptions, regenerated
#
# The test images are corrupted as in CIFAR-10-C (Hendrycks & Dietterich 2019):
# Gaussian noise, Gaussian and defocus blur, contrast, JPEG compression and brightness,
# with the published CIFAR parameters at the chosen severities. The corrupted sets are
# **regenerated here** from this build's test split (the noise seeded), not the official
# CIFAR-10-C files; they are cached, and so are each model's predictions on them. Each
# main variant is scored with its own inference recipe (with the flips and translations
# of its `tta_flip`/`tta_translate`, as the flagship's), the recipe of its clean test accuracy.

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
corruptions: list[str] = [
    "gaussian_noise",
    "gaussian_blur",
    "defocus_blur",
    "contrast",
    "jpeg_compression",
    "brightness",
]  # CIFAR-10-C corruptions (cifar_core.data.corruptions)
severities: list[int] = [1, 3, 5]  # CIFAR-10-C severities, 1 (mild) to 5
noise_seed: int = 0  # seed of the Gaussian noise
example: int = 0  # the test image shown corrupted

# %%
import pandas as pd

from cifar_core.analysis import chapter_findings, present, tables
from cifar_core.analysis.comparison_plots import accuracy_heatmap, image_variants
from cifar_core.analysis.context import open_context
from cifar_core.analysis.plots import show
from cifar_core.analysis.robustness import (
    corruption_label,
    corruption_matrix,
    corruption_table,
    example_grid,
    robustness_summary,
)

ctx = open_context("12-robustness", studies=studies, variants=variants, seeds=seeds)
runs = ctx.runs_of()
long = corruption_table(runs, ctx.dataset, corruptions, severities, seed=noise_seed)
clean = {
    name: float(pd.Series([r.metrics["test_accuracy"] for r in rs]).mean())
    for name, rs in runs.items()
}
summary = robustness_summary(long, clean) if len(long) else pd.DataFrame()
n_images = len(ctx.dataset.y_test)
print(
    f"{len(runs)} variant(s), {len(corruptions)} corruption(s) x {len(severities)} severities, "
    f"{n_images:,} test images each"
)

# %%
#| label: fig-robustness-examples
#| fig-cap: "One test image under each regenerated corruption at the severities used (CIFAR-10-C definitions and parameters)."
show(
    image_variants(
        example_grid(ctx.dataset.x_test[example], corruptions, severities, seed=noise_seed),
        clean=ctx.dataset.x_test[example],
    )
)

# %%
#| label: fig-robustness-heatmap
#| fig-cap: "Test accuracy (%) of the main variants on the clean test set (first row) and under each corruption and severity (mean over seeds)."
if len(long):
    matrix = corruption_matrix(long)
    matrix.insert(0, "clean", pd.Series(clean))
    show(accuracy_heatmap(matrix.T.rename_axis(index="corruption, severity", columns="variant")))
else:
    present.show_markdown("No main variant has a run in this build.")

# %%
#| label: tbl-robustness
#| tbl-cap: "Clean test accuracy next to the mean accuracy over all corruptions and severities (mean corruption accuracy), the drop in points, the share of clean accuracy kept, and the worst corruption (mean over seeds)."
shown = pd.DataFrame(
    [
        {
            "variant": name,
            "clean %": f"{row['clean'] * 100:.1f}",
            "mean corrupted %": f"{row['mean_corrupted'] * 100:.1f}",
            "drop pts": f"{row['drop'] * 100:.1f}",
            "kept": f"{row['relative'] * 100:.0f} %",
            "worst": f"{row['worst']} ({row['worst_accuracy'] * 100:.1f} %)",
        }
        for name, row in summary.iterrows()
    ]
)
present.show_table(shown, synthetic=ctx.synthetic)

# %%
#| label: robustness-notes
notes = [
    f"The corruptions follow the published CIFAR-10-C definitions and parameters but are "
    f"regenerated from this build's {n_images:,} test images (severities "
    f"{', '.join(map(str, severities))} of 5; Gaussian noise drawn with seed {noise_seed}); they "
    "are not the official CIFAR-10-C files, so accuracies on them are not directly comparable "
    "with published CIFAR-10-C results."
]
if ctx.not_run:
    notes.append(
        "Not run in this build: "
        + "; ".join(f"{n} ({why})" for n, why in ctx.not_run.items())
        + "."
    )
present.show_markdown(present.note_callout(" ".join(notes), title="Regenerated corruptions"))


# %%
def percent(value):
    return "n/a" if pd.isna(value) else f"{value * 100:.1f} %"


best = chapter_findings.best_by_validation(tables.runs_table(runs)) if runs else None
row = summary.loc[best] if best is not None else None
hardest = (
    long[long["severity"] == max(severities)].groupby("corruption")["accuracy"].mean()
    if len(long)
    else None
)
ctx.publish(
    {
        "robustness": {
            "n_variants": str(len(summary)),
            "n_corruptions": str(len(corruptions)),
            "corruptions": ", ".join(map(corruption_label, corruptions)),
            "severities": ", ".join(map(str, severities)),
            "n_images": f"{n_images:,}",
            "best_variant": best or "n/a",
            "best_clean": percent(row["clean"]) if row is not None else "n/a",
            "best_mean_corrupted": percent(row["mean_corrupted"]) if row is not None else "n/a",
            "most_robust": summary["relative"].idxmax() if len(summary) else "n/a",
            "most_robust_kept": f"{summary['relative'].max() * 100:.0f} %"
            if len(summary)
            else "n/a",
            "hardest": corruption_label(hardest.idxmin()) if hardest is not None else "n/a",
            "hardest_accuracy": percent(hardest.min()) if hardest is not None else "n/a",
        }
    }
)
