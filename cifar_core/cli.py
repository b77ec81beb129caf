"""The ``cifar-report`` command.

Subcommands: ``data`` (describe a dataset), ``train`` (train or reuse variants, locally
or on a Ray cluster), ``plan`` (the compute a profile needs), ``status`` (the run store
as a table), ``clean`` (remove stale/incomplete entries), ``list`` (the experiment
catalog), plus ``build``/``analysis``/``render`` from
:mod:`cifar_core.report_cli`. Importing this module is cheap: data, catalog and
training code (Keras) are imported only by the command that needs them.

Errors a user can fix (bad data path, invalid variant, unknown name) print one line
``error: …`` to stderr and exit with status 2.
"""
from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

PROFILE_ENV = "CIFAR_REPORT_PROFILE"


class CLIError(Exception):
    """A problem with the command line; printed as one line, exit status 2."""


# ---------------------------------------------------------------------- parser
def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="PATH|synthetic",
                        help="cifar-10-batches-py folder, its parent, cifar-10-python.tar.gz, "
                             "or 'synthetic' (default: the profile's data; else $CIFAR10_DIR, "
                             "the Keras cache, a Keras download)")
    parser.add_argument("--limit-per-batch", type=int, metavar="N",
                        help="keep only the first N images of every batch file")


def _profile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default=os.environ.get(PROFILE_ENV, "demo"),
                        help="demo | sample | full | smoke: data and epoch budget "
                             "(default: $CIFAR_REPORT_PROFILE or demo)")


def jobs_option(parser: argparse.ArgumentParser) -> None:
    """``--jobs N|auto``: how many worker processes train missing runs."""
    from cifar_core.parallel import parse_jobs

    def jobs(text: str):
        try:
            return parse_jobs(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parser.add_argument("--jobs", type=jobs, default="auto", metavar="N|auto",
                        help="processes that train missing runs (default auto: 1 on a GPU, up to 4 "
                             "on a CPU, sharing its cores; 1 shows Keras progress bars)")


def executor_options(parser: argparse.ArgumentParser) -> None:
    """``--executor local|ray``, ``--address ADDR`` and ``--ray-ship-code``."""
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="who trains missing runs: worker processes here (local, default) "
                             "or a Ray cluster (ray; pip install -e \".[ray]\")")
    parser.add_argument("--address", metavar="ADDR",
                        help="the Ray cluster: host:6379 (a head node), ray://host:10001 (Ray "
                             "Client) or auto; default $RAY_ADDRESS, else a Ray on this "
                             "machine (needs --executor ray)")
    parser.add_argument("--ray-ship-code", action="store_true",
                        help="upload this cifar_core to the Ray workers instead of using "
                             "their installed copy (needs --executor ray)")


def train_missing(args: argparse.Namespace, variants: list, dataset: Any, store: Any, *,
                  verbose: int = 1) -> list:
    """Train (or reuse) ``variants`` with the executor chosen on the command line."""
    if args.executor != "ray":
        if args.address or args.ray_ship_code:
            raise CLIError("--address and --ray-ship-code need --executor ray")
        from cifar_core.parallel import train_runs

        return train_runs(variants, dataset, store, jobs=args.jobs, verbose=verbose)
    from cifar_core.runs.executors.ray_executor import train_runs_ray

    return train_runs_ray(variants, dataset, store, address=args.address,
                          ship_code=args.ray_ship_code)


