"""The full-scale rehearsal, measured: a `rehearsal` build from an empty store, and what
it cost per chapter, per run and in the driver.

    python benchmarks/rehearsal.py [--workdir DIR] [--data PATH] [--jobs N]
                                   [--only CHAPTER ...] [--parameters JSON]
                                   [--keep] [--no-render] [--out FILE] [--report-only]

1. Copies the project's sources (``analyses/``, ``index.qmd``, ``_quarto*.yml``,
   ``references.bib``, ``report.yml`` and ``studies/`` when present) into ``--workdir``
   (default: ``$TMPDIR/cifar-report-rehearsal``), so the project's own ``notebooks/``
   and ``_site/`` are never touched, and empties its run store, notebooks and data cache
   unless ``--keep`` (so the 50,000 / 10,000 synthetic images, their corruptions and
   every derived prediction are made anew, as on a fresh machine).
2. Runs ``cifar-report build --profile rehearsal`` there as a child process (the
   checkout's ``cifar_core``), timing it and watching the peak memory of every process
   under it. ``--only`` and ``--parameters`` (``{"chapter": {"parameter": value}}``,
   kept as the profile's ``-p`` overrides) make a reduced rehearsal.
3. Reads what the build recorded (``_build/measurements.json``: each chapter's wall time
   and its kernel's peak RSS, the driver's peak RSS by phase) and each run's inference
   seconds over its validation and test images (``metrics.json``), and what
   ``cifar-report plan --profile rehearsal`` priced (training, each chapter's derived
   predictions, the whole build; time here), prints the tables
   (the Markdown one is README's), and writes them as JSON (``--out``, default
   ``<workdir>/rehearsal.json``). ``--report-only`` re-reads a finished workdir (keeping
   the build's figures of its earlier record).
4. Looks at the rendered report as a reader does (``tests/support``: headless Chromium,
   poppler), when they are installed: the runs table of every run is found in the HTML,
   paged, filtered and sorted in the browser without a console error or a horizontal
   scrollbar; the PDF prints every run's key, across consecutive pages, with nothing
   drawn outside the text block (page images in ``<workdir>/pdf-pages``).

The targets of issue 23: exit 0 within 90 minutes, no chapter over 10 minutes, no
process over 4 GB. The script exits 1 when the build fails or a target is missed, and
warns when the machine was busy (load average over 2.5 at the start or the end: the
figures are then not valid).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cifar_core.orchestrate.measure import MEASUREMENTS, ChildUsage, format_bytes  # noqa: E402

COPIED = ("analyses", "studies", "index.qmd", "references.bib", "report.yml", ".gitignore")
TARGET_BUILD_S = 90 * 60
TARGET_CHAPTER_S = 10 * 60
TARGET_MEMORY = 4_000_000_000
BUSY_LOAD = 2.5


def prepare(workdir: Path, keep: bool) -> None:
    """A copy of the project's sources in ``workdir`` (emptied first unless ``keep``)."""
    if workdir.exists() and not keep:
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for name in [*COPIED, *(p.name for p in ROOT.glob("_quarto*.yml"))]:
        source, target = ROOT / name, workdir / name
        if not source.exists():
            continue
        if source.is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)


def write_parameters(workdir: Path, parameters: dict[str, dict[str, Any]]) -> None:
    """Keep ``parameters`` as the rehearsal profile's ``-p`` overrides in ``workdir``."""
    from cifar_core.orchestrate import notebooks

    for chapter, values in parameters.items():
        notebooks.save_overrides(workdir, "rehearsal", chapter, values)


def run_build(workdir: Path, args: argparse.Namespace) -> tuple[int, float, ChildUsage]:
    command = [
        sys.executable,
        "-m",
        "cifar_core.cli",
        "build",
        "--profile",
        "rehearsal",
        "--runs",
        str(workdir / "runs"),
        "--jobs",
        str(args.jobs),
        "--renderer",
        args.renderer,
    ]
    command += ["--data", args.data] if args.data else []
    command += [part for name in args.only or [] for part in ("--only", name)]
    command += ["--no-render"] if args.no_render else []
    print("$ " + " ".join(command), flush=True)
    started = time.perf_counter()
    with ChildUsage(interval=0.5) as usage:
        code = subprocess.call(command, cwd=workdir, env=_env(workdir))
    return code, time.perf_counter() - started, usage


