# %% [markdown]
# # Calibration: are the models' confidences honest?
#
# Expected calibration error (ECE, equal-width confidence bins) and negative
# log-likelihood (NLL) on the test set, before and after temperature scaling fitted on
# the validation split (Guo et al. 2017), for the main variants; reliability diagrams.
# Computed from the stored predictions: nothing is trained or re-predicted.

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
n_bins: int = 15  # equal-width confidence bins of the ECE and of the reliability diagrams
diagrams: int = 6  # reliability diagrams drawn (the first variants, each its first seed)

# %%
import pandas as pd

from cifar_core.analysis import calibration, chapter_findings, present, tables
from cifar_core.analysis.calibration_plots import reliability_panels
from cifar_core.analysis.context import open_context
from cifar_core.analysis.plots import show

ctx = open_context("10-calibration", studies=studies, variants=variants, seeds=seeds)
runs = ctx.runs_of()
table = calibration.calibration_by_variant(runs, n_bins=n_bins) if runs else pd.DataFrame()
accuracy = tables.runs_table(runs) if runs else pd.DataFrame()
print(f"{len(runs)} variant(s) with runs; not run: {ctx.not_run or 'none'}")

# %%
#| label: tbl-calibration
#| tbl-cap: "Calibration of the main variants on the test set: accuracy, expected calibration error (ECE, equal-width confidence bins) and negative log-likelihood (NLL) as trained and after temperature scaling with the temperature T fitted on the validation split (mean ± std over seeds). The interval is the 95 % bootstrap interval (BCa, over test images) of the first seed's ECE."


def pm(row, column, percent=True, digits=1):
    return tables.mean_std(row[column], row[f"{column}_std"], percent=percent, digits=digits)


shown = pd.DataFrame(
    [
        {
            "variant": name,
            "seeds": int(row["seeds"]),
            "test acc %": pm(row, "accuracy"),
            "ECE %": pm(row, "ece"),
            "ECE 95 % CI": f"{row['ece_low'] * 100:.1f}–{row['ece_high'] * 100:.1f} (seed {int(row['interval_seed'])})",
            "ECE scaled %": pm(row, "ece_scaled"),
            "NLL": pm(row, "nll", False, 3),
            "NLL scaled": pm(row, "nll_scaled", False, 3),
            "T": pm(row, "temperature", False, 2),
        }
        for name, row in table.iterrows()
    ]
)
present.show_table(shown, synthetic=ctx.synthetic)

# %%
#| label: fig-calibration-reliability
#| fig-cap: "Reliability diagrams of the main variants (first seed, test set): accuracy per confidence bin (bars; below the diagonal = over-confident) and, as points, after temperature scaling; below each, the share of test images per bin."
chosen = {name: rs[0] for name, rs in list(runs.items())[:diagrams]}
if chosen:
    show(reliability_panels(chosen, n_bins=n_bins))
else:
    present.show_markdown("No main variant has a run in this build.")

# %%
#| label: calibration-notes
notes = []
if ctx.not_run:
    notes.append(
        "Not run in this build: "
        + "; ".join(f"{n} ({why})" for n, why in ctx.not_run.items())
        + "."
    )
if len(table) and (table["temperature"] < 1).any():
    under = ", ".join(table.index[table["temperature"] < 1])
    notes.append(
        f"A fitted temperature below 1 ({under}) means the model was *under*-confident on "
        "validation: scaling sharpens its probabilities."
    )
smoothed = [n for n, rs in runs.items() if rs[0].config["variant"].get("label_smoothing", 0) > 0]
if smoothed:
    notes.append(
        f"{', '.join(smoothed)} trained with label smoothing: its soft targets keep the top "
        "probability away from 1 by design, which a fitted temperature below 1 partly undoes."
    )
low, high = calibration.TEMPERATURE_BOUNDS
at_bound = (
    table.index[(table["temperature"] <= low * 1.01) | (table["temperature"] >= high * 0.99)]
    if len(table)
    else []
)
if len(at_bound):
    notes.append(
        f"The temperature of {', '.join(at_bound)} reached the end of the search range "
        f"({low}–{high}): its validation NLL keeps falling towards uniform (or one-hot) "
        "probabilities, which happens when accuracy is near chance."
    )
if ctx.profile.name != "full":
    notes.append(
        f"Profile `{ctx.profile.name}` trains briefly on a subset; short training tends to leave "
        "models under-confident, while the seeds' full budgets make them over-confident (Guo et "
        "al. 2017), so the direction of miscalibration need not carry over."
    )
present.show_markdown(
    present.note_callout(" ".join(notes), title="Reading the calibration table")
    if notes
    else "All main variants ran."
)


# %%
def text(value, scale=100.0, digits=1, unit=" %"):
    return "n/a" if pd.isna(value) else f"{value * scale:.{digits}f}{unit}"


best = chapter_findings.best_by_validation(accuracy) if len(accuracy) else None
row = table.loc[best] if best is not None else None
ctx.publish(
    {
        "calibration": {
            "n_variants": str(len(table)),
            "n_bins": str(n_bins),
            "best_variant": best or "n/a",
            "best_ece": text(row["ece"]) if row is not None else "n/a",
            "best_ece_scaled": text(row["ece_scaled"]) if row is not None else "n/a",
            "best_nll": text(row["nll"], 1, 3, "") if row is not None else "n/a",
            "best_nll_scaled": text(row["nll_scaled"], 1, 3, "") if row is not None else "n/a",
            "best_temperature": text(row["temperature"], 1, 2, "") if row is not None else "n/a",
            "max_ece_variant": table["ece"].idxmax() if len(table) else "n/a",
            "max_ece": text(table["ece"].max()) if len(table) else "n/a",
            "min_ece_variant": table["ece"].idxmin() if len(table) else "n/a",
            "min_ece": text(table["ece"].min()) if len(table) else "n/a",
            "n_overconfident": str(int((table["temperature"] > 1).sum())) if len(table) else "0",
            "n_nll_lower": str(int((table["nll_scaled"] < table["nll"]).sum()))
            if len(table)
            else "0",
        }
    }
)
