# %% [markdown]
# # Architecture ablations: depth, width, kernel size, activation, pooling
# %% tags=["parameters"]
studies: list[str] | None = None  # None: the studies the registry gives this chapter
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list

# %%
from cifar_core.analysis.chapter import StudyChapter

chapter = StudyChapter.open("03-architecture", studies, variants, seeds)
# %%
#| label: tbl-architecture
#| tbl-cap: "Architecture studies: parameters, FLOPs per image, validation and test accuracy (mean ± std over seeds), run time in seconds (wall time of the whole run, evaluation included); reported = the seed report's figure; under-trained = runs whose validation metrics were still improving when training stopped."
chapter.show(chapter.runs_table(drop=("train acc %", "seeds")))
# %%
#| label: tbl-architecture-findings
#| tbl-cap: "Findings of the architecture studies: each variant against its own study's baseline (and the seeds' claims within the study); Δ = variant − baseline test accuracy in points with a 95 % bootstrap interval over test images; p-values Holm-adjusted within each study (each study is its own family); verdict better/worse only when the adjusted p < 0.05 and the interval excludes 0."
chapter.show(chapter.findings_table())
# %%
#| label: architecture-findings-text
chapter.show(chapter.findings_text())
# %%
#| label: fig-architecture-studies
#| fig-cap: "One panel per study: test accuracy per variant (mean over seeds, error bars = std; hatched = the study's baseline)."
chapter.show(chapter.study_panels())
# %%
#| label: fig-architecture-curves
#| fig-cap: "Validation accuracy per epoch for every variant, one panel per study (mean ± std over seeds)."
chapter.show(chapter.curves("val_accuracy"))
# %%
#| label: architecture-notes
chapter.show(chapter.notes())
# %%
chapter.publish("architecture")