def plan_estimate(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """What ``cifar-report plan --profile rehearsal`` priced for this build (its training
    and each chapter's derived predictions, time here), to set beside what was measured;
    ``{}`` when plan fails."""
    from cifar_core.runs.speed import CACHE_FILE, cache_path

    measured = cache_path()  # this machine's speed, measured by an earlier plan
    if measured.is_file():
        (workdir / "cache").mkdir(exist_ok=True)
        shutil.copy2(measured, workdir / "cache" / CACHE_FILE)
    command = [sys.executable, "-m", "cifar_core.cli", "plan", "--profile", "rehearsal"]
    # auto: the speed measured by an earlier plan, else measured now (after the build, so
    # on the machine the build left quiet)
    command += ["--runs", str(workdir / "runs"), "--measure", "auto", "--json"]
    command += ["--data", args.data] if args.data else []
    done = subprocess.run(command, cwd=workdir, env=_env(workdir), capture_output=True, text=True)
    if done.returncode != 0:
        return {}
    plan = json.loads(done.stdout)
    return {
        "training_s_here": plan["total"]["seconds_here"],
        "analysis_s_here": plan["analysis"]["total"]["seconds_here"],
        "whole_build_s_here": plan["whole_build"]["seconds_here"],
        "chapters_s_here": {
            row["chapter"]: row["seconds_here"] for row in plan["analysis"]["chapters"]
        },
    }


def _env(workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "CIFAR_REPORT_CACHE": str(workdir / "cache"),
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
    }


def run_inference(runs_dir: Path) -> list[dict[str, Any]]:
    """Each stored run's name, seed, family and inference seconds per split."""
    rows = []
    for metrics_file in sorted(runs_dir.glob("*/metrics.json")):
        metrics = json.loads(metrics_file.read_text())
        config = json.loads((metrics_file.parent / "config.json").read_text())
        variant = config["variant"]
        seconds = metrics.get("inference_s") or {}
        rows.append(
            {
                "name": variant["name"],
                "seed": variant["seed"],
                "family": variant["family"],
                "n_test": metrics.get("n_test"),
                "test_inference_s": seconds.get("test"),
                "val_inference_s": seconds.get("val"),
                "wall_time_s": metrics.get("wall_time_s"),
            }
        )
    return rows


def summarize(workdir: Path, build: dict[str, Any] | None) -> dict[str, Any]:
    record_file = workdir / MEASUREMENTS
    record = json.loads(record_file.read_text()) if record_file.is_file() else {}
    return {
        "build": build or {},
        "record": record,
        "runs": run_inference(workdir / "runs"),
    }


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def tables(summary: dict[str, Any]) -> str:
    """The figures as Markdown tables (README's Rehearsal section)."""
    record, build, runs = summary["record"], summary["build"], summary["runs"]
    lines = []
    if build:
        lines += [
            f"Build: exit {build['exit_code']} in {_minutes(build['wall_s'])}; peak memory of "
            f"any process {format_bytes(build['peak_rss'])}, CPU time of all "
            f"{_minutes(build.get('cpu_s'))}; load average "
            f"{build['load_before']:.1f} before, {build['load_after']:.1f} after; "
            f"{record.get('runs_trained', '-')} runs trained.",
            "",
        ]
        plan = build.get("plan") or {}
        if plan:
            lines += [
                f"Plan (`plan --profile rehearsal`, one process): training "
                f"{_minutes(plan['training_s_here'])}, analysis "
                f"{_minutes(plan['analysis_s_here'])}, whole build "
                f"{_minutes(plan['whole_build_s_here'])}.",
                "",
            ]
    dataset = record.get("dataset") or {}
    if dataset:
        lines += [
            f"Data: {dataset.get('n_train'):,} training / {dataset.get('n_test'):,} test images "
            f"({'synthetic' if dataset.get('synthetic') else dataset.get('source')}).",
            "",
        ]
    lines += [
        "| chapter | status | wall time | CPU time (kernel) | peak memory (kernel) "
        "| plan (derived predictions) |",
        "|:--|:--|--:|--:|--:|--:|",
    ]
    priced = ((build or {}).get("plan") or {}).get("chapters_s_here") or {}
    for chapter in record.get("chapters", []):
        flag = " ⚠" if (chapter.get("seconds") or 0) > TARGET_CHAPTER_S else ""
        lines.append(
            f"| {chapter['name']} | {chapter['status']} | {_minutes(chapter['seconds'])}{flag} "
            f"| {_minutes(chapter.get('cpu_s'))} | {format_bytes(chapter.get('peak_rss'))} "
            f"| {_minutes(priced.get(chapter['name']))} |"
        )
    lines += ["", "| driver, after | elapsed | peak memory |", "|:--|--:|--:|"]
    for phase in record.get("driver", []):
        lines.append(
            f"| {phase['phase']} | {_minutes(phase['elapsed_s'])} | "
            f"{format_bytes(phase['peak_rss'])} |"
        )
    if runs:
        lines += [
            "",
            "| family | runs | test images | test inference, mean (max) | validation inference, mean |",
            "|:--|--:|--:|--:|--:|",
        ]
        families: dict[str, list[dict[str, Any]]] = {}
        for row in runs:
            families.setdefault(row["family"], []).append(row)
        for family, rows in sorted(families.items()):
            test = [r["test_inference_s"] for r in rows if r["test_inference_s"] is not None]
            val = [r["val_inference_s"] for r in rows if r["val_inference_s"] is not None]
            mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
            lines.append(
                f"| {family} | {len(rows)} | {rows[0]['n_test'] or '-':,} | "
                f"{_minutes(mean(test))} ({_minutes(max(test) if test else None)}) | "
                f"{_minutes(mean(val))} |"
            )
        total = sum(r["test_inference_s"] or 0 for r in runs)
        lines += ["", f"Inference over the test images, all runs: {_minutes(total)} in total."]
    return "\n".join(lines + _output_lines(summary.get("output") or {}))


def _output_lines(checked: dict[str, Any]) -> list[str]:
    lines = []
    html, pdf = checked.get("html"), checked.get("pdf")
    if html is not None:
        table = html["runs_table"]
        lines.append(
            "HTML (headless Chromium): "
            + (
                f"the runs table shows {table['shown']} rows a page ({table['pages']} paging "
                f'buttons), filtering it gives "{table["filtered"]}", sorting works'
                if table.get("found")
                else "no interactive runs table found"
            )
            + f"; problems: {', '.join(html['problems']) or 'none'}."
        )
    if pdf is not None:
        spread = pdf["table_pages"]
        lines.append(
            f"PDF ({pdf['pages']} pages): {pdf['run_keys_printed']} of {pdf['run_keys']} run "
            f"keys printed, on pages {spread[0] + 1}-{spread[-1] + 1}"
            if spread
            else f"PDF ({pdf['pages']} pages): no run key printed"
        )
        lines[-1] += f"; problems: {', '.join(pdf['problems']) or 'none'}."
    return ["", *lines] if lines else []


def check_output(workdir: Path, n_runs: int) -> dict[str, Any]:
    """The long-table checks on the rendered report (step 4 of the module docstring);
    ``{"html": None}`` or ``{"pdf": None}`` where the tool or the file is missing."""
    from tests.support.browser import find_chromium, inspect_page, use_long_table
    from tests.support.pdfcheck import check_pdf

    site, checked = workdir / "_site", {}
    html, pdf = site / "index.html", site / "index.pdf"
    checked["html"] = None
    browser = find_chromium() is not None and importlib.util.find_spec("websocket") is not None
    if html.is_file() and browser:
        page = inspect_page(html, evaluate=(use_long_table(n_runs),))
        checked["html"] = {"problems": page.problems(), "runs_table": page.evaluated[0]}
    checked["pdf"] = None
    if pdf.is_file() and shutil.which("pdftoppm") and shutil.which("pdftotext"):
        report = check_pdf(pdf, workdir / "pdf-pages")
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        keys = {path.parent.name[:12] for path in (workdir / "runs").glob("*/metrics.json")}
        pages = [i for i, page in enumerate(text.split("\f")) if any(k in page for k in keys)]
        checked["pdf"] = {
            "pages": report.pages,
            "problems": report.problems(),
            "run_keys": len(keys),
            "run_keys_printed": sum(k in text for k in keys),
            "table_pages": pages,
        }
    return checked


def output_problems(checked: dict[str, Any], n_runs: int) -> list[str]:
    found = []
    html = checked.get("html")
    if html is not None:
        found += [f"HTML: {p}" for p in html["problems"]]
        table = html["runs_table"]
        if not table.get("found"):
            found.append(f"HTML: no interactive table of {n_runs} entries")
        elif table["shown"] > 25 or not table["top"] or table["top"] != sorted(table["top"])[::-1]:
            found.append(f"HTML: the runs table is not paged or sorted: {table}")
    pdf = checked.get("pdf")
    if pdf is not None:
        found += [f"PDF: {p}" for p in pdf["problems"]]
        if pdf["run_keys_printed"] < pdf["run_keys"]:
            found.append(f"PDF: {pdf['run_keys_printed']} of {pdf['run_keys']} run keys printed")
    return found


def problems(summary: dict[str, Any]) -> list[str]:
    """The targets missed."""
    build, record = summary["build"], summary["record"]
    found = []
    if build and build["exit_code"] != 0:
        found.append(f"the build exited {build['exit_code']}")
    if build and build["wall_s"] > TARGET_BUILD_S:
        found.append(f"the build took {_minutes(build['wall_s'])} (target 90 min)")
    for chapter in record.get("chapters", []):
        if (chapter.get("seconds") or 0) > TARGET_CHAPTER_S:
            found.append(f"{chapter['name']} took {_minutes(chapter['seconds'])} (target 10 min)")
    if build and (build.get("peak_rss") or 0) > TARGET_MEMORY:
        found.append(f"a process peaked at {format_bytes(build['peak_rss'])} (target 4 GB)")
    return found + output_problems(summary.get("output") or {}, len(summary["runs"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cifar-report-rehearsal"
    )
    parser.add_argument("--data", help="CIFAR-10 folder (default: the profile's synthetic set)")
    parser.add_argument("--jobs", default="auto", help="training workers (default auto)")
    parser.add_argument("--only", action="append", metavar="CHAPTER", help="a reduced rehearsal")
    parser.add_argument(
        "--parameters",
        type=json.loads,
        default={},
        help='chapter parameters, e.g. \'{"12-robustness": {"seeds": 1}}\'',
    )
    parser.add_argument("--renderer", default="builtin", help="builtin (default), quarto, auto")
    parser.add_argument("--keep", action="store_true", help="keep the workdir's store and cache")
    parser.add_argument("--no-render", action="store_true")
    parser.add_argument("--out", type=Path, help="JSON record (default <workdir>/rehearsal.json)")
    parser.add_argument("--report-only", action="store_true", help="re-read a finished workdir")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    out = args.out or workdir / "rehearsal.json"
    build = None
    if args.report_only and out.is_file():
        build = json.loads(out.read_text()).get("build") or None
        if build and (build.get("plan") or {}).get("whole_build_s_here") is None:
            build["plan"] = plan_estimate(workdir, args)  # the build's plan found no speed
    if not args.report_only:
        prepare(workdir, args.keep)
        write_parameters(workdir, args.parameters)
        load_before = os.getloadavg()[0]
        code, seconds, usage = run_build(workdir, args)
        build = {
            "exit_code": code,
            "wall_s": seconds,
            "peak_rss": usage.peak_rss,
            "cpu_s": usage.cpu_s,
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
            "only": args.only,
            "parameters": args.parameters,
            "jobs": args.jobs,
            "cpus": os.cpu_count(),
            "plan": plan_estimate(workdir, args),
        }
    summary = summarize(workdir, build)
    summary["output"] = check_output(workdir, len(summary["runs"]))
    out.write_text(json.dumps(summary, indent=2))
    print("\n" + tables(summary) + f"\n\nrecord: {out}")
    if build and max(build["load_before"], build["load_after"]) > BUSY_LOAD:
        print(
            f"WARNING: the machine was busy (load average over {BUSY_LOAD}); "
            "these times are not valid measurements"
        )
    missed = problems(summary)
    for line in missed:
        print(f"MISSED: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