def _runs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", metavar="DIR",
                        help="run store directory (default: $CIFAR_REPORT_RUNS or ./runs)")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (``cifar-report --help``)."""
    parser = argparse.ArgumentParser(
        prog="cifar-report",
        description="A literate CIFAR-10 research report that rebuilds itself from code.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="describe a dataset: source, fingerprint, counts, statistics",
                          description="Load a dataset and describe it.")
    _data_options(data)
    data.set_defaults(func=cmd_data)

    train = sub.add_parser(
        "train", help="train (or reuse) variants",
        description="Train the named variants (catalog names or variant .json/.yaml files), "
                    "reusing every run that is already in the store.")
    train.add_argument("variants", nargs="*", metavar="VARIANT",
                       help="catalog variant name, or a path to a variant .json/.yaml file")
    train.add_argument("--study", action="append", default=[], metavar="S",
                       help="train every variant of study S (repeatable)")
    train.add_argument("--all", action="store_true", help="train the whole catalog")
    _profile_option(train)
    _data_options(train)
    train.add_argument("--epochs", type=int, metavar="N", help="override every variant's epochs")
    _runs_option(train)
    jobs_option(train)
    executor_options(train)
    train.add_argument("--quiet", action="store_true", help="no Keras progress bars")
    train.set_defaults(func=cmd_train)

    plan = sub.add_parser(
        "plan", help="the compute a profile needs: FLOPs, cached?, time here and on a GPU",
        description="For every run of a profile: its training FLOPs (forward FLOPs x 3 x "
                    "training images x epochs), whether it is cached, and the estimated "
                    "wall time on this machine (a short measured calibration, cached) and "
                    "on an accelerator (its peak x a utilization), per study and in total. "
                    "The assumptions are printed with the numbers.")
    plan.add_argument("--study", action="append", metavar="S", help="only study S (repeatable)")
    _profile_option(plan)
    _data_options(plan)
    _runs_option(plan)
    plan.add_argument("--accelerator", default="H100-SXM", metavar="NAME",
                      help="H100-SXM (default), H200, H100-PCIe, A100, L40S, L4, V100 or T4")
    plan.add_argument("--utilization", type=float, default=0.25, metavar="F",
                      help="fraction of the accelerator's peak training achieves (default 0.25)")
    plan.add_argument("--accelerator-step-ms", type=float, default=2.0, metavar="MS",
                      help="assumed overhead per training step on the accelerator (default 2)")
    plan.add_argument("--gpus", default="1,2,4,8,16", metavar="N,N",
                      help="accelerator counts for the wall time under Ray (default 1,2,4,8,16)")
    plan.add_argument("--measure", choices=("auto", "cached", "never", "again"), default="auto",
                      help="this machine's speed: measured once and cached (auto), only if "
                           "cached, not estimated (never), or measured again")
    plan.add_argument("--json", action="store_true", help="print JSON instead of tables")
    plan.set_defaults(func=cmd_plan)

    status = sub.add_parser("status", help="table of the runs in the store",
                            description="List the run store: variant, key, state "
                                        "(cached / stale / incomplete), test accuracy, wall time.")
    _runs_option(status)
    status.set_defaults(func=cmd_status)

    clean = sub.add_parser("clean", help="remove stale and incomplete runs",
                           description="Remove stale and incomplete run entries and orphan "
                                       "temporary directories.")
    _runs_option(clean)
    clean.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    clean.set_defaults(func=cmd_clean)

    listing = sub.add_parser("list", help="the experiment catalog",
                             description="Every catalog variant with its study, seed source, "
                                         "reported accuracy, parameters, FLOPs and cache state.")
    listing.add_argument("--study", action="append", metavar="S", help="only study S (repeatable)")
    _profile_option(listing)
    _data_options(listing)
    _runs_option(listing)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=cmd_list)

    from cifar_core.report_cli import add_report_commands

    add_report_commands(sub)
    return parser


# ---------------------------------------------------------------------- helpers
def _store(args: argparse.Namespace):
    from cifar_core.store import RunStore

    return RunStore(args.runs)


def _load_dataset(args: argparse.Namespace, profile: Any = None):
    """The dataset for a command: the profile's data, overridden by --data/--limit-per-batch."""
    from cifar_core.data import load_dataset

    kwargs = dict(profile.dataset_kwargs()) if profile is not None else {}
    if args.data:
        kwargs["source"] = args.data
    if args.limit_per_batch is not None:
        kwargs["limit_per_batch"] = args.limit_per_batch
    return load_dataset(**kwargs)


def _profile(name: str):
    from cifar_core import catalog

    try:
        return catalog.get_profile(name)
    except KeyError as error:
        raise CLIError(f"--profile: {error.args[0]}") from None


def read_variant_file(path: Path):
    """A :class:`Variant` from a .json/.yaml file; errors name the file."""
    from cifar_core.variants import Variant, VariantError

    try:
        text = path.read_text()
    except OSError as error:
        raise CLIError(f"{path}: cannot read the variant file ({error.strerror})") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            config = yaml.safe_load(text)
        else:
            config = json.loads(text)
    except ValueError as error:  # json and yaml errors are ValueErrors
        raise CLIError(f"{path}: not valid {path.suffix[1:].upper()}: {error}") from None
    if not isinstance(config, dict):
        raise CLIError(f"{path}: a variant file holds one mapping of keys "
                       "(name, family, params, …)")
    try:
        return Variant.from_dict(config)
    except VariantError as error:
        raise VariantError(f"{path}: {error}") from None


def _is_variant_file(text: str) -> bool:
    return Path(text).suffix in (".json", ".yaml", ".yml") or Path(text).is_file()


def _close_matches_error(name: str, known: list[str]) -> CLIError:
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see `cifar-report list`"
    return CLIError(f"unknown variant {name!r}{hint}")


def resolve_variants(args: argparse.Namespace) -> list:
    """The variants ``train`` runs: files as written, catalog names/studies scaled by the
    profile (once per profile seed), then ``--epochs`` applied to all."""
    files = [read_variant_file(Path(v)) for v in args.variants if _is_variant_file(v)]
    names = [v for v in args.variants if not _is_variant_file(v)]
    variants = list(files)
    if names or args.study or args.all:
        variants += _catalog_variants(args, names)
    if not variants:
        raise CLIError("train: name at least one VARIANT, or use --study S or --all")
    if args.epochs is not None:
        if args.epochs < 1:
            raise CLIError(f"--epochs must be >= 1, got {args.epochs}")
        variants = [v.replace(epochs=args.epochs) for v in variants]
    return variants


