# %% [markdown]
# # Transfer learning: VGG16 from ImageNet, and k-NN on its features
#
# Seed 003 fine-tunes VGG16 cut after block 3 or whole, with ImageNet preprocessing,
# and classifies penultimate features with k-NN. The ImageNet weights must be a local
# file; without it these variants are **not run** (never trained from scratch under
# their names).

# %% tags=["parameters"]
profile = "demo"  # demo | sample | full
data = None  # a CIFAR-10 path or "synthetic"; None: the profile's source
runs_dir = None  # run store (default: <project>/runs)
project_root = None  # default: the folder above analyses/
studies = ["transfer"]  # catalog studies this analysis reads
variants = None  # extra variant names
seeds = None  # None: the profile's seeds; an int (how many) or a list

# %%
import math

import pandas as pd

from cifar_core import catalog
from cifar_core import evaluation as ev
from cifar_core.pipeline import analysis_context, save_vars, vgg16_weights_status

ctx = analysis_context(profile, data, runs_dir, studies, variants, seeds, project_root_dir=project_root)
SYN = ctx.synthetic
study = catalog.get_study("transfer")
runs = ctx.study_runs("transfer")
table = ev.runs_table(runs, reported=study.reported)
planned = {v.name for v in ctx.variants}
available, why = vgg16_weights_status()


def status(name):
    if runs.get(name):
        return "run"
    if name in ctx.not_run:
        return "not run: ImageNet weights unavailable"
    if name not in planned:
        return f"not run: full profile only (profile {profile})"
    return "not run"


def knn_row(entry):
    """k-NN on the penultimate features of the entry's base run, when that run exists."""
    base = runs.get(entry["base"])
    if not base:
        return "not run: base variant not run", math.nan
    try:
        from cifar_core.knn import knn_on_features  # imports Keras (features of a trained model)
    except ImportError:
        return "not run: cifar_core.knn is not available", math.nan
    return "run", float(knn_on_features(base[0], ctx.dataset, k=entry.get("k", 5)))

# %%
#| label: tbl-transfer
#| tbl-cap: "Transfer-learning variants (VGG16 ImageNet base + seed 003's head) and k-NN on features: status and test accuracy (mean ± std over seeds) against seed 003's figures."
rows = []
for name in study.names():
    rows.append({"variant": name, "status": status(name), "test acc %": ev.acc_text(table, name),
                 "reported %": f"{ev.as_fraction(study.reported[name]) * 100:.1f} %"
                 if name in study.reported else "–"})
for entry in study.derived:
    state, accuracy = knn_row(entry)
    rows.append({"variant": entry["name"], "status": state,
                 "test acc %": "n/a" if accuracy != accuracy else f"{accuracy * 100:.1f} %",
                 "reported %": f"{entry['reported_test_accuracy'] * 100:.1f} %"})
transfer = pd.DataFrame(rows)
ev.show_table(transfer, synthetic=SYN)

# %%
#| label: transfer-notes
if not available:
    ev.show_markdown(ev.note_callout(
        f"The transfer-learning variants were **not run**: {why}. To run them, download "
        "`vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5` (Keras applications, "
        "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/) on a machine with "
        "network access and either place it in `~/.keras/models/` or set "
        "`CIFAR_REPORT_VGG16_WEIGHTS=/path/to/the/file`, then rebuild "
        f"(`cifar-report build --profile {profile}`). They are never trained from random "
        "weights under these names.", kind="important", title="Transfer learning not run"))
elif not runs:
    ev.show_markdown(ev.note_callout(
        f"The ImageNet weights are available ({why}), but profile `{profile}` runs no "
        "transfer-learning variant (they are full-profile only here).", title="Not in this profile"))
else:
    ev.show_markdown(ev.callout(ev.run_anomalies(runs, ctx.dataset.num_classes))
                     or f"Transfer learning ran with {why}.")

# %%
ran = table[table["variant"].isin([n for n in runs])] if len(table) else table
best = ev.best_row(ran) if len(ran) else None
save_vars("06-transfer", {"transfer": {
    "status": "run" if runs else ("not run: ImageNet weights unavailable offline" if not available
                                  else f"not run in profile {profile}"),
    "best_test_acc": ev.acc_text(ran, best["variant"]) if best is not None else "n/a"}},
    project_root)
