# %% [markdown]
# # Findings: every study against its baseline, the seeds' claims, and the Discussion
#
# Each study's variants are compared with its baseline on the test images they share
# (paired by seed), with a 95 % bootstrap interval, an exact McNemar or paired
# permutation test and Holm's correction within the study
# (`cifar_core.analysis.findings`). Each claim the seed reports make about two variants
# is then judged holds / reversed / inconclusive at this budget, and the article's
# Discussion is generated from these numbers alone.

# %% tags=["parameters"]
studies: str | list[str] | None = "all"  # "all" or a list of catalog studies
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list
alpha: float = 0.05  # significance level after Holm's correction within each study
equivalence_margin: float = (
    0.01  # a "no difference" claim holds only if its 95 % CI lies within ± this (fraction)
)
table_studies: list[str] | None = None  # None: the studies whose chapter shows no findings table

# %%
from cifar_core.analysis import chapter_findings, claims, present
from cifar_core.analysis.context import open_context
from cifar_core.experiments import catalog
from cifar_core.experiments.claims import CLAIMS, HOLDS, INCONCLUSIVE, NOT_EVALUATED, REVERSED

table_studies = catalog.findings_elsewhere(table_studies)
ctx = open_context("09-findings", studies=studies, variants=variants, seeds=seeds)
names = [s.name for s in ctx.all_studies()] if studies == "all" else list(studies or [])
findings = chapter_findings.chapter_findings(ctx, names, alpha=alpha)
results = claims.evaluate_claims(
    [c for c in CLAIMS if c.study in findings], findings, equivalence_margin=equivalence_margin
)
titles = {name: ctx.study(name).title for name in findings}

# %%
#| label: tbl-findings-claims
#| tbl-cap: "The seed reports' claims, quoted, judged by this build's runs: holds (the computed verdict has the claimed direction), reversed (the opposite direction is detected), inconclusive at this budget (no detectable difference; for a claim of no difference: the 95 % interval is not within ± 1 point), or not evaluated (with the reason). Δ = the claim's variant − its baseline, test accuracy in points, 95 % bootstrap interval over test images; p Holm-adjusted within the claim's study."
present.show_table(chapter_findings.claims_display(results), synthetic=ctx.synthetic)

# %%
#| label: tbl-findings-other
#| tbl-cap: "Findings of the studies no results chapter tabulates (seed 002's model families, the wide residual network, transfer learning): each variant against its study's baseline, Δ test accuracy in points with a 95 % bootstrap interval, Holm-adjusted p within each study, verdict; a study that cannot be compared says why."
shown = {name: findings[name] for name in table_studies if name in findings}
present.show_table(chapter_findings.findings_display(shown), synthetic=ctx.synthetic)

# %%
#| label: findings-discussion
present.show_markdown(
    chapter_findings.discussion_markdown(
        findings, results, runs=ctx.runs_of(), titles=titles, profile=ctx.profile.name
    )
)
present.show_markdown(chapter_findings.findings_problems(findings))

# %%
tested = [c for f in findings.values() for c in f.comparisons if c.tested]
outcomes = [r.outcome for r in results]
ctx.publish(
    {
        "findings": {
            "n_tested": str(len(tested)),
            "n_detected": str(sum(c.verdict in ("better", "worse") for c in tested)),
            "n_claims": str(len(results)),
            "claims": {
                key: str(outcomes.count(kind))
                for key, kind in (
                    ("holds", HOLDS),
                    ("reversed", REVERSED),
                    ("inconclusive", INCONCLUSIVE),
                    ("not_evaluated", NOT_EVALUATED),
                )
            },
        }
    }
)
