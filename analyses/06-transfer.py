# %% [markdown]
# # Transfer learning: VGG16 from ImageNet, and k-NN on features
#
# Seed 003 fine-tunes VGG16 cut after block 3 or whole, with ImageNet preprocessing,
# and classifies penultimate features with k-NN. The ImageNet weights must be a local
# file; without it these variants are **not run** (never trained from scratch under
# their names). The same k-NN on the features of seed 003's own net, trained from
# scratch, runs in every profile.

# %% tags=["parameters"]
studies: list[str] | None = None  # None: the studies the registry gives this chapter
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list

# %%
import pandas as pd

from cifar_core.analysis import chapter_findings, flags, present, tables
from cifar_core.analysis.context import open_context
from cifar_core.analysis.transfer import knn_summary, variant_status
from cifar_core.experiments import catalog
from cifar_core.models.weights import install_hint

studies = catalog.chapter_studies("06-transfer", studies)
ctx = open_context("06-transfer", studies=studies, variants=variants, seeds=seeds)
study = ctx.study("transfer")
runs = ctx.study_runs("transfer")
table = tables.runs_table(runs, reported=study.reported)
state, _, weights = ctx.external("vgg16_weights").partition(": ")  # available|missing: why
available = state == "available"

# %%
#| label: tbl-transfer
#| tbl-cap: "Transfer-learning variants (VGG16 ImageNet base + seed 003's head) and k-NN (scikit-learn) on the penultimate features of a trained network, the fine-tuned VGG16 as in seed 003 or seed 003's net trained from scratch: status and test accuracy (mean ± std over seeds) against seed 003's figures."
rows = []
for name in study.names():
    rows.append(
        {
            "variant": name,
            "status": variant_status(ctx, name),
            "test acc %": tables.acc_text(table, name),
            "reported %": f"{tables.as_fraction(study.reported[name]) * 100:.1f} %"
            if name in study.reported
            else "–",
        }
    )
knn_results = {}
for entry in study.derived:
    knn = knn_results[entry["name"]] = knn_summary(ctx, entry)
    softmax = f": {knn['base_test_acc']} with its softmax" if knn["status"] == "run" else ""
    rows.append(
        {
            "variant": f"{entry['name']} (k-NN, k={entry.get('k', 5)}, on {entry['base']}{softmax})",
            "status": knn["status"],
            "test acc %": knn["test_acc"],
            "reported %": f"{entry['reported_test_accuracy'] * 100:.1f} %"
            if entry.get("reported_test_accuracy")
            else "–",
        }
    )
transfer = pd.DataFrame(rows)
present.show_table(transfer, synthetic=ctx.synthetic)

# %%
#| label: transfer-notes
if not available:
    present.show_markdown(
        present.note_callout(
            f"The transfer-learning variants were **not run**: {weights}. {install_hint()} Then "
            f"rebuild (`cifar-report build --profile {ctx.profile.name}`). They are never trained "
            "from random weights under these names.",
            kind="important",
            title="Transfer learning not run",
        )
    )
elif not runs:
    present.show_markdown(
        present.note_callout(
            f"The ImageNet weights are available ({weights}), but profile `{ctx.profile.name}` runs no "
            "transfer-learning variant (they are full-profile only here).",
            title="Not in this profile",
        )
    )
else:
    present.show_markdown(
        f"Transfer learning ran (weights: {weights}).\n\n"
        + present.callout(flags.run_anomalies(runs, ctx.dataset.num_classes))
    )

# %%
ran = table[table["variant"].isin([n for n in runs])] if len(table) else table
best = chapter_findings.best_by_validation(ran)  # chosen on validation, test reported once
ctx.publish(
    {
        "transfer": {
            "status": "run"
            if runs
            else (
                "not run: ImageNet weights unavailable offline"
                if not available
                else f"not run in profile {ctx.profile.name}"
            ),
            "best_test_acc": tables.acc_text(ran, best) if best else "n/a",
            "weights": weights if available else "none usable",
            "knn_scratch": knn_results["ctl_s003_net_knn"],
        }
    }
)
