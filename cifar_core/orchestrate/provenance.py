"""Chapter provenance records: what an executed chapter was made from, and why it is
no longer current.

After a chapter executes, the build writes ``notebooks/<name>.provenance.json``: the
profile, the dataset fingerprint, the training setting (backend, device, precision,
XLA: the environment part of the run keys), the effective parameters (and which differ
from the notebook's defaults), a hash of the notebook source, the runs it planned and the runs it
actually read, the external inputs it consulted, the cached derived predictions it
used (path and content digest), a hash of every ``cifar_core`` module it imported, and package
versions. The read side comes from the notebook itself
(``<name>.reads.json``, :meth:`cifar_core.analysis.context.AnalysisContext.publish`).

:func:`why_stale` compares a record with the project as it is now and returns the
reasons to re-execute (empty: reuse), the way ``dvc status`` names the changed
dependency.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cifar_core.analysis.context import EXTERNAL_INPUTS, PACKAGE_ROOT, file_digest
from cifar_core.files import write_text_atomic
from cifar_core.orchestrate.notebooks import source_path
from cifar_core.orchestrate.variables import version_of
from cifar_core.project import NOTEBOOKS_DIR
from cifar_core.runs.derived_predictions import content_digest
from cifar_core.runs.keys import environment
from cifar_core.runs.manifest import run_identity
from cifar_core.runs.store import RunStore

RECORD = "{name}.provenance.json"
READS = "{name}.reads.json"
PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "scikit-learn",
    "matplotlib",
    "seaborn",
    "papermill",
    "jupytext",
)


def package_versions() -> dict[str, str]:
    """Versions of the libraries the notebooks compute with (from package metadata)."""
    return {package: version_of(package, missing="absent") for package in PACKAGES}


@dataclass
class ChapterPlan:
    """One chapter as the build will run it."""

    name: str
    parameters: dict[str, Any]  # effective: defaults with overrides applied
    overrides: dict[str, Any]  # the subset a user set with -p
    planned: dict[str, str] = field(default_factory=dict)  # run key -> variant name


def record_path(root: Path, name: str) -> Path:
    return root / NOTEBOOKS_DIR / RECORD.format(name=name)


def load_record(root: Path, name: str) -> dict[str, Any] | None:
    path = record_path(root, name)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_record(root: Path, chapter: ChapterPlan, profile: str, fingerprint: str) -> None:
    """Combine the notebook's reads with what the build knows; write the record."""
    reads_file = root / NOTEBOOKS_DIR / READS.format(name=chapter.name)
    reads = json.loads(reads_file.read_text()) if reads_file.is_file() else {}
    record = {
        "chapter": chapter.name,
        "profile": profile,
        "dataset": fingerprint,
        "notebook": file_digest(source_path(root, chapter.name)),
        "parameters": chapter.parameters,
        "overrides": chapter.overrides,
        "planned_runs": dict(sorted(chapter.planned.items())),
        "runs_read": reads.get("runs", []),
        "run_identities": reads.get("identities", {}),
        "not_run": reads.get("not_run", {}),
        "inputs": reads.get("inputs", {}),
        "derived": reads.get("derived", {}),
        "modules": reads.get("modules", {}),
        "versions": package_versions(),
        "training_setting": environment(),  # backend, device, precision, jit_compile
        "executed": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "complete": bool(reads),
        "outputs": output_digests(root, chapter.name),
    }
    write_text_atomic(record_path(root, chapter.name), json.dumps(record, indent=2, sort_keys=True))


def output_digests(root: Path, name: str) -> dict[str, str | None]:
    """Digests of what one execution of chapter ``name`` left: the executed notebook and
    the numbers it published (``None`` when absent). A build killed between writing them
    and writing the record leaves them out of step with the record: it re-executes."""
    digests: dict[str, str | None] = {}
    for file in (f"{name}.ipynb", f"{name}.vars.json"):
        path = root / NOTEBOOKS_DIR / file
        digests[file] = file_digest(path) if path.is_file() else None
    return digests


def _changed_modules(modules: Mapping[str, str]) -> list[str]:
    changed = []
    for relative, digest in modules.items():
        path = PACKAGE_ROOT.parent / relative
        if not path.is_file():
            changed.append(f"{relative} removed")
        elif file_digest(path) != digest:
            changed.append(f"{relative} changed")
    return changed


