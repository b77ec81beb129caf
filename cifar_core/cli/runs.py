"""``cifar-report data | list | train | status | clean``: the dataset, the catalog and
the run store. Cached answers never import Keras or TensorFlow."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cifar_core.cli.options import (
    EXIT_FAILED,
    EXIT_OK,
    add_runs,
    add_source,
    add_training,
    add_verbose,
    console,
    executor,
)
from cifar_core.project import ProjectError

if TYPE_CHECKING:
    from cifar_core.runs.speed import MachineSpeed


def add_commands(commands: Any) -> None:
    data = commands.add_parser(
        "data",
        help="describe a dataset: source, fingerprint, counts, statistics",
        description="Load a dataset and describe it.",
    )
    add_source(data, limit=True, runs=False)
    data.set_defaults(func=cmd_data)

    listing = commands.add_parser(
        "list",
        help="the experiment catalog",
        description="Every catalog variant with its study, seed source, "
        "reported accuracy, parameters, FLOPs and whether "
        "its runs are in the store.",
    )
    listing.add_argument("--study", action="append", metavar="S", help="only study S (repeatable)")
    add_source(listing, limit=True)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=cmd_list)

    train = commands.add_parser(
        "train",
        help="train (or reuse) variants",
        description="Train the named variants (catalog names or variant .json/.yaml files), "
        "reusing every run that is already in the store.",
    )
    train.add_argument(
        "variants",
        nargs="*",
        metavar="VARIANT",
        help="catalog variant name, or a path to a variant .json/.yaml file",
    )
    train.add_argument(
        "--study",
        action="append",
        default=[],
        metavar="S",
        help="train every variant of study S (repeatable)",
    )
    train.add_argument("--all", action="store_true", help="train the whole catalog")
    train.add_argument("--epochs", type=int, metavar="N", help="override every variant's epochs")
    add_source(train, limit=True)
    add_training(train)
    add_verbose(train)
    train.set_defaults(func=cmd_train)

    plan = commands.add_parser(
        "plan",
        help="the compute a profile needs: FLOPs, cached?, time here and on a GPU",
        description="For every run of a profile: its training FLOPs (forward FLOPs x 3 x "
        "training images x epochs), whether it is cached, and the estimated wall "
        "time on this machine (a short measured calibration, cached) and on an "
        "accelerator (its peak x a utilization), per study and in total. The "
        "assumptions are printed with the numbers.",
    )
    plan.add_argument("--study", action="append", metavar="S", help="only study S (repeatable)")
    add_source(plan, limit=True)
    plan.add_argument(
        "--accelerator",
        default="H100-SXM",
        metavar="NAME",
        help="H100-SXM (default), H200, H100-PCIe, A100, L40S, L4, V100 or T4",
    )
    plan.add_argument(
        "--utilization",
        type=float,
        default=0.25,
        metavar="F",
        help="fraction of the accelerator's peak training achieves (default 0.25)",
    )
    plan.add_argument(
        "--accelerator-step-ms",
        type=float,
        default=2.0,
        metavar="MS",
        help="assumed overhead per training step on the accelerator (default 2)",
    )
    plan.add_argument(
        "--gpus",
        default="1,2,4,8,16",
        metavar="N,N",
        help="accelerator counts for the wall time under Ray (default 1,2,4,8,16)",
    )
    plan.add_argument(
        "--measure",
        choices=("auto", "cached", "never", "again"),
        default="auto",
        help="this machine's speed: measured once and cached (auto), only if "
        "cached, not estimated (never), or measured again",
    )
    plan.add_argument("--json", action="store_true", help="print JSON instead of tables")
    plan.set_defaults(func=cmd_plan)

    status = commands.add_parser(
        "status",
        help="the run store and the report's chapters",
        description="The run store as a table (variant, key, state: cached / stale / "
        "incomplete / corrupt, test accuracy, time; for a damaged run the file and "
        "what is wrong with it), damaged runs moved aside, then the parameters set "
        "with `analysis -p`. Files are checked by size and modification time, and "
        "hashed when either changed.",
    )
    add_runs(status)
    status.add_argument(
        "--stale",
        action="store_true",
        help="list only runs trained by training code that is no longer current",
    )
    status.add_argument(
        "--verify",
        action="store_true",
        help="hash every file of every run against its manifest (slower; finds damage "
        "that kept a file's size and time, e.g. a bad disk sector)",
    )
    status.set_defaults(func=cmd_status)

    clean = commands.add_parser(
        "clean",
        help="remove damaged runs, runs moved aside (and, with --stale, stale runs)",
        description="Remove incomplete and corrupt run entries (every file hashed), "
        "damaged runs that a build moved aside (runs/.corrupt/), temporary "
        "entries no live process owns and leftovers of earlier removals; with "
        "--stale also complete runs of outdated training code. A run that a live "
        "build holds is never removed.",
    )
    add_runs(clean)
    clean.add_argument("--stale", action="store_true", help="also remove stale runs")
    clean.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    clean.set_defaults(func=cmd_clean)


# --------------------------------------------------------------------------- helpers
def _store(args: argparse.Namespace):
    from cifar_core.runs.store import RunStore

    return RunStore(Path(args.runs).resolve() if args.runs else None)


def _profile(args: argparse.Namespace):
    from cifar_core.orchestrate.build import resolve_profile

    return resolve_profile(args.profile)


def _dataset(args: argparse.Namespace, profile: Any = None):
    """The profile's dataset, with ``--data`` / ``--limit-per-batch`` applied."""
    from cifar_core.data import load_dataset

    kwargs = dict(profile.dataset_kwargs()) if profile is not None else {}
    if args.data:
        kwargs["source"] = args.data
    if args.limit_per_batch is not None:
        kwargs["limit_per_batch"] = args.limit_per_batch
    return load_dataset(**kwargs)


