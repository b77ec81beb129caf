# %% [markdown]
# # Added studies: the studies declared in this project's studies/ folder
#
# Each file of `studies/` declares variants, a study against a baseline and optionally
# claims (README, "Add your own experiment"). The build trains their runs and executes
# this chapter only when there is one: runs table, each variant against its study's
# baseline, the claims' verdicts.

# %% tags=["parameters"]
studies: list[str] | None = None  # None: the studies the registry gives this chapter
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list

# %%
from cifar_core.analysis import chapter_findings, claims, flags, present, tables
from cifar_core.analysis.context import open_context
from cifar_core.experiments import catalog

studies = catalog.chapter_studies("15-added-studies", studies)
ctx = open_context("15-added-studies", studies=studies, variants=variants, seeds=seeds)
by_study = {s: ctx.study_runs(s) for s in studies}
declared = {s: ctx.study(s) for s in studies}
table = tables.studies_table(by_study, {s: st.reported for s, st in declared.items()})
all_runs = chapter_findings.study_runs_with_duplicates(by_study)
findings = chapter_findings.chapter_findings(ctx, studies)
results = claims.evaluate_claims([c for c in catalog.claims() if c.study in findings], findings)

# %%
#| label: tbl-added-runs
#| tbl-cap: "Added studies: parameters, FLOPs per image, validation and test accuracy (mean ± std over seeds), time; under-trained = runs whose validation metrics were still improving when training stopped."
shown = tables.display_table(table, losses=False) if len(table) else table
if len(table):
    shown.insert(0, "study", table["study"])
    shown = chapter_findings.show_runs_table(
        shown, all_runs, baselines=[st.baseline for st in declared.values()]
    )
present.show_table(shown, synthetic=ctx.synthetic)

# %%
#| label: tbl-added-findings
#| tbl-cap: "Findings of the added studies: each variant against its study's baseline; Δ = variant − baseline test accuracy in points with a 95 % bootstrap interval over test images; p-values Holm-adjusted within each study; verdict better/worse only when the adjusted p < 0.05 and the interval excludes 0."
present.show_table(chapter_findings.findings_display(findings), synthetic=ctx.synthetic)

# %%
#| label: added-findings-text
present.show_markdown(chapter_findings.findings_markdown(findings, ctx))

# %%
#| label: tbl-added-claims
#| tbl-cap: "The added studies' claims judged by this build's runs: holds, reversed, inconclusive at this budget, or not evaluated (with the reason); Δ = the claim's variant − its baseline in points, 95 % bootstrap interval, p Holm-adjusted within the claim's study."
present.show_table(
    chapter_findings.claims_display(results).drop(columns=["seed", "quote"]),
    synthetic=ctx.synthetic,
)

# %%
#| label: added-notes
present.show_markdown(present.study_notes(declared.values()))
found = flags.run_anomalies(all_runs, ctx.dataset.num_classes)
present.show_markdown(present.callout(found) or "No anomalies were flagged in these studies.")
present.show_markdown(chapter_findings.convergence_note(all_runs))

# %%
ctx.publish({"added_studies": {"studies": ", ".join(studies), "claims": str(len(results))}})
