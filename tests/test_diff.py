"""`cifar-report diff OLD NEW`: what changed in the results between two builds.

Unit tests write small builds by hand (nbformat notebooks shaped like the executed
chapters: labelled table cells, prose cells, figure cells with their plotted values;
``_variables.yml``); the end-to-end test re-executes one chapter of the session's smoke
build with a changed parameter and checks that the diff names exactly what it moves.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_notebook, new_output

from cifar_core.cli import main
from cifar_core.orchestrate.diff import diff_builds
from cifar_core.orchestrate.diff.ignore import KINDS

PROJECT = Path(__file__).resolve().parent.parent

FINDINGS = """\
| study [SYNTHETIC DATA]   | variant   | compared with   | verdict                  | Δ test acc (pts)   | p (Holm)   |
|:-------------------------|:----------|:----------------|:-------------------------|:-------------------|:-----------|
| depth                    | cnn3      | cnn2            | worse                    | −15.4              | < 0.001    |
| depth                    | mlp       | cnn2            | worse                    | −30.0              | < 0.001    |
| depth                    | mlp       | cnn3            | no detectable difference | −2.0               | 0.41       |
| width                    | mlp       | cnn2            | better                   | +3.0               | 0.01       |
"""
RUNS = """\
| study [SYNTHETIC DATA]   | variant   | val acc %   | test acc %   | time s   |
|:-------------------------|:----------|:------------|:-------------|:---------|
| depth                    | cnn2      | 50.5        | 49.2         | 5.8      |
| depth                    | cnn3      | 31.5        | 33.8         | 5.0      |
| depth                    | mlp       | 20.0        | 19.0         | 9.5      |
| width                    | cnn2      | 50.5        | 49.2         | 5.8      |
"""
CLAIMS = """\
| seed [SYNTHETIC DATA]   | claim                            | outcome      | Δ test acc (pts)   |
|:------------------------|:---------------------------------|:-------------|:-------------------|
| 000                     | A CNN beats the MLP. (cnn2 vs mlp) | holds        | +30.0              |
| 000                     | Depth hurts. (cnn3 vs cnn2)      | holds        | −15.4              |
"""
PROSE = (
    "**Depth.** cnn3 is worse than the baseline cnn2 by 15.4 points (95 % CI −19.8 to "
    "−10.8; Holm p < 0.001). mlp is worse than cnn2 by 30.0 points. The runs were "
    "trained in 5.8 s on /work/demo/runs."
)
FIGURE = (
    "Panel 1, x axis parameters; y axis test accuracy (%); bars: cnn2 49.2, cnn3 33.8. "
    "Panel 2, x axis training time (s); y axis test accuracy (%); points: (5.8, 49.2), (5.0, 33.8)."
)
VARIABLES = {
    "build": {"date": "2026-12-02", "code_version": "0.1.0", "training_code": "3559247300cc1c0e"},
    "env": {"python": "3.11.7", "hardware": "2 CPU cores"},
    "architecture": {"best_variant": "cnn2", "best_test_acc": "49.2 %", "best_time": "5.8 s"},
}


def markdown_output(text: str):
    return new_output("display_data", data={"text/markdown": text, "text/plain": text})


def chapter(
    findings: str = FINDINGS, runs: str = RUNS, prose: str = PROSE, figure: str = FIGURE
) -> dict[str, str]:
    return {"findings": findings, "runs": runs, "prose": prose, "figure": figure}


def write_build(folder: Path, chapters: dict[str, dict[str, str]] | None = None, variables=None):
    """A project-shaped build: ``notebooks/<name>.ipynb`` and ``_variables.yml``."""
    chapters = chapters if chapters is not None else {"03-architecture": chapter()}
    (folder / "notebooks").mkdir(parents=True, exist_ok=True)
    for name, parts in chapters.items():
        cells = [new_code_cell("studies = None", metadata={"tags": ["parameters"]})]
        if "runs" in parts:
            cells.append(
                new_code_cell(
                    "#| label: tbl-runs\nshow()", outputs=[markdown_output(parts["runs"])]
                )
            )
        if "findings" in parts:
            cells.append(
                new_code_cell(
                    "#| label: tbl-findings\nshow()", outputs=[markdown_output(parts["findings"])]
                )
            )
        if "claims" in parts:
            cells.append(
                new_code_cell(
                    "#| label: tbl-claims\nshow()", outputs=[markdown_output(parts["claims"])]
                )
            )
        if "prose" in parts:
            cells.append(
                new_code_cell(
                    "#| label: findings-text\nshow()", outputs=[markdown_output(parts["prose"])]
                )
            )
        if "figure" in parts:
            image = new_output(
                "display_data",
                data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"},
                metadata={"image/png": {"cifar-report/alt": parts["figure"]}},
            )
            cells.append(
                new_code_cell(
                    '#| label: fig-studies\n#| fig-cap: "Test accuracy per variant."\nshow()',
                    outputs=[image],
                    execution_count=7,
                )
            )
        cells.append(
            new_code_cell(
                "print('log')", outputs=[new_output("stream", name="stdout", text="log\n")]
            )
        )
        nbformat.write(new_notebook(cells=cells), str(folder / "notebooks" / f"{name}.ipynb"))
    variables = VARIABLES if variables is None else variables
    (folder / "_variables.yml").write_text(yaml.safe_dump(variables, allow_unicode=True))
    return folder


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def changes(
    old: Path, new: Path, **options
) -> list[tuple[str, str, str, str, str | None, str | None]]:
    diff = diff_builds(old, new, **options)
    return [(c.block, c.kind, c.row, c.column, c.old, c.new) for c in diff.changes]


# --------------------------------------------------------------------------- nothing
def test_a_build_against_itself_has_no_differences(tmp_path):
    build = write_build(tmp_path / "a")
    code, out, err = run_cli(["diff", str(build), str(build), "--exit-code"])
    assert (code, out.strip(), err) == (0, "no differences", "")


def test_a_copy_of_notebooks_against_its_project_has_no_differences(tmp_path):
    """A saved copy of notebooks/ (with its _variables.yml) against the project it came
    from; the project's own notebooks/ folder takes the project's _variables.yml."""
    build = write_build(tmp_path / "project")
    saved = tmp_path / "saved"
    shutil.copytree(build / "notebooks", saved)
    shutil.copy2(build / "_variables.yml", saved / "_variables.yml")
    assert diff_builds(saved, build).identical
    assert diff_builds(build / "notebooks", saved).identical
    assert diff_builds(saved, build).notes() == []
    (saved / "_variables.yml").unlink()
    code, out, _ = run_cli(["diff", str(saved), str(build)])
    assert out.strip() == (
        f"no differences (_variables.yml not compared: missing in OLD ({saved}))"
    )


def test_executions_logs_and_images_are_not_results(tmp_path):
    old = write_build(tmp_path / "old")
    new = write_build(tmp_path / "new")
    notebook = new / "notebooks" / "03-architecture.ipynb"
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        cell.execution_count = 99
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                output.text = "other log\n"
            if "image/png" in output.get("data", {}):
                output.data["image/png"] = "AAAA"
    nbformat.write(nb, str(notebook))
    assert diff_builds(old, new).identical


# --------------------------------------------------------------------------- tables
def test_a_changed_verdict_is_one_cell_reported_as_a_verdict(tmp_path):
    old = write_build(tmp_path / "old")
    changed = FINDINGS.replace(
        "| depth                    | mlp       | cnn3            | no detectable difference |",
        "| depth                    | mlp       | cnn3            | worse                    |",
    )
    assert changed != FINDINGS
    new = write_build(tmp_path / "new", {"03-architecture": chapter(findings=changed)})
    assert changes(old, new) == [
        (
            "tbl-findings",
            "cell",
            "depth / mlp / cnn3",
            "verdict",
            "no detectable difference",
            "worse",
        )
    ]
    code, out, _ = run_cli(["diff", str(old), str(new), "--exit-code"])
    assert code == 1
    assert (
        "03-architecture › tbl-findings › depth / mlp / cnn3 › verdict: "
        "no detectable difference → worse" in out
    )
    assert "verdicts changed: 1, claim outcomes changed: 0" in out


def test_a_changed_claim_outcome_is_counted_apart(tmp_path):
    old = write_build(tmp_path / "old", {"09-findings": {"claims": CLAIMS}})
    reversed_ = CLAIMS.replace("| holds        | −15.4", "| reversed     | +15.4")
    new = write_build(tmp_path / "new", {"09-findings": {"claims": reversed_}})
    found = diff_builds(old, new).changes
    assert [(c.row, c.column, c.old, c.new, c.topic) for c in found] == [
        ("000 / Depth hurts. (cnn3 vs cnn2)", "outcome", "holds", "reversed", "claim outcome"),
        ("000 / Depth hurts. (cnn3 vs cnn2)", "Δ test acc (pts)", "−15.4", "+15.4", ""),
    ]
    _, out, _ = run_cli(["diff", str(old), str(new)])
    assert "verdicts changed: 0, claim outcomes changed: 1" in out


def test_rows_added_removed_and_reordered_are_rows_not_cells(tmp_path):
    old = write_build(tmp_path / "old")
    lines = RUNS.splitlines()
    header, body = lines[:2], lines[2:]
    # cnn3 removed, a new variant added, mlp moved before cnn2 (depth), width unchanged
    reordered = [body[2], body[0], "| depth | gelu | 40.0 | 41.0 | 6.0 |", body[3]]
    new = write_build(
        tmp_path / "new", {"03-architecture": chapter(runs="\n".join(header + reordered))}
    )
    assert changes(old, new) == [
        ("tbl-runs", "row removed", "depth / cnn3", "", None, None),
        ("tbl-runs", "row added", "depth / gelu", "", None, None),
        ("tbl-runs", "row moved", "depth / mlp", "", "3", "1"),
    ]


def test_rows_are_keyed_by_as_many_leading_columns_as_name_them(tmp_path):
    """cnn2 is in two studies (key: study / variant); mlp is compared twice within
    one study (key: study / variant / compared with)."""
    old = write_build(tmp_path / "old")
    new_runs = RUNS.replace(
        "| width                    | cnn2      | 50.5",
        "| width                    | cnn2      | 51.5",
    )
    new_findings = FINDINGS.replace("| −2.0               |", "| −2.5               |")
    new = write_build(
        tmp_path / "new", {"03-architecture": chapter(runs=new_runs, findings=new_findings)}
    )
    assert changes(old, new) == [
        ("tbl-runs", "cell", "width / cnn2", "val acc %", "50.5", "51.5"),
        ("tbl-findings", "cell", "depth / mlp / cnn3", "Δ test acc (pts)", "−2.0", "−2.5"),
    ]


def test_columns_added_removed_and_the_data_marker(tmp_path):
    old = write_build(tmp_path / "old")
    lines = RUNS.replace("[SYNTHETIC DATA]", "").replace("val acc %", "train acc %").splitlines()
    new = write_build(tmp_path / "new", {"03-architecture": chapter(runs="\n".join(lines))})
    kinds = [(kind, column, o, n) for _, kind, _, column, o, n in changes(old, new)]
    assert kinds == [
        ("column removed", "val acc %", None, None),
        ("column added", "train acc %", None, None),
        ("column renamed", "study", "study [SYNTHETIC DATA]", "study"),
    ]


# --------------------------------------------------------------------------- prose, figures
def test_a_changed_sentence_is_one_sentence_not_the_paragraph(tmp_path):
    old = write_build(tmp_path / "old")
    prose = PROSE.replace("by 30.0 points.", "by 31.0 points.") + " A new closing sentence."
    new = write_build(tmp_path / "new", {"03-architecture": chapter(prose=prose)})
    assert changes(old, new) == [
        (
            "findings-text",
            "sentence",
            "",
            "",
            "mlp is worse than cnn2 by 30.0 points.",
            "mlp is worse than cnn2 by 31.0 points.",
        ),
        ("findings-text", "sentence", "", "", None, "A new closing sentence."),
    ]
    _, out, _ = run_cli(["diff", str(old), str(new)])
    assert "    ~ 30.0 → 31.0" in out


def test_a_changed_plotted_value_is_one_figure_value(tmp_path):
    old = write_build(tmp_path / "old")
    figure = FIGURE.replace("cnn3 33.8", "cnn3 34.0")
    new = write_build(tmp_path / "new", {"03-architecture": chapter(figure=figure)})
    assert changes(old, new) == [
        (
            "fig-studies",
            "figure",
            "",
            "",
            "panel 1: bars: cnn2 49.2, cnn3 33.8",
            "panel 1: bars: cnn2 49.2, cnn3 34.0",
        )
    ]


# --------------------------------------------------------------------------- ignore rules
def timing_changed(tmp_path: Path) -> tuple[Path, Path]:
    """Two builds that differ only in timings: a time column, a duration in a sentence,
    a figure panel against training time, a variable named *time*."""
    old = write_build(tmp_path / "old")
    runs = RUNS.replace("| 5.0      |", "| 7.5      |")
    prose = PROSE.replace("trained in 5.8 s", "trained in 6.1 s")
    figure = FIGURE.replace("(5.0, 33.8)", "(7.5, 33.8)")
    variables = json.loads(json.dumps(VARIABLES))
    variables["architecture"]["best_time"] = "6.1 s"
    new = write_build(
        tmp_path / "new",
        {"03-architecture": chapter(runs=runs, prose=prose, figure=figure)},
        variables,
    )
    return old, new


def test_timings_are_ignored_and_counted_in_the_footer(tmp_path):
    old, new = timing_changed(tmp_path)
    diff = diff_builds(old, new)
    assert diff.identical and diff.ignored["timing"] == 4
    code, out, _ = run_cli(["diff", str(old), str(new), "--exit-code"])
    assert (
        code == 0
        and out.strip() == "no differences (ignored: timing ×4; --include KIND to compare)"
    )


def test_include_timing_compares_timings(tmp_path):
    old, new = timing_changed(tmp_path)
    found = changes(old, new, include=("timing",))
    assert [(block, kind, column) for block, kind, _, column, _, _ in found] == [
        ("tbl-runs", "cell", "time s"),
        ("findings-text", "sentence", ""),
        ("fig-studies", "figure", ""),
        ("_variables.yml", "variable", ""),
    ]
    code, out, _ = run_cli(["diff", str(old), str(new), "--include-timing", "--exit-code"])
    assert code == 1 and "depth / cnn3 › time s: 5.0 → 7.5" in out
    assert "architecture.best_time: 5.8 s → 6.1 s" in out
    assert "  timing:" not in out  # not listed as ignored


@pytest.mark.parametrize(
    ("kind", "edit"),
    [
        ("paths", lambda p, v: (p.replace("/work/demo/runs", "/home/me/runs"), v)),
        ("dates", lambda p, v: (p, {**v, "build": {**v["build"], "date": "2027-01-05"}})),
        ("versions", lambda p, v: (p, {**v, "build": {**v["build"], "code_version": "0.2.0"}})),
        (
            "hashes",
            lambda p, v: (p, {**v, "build": {**v["build"], "training_code": "aa00bb11cc22dd33"}}),
        ),
        ("environment", lambda p, v: (p, {**v, "env": {**v["env"], "hardware": "8 CPU cores"}})),
    ],
)
def test_each_ignored_kind_is_set_aside_and_can_be_included(tmp_path, kind, edit):
    prose, variables = edit(PROSE, VARIABLES)
    old = write_build(tmp_path / "old")
    new = write_build(tmp_path / "new", {"03-architecture": chapter(prose=prose)}, variables)
    diff = diff_builds(old, new)
    assert diff.identical and diff.ignored[kind] == 1
    assert len(diff_builds(old, new, include=(kind,)).changes) == 1
    code, _, _ = run_cli(["diff", str(old), str(new), "--include", kind, "--exit-code"])
    assert code == 1
    assert kind in KINDS


def test_a_run_key_column_is_a_hash_even_when_its_digits_are_all_decimal(tmp_path):
    keyed = RUNS.replace("| time s   |", "| run key      |").replace(
        "|:---------|", "|:-------------|"
    )
    old_keys = keyed.replace("| 5.8      |", "| 607805278262 |", 1)
    new_keys = keyed.replace("| 5.8      |", "| 6f95cd5b626f |", 1)
    old = write_build(tmp_path / "old", {"03-architecture": chapter(runs=old_keys)})
    new = write_build(tmp_path / "new", {"03-architecture": chapter(runs=new_keys)})
    diff = diff_builds(old, new)
    assert diff.identical and diff.ignored["hashes"] == 1
    [change] = diff_builds(old, new, include=("hashes",)).changes
    assert (change.column, change.old, change.new) == ("run key", "607805278262", "6f95cd5b626f")


def test_the_footer_names_every_rule_in_force(tmp_path):
    old = write_build(tmp_path / "old")
    new = write_build(tmp_path / "new", {"03-architecture": chapter(prose=PROSE + " More.")})
    _, out, _ = run_cli(["diff", str(old), str(new), "--include", "paths"])
    footer = out.split("ignored (--include KIND to compare):")[1]
    assert [line.split(":")[0].strip() for line in footer.splitlines()[1:-1]] == [
        k for k in KINDS if k != "paths"
    ]
    assert "not compared: execution counts, stdout/stderr" in out


# --------------------------------------------------------------------------- options, errors
def test_chapter_limits_the_diff_to_one_chapter(tmp_path):
    old = write_build(tmp_path / "old", {"02-baselines": chapter(), "03-architecture": chapter()})
    changed = chapter(prose=PROSE + " More.")
    new = write_build(tmp_path / "new", {"02-baselines": changed, "03-architecture": changed})
    assert {c.chapter for c in diff_builds(old, new).changes} == {"02-baselines", "03-architecture"}
    code, out, _ = run_cli(["diff", str(old), str(new), "--chapter", "03", "--exit-code"])
    assert code == 1 and "03-architecture" in out and "02-baselines" not in out
    code, _, err = run_cli(["diff", str(old), str(new), "--chapter", "04-training"])
    assert code == 2 and "--chapter '04-training' is not a chapter of either build" in err


def test_json_lists_the_changes_and_the_summary(tmp_path):
    old = write_build(tmp_path / "old", {"03-architecture": chapter()})
    new = write_build(
        tmp_path / "new",
        {
            "03-architecture": chapter(
                findings=FINDINGS.replace(
                    "| better                   |", "| worse                    |"
                )
            ),
            "14-extra": chapter(),
        },
    )
    code, out, _ = run_cli(["diff", str(old), str(new), "--json", "--exit-code"])
    report = json.loads(out)
    assert code == 1 and report["identical"] is False
    assert report["summary"]["verdicts"] == 1 and report["summary"]["chapter added"] == 1
    assert report["changes"][0] == {
        "chapter": "03-architecture",
        "block": "tbl-findings",
        "kind": "cell",
        "row": "width / mlp / cnn2",
        "column": "verdict",
        "old": "better",
        "new": "worse",
        "topic": "verdict",
    }
    assert set(report["ignored"]) == set(KINDS)


def test_variables_are_listed_under_the_chapter_that_writes_them(tmp_path):
    old = write_build(tmp_path / "old")
    variables = {**VARIABLES, "architecture": {**VARIABLES["architecture"], "best_variant": "cnn3"}}
    new = write_build(tmp_path / "new", variables=variables)
    for build in (old, new):
        (build / "notebooks" / "03-architecture.vars.json").write_text('{"architecture": {}}')
    (found,) = diff_builds(old, new).changes
    assert (found.chapter, found.kind, found.row, found.old, found.new) == (
        "03-architecture",
        "variable",
        "architecture.best_variant",
        "cnn2",
        "cnn3",
    )


@pytest.mark.parametrize("which", ["missing", "empty", "file"])
def test_a_path_that_is_not_a_build_is_a_usage_error(tmp_path, which):
    build = write_build(tmp_path / "build")
    path = tmp_path / which
    if which == "empty":
        (path / "notebooks").mkdir(parents=True)
    elif which == "file":
        path.write_text("not a folder")
    code, out, err = run_cli(["diff", str(build), str(path), "--exit-code"])
    assert code == 2 and out == ""
    assert err.startswith(f"error: NEW {path} ")
    assert "expected a cifar-report project with executed chapters (notebooks/*.ipynb" in err


def test_diff_never_imports_keras_or_tensorflow(tmp_path):
    build = write_build(tmp_path / "build")
    code = (
        "import sys; from cifar_core.cli import main; "
        f"rc = main(['diff', {str(build)!r}, {str(build)!r}]); "
        "heavy = [m for m in ('keras', 'tensorflow', 'torch', 'jax') if m in sys.modules]; "
        "print(rc, heavy)"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.splitlines()[-1] == "0 []"


# --------------------------------------------------------------------------- end to end
ALPHA = 0.01
"""09-findings' significance level in the end-to-end test (its default is 0.05)."""
DETECTED = ("better", "worse")
INCONCLUSIVE = "inconclusive at this budget"


