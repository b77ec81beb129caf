"""The report commands of ``cifar-report``: ``build``, ``analysis`` and ``render``.

:func:`add_report_commands` adds them to the CLI's subparsers; each sets ``func`` to a
handler that takes the parsed arguments and returns the exit code (0 ok, 1 failure).
Nothing heavy is imported until a command runs.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from cifar_core import catalog
from cifar_core.cli import jobs_option

PROFILES = tuple(profile.name for profile in catalog.profiles())
RENDERERS = ("auto", "quarto", "builtin")


def _formats(text: str) -> tuple[str, ...]:
    formats = tuple(f.strip() for f in text.split(",") if f.strip())
    unknown = [f for f in formats if f not in ("html", "pdf")]
    if unknown or not formats:
        raise argparse.ArgumentTypeError(f"--to takes html, pdf or html,pdf; got {text!r}")
    return formats


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=PROFILES, default="demo",
                        help="data and epoch budget (default: demo, synthetic and offline)")
    parser.add_argument("--data", metavar="PATH",
                        help="CIFAR-10 location (cifar-10-batches-py, its parent or the .tar.gz) "
                             "or 'synthetic'; default: the profile's source")
    parser.add_argument("--runs", metavar="DIR", help="run store (default: ./runs or $CIFAR_REPORT_RUNS)")
    jobs_option(parser)


def add_report_commands(subparsers: Any) -> None:
    """Add ``build``, ``analysis`` and ``render`` to ``subparsers``."""
    build = subparsers.add_parser(
        "build", help="train what is missing, run changed analyses, render the report",
        description="Train the missing runs, execute the analyses whose inputs changed "
                    "(reusing the others), write _variables.yml and render _site/index.html "
                    "and _site/index.pdf. Exits 1 when an analysis or the render fails.")
    _add_common(build)
    build.add_argument("--to", type=_formats, default=("html", "pdf"), help="html,pdf (default both)")
    build.add_argument("--renderer", choices=RENDERERS, default="auto",
                       help="quarto when on PATH (auto), or the built-in pandoc+typst renderer")
    build.add_argument("--no-render", action="store_true", help="stop after the analyses")
    build.add_argument("--only", metavar="NAME", action="append",
                       help="run only this analysis (repeatable)")
    build.add_argument("--force", action="store_true", help="re-execute every analysis")
    build.set_defaults(func=run_build)

    analysis = subparsers.add_parser(
        "analysis", help="re-run one analysis with new parameters",
        description="Re-execute one analysis notebook with papermill, training only the "
                    "variants its new parameters need. Values are YAML: -p seeds '[0, 1]'. "
                    "The parameters are remembered by later builds until --reset.")
    analysis.add_argument("name", help="analysis name, e.g. 07-errors")
    analysis.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                          metavar=("KEY", "VALUE"), help="set a notebook parameter")
    analysis.add_argument("--reset", action="store_true",
                          help="drop remembered parameters and run with the notebook's defaults")
    _add_common(analysis)
    analysis.set_defaults(func=run_analysis_command)

    render = subparsers.add_parser("render", help="render the report from the executed analyses")
    render.add_argument("--to", type=_formats, default=("html", "pdf"), help="html,pdf (default both)")
    render.add_argument("--renderer", choices=RENDERERS, default="auto")
    render.add_argument("--profile", choices=PROFILES, default=None,
                        help="default: the profile of the last build (from _variables.yml)")
    render.set_defaults(func=run_render)


def run_build(args: argparse.Namespace) -> int:
    from cifar_core.pipeline import PipelineError, build

    try:
        result = build(profile=args.profile, data=args.data, to=args.to, renderer=args.renderer,
                       runs_dir=args.runs, analyses=args.only, render=not args.no_render,
                       force=args.force, jobs=args.jobs)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return result.exit_code


def run_analysis_command(args: argparse.Namespace) -> int:
    from cifar_core.pipeline import PipelineError, parse_cli_parameters, run_analysis

    try:
        result = run_analysis(args.name, parse_cli_parameters(args.parameter), profile=args.profile,
                              data=args.data, runs_dir=args.runs, reset=args.reset,
                              jobs=args.jobs)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if result.ok:
        print("run `cifar-report render` (or `build`) to update the report")
    return result.exit_code


def run_render(args: argparse.Namespace) -> int:
    from cifar_core.pipeline import project_root, render_report

    _, error = render_report(project_root(), args.to, args.renderer, args.profile)
    return 0 if error is None else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (the project CLI is :mod:`cifar_core.cli`)."""
    parser = argparse.ArgumentParser(prog="cifar-report")
    add_report_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