def read_variant_file(path: Path):
    """A :class:`~cifar_core.experiments.variant.Variant` from a .json/.yaml file;
    errors name the file."""
    from cifar_core.experiments.variant import Variant, VariantError

    try:
        text = path.read_text()
    except OSError as error:
        raise ProjectError(f"{path}: cannot read the variant file ({error.strerror})") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            config = yaml.safe_load(text)
        else:
            config = json.loads(text)
    except ValueError as error:  # json and yaml errors are ValueErrors
        raise ProjectError(f"{path}: not valid {path.suffix[1:].upper()}: {error}") from None
    if not isinstance(config, dict):
        raise ProjectError(
            f"{path}: a variant file holds one mapping of keys (name, family, params, …)"
        )
    try:
        return Variant.from_dict(config)
    except VariantError as error:
        raise VariantError(f"{path}: {error}") from None


def _is_variant_file(text: str) -> bool:
    return Path(text).suffix in (".json", ".yaml", ".yml") or Path(text).is_file()


def resolve_variants(args: argparse.Namespace) -> list:
    """The variants ``train`` runs: files as written, catalog names/studies scaled by the
    profile (once per profile seed), then ``--epochs`` applied to all."""
    from cifar_core.experiments import catalog
    from cifar_core.experiments.plan import check_names

    variants = [read_variant_file(Path(v)) for v in args.variants if _is_variant_file(v)]
    names = [v for v in args.variants if not _is_variant_file(v)]
    if names or args.study or args.all:
        check_names(args.study or None, names or None)
        variants += catalog.plan(
            _profile(args),
            studies=None if args.all else args.study or None,
            names=None if args.all else names or None,
        )
    if not variants:
        raise ProjectError("train: name at least one VARIANT, or use --study S or --all")
    if args.epochs is not None:
        if args.epochs < 1:
            raise ProjectError(f"--epochs must be >= 1, got {args.epochs}")
        variants = [v.replace(epochs=args.epochs) for v in variants]
    return variants


def _table(rows: list[dict], columns: list[str]) -> str:
    import pandas as pd

    if not rows:
        return "(none)"
    frame = pd.DataFrame(rows)[columns]
    return frame.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.3f}")


