# %% [markdown]
# # Summary: every variant, trade-offs, and the seeds' figures reproduced

# %% tags=["parameters"]
studies: str | list[str] | None = "all"  # "all" or a list of catalog studies
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list
top: int | None = None  # rows of the leaderboard (None: every variant, as its caption says)

# %%
from cifar_core.analysis import flags, plots, present, text
from cifar_core.analysis.context import open_context
from cifar_core.analysis.selection import best_by_validation, sort_by_validation
from cifar_core.analysis.views import runs as views
from cifar_core.analysis.views.protocols import differing, reported_vs_reproduced
from cifar_core.experiments.profiles import UNSCALED_PROFILES

ctx = open_context("08-summary", studies=studies, variants=variants, seeds=seeds)
runs = ctx.runs_of()
table = views.runs_table(runs)
table["study"] = [ctx.studies_of(n)[0] if ctx.studies_of(n) else "extra" for n in table["variant"]]

# %%
#| label: tbl-summary-leaderboard
#| tbl-cap: "Leaderboard: every variant of this build, ranked by validation accuracy (mean ± std over seeds; test accuracy is reported, never used to rank); under-trained = runs still improving when training stopped; variants a profile scales into one configuration share their run."
present.show_table(
    views.leaderboard(sort_by_validation(table).head(len(table) if top is None else top), runs),
    synthetic=ctx.synthetic,
)

# %%
#| label: fig-summary-pareto
#| fig-cap: "Test accuracy against parameters (left) and run time (right: mean wall seconds of the whole run, data preparation and evaluation included; the compute chapter's wall times are model.fit alone); the step line joins the Pareto front chosen on validation accuracy (no variant is both cheaper and more accurate on validation; a variant without a validation split is never on it), drawn at its test accuracy."
plots.show(
    plots.tradeoff_panels(table, {"params": "parameters", "wall_time_s_mean": "run time (s)"})
)

# %%
#| label: tbl-summary-reported
#| tbl-cap: "Reported vs reproduced, with both protocols: each figure of a seed report beside this build's test accuracy (mean ± std over seeds), and for each protocol fact the seed's value → this build's (one value where they agree): images the model was fitted on, which weights were scored, epochs, optimizer and batch, preprocessing, augmentation; differs = what is not the same (a fact the seed does not state is named too)."
protocols = reported_vs_reproduced(ctx, table)
present.show_table(protocols, synthetic=ctx.synthetic)

# %%
#| label: summary-notes
n_differ, n_reproduced = differing(protocols)
if ctx.profile.data != "cifar10" or ctx.profile.name not in UNSCALED_PROFILES:
    present.show_markdown(
        present.note_callout(
            f"Profile `{ctx.profile.name}` is **scaled** ({ctx.profile.description}). Its numbers show "
            "how variants compare under this budget; they do not reproduce the seeds' figures, which "
            "were measured on full CIFAR-10 under the protocols named in the table.",
            kind="warning",
            title="Scaled profile",
        )
    )
present.show_markdown(
    f"Protocols differ from the seed's for {n_differ} of the {n_reproduced} reported figures "
    "this profile runs "
    "(the differs column names each difference); a reproduced figure is like-for-like only where "
    "it reads none."
    + (
        ""
        if ctx.profile.seed_protocol
        else " `--profile full-seed-protocol` trains on all 50,000 training images and "
        "keeps the last epoch's weights, the protocol of seed 000 (seed 003 also "
        "trains on all 50,000; seed 004 keeps its last epoch)."
    )
)
found = flags.run_anomalies(runs, ctx.dataset.num_classes)
chance = [f for f in found if f[1].kind == "chance_level"]
present.show_markdown(present.callout(chance) or "No run tested at chance level.")

# %%
#| label: tbl-summary-runs
#| tbl-cap: "The runs behind this report: variant, seed, run key, epochs and dataset fingerprint."
present.show_table(views.run_keys(ctx), synthetic=ctx.synthetic)

# %%
best = best_by_validation(table)
ctx.publish(
    {
        "summary": {
            "best_variant": best or "none (no validation split)",
            "best_test_acc": views.accuracy_text(table, best) if best else text.UNKNOWN,
            "n_variants": str(len(table)),
            # Two variants that a profile scales to the same config share their runs: count keys once.
            "n_runs": str(len({run.key for seeds in runs.values() for run in seeds})),
        }
    }
)
