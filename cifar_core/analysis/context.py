"""What an analysis notebook works with, read-only: the build's profile, data and run
store, the runs of the studies it reads, and :meth:`AnalysisContext.publish` for the
numbers the article quotes.

The context never trains (``cifar-report build`` and ``cifar-report analysis`` train
first); a run that is missing is listed in :attr:`AnalysisContext.not_run` with the
reason. It records, as the notebook runs, what the chapter actually read — run keys,
external inputs such as the VGG16 weights, and the ``cifar_core`` modules it imported —
and the cached derived predictions (flipped, translated, corrupted test sets) it used —
into ``notebooks/<name>.reads.json``; the build turns that into the chapter's
provenance record (:mod:`cifar_core.orchestrate.provenance`).

The build passes its settings through ``notebooks/.build-context.json`` (profile, data,
run store); a notebook opened by hand without it uses the defaults (profile
``$CIFAR_REPORT_PROFILE`` or ``demo``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cifar_core.data import Dataset
from cifar_core.experiments import catalog
from cifar_core.experiments.catalog import Profile, Study
from cifar_core.experiments.plan import dataset_for, not_runnable, variants_for
from cifar_core.experiments.variant import Variant
from cifar_core.files import write_text_atomic
from cifar_core.models.weights import weights_status
from cifar_core.project import NOTEBOOKS_DIR, default_profile, default_runs_dir, project_root
from cifar_core.runs.ensure import group_by_variant
from cifar_core.runs.keys import run_key
from cifar_core.runs.store import DamagedRunError, Run, RunStore

BUILD_CONTEXT = ".build-context.json"
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def _weights_status() -> str:
    """Whether the VGG16 weights are usable and why, with the home folder written ``~``,
    so that a record (and what a chapter shows) does not change when the project moves
    to another machine or user."""
    available, why = weights_status()
    text = f"{'available' if available else 'missing'}: {why}"
    home = str(Path.home())
    return text.replace(home + os.sep, "~" + os.sep) if home not in ("", os.sep) else text


EXTERNAL_INPUTS: dict[str, Callable[[], str]] = {
    "vgg16_weights": _weights_status,
    "studies": catalog.added_studies_digest,  # the project's own studies/*.py
}
"""Inputs outside the run store that a chapter may depend on, by name: each gives a
short text that changes when the input does (the build re-executes the chapter then)."""


def file_digest(path: Path) -> str:
    """sha256 (first 16 hex) of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def imported_modules() -> dict[str, str]:
    """``{path relative to the package's parent: digest}`` of every ``cifar_core``
    module loaded in this process."""
    digests = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name.split(".")[0] == "cifar_core" and path and path.endswith(".py"):
            source = Path(path)
            digests[str(source.resolve().relative_to(PACKAGE_ROOT.parent))] = file_digest(source)
    return dict(sorted(digests.items()))


def derived_reads(store_root: Path) -> dict[str, str]:
    """``{path relative to the store: digest}`` of the derived predictions this process
    read (:func:`cifar_core.runs.derived_predictions.derived_reads`; empty when the
    chapter never imported that module)."""
    module = sys.modules.get("cifar_core.runs.derived_predictions")
    if module is None:
        return {}
    root = store_root.resolve()
    return {
        Path(path).resolve().relative_to(root).as_posix()
        if Path(path).resolve().is_relative_to(root)
        else path: digest
        for path, digest in module.derived_reads().items()
    }


def read_build_context(root: Path) -> dict[str, Any]:
    """The settings the build left for its notebooks (``{}`` when run by hand)."""
    path = root / NOTEBOOKS_DIR / BUILD_CONTEXT
    return json.loads(path.read_text()) if path.is_file() else {}


def store_of(root: Path, settings: Mapping[str, Any]) -> RunStore:
    """The run store the build used (``runs_dir`` relative to the project, or absolute),
    else the default one."""
    if settings.get("runs_dir"):
        return RunStore(root / settings["runs_dir"])
    return RunStore(default_runs_dir(root))