# --------------------------------------------------------------------------- commands
def cmd_data(args: argparse.Namespace) -> int:
    from cifar_core.data import describe, format_description

    profile = _profile(args) if args.profile else None
    print(format_description(describe(_dataset(args, profile))))
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from cifar_core.runs.ensure import ensure_runs, plan_runs

    variants = resolve_variants(args)
    dataset = _dataset(args, _profile(args))
    store = _store(args)
    print(
        f"data: {dataset.source} ({len(dataset.y_train)} train / {len(dataset.y_test)} test, "
        f"fingerprint {dataset.fingerprint}{', SYNTHETIC' if dataset.synthetic else ''})"
    )
    plan = plan_runs(variants, dataset.fingerprint, store)
    print(plan.summary())
    for line in plan.damage_lines():
        print(line)
    if plan.missing:
        with console(args, "train") as (log, progress):
            progress.runs_planned(plan.reused, len(plan.missing), len(plan.refused))
            ensure_runs(
                variants,
                dataset,
                store,
                executor=executor(args),
                log=log,
                plan=plan,
                on_done=lambda run: progress.run_done(run.name, run.key),
            )
    for key, run in plan.runs.items():
        if run is not None:
            print(f"{run.name:<28} [{key}] test accuracy {run.metrics['test_accuracy']:.3f}")
    return EXIT_FAILED if plan.refused else EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from cifar_core.runs.compute_plan import compute_plan
    from cifar_core.runs.speed import machine_speed

    profile = _profile(args)
    check_names_of_studies(args.study)
    try:
        counts = [int(n) for n in args.gpus.split(",")]
    except ValueError:
        raise ProjectError(
            f"--gpus takes whole numbers separated by commas, got {args.gpus!r}"
        ) from None
    dataset = _dataset(args, profile) if args.data or profile.data == "synthetic" else None
    note = lambda line: print(line, file=sys.stderr)  # noqa: E731 - keeps --json clean
    speed: str | MachineSpeed | None = None if args.measure == "never" else args.measure
    if args.measure == "again":
        speed = machine_speed(refresh=True, log=note)
    try:
        store = _store(args)
        plan = compute_plan(
            profile,
            studies=args.study,
            dataset=dataset,
            store=store,
            fingerprint=None if dataset else _stored_fingerprint(store),
            speed=speed,
            accelerator=args.accelerator,
            utilization=args.utilization,
            accelerator_step_s=args.accelerator_step_ms / 1000,
            device_counts=counts,
            log=note,
        )
    except ValueError as error:
        raise ProjectError(str(error)) from None
    if args.study:  # the chapters' own work belongs to the whole build
        print(json.dumps(plan.to_dict(), indent=2) if args.json else plan.format_table())
        return EXIT_OK
    analysis = _analysis_plan(args, profile, plan)
    if args.json:
        from cifar_core.orchestrate.analysis_plan import whole_build

        whole = {"analysis": analysis.to_dict(), "whole_build": whole_build(plan, analysis)}
        print(json.dumps({**plan.to_dict(), **whole}, indent=2))
    else:
        print(_with_analysis(plan, analysis))
    return EXIT_OK


def _analysis_plan(args: argparse.Namespace, profile: Any, plan: Any) -> Any:
    """What the chapters of ``profile`` predict again, priced as ``plan`` prices training."""
    from cifar_core.orchestrate.analysis_plan import analysis_plan
    from cifar_core.project import project_root
    from cifar_core.runs.speed import MachineSpeed

    speed = plan.settings["speed_here"]
    return analysis_plan(
        project_root(),
        profile,
        n_images=plan.settings["n_images"],
        n_test=plan.settings["n_test"],
        speed=MachineSpeed.from_dict(speed) if speed else None,
        accelerator=args.accelerator,
        utilization=args.utilization,
        accelerator_step_s=args.accelerator_step_ms / 1000,
    )


def _with_analysis(plan: Any, analysis: Any) -> str:
    """The training tables and totals, the analysis table, the whole build, assumptions."""
    from cifar_core.orchestrate.analysis_plan import whole_build_text
    from cifar_core.runs.compute_plan import TRAINING_ONLY

    training = plan.format_table().partition("\nAssumptions:\n")[0]
    assumptions = [a for a in plan.assumptions if a != TRAINING_ONLY] + analysis.assumptions
    return "\n".join(
        [
            training.rstrip(),
            "",
            analysis.format_table(),
            "",
            whole_build_text(plan, analysis),
            "",
            "Assumptions:",
            *(f"- {line}" for line in assumptions),
        ]
    )


