# %% [markdown]
# # Regularization: dropout, batch norm, L2, augmentation, and seed 001's trio
# %% tags=["parameters"]
studies: list[str] | None = None  # None: the studies the registry gives this chapter
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list
trio: list[str] = ["s001_model_a", "s001_model_b", "s001_model_c"]  # curves of this figure
gap_baseline: str = "s001_model_a"  # the unregularized model the gap is quoted for

# %%
from cifar_core.analysis.chapter import StudyChapter

chapter = StudyChapter.open("05-regularization", studies, variants, seeds)
# %%
#| label: tbl-regularization
#| tbl-cap: "Regularization studies: train, validation and test accuracy and the generalization gap (train − validation, points), mean ± std over seeds; under-trained = runs whose validation metrics were still improving when training stopped."
chapter.show(chapter.runs_table(drop=("seeds", "FLOPs/img", "time s"), gap=True))
# %%
#| label: tbl-regularization-findings
#| tbl-cap: "Findings of the regularization studies: each variant against its own study's baseline (and the seeds' claims within the study); Δ = variant − baseline test accuracy in points with a 95 % bootstrap interval over test images; p-values Holm-adjusted within each study (each study is its own family); verdict better/worse only when the adjusted p < 0.05 and the interval excludes 0."
chapter.show(chapter.findings_table())
# %%
#| label: regularization-findings-text
chapter.show(chapter.findings_text())
# %%
#| label: fig-regularization-gap
#| fig-cap: "Generalization gap (train − validation accuracy, percentage points) per variant; error bars = std over seeds."
chapter.show(chapter.gap_bars())
# %%
#| label: fig-regularization-curves
#| fig-cap: "Seed 001's model_a (plain), model_b (+ augmentation) and model_c (+ batch norm): training (solid) and validation (dashed) loss and accuracy."
chapter.show(chapter.learning_curves(trio))
# %%
#| label: regularization-notes
chapter.show(chapter.notes(overfitting=True))
# %%
chapter.publish("regularization", **chapter.gaps(gap_baseline))
