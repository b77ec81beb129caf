"""``_variables.yml``: the numbers the article quotes as ``{{< var key >}}``.

Every top-level key has exactly one writer. The build writes ``profile``,
``profile_note``, ``build``, ``dataset`` and ``env``; each chapter writes the keys of
its ``notebooks/<name>.vars.json`` (by convention one, named after the chapter:
``baselines``, ``errors``, …). Two writers of one key are an error, so that no number
is silently overwritten by the last chapter to run.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

import cifar_core
from cifar_core.data import Dataset
from cifar_core.experiments.profiles import Profile
from cifar_core.files import write_text_atomic
from cifar_core.project import NOTEBOOKS_DIR, VARIABLES_FILE, ProjectError
from cifar_core.runs.compute_choice import training_label
from cifar_core.runs.hardware import compute_choice
from cifar_core.runs.keys import environment, training_code_hash
from cifar_core.runs.store import Run

SYNTHETIC_BANNER = (
    "**SYNTHETIC DATA.** This report was built on SYNTHETIC data (procedurally "
    "generated images), not on CIFAR-10. No number in it says anything about "
    "CIFAR-10."
)

REHEARSAL_BANNER = (
    "**REHEARSAL: NO NUMBER IN THIS REPORT MEANS ANYTHING.** The `{profile}` profile "
    "trained every run for at most {steps} optimizer steps per epoch, on data of "
    "CIFAR-10's full size, only to check that a full build runs and to measure what it "
    "costs. Its accuracies, comparisons, verdicts and claims are those of untrained "
    "networks; build the `full` profile for results."
)


def rehearsal_banner(profile: Any) -> str:
    """The title page's rehearsal warning ("" for a profile that trains in full).

    >>> from cifar_core.experiments.catalog import get_profile
    >>> rehearsal_banner(get_profile("full")), "NO NUMBER" in rehearsal_banner(get_profile("rehearsal"))
    ('', True)
    """
    steps = getattr(profile, "max_steps_per_epoch", None)
    return "" if steps is None else REHEARSAL_BANNER.format(profile=profile.name, steps=steps)


def version_of(package: str, missing: str = "not installed") -> str:
    """The installed version of ``package`` (from its metadata), else ``missing``."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return missing


def environment_variables(runs: Iterable[Any] = ()) -> dict[str, str]:
    """Python, library versions (from package metadata: no imports) and hardware."""
    settings = environment()
    backend = settings["backend"]
    versions = (
        f"Keras {version_of('keras')} ({backend} backend, {backend} "
        f"{version_of({'torch': 'torch', 'jax': 'jax'}.get(backend, 'tensorflow'))}), "
        f"NumPy {version_of('numpy')}, pandas {version_of('pandas')}, "
        f"scikit-learn {version_of('scikit-learn')}, papermill {version_of('papermill')}"
    )
    devices = sorted({str(r.metrics["device_name"]) for r in runs if r.metrics.get("device_name")})
    hardware = f"{os.cpu_count()} CPU cores ({platform.machine()}, {platform.system()})"
    if devices:
        hardware += "; runs trained on " + ", ".join(devices)
    return {
        "python": platform.python_version(),
        "versions": versions,
        "hardware": hardware,
        "precision": settings["precision"],
        "training": trained_with(runs),
        "training_choice": compute_choice().reason,
    }


def trained_with(runs: Iterable[Any]) -> str:
    """What trained the runs (backend and precision,
    :func:`~cifar_core.runs.compute_choice.training_label`), with counts when they differ.

    >>> from types import SimpleNamespace as Run
    >>> trained_with([Run(metrics={"backend": "tensorflow", "precision": "float32"})] * 2)
    'tensorflow float32 (all 2 runs)'
    >>> trained_with([Run(metrics={"backend": "tensorflow", "precision": "float32"}),
    ...               Run(metrics={"backend": "jax", "precision": "mixed_bfloat16"})])
    'jax mixed_bfloat16 (1 run), tensorflow float32 (1 run)'
    """
    labels = Counter(training_label(getattr(r, "metrics", None)) for r in runs)
    if not labels:
        return "no runs"
    every = "all " if len(labels) == 1 else ""
    return ", ".join(
        f"{label} ({every}{count} run{'s' if count != 1 else ''})"
        for label, count in sorted(labels.items())
    )


def seeds_text(seeds: int) -> str:
    """How many seeds a variant trains with, as the article says it.

    >>> seeds_text(1), seeds_text(3)
    ('one seed', 'up to 3 seeds')
    """
    return "one seed" if seeds == 1 else f"up to {seeds} seeds"  # the costliest may get fewer


def build_variables(
    profile: Profile,
    dataset: Dataset,
    store_root: Path | str,
    trained: int,
    runs: Iterable[Run] = (),
) -> dict[str, Any]:
    """The variables the build itself owns."""
    return {
        "profile": profile.name,
        "profile_note": profile.description,
        "build": {
            "date": _dt.datetime.now(_dt.timezone.utc).date().isoformat(),
            "code_version": cifar_core.__version__,
            "training_code": training_code_hash(),
            "seeds": str(len(profile.seeds)),
            "seeds_text": seeds_text(len(profile.seeds)),
            "n_trained": str(trained),
            "rehearsal_banner": rehearsal_banner(profile),
        },
        "dataset": {
            "name": dataset.name,
            "source": str(dataset.source),
            "synthetic": "yes" if dataset.synthetic else "no",
            "synthetic_banner": SYNTHETIC_BANNER if dataset.synthetic else "",
            "fingerprint": dataset.fingerprint,
            "n_classes": str(dataset.num_classes),
        },
        "env": {**environment_variables(runs), "store": str(store_root)},
    }


def merge_variables(
    base: Mapping[str, Any], chapters: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """``base`` plus each chapter's values; raises :class:`ProjectError` naming both
    writers when a top-level key is written twice.

    >>> merge_variables({"profile": "demo"}, {"02-baselines": {"baselines": {"x": 1}}})
    {'profile': 'demo', 'baselines': {'x': 1}}
    """
    merged, writer = dict(base), {key: "the build" for key in base}
    for name, values in chapters.items():
        for key, value in values.items():
            if key in writer:
                raise ProjectError(
                    f"notebooks/{name}.vars.json writes `{key}`, which "
                    f"{writer[key]} already writes: give each chapter its own "
                    "top-level key"
                )
            merged[key], writer[key] = value, f"chapter {name}"
    return merged


def write_variables(root: Path, base: Mapping[str, Any], names: Iterable[str]) -> None:
    """Merge ``base`` and the chapters' ``<name>.vars.json`` into ``_variables.yml``."""
    chapters = {}
    for name in names:
        path = root / NOTEBOOKS_DIR / f"{name}.vars.json"
        if path.is_file():
            chapters[name] = json.loads(path.read_text())
    write_text_atomic(
        root / VARIABLES_FILE,
        "# generated by `cifar-report build` - do not edit\n"
        + yaml.safe_dump(merge_variables(base, chapters), sort_keys=True, allow_unicode=True),
    )
