# %% [markdown]
# # The data: CIFAR-10 (or its synthetic stand-in)
#
# Format, counts per class and split, sample images, pixel statistics, augmentation
# and the effect of each normalization on the pixel distributions.

# %% tags=["parameters"]
validation_fraction: float = 0.2  # share of the official train split held out
samples_per_class: int = 8  # images per class in the sample grid
augmentation: dict = {"rotation": 15, "shift": 0.1, "flip": True}  # for the preview
preview_images: int = 8  # images in the augmentation preview
seed: int = 0  # seed of the split, the sample grid and the preview

# %%
from cifar_core.analysis import plots, present, text
from cifar_core.analysis.context import open_context
from cifar_core.data import Preprocessor, describe

ctx = open_context("01-data")
dataset = ctx.dataset
info = describe(dataset, validation_fraction, seed)
if ctx.synthetic:
    present.show_markdown(
        present.note_callout(
            "This analysis runs on **synthetic data** (procedurally generated shapes in the CIFAR "
            "format), not on CIFAR-10 images.",
            kind="warning",
            title="Synthetic data",
        )
    )
print(
    f"source {dataset.source}, fingerprint {dataset.fingerprint}, "
    f"images {dataset.x_train.shape[1:]} {dataset.x_train.dtype}, {dataset.num_classes} classes"
)

# %%
#| label: tbl-data-counts
#| tbl-cap: "Images per class and split (train, validation, test)."
counts = info["counts"]
present.show_table(counts.rename_axis("class").map(text.count), synthetic=ctx.synthetic, index=True)

# %%
#| label: fig-data-counts
#| fig-cap: "Images per class and split."
long_counts = (
    counts.drop(index="total")
    .rename_axis("class")
    .reset_index()
    .melt(id_vars="class", var_name="split", value_name="count")
)
plots.show(plots.count_bars(long_counts))

# %%
#| label: fig-data-samples
#| fig-cap: "Random training images, one row per class."
plots.show(
    plots.image_grid(
        dataset.x_train,
        dataset.y_train,
        dataset.class_names,
        per_class=samples_per_class,
        seed=seed,
    )
)

# %%
#| label: tbl-data-channels
#| tbl-cap: "Per-channel statistics of the training pixels (0–255)."
present.show_table(info["pixels"].round(2), synthetic=ctx.synthetic, index=True, floatfmt=".2f")

# %%
#| label: fig-data-augmentation
#| fig-cap: "Originals (top row) and randomly augmented copies (rotation, shift, horizontal flip), through the Keras layers used in training."
plots.show(plots.augmentation_preview(dataset.x_train, augmentation, n=preview_images, seed=seed))

# %%
#| label: fig-data-normalization
#| fig-cap: "Pixel-value distributions per channel under each preprocessing mode (statistics fitted on the training split)."
sample = dataset.x_train[:1000]
modes = {
    "raw": "raw",
    "[0,1]": "unit",
    "z-score": "zscore",
    "per-channel z-score": "channel_zscore",
    "ImageNet mean/std": "imagenet",
}
arrays = {
    label: Preprocessor.fit(mode, dataset.x_train).transform(sample)
    for label, mode in modes.items()
}
plots.show(plots.pixel_histograms(arrays))

# %%
sizes = info["sizes"]
ctx.publish(
    {
        "data": {
            "n_train": text.count(sizes["train"]),
            "n_val": text.count(sizes["val"]),
            "n_test": text.count(sizes["test"]),
            "val_fraction": text.percent(validation_fraction, 0),
        }
    }
)
