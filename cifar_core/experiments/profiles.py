"""Profiles: how much data, how many epochs and which seeds every variant gets.

A :class:`Profile` scales a variant to a budget without changing what it is: only
``epochs`` and ``seed`` change, and, in a *seed-protocol* profile, the two training
settings that decide what the seeds' figures measure (``validation_fraction = 0``: train
on every training image; ``restore_best = False``: keep the last epoch's weights). A
*rehearsal* profile also caps the optimizer steps per epoch (``max_steps_per_epoch``):
the architecture, batch size, seeds and data size stay those of the real run, so every
code path runs at full size while training takes seconds (the cap is part of the run
key, so such a run is never reused as a real one).

Epochs come from one of two rules: a per-variant table (``epochs``; the ``sample``
profile's, built family by family in :mod:`cifar_core.experiments.sample_budget`), or
the variant's own capped at ``max_epochs``. A table may give more epochs than the
seed's: on a slice a tenth the size of CIFAR-10 an epoch is a tenth as many steps.

**Controls stay distinct.** Two catalog variants that differ only in their epochs (an
epoch-matched control such as ``ctl_cnn1_e5`` next to ``s000_cnn1``) would become one
configuration when a cap scales both to the same number. :func:`distinct_epochs` scales
the shorter one down in proportion instead ("scale one, not both"); only where that is
impossible (a one-epoch cap), or where a per-variant table gives both one budget on
purpose, do they stay one run, which the report then marks as "same run as … under this
profile" (:mod:`cifar_core.analysis.findings` never compares it with itself).

A profile is a plain value: the catalog hands it the resolved epochs of its variants
(:func:`with_distinct_epochs`); a profile without them scales by its rule alone.

Example
-------
>>> from cifar_core.experiments.variant import Variant
>>> long = Variant(name="long", family="mlp", epochs=10)
>>> short = Variant(name="short", family="mlp", epochs=5)
>>> demo = Profile("x", "a cap at 2 epochs", "synthetic", (0,), max_epochs=2)
>>> distinct_epochs(demo, [long, short])
{'long': 2, 'short': 1}
>>> demo.epochs_for(short), with_distinct_epochs(demo, [long, short]).epochs_for(short)
(2, 1)
>>> Profile("y", "a cap at 1 epoch", "synthetic", (0,), max_epochs=1).epochs_for(short)
1
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cifar_core.experiments.variant import Variant

PROFILE_NAMES = ("demo", "sample", "smoke", "full", "full-seed-protocol", "rehearsal")
UNSCALED_PROFILES = ("full", "full-seed-protocol")
"""The profiles that train the seeds' epochs on all of CIFAR-10 (no scaling, no step cap)."""

REHEARSAL_STEPS = 2
"""The ``rehearsal`` profile's optimizer steps per epoch (and validation batches)."""


