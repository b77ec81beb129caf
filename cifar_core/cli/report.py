"""``cifar-report build | analysis | render | diff``: the report."""

from __future__ import annotations

import argparse
from typing import Any

from cifar_core.cli.options import (
    EXIT_FAILED,
    EXIT_OK,
    add_source,
    add_training,
    add_verbose,
    console,
    executor,
)

RENDERERS = ("auto", "quarto", "builtin")


def _formats(text: str) -> tuple[str, ...]:
    formats = tuple(f.strip() for f in text.split(",") if f.strip())
    unknown = [f for f in formats if f not in ("html", "pdf")]
    if unknown or not formats:
        raise argparse.ArgumentTypeError(f"--to takes html, pdf or html,pdf; got {text!r}")
    return formats


def _render_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--to", type=_formats, default=("html", "pdf"), help="html,pdf (default both)"
    )
    parser.add_argument(
        "--renderer",
        choices=RENDERERS,
        default="auto",
        help="quarto when it is on PATH (auto), or the built-in pandoc + typst renderer",
    )


def _build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verify",
        action="store_true",
        help="check every file of every run it reads against its sha256 (default: only "
        "files whose size or modification time changed); damaged runs are moved aside "
        "and trained again",
    )
    _no_wait(parser)


def _no_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="exit with status 2 instead of waiting when another build, analysis or "
        "render is running in this project",
    )


def add_commands(commands: Any) -> None:
    build = commands.add_parser(
        "build",
        help="train what is missing, re-run changed chapters, render the report",
        description="Train the missing runs, re-execute the chapters whose inputs changed "
        "(saying why; the others are reused), write _variables.yml and render "
        "_site/index.html and _site/index.pdf. Exits 1 when a chapter or the "
        "render fails.",
    )
    add_source(build)
    add_training(build)
    _render_options(build)
    build.add_argument("--no-render", action="store_true", help="stop after the chapters")
    build.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        help="bring only this chapter up to date (repeatable)",
    )
    build.add_argument("--force", action="store_true", help="re-execute every chapter")
    _build_options(build)
    add_verbose(build)
    build.set_defaults(func=cmd_build)

    analysis = commands.add_parser(
        "analysis",
        help="re-run one chapter with new parameters",
        description="Re-execute one analysis notebook, training only the runs its new "
        "parameters need. -p takes the names its parameters cell declares; values "
        "are parsed by the declared type (YAML where it fits: -p seeds '[0, 1]'). "
        "The parameters are kept for this profile (shown by `status`) until --reset.",
    )
    analysis.add_argument("name", help="chapter name, e.g. 07-errors")
    analysis.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a declared parameter",
    )
    analysis.add_argument(
        "--reset",
        action="store_true",
        help="drop the kept parameters and run with the notebook's defaults",
    )
    add_source(analysis)
    add_training(analysis)
    _build_options(analysis)
    add_verbose(analysis)
    analysis.set_defaults(func=cmd_analysis)

    render = commands.add_parser(
        "render",
        help="render the report from the executed chapters",
        description="Render the article from the executed chapters, after checking that they "
        "all come from one profile and none is stale.",
    )
    _render_options(render)
    render.add_argument(
        "--profile",
        metavar="P",
        help="the profile the chapters must come from (default: that of the last build)",
    )
    _no_wait(render)
    add_verbose(render)
    render.set_defaults(func=cmd_render)

    diff = commands.add_parser(
        "diff",
        help="what changed in the results between two builds",
        description="Compare two builds (project folders, or folders of executed notebooks "
        "such as a saved copy of notebooks/): every changed table cell, verdict, claim "
        "outcome, generated sentence, figure value and _variables.yml entry, grouped by "
        "chapter; one line when nothing changed. Table rows are matched by their key "
        "columns (variant, study, compared with, …), so added, removed and reordered rows "
        "show as such. Timings, absolute paths, dates, versions, hashes and the build "
        "environment are not results and are set aside (the footer says which and how "
        "many); --include KIND compares them too. Exit 2 when a path is not a build.",
    )
    diff.add_argument("old", metavar="OLD", help="the earlier build (project or notebooks folder)")
    diff.add_argument("new", metavar="NEW", help="the later build (project or notebooks folder)")
    diff.add_argument("--json", action="store_true", help="print the differences as JSON")
    diff.add_argument(
        "--chapter", metavar="NAME", help="only this chapter (e.g. 03-architecture, 03, build)"
    )
    diff.add_argument(
        "--exit-code",
        action="store_true",
        help="exit 1 when the builds differ (as `git diff --exit-code`), 0 when not",
    )
    diff.add_argument(
        "--include",
        metavar="KIND",
        action="append",
        default=[],
        choices=_diff_kinds(),
        help=f"compare what is ignored by default, repeatable: {', '.join(_diff_kinds())}",
    )
    diff.add_argument(
        "--include-timing",
        dest="include",
        action="append_const",
        const="timing",
        help="compare timings too (same as --include timing)",
    )
    diff.set_defaults(func=cmd_diff)


def _diff_kinds() -> tuple[str, ...]:
    from cifar_core.orchestrate.diff.ignore import KINDS

    return KINDS


def cmd_build(args: argparse.Namespace) -> int:
    from cifar_core.orchestrate.build import build

    with console(args, "build") as (log, progress):
        result = build(
            args.profile,
            args.data,
            runs_dir=args.runs,
            analyses=args.only,
            to=args.to,
            renderer=args.renderer,
            render=not args.no_render,
            force=args.force,
            verify=args.verify,
            wait=not args.no_wait,
            executor=executor(args),
            log=log,
            progress=progress,
        )
    return result.exit_code


def cmd_analysis(args: argparse.Namespace) -> int:
    from cifar_core.orchestrate.build import run_analysis

    with console(args, "analysis") as (log, progress):
        result = run_analysis(
            args.name,
            args.parameter,
            profile=args.profile,
            data=args.data,
            runs_dir=args.runs,
            reset=args.reset,
            verify=args.verify,
            wait=not args.no_wait,
            executor=executor(args),
            log=log,
            progress=progress,
        )
    if result.ok:
        print("run `cifar-report render` (or `build`) to update the report")
    return result.exit_code


def cmd_render(args: argparse.Namespace) -> int:
    from cifar_core.orchestrate.build import render_report, teller
    from cifar_core.orchestrate.lock import project_lock
    from cifar_core.project import project_root

    root = project_root()
    with console(args, "render") as (log, progress):
        say = teller(log, progress)  # which renderer, what it wrote: on the console too
        with project_lock(root, "render", wait=not args.no_wait, log=say):
            error = render_report(root, args.to, args.renderer, args.profile, say, detail=log)
    return EXIT_OK if error is None else EXIT_FAILED


def cmd_diff(args: argparse.Namespace) -> int:
    from cifar_core.orchestrate.diff import diff_builds
    from cifar_core.orchestrate.diff.show import as_json, as_text

    diff = diff_builds(args.old, args.new, include=tuple(args.include), chapter=args.chapter)
    print(as_json(diff) if args.json else as_text(diff))
    return EXIT_FAILED if args.exit_code and not diff.identical else EXIT_OK