def _p(text: str) -> float:
    """A printed Holm p-value (``< 0.001``, ``0.032``, ``1``)."""
    return 0.0 if text.startswith("<") else float(text)


def _interval(text: str) -> tuple[float, float]:
    low, high = text.replace("−", "-").split(" to ")
    return float(low), float(high)


def _rows(block) -> list[dict[str, str]]:
    (table,) = block.tables
    names = [c.replace(" [SYNTHETIC DATA]", "") for c in table.columns]
    return [dict(zip(names, row)) for row in table.rows]


def _row_key(rows: list[dict[str, str]], row: dict[str, str]) -> str:
    from cifar_core.orchestrate.diff.compare import key_columns

    return " / ".join(row[c] for c in key_columns(rows, rows, list(rows[0])))


def predicted_by_alpha(build, alpha: float):
    """What lowering 09-findings' alpha from 0.05 to ``alpha`` must change, read from the
    build's own tables: every finding detected (better/worse) with alpha ≤ Holm p becomes
    "no detectable difference"; a claim resting on it becomes inconclusive (a claim of no
    difference holds instead when its interval lies within ± 1 point); the Discussion
    drops its sentence; the counts in _variables.yml follow."""
    flips = []  # (variant, compared with, verdict) of every study, all chapters
    for blocks in build.chapters.values():
        for block in blocks.values():
            if block.kind == "table" and "verdict" in _rows(block)[0]:
                for row in _rows(block):
                    if row["verdict"] in DETECTED and _p(row["p (Holm)"]) >= alpha:
                        assert not 0.9 * alpha <= _p(row["p (Holm)"]) <= 1.1 * alpha, row
                        flips.append((row["variant"], row["compared with"], row["verdict"]))
    cells = set()
    other = build.chapters["09-findings"]["tbl-findings-other"]
    for row in _rows(other):
        if (row["variant"], row["compared with"], row["verdict"]) in flips:
            cells.add(
                (
                    "tbl-findings-other",
                    _row_key(_rows(other), row),
                    "verdict",
                    row["verdict"],
                    "no detectable difference",
                )
            )
    claims = _rows(build.chapters["09-findings"]["tbl-findings-claims"])
    outcomes_before, outcomes_after = [], []
    for row in claims:
        outcome = row["outcome"]
        if outcome in ("holds", "reversed") and _p(row["p (Holm)"]) >= alpha:
            if row["claim"].endswith("expected no difference)") and outcome == "reversed":
                low, high = _interval(row["95 % CI (pts)"])
                new = "holds" if -1 <= low and high <= 1 else INCONCLUSIVE
            else:
                new = INCONCLUSIVE
            cells.add(("tbl-findings-claims", _row_key(claims, row), "outcome", outcome, new))
            outcome_after = new
        else:
            outcome_after = outcome
        outcomes_before.append(outcome)
        outcomes_after.append(outcome_after)
    names = {
        "holds": "holds",
        "reversed": "reversed",
        INCONCLUSIVE: "inconclusive",
        "not evaluated": "not_evaluated",
    }
    variables = {"findings.alpha": (build.variables["findings.alpha"], f"{alpha:g}")}  # Methods
    detected_before = int(build.variables["findings.n_detected"])
    if flips:
        variables["findings.n_detected"] = (str(detected_before), str(detected_before - len(flips)))
    for outcome, key in names.items():
        before, after = outcomes_before.count(outcome), outcomes_after.count(outcome)
        if before != after:
            variables[f"findings.claims.{key}"] = (str(before), str(after))
    return flips, cells, variables


