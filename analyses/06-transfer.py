# %% [markdown]
# # Transfer learning: VGG16 from ImageNet, and k-NN on features
#
# Seed 003 fine-tunes VGG16 cut after block 3 or whole, with ImageNet preprocessing,
# and classifies penultimate features with k-NN. The ImageNet weights must be a local
# file; without it these variants are **not run** (never trained from scratch under
# their names). The same k-NN on the features of seed 003's own net, trained from
# scratch, runs in every profile.

# %% tags=["parameters"]
profile = "demo"  # demo | sample | full
data = None  # a CIFAR-10 path or "synthetic"; None: the profile's source
runs_dir = None  # run store (default: <project>/runs)
project_root = None  # default: the folder above analyses/
studies = ["transfer"]  # catalog studies this analysis reads
variants = None  # extra variant names
seeds = None  # None: the profile's seeds; an int (how many) or a list

# %%
import numpy as np
import pandas as pd

from cifar_core import catalog
from cifar_core import evaluation as ev
from cifar_core.knn import knn_for_run
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
    """(status, test accuracy text, base accuracy text) of k-NN on the penultimate
    features of each seed's run of the entry's base variant (cached in the run store;
    Keras is imported only to compute a missing result)."""
    base_runs = ctx.runs.get(entry["base"]) or []
    if not base_runs:
        return status(entry["base"]), "n/a", "n/a"
    knn = np.array([knn_for_run(run, ctx.dataset, k=entry.get("k", 5))["test_accuracy"]
                    for run in base_runs])
    base = np.array([run.metrics["test_accuracy"] for run in base_runs])
    return "run", ev.mean_std(knn.mean(), knn.std()) + " %", ev.mean_std(base.mean(), base.std()) + " %"

# %%
#| label: tbl-transfer
#| tbl-cap: "Transfer-learning variants (VGG16 ImageNet base + seed 003's head) and k-NN (scikit-learn) on the penultimate features of a trained network, the fine-tuned VGG16 as in seed 003 or seed 003's net trained from scratch: status and test accuracy (mean ± std over seeds) against seed 003's figures."
rows = []
for name in study.names():
    rows.append({"variant": name, "status": status(name), "test acc %": ev.acc_text(table, name),
                 "reported %": f"{ev.as_fraction(study.reported[name]) * 100:.1f} %"
                 if name in study.reported else "–"})
knn_results = {}
for entry in study.derived:
    state, knn_acc, base_acc = knn_row(entry)
    knn_results[entry["name"]] = {"status": state, "test_acc": knn_acc, "base_test_acc": base_acc}
    softmax = f": {base_acc} with its softmax" if state == "run" else ""
    rows.append({"variant": f"{entry['name']} (k-NN, k={entry.get('k', 5)}, on {entry['base']}{softmax})",
                 "status": state, "test acc %": knn_acc,
                 "reported %": f"{entry['reported_test_accuracy'] * 100:.1f} %"
                 if entry.get("reported_test_accuracy") else "–"})
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
    "best_test_acc": ev.acc_text(ran, best["variant"]) if best is not None else "n/a",
    "knn_scratch": knn_results["ctl_s003_net_knn"]}},
    project_root)
