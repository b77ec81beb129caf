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
from cifar_core.analysis.chapter import StudyChapter
from cifar_core.analysis.records import trained_epochs
from cifar_core.analysis.views.findings import claims_table

chapter = StudyChapter.open("15-added-studies", studies, variants, seeds)
claims = chapter.claims()
# %%
#| label: tbl-added-runs
#| tbl-cap: "Added studies: parameters, FLOPs per image, validation and test accuracy (mean ± std over seeds), run time in seconds (wall time of the whole run, evaluation included); under-trained = runs whose validation metrics were still improving when training stopped."
chapter.show(chapter.runs_table())
# %%
#| label: tbl-added-findings
#| tbl-cap: "Findings of the added studies: each variant against its study's baseline; Δ = variant − baseline test accuracy in points with a 95 % bootstrap interval over test images; p-values Holm-adjusted within each study; verdict better/worse only when the adjusted p < 0.05 and the interval excludes 0."
chapter.show(chapter.findings_table())
# %%
#| label: added-findings-text
chapter.show(chapter.findings_text())
# %%
#| label: tbl-added-claims
#| tbl-cap: "The added studies' claims judged by this build's runs: holds, reversed, inconclusive at this budget, or not evaluated (with the reason); Δ = the claim's variant − its baseline in points, 95 % bootstrap interval, p Holm-adjusted within the claim's study."
epochs = trained_epochs(chapter.ctx.runs_of())
chapter.show(claims_table(claims, epochs).drop(columns=["seed", "quote"]))
# %%
#| label: added-notes
chapter.show(chapter.notes())
# %%
chapter.publish(
    "added_studies", best=False, studies=", ".join(chapter.studies), claims=str(len(claims))
)