def _catalog_variants(args: argparse.Namespace, names: list[str]) -> list:
    from cifar_core import catalog

    known = [v.name for v in catalog.all_variants()]
    for name in names:
        if name not in known:
            raise _close_matches_error(name, known)
    try:
        return catalog.plan(args.profile, studies=None if args.all else args.study or None,
                            names=None if args.all else names or None)
    except KeyError as error:
        raise CLIError(error.args[0]) from None


def _table(rows: list[dict], columns: list[str]) -> str:
    import pandas as pd

    if not rows:
        return "(none)"
    frame = pd.DataFrame(rows)[columns]
    return frame.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.3f}")


# ---------------------------------------------------------------------- commands
def cmd_data(args: argparse.Namespace) -> int:
    from cifar_core.data import describe, format_description

    print(format_description(describe(_load_dataset(args))))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    variants = resolve_variants(args)
    dataset = _load_dataset(args, _profile(args.profile))
    print(f"data: {dataset.source} ({len(dataset.y_train)} train / {len(dataset.y_test)} test, "
          f"fingerprint {dataset.fingerprint}{', SYNTHETIC' if dataset.synthetic else ''})")
    train_missing(args, variants, dataset, _store(args), verbose=0 if args.quiet else 1)
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from cifar_core.runs.compute_plan import compute_plan
    from cifar_core.runs.speed import machine_speed

    profile = _profile(args.profile)
    try:
        counts = [int(n) for n in args.gpus.split(",")]
    except ValueError:
        raise CLIError(f"--gpus takes whole numbers separated by commas, got {args.gpus!r}") from None
    dataset = _load_dataset(args, profile) if args.data or profile.data == "synthetic" else None
    note = lambda line: print(line, file=sys.stderr)  # noqa: E731 - keeps --json clean
    speed = {"auto": "auto", "cached": "cached", "never": None}.get(args.measure)
    if args.measure == "again":
        speed = machine_speed(refresh=True, log=note)
    try:
        plan = compute_plan(profile, studies=args.study, dataset=dataset, store=_store(args),
                            fingerprint=None if dataset else _listing_fingerprint(args, profile),
                            speed=speed, accelerator=args.accelerator,
                            utilization=args.utilization,
                            accelerator_step_s=args.accelerator_step_ms / 1000,
                            device_counts=counts, log=note)
    except KeyError as error:
        raise CLIError(error.args[0]) from None
    except ValueError as error:
        raise CLIError(str(error)) from None
    print(json.dumps(plan.to_dict(), indent=2) if args.json else plan.format_table())
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    store = _store(args)
    rows = store.entries()
    print(f"run store: {store.root}")
    print(_table(rows, ["variant", "key", "state", "test_accuracy", "wall_time_s"]))
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    removed = _store(args).clean(dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for path in removed:
        print(f"{verb} {path}")
    print(f"{verb} {len(removed)} entr{'y' if len(removed) == 1 else 'ies'}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from cifar_core import catalog

    profile = _profile(args.profile)
    try:
        rows = catalog.listing(profile, _store(args), studies=args.study,
                               fingerprint=_listing_fingerprint(args, profile))
    except KeyError as error:
        raise CLIError(error.args[0]) from None
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(_table([_readable_row(row) for row in rows],
                     ["name", "study", "source", "reported", "params", "flops", "cached"]))
    return 0


def _readable_row(row: dict) -> dict:
    """A listing row for the text table: counts with separators, the figure in percent."""
    def count(value):
        return "-" if value is None else f"{int(value):,}"

    reported = row["reported_test_accuracy"]
    return {**row, "params": count(row["params"]), "flops": count(row["flops"]),
            "reported": "-" if reported is None else f"{reported * 100:.1f} %",
            "cached": {True: "yes", False: "no", None: "-"}[row["cached"]]}


def _listing_fingerprint(args: argparse.Namespace, profile: Any) -> str | None:
    """The dataset fingerprint "cached" refers to: of ``--data`` or of the profile's
    synthetic data (cheap, offline); otherwise that of the stored runs when they all
    agree, so ``list`` never downloads anything. None: "cached" is left blank."""
    if args.data or profile.data == "synthetic":
        return _load_dataset(args, profile).fingerprint
    fingerprints = {run.config["dataset"]["fingerprint"] for run in _store(args).runs()}
    return fingerprints.pop() if len(fingerprints) == 1 else None


# ---------------------------------------------------------------------- entry point
def _user_errors() -> tuple[type[BaseException], ...]:
    from cifar_core.data.errors import DataError
    from cifar_core.runs.executors.ray_executor import RayExecutorError
    from cifar_core.variants import VariantError

    return (CLIError, DataError, VariantError, RayExecutorError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``cifar-report`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except _user_errors() as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the run store holds only complete runs", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
