"""Which runs a request needs: the dataset of a profile, the scaled variants (one per
seed) of a selection of studies and variants, and which of them cannot run here.

>>> [v.name for v in variants_for("demo", names=["s004_mlp"])]
['s004_mlp']
>>> seed_list([0, 1, 2], 2), seed_list([0], [3, 5]), seed_list([0], 2)
([0, 1], [3, 5], [0, 1])
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence

from cifar_core.data import load_dataset
from cifar_core.experiments import catalog
from cifar_core.experiments.catalog import Profile
from cifar_core.experiments.variant import Variant
from cifar_core.models.weights import (
    WEIGHTS_ENV,
    WeightsFileError,
    WeightsUnavailable,
    resolve_vgg16_weights,
)
from cifar_core.project import ProjectError


def dataset_for(profile: str | Profile, data: str | None = None):
    """The dataset ``profile`` asks for; ``data`` (a path or ``"synthetic"``) replaces its
    source (see :func:`cifar_core.data.load_dataset`)."""
    kwargs = dict(catalog.get_profile(profile).dataset_kwargs())
    if data:
        kwargs["source"] = str(data)
    return load_dataset(**kwargs)


def seed_list(base: Sequence[int], seeds: int | Sequence[int] | None) -> list[int] | None:
    """``None`` keeps the profile's seeds; an int takes that many (extending with the next
    integers); a list names the seeds exactly."""
    if seeds is None:
        return None
    if isinstance(seeds, int):
        chosen = list(base)[:seeds]
        extra = max([*base, -1]) + 1
        return chosen + list(range(extra, extra + seeds - len(chosen)))
    return [int(s) for s in seeds]


def check_names(
    studies: Sequence[str] | str | None = None,
    names: Sequence[str] | str | None = None,
    *,
    where: str = "",
) -> None:
    """Raise :class:`ProjectError` for an unknown study or variant name, listing close
    matches (``where`` says which parameter or file named it)."""
    studies = [] if studies in (None, "all") else [studies] if isinstance(studies, str) else studies
    names = [] if names is None else [names] if isinstance(names, str) else names
    for kind, given, known in (
        ("study", studies, [s.name for s in catalog.studies()]),
        ("variant", names, [v.name for v in catalog.all_variants()]),
    ):
        for name in given:
            if name not in known:
                close = difflib.get_close_matches(str(name), known, n=5, cutoff=0.5)
                hint = (
                    f"did you mean {', '.join(close)}?"
                    if close
                    else "`cifar-report list` shows them all"
                )
                raise ProjectError(f"{where}unknown {kind} {name!r}; {hint}")


def variants_for(
    profile: str | Profile,
    studies: Sequence[str] | str | None = None,
    names: Sequence[str] | str | None = None,
    seeds: int | Sequence[int] | None = None,
) -> list[Variant]:
    """The scaled variants (one per seed) of the selected studies and variants.

    ``studies="all"`` selects every study; a string is one study. ``seeds`` overrides
    the profile's seeds (see :func:`seed_list`). Unknown names raise
    :class:`ProjectError` with close matches.
    """
    check_names(studies, names)
    if not studies and not names:
        return []
    if studies == "all":
        studies, names = [s.name for s in catalog.studies()], None
    studies = [studies] if isinstance(studies, str) else studies
    names = [names] if isinstance(names, str) else names
    planned = catalog.plan(profile, studies=studies or None, names=names or None)
    by_name: dict[str, list[Variant]] = {}
    for variant in planned:
        by_name.setdefault(variant.name, []).append(variant)
    out: list[Variant] = []
    for group in by_name.values():
        wanted = seed_list([v.seed for v in group], seeds)
        out += group if wanted is None else [group[0].replace(seed=s) for s in wanted]
    return out


def not_runnable(variant: Variant) -> str | None:
    """Why ``variant`` cannot be trained on this machine (``None`` when it can).

    A transfer-learning variant without any weights file is simply not run; a weights
    file that was named (``--vgg16-weights`` or ``$CIFAR_REPORT_VGG16_WEIGHTS``) but is
    missing or is not VGG16's raises :class:`ProjectError` naming the file, before any
    training starts.
    """
    if (
        variant.family == "vgg16_transfer"
        and variant.params.get("weights", "imagenet") == "imagenet"
    ):
        try:
            resolve_vgg16_weights()
        except WeightsFileError as error:
            raise ProjectError(str(error)) from None
        except WeightsUnavailable as error:
            if os.environ.get(WEIGHTS_ENV):
                raise ProjectError(str(error)) from None
            return str(error)
    return None