def test_a_changed_parameter_moves_exactly_what_it_decides(smoke_build, tmp_path):
    """The smoke build, copied, and its findings chapter re-executed through
    `cifar-report analysis 09-findings -p alpha 0.01`: the diff lists exactly the
    verdict and claim-outcome cells and the counts that alpha decides (predicted from
    the build's own p-values), the Discussion sentences of the findings that are no
    longer detected, and nothing in any other chapter."""
    root, runs, _ = smoke_build
    again = tmp_path / "project"
    again.mkdir()
    for name in ("analyses", "notebooks", "index.qmd", "references.bib", "_variables.yml"):
        copy = shutil.copytree if (root / name).is_dir() else shutil.copy2
        copy(root / name, again / name)
    for config in root.glob("_quarto*.yml"):
        shutil.copy2(config, again / config.name)
    before = diff_builds(root, again)
    assert before.identical, before.changes

    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    command = [
        sys.executable,
        "-m",
        "cifar_core.cli",
        "analysis",
        "09-findings",
        "-p",
        "alpha",
        str(ALPHA),
    ]
    command += ["--profile", "smoke", "--runs", str(runs)]
    subprocess.run(command, cwd=again, env=env, check=True, capture_output=True, text=True)

    old = diff_builds(root, again)
    flips, cells, variables = predicted_by_alpha(old.old, ALPHA)
    assert flips and cells, (
        "the smoke build detects no difference with 0.01 ≤ p < 0.05: pick another alpha"
    )
    found = old.changes
    assert {c.chapter for c in found} == {"09-findings"}
    assert {(c.block, c.row, c.column, c.old, c.new) for c in found if c.kind == "cell"} == cells
    assert {c.row: (c.old, c.new) for c in found if c.kind == "variable"} == variables
    sentences = [c for c in found if c.kind == "sentence"]
    assert {c.kind for c in found} == {"cell", "sentence", "variable"}
    assert {c.block for c in sentences} == {"findings-discussion"}
    gone = [c.old for c in sentences if c.old is not None]
    for variant, baseline, verdict in flips:
        said = re.compile(rf"{variant} is {verdict} than (the baseline )?{baseline} by ")
        assert any(said.match(s) for s in gone), (variant, baseline, verdict)
    # build.n_trained (51 trained then, 0 now) and the environment the builds record
    assert old.ignored["environment"] >= 1

    code, out, _ = run_cli(["diff", str(root), str(again), "--exit-code"])
    outcomes = sum(1 for c in cells if c[2] == "outcome")
    verdicts = sum(1 for c in cells if c[2] == "verdict")
    assert code == 1
    assert f"verdicts changed: {verdicts}, claim outcomes changed: {outcomes}" in out
    code, out, _ = run_cli(
        ["diff", str(root), str(again), "--chapter", "08-summary", "--exit-code"]
    )
    assert (code, out.strip()) == (0, "no differences in 08-summary")
