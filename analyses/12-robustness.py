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

from cifar_core.analysis import present, text
from cifar_core.analysis.comparison_plots import accuracy_heatmap, image_variants
from cifar_core.analysis.context import open_context
from cifar_core.analysis.plots import show
from cifar_core.analysis.selection import best_by_validation
from cifar_core.analysis.views import robustness
from cifar_core.analysis.views.runs import runs_table

ctx = open_context("12-robustness", studies=studies, variants=variants, seeds=seeds)
runs = ctx.runs_of()
long = robustness.corruption_table(runs, ctx.dataset, corruptions, severities, seed=noise_seed)
clean = robustness.clean_accuracy(runs)
summary = robustness.robustness_summary(long, clean) if len(long) else pd.DataFrame()
n_images = len(ctx.dataset.y_test)
print(
    f"{len(runs)} variant(s), {len(corruptions)} corruption(s) x {len(severities)} severities, "
    f"{text.count(n_images)} test images each"
)

# %%
#| label: fig-robustness-examples
#| fig-cap: "One test image under each regenerated corruption at the severities used (CIFAR-10-C definitions and parameters)."
show(
    image_variants(
        robustness.example_grid(
            ctx.dataset.x_test[example], corruptions, severities, seed=noise_seed
        ),
        clean=ctx.dataset.x_test[example],
    )
)

# %%
#| label: fig-robustness-heatmap
#| fig-cap: "Test accuracy (%) of the main variants on the clean test set (first row) and under each corruption and severity (mean over seeds)."
if len(long):
    matrix = robustness.corruption_matrix(long)
    matrix.insert(0, "clean", pd.Series(clean))
    show(accuracy_heatmap(matrix.T.rename_axis(index="corruption, severity", columns="variant")))
else:
    present.show_markdown("No main variant has a run in this build.")

# %%
#| label: tbl-robustness
#| tbl-cap: "Clean test accuracy next to the mean accuracy over all corruptions and severities (mean corruption accuracy), the drop in points, the share of clean accuracy kept, and the worst corruption (mean over seeds)."
present.show_table(robustness.robustness_display(summary), synthetic=ctx.synthetic)

# %%
#| label: robustness-notes
notes = [
    f"The corruptions follow the published CIFAR-10-C definitions and parameters but are "
    f"regenerated from this build's {text.count(n_images)} test images (severities "
    f"{', '.join(map(str, severities))} of 5; Gaussian noise drawn with seed {noise_seed}); they "
    "are not the official CIFAR-10-C files, so accuracies on them are not directly comparable "
    "with published CIFAR-10-C results."
] + present.not_run_notes(ctx.not_run)
present.show_markdown(present.note_callout(" ".join(notes), title="Regenerated corruptions"))

# %%
best = best_by_validation(runs_table(runs)) if runs else None
values = robustness.robustness_values(summary, long, best, severities, ctx.dataset.num_classes)
ctx.publish(
    {
        "robustness": {
            **values,
            "n_corruptions": str(len(corruptions)),
            "corruptions": ", ".join(map(robustness.corruption_label, corruptions)),
            "severities": ", ".join(map(str, severities)),
            "n_images": text.count(n_images),
        }
    }
)