@dataclass
class AnalysisContext:
    """One chapter's view of the build: profile, dataset, store and the runs it reads."""

    name: str
    root: Path
    profile: Profile
    dataset: Dataset
    store: RunStore
    variants: list[Variant]
    runs: dict[str, list[Run]]
    not_run: dict[str, str] = field(default_factory=dict)
    reads: dict[str, Any] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        return bool(self.dataset.synthetic)

    def study(self, name: str) -> Study:
        return catalog.get_study(name)

    @staticmethod
    def all_studies() -> list[Study]:
        return catalog.studies()

    @staticmethod
    def studies_of(variant: str) -> list[str]:
        """The names of the studies a variant appears in."""
        return catalog.studies_of(variant)

    def study_runs(self, study: str) -> dict[str, list[Run]]:
        """The runs of one study's variants (those present), in study order."""
        return {n: self.runs[n] for n in catalog.get_study(study).names() if self.runs.get(n)}

    def runs_of(self, *names: str) -> dict[str, list[Run]]:
        """The runs of the named variants (all when none named), skipping absent ones."""
        return {n: r for n, r in self.runs.items() if (not names or n in names) and r}

    @staticmethod
    def histories(runs: Mapping[str, Sequence[Run]]) -> dict[str, list[pd.DataFrame]]:
        """``{variant: [history DataFrame per seed]}`` of ``runs`` (those with runs)."""
        return {n: [r.history for r in rs] for n, rs in runs.items() if rs}

    def key(self, variant: Variant) -> str:
        """The run key of a (scaled) variant on this chapter's dataset."""
        return run_key(variant, self.dataset.fingerprint)

    def external(self, name: str) -> str:
        """Read (and record) an external input, e.g. ``"vgg16_weights"``."""
        value = EXTERNAL_INPUTS[name]()
        self.reads.setdefault("inputs", {})[name] = value
        return value

    def publish(self, values: Mapping[str, Any]) -> None:
        """Hand the numbers this chapter quotes to the build (``notebooks/<name>.vars.json``,
        merged into ``_variables.yml``) and record what the chapter read
        (``notebooks/<name>.reads.json``). Call it once, last."""
        out = self.root / NOTEBOOKS_DIR
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(
            out / f"{self.name}.vars.json",
            json.dumps(values, indent=2, sort_keys=True, default=str),
        )
        reads = {
            **self.reads,
            "profile": self.profile.name,
            "dataset": self.dataset.fingerprint,
            "modules": imported_modules(),
            "derived": derived_reads(self.store.root),
        }
        write_text_atomic(
            out / f"{self.name}.reads.json", json.dumps(reads, indent=2, sort_keys=True)
        )


def open_context(
    name: str,
    *,
    studies: Sequence[str] | str | None = None,
    variants: Sequence[str] | str | None = None,
    seeds: int | Sequence[int] | None = None,
    root: str | os.PathLike | None = None,
) -> AnalysisContext:
    """The context of chapter ``name``: the build's profile and dataset, and the stored
    runs of the selected studies and variants, checked as the build checks them
    (:meth:`~cifar_core.runs.store.RunStore.check`). Never trains; missing runs are
    listed in ``not_run`` with the reason; a damaged run raises
    :class:`~cifar_core.runs.store.DamagedRunError` naming the run, the file and the fix."""
    root = project_root(root)
    settings = read_build_context(root)
    profile = catalog.get_profile(settings.get("profile") or default_profile())
    dataset = dataset_for(profile, settings.get("data"))
    store = store_of(root, settings)
    selected = variants_for(profile, studies, variants, seeds)
    runs: dict[str, Run | None] = {}
    not_run = {}
    for variant in selected:
        key = run_key(variant, dataset.fingerprint)
        if key not in runs:
            runs[key] = _usable(store, key, variant.name, bool(settings.get("verify")))
        if runs[key] is None:
            not_run[variant.name] = (
                not_runnable(variant) or "not trained yet (run `cifar-report build`)"
            )
    read = sorted(key for key, run in runs.items() if run is not None)
    identities = {key: run.identity for key, run in runs.items() if run is not None}
    inputs = (
        {"studies": catalog.added_studies_digest()} if catalog.reads_added_studies(studies) else {}
    )
    return AnalysisContext(
        name=name,
        root=root,
        profile=profile,
        dataset=dataset,
        store=store,
        variants=selected,
        runs=group_by_variant(selected, runs, dataset.fingerprint),
        not_run=not_run,
        reads={"runs": read, "identities": identities, "not_run": not_run, "inputs": inputs},
    )


def _usable(store: RunStore, key: str, name: str, full: bool) -> Run | None:
    """The run ``key`` if usable, ``None`` if it was never trained; damage is an error,
    never "not run"."""
    found = store.check(key, full=full)
    if found.damaged:
        raise DamagedRunError(
            f"run {name} [{key}] in {store.root} is {found.state}: {found.describe()}. "
            "Run `cifar-report build`: it trains the run again (a corrupt one is first "
            "moved aside); `cifar-report status --verify` lists every damaged run."
        )
    return Run(key, store.run_dir(key)) if found.usable else None
