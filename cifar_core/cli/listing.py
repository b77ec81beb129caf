"""``cifar-report list``: one row per catalog variant (and derived entry) with its study,
source, reported figure, parameters, FLOPs and whether its runs are in the store.

Listing parameter counts and FLOPs goes through the on-disk cache of
:mod:`cifar_core.models.stats`, which builds a model only on a miss.

>>> rows = listing("demo", studies=["wrn"], with_stats=False)
>>> rows[0]["name"], rows[0]["profile_note"]
('s002_wrn_16_8', 'full profile only')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cifar_core.experiments import catalog
from cifar_core.experiments.catalog import SEED_FILES, Profile, Study
from cifar_core.experiments.flagship import SOURCE as FLAGSHIP_SOURCE
from cifar_core.experiments.variant import Variant


def listing(
    profile: str | Profile,
    is_cached: Callable[[Variant], bool] | None = None,
    *,
    studies: Iterable[str] | None = None,
    with_stats: bool = True,
) -> list[dict]:
    """One row per variant (and derived entry) for ``cifar-report list``.

    Keys: ``name, study, source, reported_test_accuracy, params, flops, epochs, seeds,
    profile_note, cached``. ``cached`` is True when ``is_cached`` says so for every
    seed's scaled variant; None without ``is_cached``.
    """
    current = catalog.active()
    profile = current.get_profile(profile)
    selected = list(studies) if studies else None
    rows = [
        _row(current, variant, profile, is_cached, with_stats)
        for variant in current.select(selected, None)
    ]
    for study in map(current.get_study, selected) if selected else current.studies:
        rows.extend(_derived_row(entry, study) for entry in study.derived)
    return rows


def _row(
    current: catalog.Catalog,
    variant: Variant,
    profile: Profile,
    is_cached: Callable[[Variant], bool] | None,
    with_stats: bool,
) -> dict:
    in_studies = current.studies_of(variant.name)
    first = current.get_study(in_studies[0])
    stats = _stats(variant) if with_stats else {}
    included = profile.includes(variant)
    return {
        "name": variant.name,
        "study": ", ".join(in_studies),
        "source": _source(current, variant.name, first),
        "reported_test_accuracy": current.reported.get(variant.name),
        "params": stats.get("params"),
        "flops": stats.get("flops"),
        "family": variant.family,
        "epochs": profile.epochs_for(variant) if included else None,
        "seeds": list(profile.seeds_for(variant)) if included else [],
        "profile_note": "" if included else "full profile only",
        "cached": (
            all(is_cached(profile.scale(variant, seed)) for seed in profile.seeds_for(variant))
            if included and is_cached is not None
            else None
        ),
    }


def _source(current: catalog.Catalog, name: str, study: Study) -> str:
    """The seed report a ``sNNN_…`` variant reproduces, the flagship's anchor, the
    project file of a study of its own, else the sources its first study cites."""
    declared = current.source_of(name)
    if declared.seed and name.startswith(f"s{declared.seed}"):
        return SEED_FILES[declared.seed]
    if name == "flagship":
        return FLAGSHIP_SOURCE
    if declared.local:
        return declared.path
    return "controlled variant (" + ", ".join(study.sources) + ")"


def _derived_row(entry: Mapping[str, Any], study: Study) -> dict:
    return {
        "name": entry["name"],
        "study": study.name,
        "source": study.sources[0],
        "reported_test_accuracy": entry.get("reported_test_accuracy"),
        "params": None,
        "flops": None,
        "family": entry["method"],
        "epochs": None,
        "seeds": [],
        "profile_note": f"derived from {entry['base']}",
        "cached": None,
    }


def _stats(variant: Variant) -> dict:
    from cifar_core.models.stats import model_stats  # builds a Keras model on a cache miss

    return model_stats(variant.family, variant.params)
