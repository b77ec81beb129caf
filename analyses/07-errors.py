# %% [markdown]
# # Errors: what the model confuses
#
# Confusion matrices, per-class precision/recall/F1, the most confused pairs, and — as
# seed 003 does — the most confident mistakes and least confident correct predictions.

# %% tags=["parameters"]
studies: list[str] | None = None  # catalog studies (None: only the model below)
variants: list[str] | None = ["s004_final"]  # the variant(s) this analysis reads
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list
model: str = "s004_final"  # the variant analysed (its first seed's run)
gallery_size: int = 16  # images per gallery
top_pairs: int = 8  # rows of the confused-pairs table

# %%
import numpy as np
import pandas as pd

from cifar_core.analysis import flags, plots, present, text
from cifar_core.analysis.context import open_context
from cifar_core.analysis.views import predictions

ctx = open_context("07-errors", studies=studies, variants=variants, seeds=seeds)
if not ctx.runs.get(model):
    raise RuntimeError(
        f"no run of {model!r} in profile {ctx.profile.name!r}; set -p model to one of "
        f"{sorted(n for n, r in ctx.runs.items() if r)} (and -p variants to include it)"
    )
run = ctx.runs[model][0]
names = list(ctx.dataset.class_names)
pred = run.predictions()
probs, labels = pred["test_probs"], pred["test_labels"]
images = ctx.dataset.x_test[pred["test_indices"]] if "test_indices" in pred else ctx.dataset.x_test
assert len(images) == len(labels), "test images and stored predictions do not line up"
counts = predictions.confusion(labels, probs, names)
print(
    f"{model} (seed {run.variant.seed}, run {run.key}): test accuracy "
    f"{text.percent(np.trace(counts.values) / counts.values.sum())} on {text.count(len(labels))} images"
)

# %%
#| label: fig-errors-confusion
#| fig-cap: "Confusion matrix of the analysed model on the test set: counts (left) and row-normalized, in % of each true class (right)."
plots.show(
    plots.confusion_pair(counts, predictions.confusion(labels, probs, names, normalize="true"))
)

# %%
#| label: tbl-errors-report
#| tbl-cap: "Classification report on the test set: precision, recall, F1 and support per class, with macro and weighted averages."
report = predictions.classification_table(labels, probs, names)
present.show_table(report.round(3), synthetic=ctx.synthetic, index=True)

# %%
#| label: fig-errors-per-class
#| fig-cap: "Test accuracy per class."
per_class = predictions.per_class_accuracy(labels, probs, names)
plots.show(plots.per_class_bars(per_class.rename(model)))

# %%
#| label: tbl-errors-pairs
#| tbl-cap: "The most confused class pairs: true class → predicted class, number of test images, share of the true class, and the count the other way round."
pairs = predictions.most_confused_pairs(counts, top=top_pairs)
present.show_table(
    pairs.assign(share=[text.percent(s) for s in pairs["share"]]), synthetic=ctx.synthetic
)

# %%
#| label: fig-errors-confident-mistakes
#| fig-cap: "The most confident mistakes: true class, predicted class and its probability."
mistakes = predictions.confident_mistakes(probs, labels, gallery_size, names)
plots.show(plots.gallery(images, mistakes, names))

# %%
#| label: tbl-errors-confident-mistakes
#| tbl-cap: "The most confident mistakes with their three most probable classes (idx = position in the test set)."
present.show_table(
    pd.DataFrame(
        {
            "idx": mistakes["idx"],
            "true": mistakes["true_class"],
            "predicted": mistakes["pred_class"],
            "p(pred)": mistakes["pred_prob"].round(3),
            "p(true)": mistakes["true_prob"].round(3),
            "top 3": [predictions.top_k_text(probs, i, names) for i in mistakes["idx"]],
        }
    ),
    synthetic=ctx.synthetic,
)

# %%
#| label: fig-errors-unsure-correct
#| fig-cap: "The least confident correct predictions: true class and the (low) probability the model gave it."
unsure = predictions.least_confident_correct(probs, labels, gallery_size, names)
plots.show(plots.gallery(images, unsure, names))

# %%
#| label: errors-notes
found = flags.find_anomalies(run.metrics, run.history, len(names))
present.show_markdown(
    present.callout([(model, f) for f in found]) or "No anomalies were flagged for this model."
)

# %%
top = pairs.iloc[0] if len(pairs) else None
every_pair = predictions.most_confused_pairs(counts, top=len(names) ** 2)
ctx.publish(
    {
        "errors": {
            "model": model,
            "seed": str(run.variant.seed),
            "test_acc": text.percent(np.trace(counts.values) / counts.values.sum()),
            "top_pair": text.extreme(
                dict(zip(every_pair["true"] + " → " + every_pair["predicted"], every_pair["count"]))
            ),
            "top_pair_count": text.count(top["count"]) if top is not None else text.UNKNOWN,
            "worst_class": text.extreme(per_class, lowest=True),
            "worst_class_acc": text.percent(per_class.min()),
        }
    }
)