def check_names_of_studies(studies) -> None:
    from cifar_core.experiments.plan import check_names

    check_names(studies or None, where="--study: ")


def cmd_status(args: argparse.Namespace) -> int:
    store = _store(args)
    rows = store.entries(verify=args.verify)
    if args.stale:
        rows = [row for row in rows if row["state"] == "stale"]
    print(f"run store: {store.root}")
    columns = ["variant", "key", "state", "test_accuracy", "wall_time_s"]
    damaged = [row for row in rows if row["problem"]]
    print(_table(rows, columns + (["problem"] if damaged else [])))
    if damaged:
        print(
            f"\n{len(damaged)} damaged run(s): `cifar-report build` moves them aside and "
            "trains them again; `cifar-report clean` removes them"
        )
    aside = store.set_aside_entries()
    if aside:
        print(f"\ndamaged runs moved aside ({len(aside)}; `cifar-report clean` removes them):")
        for row in aside:
            print(
                f"  {row['path'].name}: {row.get('variant')} - {row.get('file')}: "
                f"{row.get('problem')} (moved {row.get('moved')})"
            )
    _print_overrides()
    return EXIT_OK


def _print_overrides() -> None:
    """The parameters set with ``cifar-report analysis NAME -p`` (per profile)."""
    from cifar_core.orchestrate.notebooks import overrides_path
    from cifar_core.project import find_project_root

    root = find_project_root()
    path = overrides_path(root) if root else None
    every = json.loads(path.read_text()) if path and path.is_file() else {}
    if not every:
        return
    print(
        "\nchapter parameters changed from defaults (`cifar-report analysis NAME --reset` clears):"
    )
    for profile, chapters in sorted(every.items()):
        for name, values in sorted(chapters.items()):
            settings = ", ".join(f"{k} = {json.dumps(v)}" for k, v in values.items())
            print(f"  {profile:<7} {name}: {settings}")


def cmd_clean(args: argparse.Namespace) -> int:
    removed = _store(args).clean(stale=args.stale, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for path in removed:
        print(f"{verb} {path}")
    print(f"{verb} {len(removed)} entr{'y' if len(removed) == 1 else 'ies'}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from cifar_core.cli.listing import listing

    profile = _profile(args)
    check_names_of_studies(args.study)
    is_cached = _cache_checker(args, profile)
    rows = listing(profile, is_cached, studies=args.study)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(
            _table(
                [_readable_row(row) for row in rows],
                ["name", "study", "source", "reported", "params", "flops", "cached"],
            )
        )
    return EXIT_OK


def _readable_row(row: dict) -> dict:
    """A listing row for the text table: counts with separators, the figure in percent."""

    def count(value):
        return "-" if value is None else f"{int(value):,}"

    reported = row["reported_test_accuracy"]
    return {
        **row,
        "params": count(row["params"]),
        "flops": count(row["flops"]),
        "reported": "-" if reported is None else f"{reported * 100:.1f} %",
        "cached": {True: "yes", False: "no", None: "-"}[row["cached"]],
    }


def _cache_checker(args: argparse.Namespace, profile: Any):
    """``variant -> cached?`` for the dataset that "cached" refers to: ``--data`` or the
    profile's synthetic data (cheap, offline), else the one the stored runs share, so
    that ``list`` never downloads anything. ``None`` leaves the column blank."""
    from cifar_core.runs.keys import run_key

    store = _store(args)
    if args.data or profile.data == "synthetic":
        fingerprint = _dataset(args, profile).fingerprint
    else:
        fingerprint = _stored_fingerprint(store)
    if fingerprint is None:
        return None
    return lambda variant: store.check(run_key(variant, fingerprint)).usable


def _stored_fingerprint(store: Any) -> str | None:
    """The dataset fingerprint every stored run shares (``None`` when they differ or
    there are none), so that ``list``/``plan`` never download anything."""
    fingerprints = {run.config["dataset"]["fingerprint"] for run in store.runs()}
    return fingerprints.pop() if len(fingerprints) == 1 else None