@dataclass(frozen=True)
class Profile:
    """How much data and how many epochs and seeds every variant gets.

    ``name`` is the value of ``--profile`` and ``description`` one line the report
    prints. ``data`` is ``"synthetic"`` or ``"cifar10"`` (the path comes from the user:
    CLI ``--data`` or ``CIFAR10_DIR``); ``limit_per_batch``, ``stratified_limit`` and
    ``synthetic_sizes`` are dataset options (:meth:`dataset_kwargs`).

    Every variant trains with ``seeds``, unless ``variant_seeds`` names fewer for it
    (costly variants; comparisons use the seeds both arms share, and the findings tables
    say how many), for ``epochs[name]`` when given (taken as given, even above the
    variant's own), else for its own epochs capped at ``max_epochs`` (at least 1).
    Variants in ``full_only`` are not planned (listed as "full profile only").

    ``seed_protocol``: train as most seeds did, on every training image
    (``validation_fraction = 0``), keeping the last epoch (``restore_best = False``);
    without a validation split no "best" can be selected and convergence cannot be
    checked. ``max_steps_per_epoch``: a rehearsal's training cap, given to every variant
    (:attr:`~cifar_core.experiments.variant.Variant.max_steps_per_epoch`): at most this
    many optimizer steps and validation batches per epoch; validation and test are still
    predicted in full. ``chapter_parameters``, ``{chapter: {parameter: value}}``: what
    this profile sets instead of a chapter's defaults (a user's ``-p`` overrides still
    win); the build passes them to the chapter and its provenance lists them as changed
    from the defaults. ``resolved_epochs``, ``{name: (configuration without epochs,
    epochs)}``: the epochs of the catalog's variants with epoch-only controls kept
    distinct (:func:`with_distinct_epochs` fills it); ``None``: the rule alone.
    """

    name: str
    description: str
    data: str
    seeds: tuple[int, ...]
    max_epochs: int | None = None
    limit_per_batch: int | None = None
    stratified_limit: tuple[int, int] | None = None
    synthetic_sizes: tuple[int, int] | None = None
    full_only: frozenset[str] = frozenset()
    epochs: Mapping[str, int] = field(default_factory=dict)
    variant_seeds: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    seed_protocol: bool = False
    max_steps_per_epoch: int | None = None
    chapter_parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    resolved_epochs: Mapping[str, tuple[str, int]] | None = field(
        default=None, repr=False, compare=False
    )

    def rule_epochs(self, variant: Variant) -> int:
        """The epochs of ``variant`` by this profile's rule alone (no distinct-controls step)."""
        if variant.name in self.epochs:
            return max(1, int(self.epochs[variant.name]))
        cap = variant.epochs if self.max_epochs is None else self.max_epochs
        return max(1, min(variant.epochs, cap))

    def epochs_for(self, variant: Variant) -> int:
        """The epochs ``variant`` trains for here: its resolved epochs (catalog controls
        kept distinct, :func:`with_distinct_epochs`) when it is the variant they were
        resolved for, else :meth:`rule_epochs`."""
        entry = (self.resolved_epochs or {}).get(variant.name)
        if entry is not None and entry[0] == _without_epochs(variant):
            return entry[1]
        return self.rule_epochs(variant)

    def seeds_for(self, variant: Variant) -> tuple[int, ...]:
        """The seeds ``variant`` is trained with in this profile."""
        return tuple(self.variant_seeds.get(variant.name, self.seeds))

    def scale(self, variant: Variant, seed: int | None = None) -> Variant:
        """The variant as this profile runs it: ``epochs`` and ``seed`` change (and, in a
        seed-protocol profile, ``validation_fraction`` and ``restore_best``)."""
        changes: dict[str, Any] = {
            "epochs": self.epochs_for(variant),
            "seed": self.seeds_for(variant)[0] if seed is None else seed,
        }
        if self.seed_protocol:
            changes.update(validation_fraction=0.0, restore_best=False)
        if self.max_steps_per_epoch is not None:
            changes["max_steps_per_epoch"] = self.max_steps_per_epoch
        return variant.replace(**changes)

    def includes(self, variant: Variant) -> bool:
        return variant.name not in self.full_only

    def dataset_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`cifar_core.data.load_dataset`."""
        kwargs: dict[str, Any] = {}
        if self.data == "synthetic":
            kwargs["source"] = "synthetic"
            if self.synthetic_sizes:
                kwargs["synthetic_train"], kwargs["synthetic_test"] = self.synthetic_sizes
        if self.limit_per_batch is not None:
            kwargs["limit_per_batch"] = self.limit_per_batch
        if self.stratified_limit is not None:
            kwargs["stratified_limit"] = self.stratified_limit
        return kwargs


def declared_profiles(
    epochs: Mapping[str, int],
    seeds: Mapping[str, tuple[int, ...]],
    full_only: Mapping[str, frozenset[str]],
) -> dict[str, Profile]:
    """The six profiles, given the ``sample`` profile's per-variant ``epochs`` and
    ``seeds`` (the sources' budget) and ``full_only``: {profile: variants it leaves out}."""
    profiles = (
        Profile(
            "demo",
            "synthetic data (2,000 train / 500 test images), at most 2 epochs, one "
            "seed: the whole report builds offline in minutes on any CPU",
            data="synthetic",
            seeds=(0,),
            max_epochs=2,
            synthetic_sizes=(2000, 500),
            full_only=full_only["demo"],
        ),
        Profile(
            "sample",
            "the real images of ../shared/data/cifar-10-sample (5,085 train / "
            "1,017 test), epochs chosen per model family so that runs reach their "
            "plateau on the slice (10 for seed 000's CNNs, 15-25 for the 50-100-epoch "
            f"schedules, the flagship's own {epochs.get('flagship')}), "
            "one to three seeds per family (see the findings tables' shared seeds); "
            "WRN-16-8, whole VGG16, seed 002's Model 2-x and 3-x and three of the "
            "flagship's five ablations run in the full profile only",
            data="cifar10",
            seeds=(0, 1, 2),
            epochs=dict(epochs),
            variant_seeds=dict(seeds),
            full_only=full_only["sample"],
        ),
        Profile(
            "smoke",
            "a check that the whole pipeline works, in a couple of minutes: "
            "synthetic data (400 train / 200 test images), one epoch, one seed; "
            "its numbers mean nothing (the test suite builds it end to end)",
            data="synthetic",
            seeds=(0,),
            max_epochs=1,
            synthetic_sizes=(400, 200),
            full_only=full_only["smoke"],
        ),
        Profile(
            "full",
            "full CIFAR-10 (50,000 / 10,000), the seeds' epochs, three seeds, 40,000 "
            "training images and the best-validation checkpoint; meant for a GPU",
            data="cifar10",
            seeds=(0, 1, 2),
            full_only=full_only["full"],
        ),
        Profile(
            "full-seed-protocol",
            "full CIFAR-10, the seeds' epochs, three seeds, trained as "
            "the seeds did: on all 50,000 training images, keeping the "
            "last epoch (no validation split, so nothing is selected "
            "as best and convergence is not checked); meant for a GPU",
            data="cifar10",
            seeds=(0, 1, 2),
            seed_protocol=True,
            full_only=full_only["full-seed-protocol"],
        ),
        Profile(
            "rehearsal",
            "a rehearsal of the full profile on a CPU: its variants with their "
            "architectures, batch sizes and three seeds, on 50,000 training and 10,000 "
            "test images of CIFAR-10's shape (synthetic unless --data names CIFAR-10), "
            f"each run trained for at most 2 epochs of {REHEARSAL_STEPS} steps, every "
            "chapter at full size; WRN-16-8 and VGG16 are left out (on 2 cores their "
            "inference alone takes hours: `cifar-report plan` prices them), and "
            "12-robustness scores one seed per variant (its 18 corrupted copies of the "
            "10,000 test images are the heaviest step on a CPU); it checks that a full "
            "build runs and measures its cost, and no number in it means anything",
            data="synthetic",
            seeds=(0, 1, 2),
            max_epochs=2,
            synthetic_sizes=(50_000, 10_000),
            max_steps_per_epoch=REHEARSAL_STEPS,
            full_only=full_only["rehearsal"],
            chapter_parameters={"12-robustness": {"seeds": 1}},
        ),
    )
    return {p.name: p for p in profiles}


def _without_epochs(variant: Variant) -> str:
    config = variant.normalized()
    for key in ("epochs", "seed"):
        config.pop(key, None)
    return json.dumps(config, sort_keys=True, default=str)


def distinct_epochs(profile: Profile, variants: Iterable[Variant]) -> dict[str, int]:
    """``{name: epochs}`` under ``profile`` with epoch-only controls kept apart.

    Variants whose configurations differ only in ``epochs`` form a group. Walking a
    group from the longest variant down, a variant whose scaled epochs would reach the
    previous (longer) one's gets ``round(previous × its epochs / previous's epochs)``,
    kept below the previous one and at least 1. Where even that collides (the previous
    one trains a single epoch), the two stay one configuration: one run, reported as
    the same run. Epochs a profile sets explicitly (``profile.epochs``) are kept as
    given: a profile that gives two such variants one budget trains them once, on
    purpose.
    """
    variants = list(variants)
    groups: dict[str, list[Variant]] = {}
    for variant in variants:
        groups.setdefault(_without_epochs(variant), []).append(variant)
    epochs = {v.name: profile.rule_epochs(v) for v in variants}
    for group in groups.values():
        ordered = sorted(group, key=lambda v: -v.epochs)
        for longer, shorter in zip(ordered, ordered[1:]):
            if (
                shorter.epochs == longer.epochs
                or shorter.name in profile.epochs
                or epochs[shorter.name] < epochs[longer.name]
            ):
                continue
            top = epochs[longer.name]
            proportional = max(1, round(top * shorter.epochs / longer.epochs))
            epochs[shorter.name] = max(1, min(proportional, top - 1))
    return epochs


def with_distinct_epochs(profile: Profile, *groups: Iterable[Variant]) -> Profile:
    """``profile`` with the epochs of every variant of ``groups`` resolved by
    :func:`distinct_epochs`, each group on its own (the catalog's built-in variants, then
    a project's own: adding a study never changes a built-in variant's epochs). A name
    already resolved by an earlier group keeps its epochs."""
    resolved: dict[str, tuple[str, int]] = {}
    for group in groups:
        variants = [v for v in group if v.name not in resolved]
        epochs = distinct_epochs(profile, variants)
        resolved.update({v.name: (_without_epochs(v), epochs[v.name]) for v in variants})
    return replace(profile, resolved_epochs=resolved)
