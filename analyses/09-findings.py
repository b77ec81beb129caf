# %% [markdown]
# # Findings: every study against its baseline, the seeds' claims, and the Discussion
#
# Each study's variants are compared with its baseline on the test images they share
# (paired by seed), with a 95 % bootstrap interval, an exact McNemar or paired
# permutation test and Holm's correction within the study
# (`cifar_core.analysis.stats.findings`). Each claim the seed reports make about two
# variants is then judged holds / reversed / inconclusive at this budget, and the
# article's Discussion is generated from these numbers alone
# (`cifar_core.analysis.discussion`).

# %% tags=["parameters"]
studies: str | list[str] | None = "all"  # "all" or a list of catalog studies
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list
alpha: float = 0.05  # significance level after Holm's correction within each study
equivalence_margin: float = (
    0.01  # a "no difference" claim holds only if its 95 % CI lies within ± this (fraction)
)
table_studies: list[str] | None = None  # None: the studies whose chapter shows no findings table
topics: dict[str, list[str]] | None = None  # None: the studies grouped by the chapter showing them

# %%
from cifar_core.analysis.chapter import StudyChapter
from cifar_core.analysis.context import open_context
from cifar_core.analysis.discussion import discussion
from cifar_core.analysis.records import trained_epochs
from cifar_core.analysis.sentences import findings_problems
from cifar_core.analysis.views.findings import claims_table, findings_values
from cifar_core.experiments import catalog

table_studies = catalog.findings_elsewhere(table_studies)
ctx = open_context("09-findings", studies=studies, variants=variants, seeds=seeds)
names = [s.name for s in ctx.all_studies()] if studies == "all" else list(studies or [])
chapter = StudyChapter(ctx, names, alpha=alpha)
claims = chapter.claims(equivalence_margin)
topics = topics or chapter.topics()

# %%
#| label: tbl-findings-claims
#| tbl-cap: "The seed reports' claims, quoted, judged by this build's runs: holds (the computed verdict has the claimed direction), reversed (the opposite direction is detected), inconclusive at this budget (no detectable difference; for a claim of no difference: the 95 % interval is not within the equivalence margin stated in the Methods), or not evaluated (with the reason). Δ = the claim's variant − its baseline, test accuracy in points, 95 % bootstrap interval over test images; p Holm-adjusted within the claim's study."
chapter.show(claims_table(claims, trained_epochs(ctx.runs_of())))

# %%
#| label: tbl-findings-other
#| tbl-cap: "Findings of the studies no results chapter tabulates (seed 002's model families, the wide residual network, transfer learning): each variant against its study's baseline, Δ test accuracy in points with a 95 % bootstrap interval, Holm-adjusted p within each study, verdict; a study that cannot be compared says why."
chapter.show(chapter.findings_table(table_studies))

# %%
#| label: findings-discussion
chapter.show(
    discussion(
        chapter.findings,
        claims,
        topics=topics,
        titles=chapter.titles,
        runs=ctx.runs_of(),
        profile=ctx.profile.name,
    )
)
chapter.show(findings_problems(chapter.findings))

# %%
ctx.publish({"findings": findings_values(chapter.findings, claims, alpha, equivalence_margin)})
