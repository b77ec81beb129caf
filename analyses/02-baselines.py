# %% [markdown]
# # Baselines: MLP vs CNN, and seed 004's pass marks

# %% tags=["parameters"]
studies: list[str] | None = None  # None: the studies the registry gives this chapter
variants: list[str] | None = None  # extra variant names
seeds: int | list[int] | None = None  # None: the profile's seeds; an int (how many) or a list
mlp: str = "s000_mlp"  # the MLP quoted in the text
cnn: str = "s000_cnn2"  # the CNN quoted in the text

# %%
from cifar_core.analysis import chapter_findings, flags, plots, present, tables
from cifar_core.analysis.context import open_context
from cifar_core.experiments import catalog

studies = catalog.chapter_studies("02-baselines", studies)
ctx = open_context("02-baselines", studies=studies, variants=variants, seeds=seeds)
study = ctx.study("baselines")
base_runs = ctx.study_runs("baselines")
table = tables.runs_table(base_runs, reported=study.reported)
findings = chapter_findings.chapter_findings(ctx, studies or [])

# %%
#| label: tbl-baselines
#| tbl-cap: "MLP vs CNN: parameters, FLOPs per image, train/validation/test accuracy and loss, training time (mean ± std over seeds; reported = the seed report's figure); under-trained = runs whose validation metrics were still improving when training stopped."
present.show_table(
    chapter_findings.show_runs_table(
        tables.display_table(table), base_runs, baselines=[study.baseline]
    ),
    synthetic=ctx.synthetic,
)

# %%
#| label: fig-baselines-curves
#| fig-cap: "Learning curves of the baselines: loss and accuracy per epoch, training (solid) and validation (dashed), mean ± std over seeds."
plots.show(plots.learning_curves(ctx.histories(base_runs)))

# %%
#| label: tbl-baselines-passmarks
#| tbl-cap: "Seed 004's pass marks checked on this build's runs (test accuracy, mean ± std over seeds; under-trained as in the table above)."
lab = ctx.study("seed004_lab")
marks = dict(lab.pass_marks)
lab_table = tables.runs_table(ctx.study_runs("seed004_lab"), reported=lab.reported)
measured = dict(zip(lab_table.get("variant", []), lab_table.get("test_accuracy_mean", [])))
epochs = {v.name: v.epochs for v in ctx.variants}
passes = flags.check_pass_marks(measured, marks, epochs)
shown = passes.assign(
    requirement=passes["mark"],
    reported=[
        tables.mean_std(tables.as_fraction(lab.reported.get(n)), 0) + " %"
        if n in lab.reported
        else "–"
        for n in passes["variant"]
    ],
    measured=[tables.acc_text(lab_table, n) for n in passes["variant"]],
    epochs=[epochs.get(n, "–") for n in passes["variant"]],
    result=["not run" if p is None else "pass" if p else "fail" for p in passes["passed"]],
)[["variant", "requirement", "reported", "measured", "epochs", "result"]]
shown = chapter_findings.show_runs_table(
    shown, ctx.study_runs("seed004_lab"), baselines=[lab.baseline]
)
present.show_table(shown, synthetic=ctx.synthetic)

# %%
#| label: tbl-baselines-findings
#| tbl-cap: "Findings of the baseline studies: each variant against its study's baseline (and the seeds' claims within the study), Δ = variant − baseline test accuracy in points with a 95 % bootstrap interval over test images; p-values Holm-adjusted within each study (each study is its own family); verdict better/worse only when the adjusted p < 0.05 and the interval excludes 0."
present.show_table(chapter_findings.findings_display(findings), synthetic=ctx.synthetic)

# %%
#| label: baselines-findings-text
present.show_markdown(chapter_findings.findings_markdown(findings, ctx))

# %%
#| label: baselines-notes
all_runs = {**base_runs, **ctx.study_runs("seed004_lab")}
found = flags.run_anomalies(all_runs, ctx.dataset.num_classes)
if ctx.profile.name != "full":
    present.show_markdown(
        present.note_callout(
            f"Profile `{ctx.profile.name}` scales epochs and data, so the pass marks (set for full CIFAR-10 "
            "and the seeds' epochs) are not expected to be met here.",
            title="Scaled profile",
        )
    )
present.show_markdown(present.callout(found) or "No anomalies were flagged in the baselines.")
present.show_markdown(chapter_findings.convergence_note(all_runs))

# %%
planned = {v.name: v for v in ctx.variants}
ctx.publish(
    {
        "baselines": {
            "mlp_test_acc": tables.acc_text(table, mlp),
            "cnn_test_acc": tables.acc_text(table, cnn),
            "mlp_params": tables.count_text(tables.value(table, mlp, "params")),
            "cnn_params": tables.count_text(tables.value(table, cnn, "params")),
            "epochs": str(planned[cnn].epochs) if cnn in planned else "n/a",
            "batch_size": str(planned[cnn].batch_size) if cnn in planned else "n/a",
        }
    }
)
