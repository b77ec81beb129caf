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
from cifar_core.analysis import flags, present, text
from cifar_core.analysis.chapter import StudyChapter
from cifar_core.analysis.views.transfer import transfer_table
from cifar_core.models.weights import install_hint

chapter = StudyChapter.open("06-transfer", studies, variants, seeds, findings=False)
ctx, runs = chapter.ctx, chapter.runs_by_study["transfer"]
state, _, weights = ctx.external("vgg16_weights").partition(": ")  # available|missing: why
available = state == "available"

# %%
#| label: tbl-transfer
#| tbl-cap: "Transfer-learning variants (VGG16 ImageNet base + seed 003's head) and k-NN (scikit-learn) on the penultimate features of a trained network, the fine-tuned VGG16 as in seed 003 or seed 003's net trained from scratch: status and test accuracy (mean ± std over seeds) against seed 003's figures."
transfer, knn_results = transfer_table(ctx)
chapter.show(transfer)

# %%
#| label: transfer-notes
if not available:
    present.show_markdown(
        present.note_callout(
            f"The transfer-learning variants were **not run**: {weights.rstrip('.')}. "
            f"{install_hint()} Then "
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
chapter.publish(
    "transfer",
    best=False,
    status="run"
    if runs
    else (
        "not run: ImageNet weights not found"
        if not available
        else f"not run in profile {ctx.profile.name}"
    ),
    best_test_acc=chapter.accuracy(chapter.best()) if runs and chapter.best() else text.UNKNOWN,
    weights=weights if available else "none usable",
    knn_scratch=knn_results["ctl_s003_net_knn"],
)