def _changed_derived(
    derived: Mapping[str, str], planned: Mapping[str, str], store_root: Path
) -> list[str]:
    """Reasons from the cached derived predictions a chapter read
    (``.derived/<run key>/<name>.npz``, relative to the store): deleted ones are
    recomputed from the stored model when the chapter runs again; rewritten ones hold
    other numbers (the same numbers recomputed are no reason)."""
    gone, rewritten = [], []
    for path, digest in derived.items():
        file = store_root / path  # an absolute path (an older record) stays as it is
        what = f"{planned.get(file.parent.name, file.parent.name[:12])} {file.stem}"
        now = content_digest(file)
        if now is None:
            gone.append(what)
        elif now != digest:
            rewritten.append(what)

    def listing(items: list[str]) -> str:
        return ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")

    reasons = []
    if gone:
        reasons.append(
            f"derived predictions no longer cached ({listing(gone)}): recomputed from "
            "the stored models"
        )
    if rewritten:
        reasons.append(f"derived predictions rewritten since ({listing(rewritten)})")
    return reasons


def why_stale(
    root: Path,
    chapter: ChapterPlan,
    profile: str,
    fingerprint: str,
    present: set[str],
    record: dict[str, Any] | None = None,
    *,
    store: RunStore,
) -> list[str]:
    """The reasons to re-execute ``chapter`` (empty when its record is current).

    ``present`` holds the keys of its planned runs that are usable in ``store`` now.
    """
    record = record if record is not None else load_record(root, chapter.name)
    if record is None or not (root / NOTEBOOKS_DIR / f"{chapter.name}.ipynb").is_file():
        return ["not executed yet"]
    if not record.get("complete"):
        return ["its last execution left no record of what it read"]
    if record.get("outputs") not in (None, output_digests(root, chapter.name)):
        return [
            "its notebook or published numbers differ from its record (an interrupted execution)"
        ]
    reasons = []
    if record["profile"] != profile:
        reasons.append(f"profile {record['profile']} → {profile}")
    if record["dataset"] != fingerprint:
        reasons.append(f"data changed (fingerprint {record['dataset']} → {fingerprint})")
    if record["notebook"] != file_digest(source_path(root, chapter.name)):
        reasons.append(f"analyses/{chapter.name}.py changed")
    if record["parameters"] != json.loads(json.dumps(chapter.parameters, default=str)):
        changed = sorted(
            k
            for k in {*record["parameters"], *chapter.parameters}
            if record["parameters"].get(k) != chapter.parameters.get(k)
        )
        reasons.append("parameters changed: " + ", ".join(changed))
    reasons += _changed_modules(record["modules"])
    if set(record["planned_runs"]) != set(chapter.planned):
        new = len(set(chapter.planned) - set(record["planned_runs"]))
        reasons.append(
            f"{new} of its runs have new keys (configuration, training code or environment changed)"
        )
    else:
        appeared = sorted({chapter.planned[k] for k in present - set(record["runs_read"])})
        if appeared:
            why = "; ".join(
                sorted({record["not_run"][n] for n in appeared if n in record["not_run"]})
            )
            reasons.append(
                "runs now available: " + ", ".join(appeared) + (f" (before: {why})" if why else "")
            )
        vanished = sorted(
            {chapter.planned[k] for k in set(record["runs_read"]) - present if k in chapter.planned}
        )
        if vanished:
            reasons.append("runs no longer in the store: " + ", ".join(vanished))
        retrained = sorted(
            {
                chapter.planned.get(k, k)
                for k, identity in record.get("run_identities", {}).items()
                if k in present and run_identity(store.run_dir(k)) != identity
            }
        )
        if retrained:
            reasons.append("runs trained again since: " + ", ".join(retrained))
    reasons += _changed_derived(record.get("derived", {}), record["planned_runs"], store.root)
    for name, before in record["inputs"].items():
        now = EXTERNAL_INPUTS[name]() if name in EXTERNAL_INPUTS else None
        if now != before:
            reasons.append(f"{name} changed: now {now}")
    versions = package_versions()
    for package, before in record["versions"].items():
        if versions.get(package) != before:
            reasons.append(f"{package} {before} → {versions.get(package)}")
    return reasons
