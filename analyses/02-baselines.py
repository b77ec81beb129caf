# %% [markdown]
# # Baselines: MLP vs CNN, and seed 004's pass marks
# %% tags=["parameters"]
studies: list[str] | None = None  # None: the studies the registry gives this chapter
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list
mlp: str = "s000_mlp"  # the MLP quoted in the text
cnn: str = "s000_cnn2"  # the CNN quoted in the text

# %%
from cifar_core.analysis.chapter import StudyChapter

chapter = StudyChapter.open("02-baselines", studies, variants, seeds)
# %%
#| label: tbl-baselines
#| tbl-cap: "MLP vs CNN: parameters, FLOPs per image, train/validation/test accuracy and loss, run time in seconds (wall time of the whole run, evaluation included) (mean ± std over seeds; reported = the seed report's figure); under-trained = runs whose validation metrics were still improving when training stopped."
chapter.show(chapter.runs_table("baselines", losses=True))
# %%
#| label: fig-baselines-curves
#| fig-cap: "Learning curves of the baselines: loss and accuracy per epoch, training (solid) and validation (dashed), mean ± std over seeds."
chapter.show(chapter.learning_curves(chapter.runs_by_study["baselines"]))
# %%
#| label: tbl-baselines-passmarks
#| tbl-cap: "Seed 004's pass marks checked on this build's runs (test accuracy, mean ± std over seeds; under-trained as in the table above)."
chapter.show(chapter.pass_marks_table("seed004_lab"))
# %%
#| label: tbl-baselines-findings
#| tbl-cap: "Findings of the baseline studies: each variant against its study's baseline (and the seeds' claims within the study), Δ = variant − baseline test accuracy in points with a 95 % bootstrap interval over test images; p-values Holm-adjusted within each study (each study is its own family); verdict better/worse only when the adjusted p < 0.05 and the interval excludes 0."
chapter.show(chapter.findings_table())
# %%
#| label: baselines-findings-text
chapter.show(chapter.findings_text())
# %%
#| label: baselines-notes
chapter.show(chapter.notes())
# %%
chapter.publish("baselines", best=False, **chapter.quote(mlp=mlp, cnn=cnn), **chapter.settings(cnn))
