# %% [markdown]
# # Training ablations: batch size, optimizer, learning-rate schedule, input normalization, and the flagship recipe
# %% tags=["parameters"]
studies: list[str] | None = None  # None: the studies the registry gives this chapter
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list

# %%
from cifar_core.analysis.chapter import StudyChapter

chapter = StudyChapter.open("04-training", studies, variants, seeds)
# %%
#| label: tbl-training
#| tbl-cap: "Training studies: batch size, optimizer, learning-rate schedule, input normalization and the flagship recipe; validation and test accuracy (mean ± std over seeds), run time in seconds (wall time of the whole run, evaluation included); reported = the seed report's figure; under-trained = runs whose validation metrics were still improving when training stopped."
chapter.show(chapter.runs_table(drop=("train acc %", "seeds")))
# %%
#| label: tbl-training-findings
#| tbl-cap: "Findings of the training studies and of the flagship study (seed 004's final recipe and each one-setting ablation against the flagship recipe): each variant against its own study's baseline (and the seeds' claims within the study); Δ = variant − baseline test accuracy in points with a 95 % bootstrap interval over test images; p-values Holm-adjusted within each study (each study is its own family); verdict better/worse only when the adjusted p < 0.05 and the interval excludes 0."
chapter.show(chapter.findings_table())
# %%
#| label: training-findings-text
chapter.show(chapter.findings_text())
# %%
#| label: fig-training-studies
#| fig-cap: "One panel per study: test accuracy per variant (mean over seeds, error bars = std; hatched = the study's baseline)."
chapter.show(chapter.study_panels())
# %%
#| label: fig-training-curves
#| fig-cap: "Validation loss per epoch for every variant, one panel per study (mean ± std over seeds)."
chapter.show(chapter.curves("val_loss"))
# %%
#| label: fig-training-flagship
#| fig-cap: "The flagship recipe against seed 004's final recipe: validation accuracy over fit time (seconds of model.fit; mean ± std over seeds; epochs taken as equally long); dotted: seed 004's final test accuracy."
chapter.show(chapter.time_curves("flagship", "s004_final", "seed 004 final, test"))
# %%
#| label: training-notes
chapter.show(chapter.notes())
# %%
chapter.publish("training", flagship=chapter.accuracy_and_time("flagship", "s004_final"))
