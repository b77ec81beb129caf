"""The experiment catalog: the source files assembled into one checked set of studies,
variants, claims, seed protocols and ``sample`` budget, and the profiles that scale them.

Source files, in order: ``seeds/s000.py`` … ``seeds/s004.py``, ``controls/*.py`` and
``flagship.py`` (what each declares: :mod:`cifar_core.experiments.declare`), then the
project's own ``studies/*.py`` (:mod:`cifar_core.experiments.local`). :class:`Catalog`
checks every name they use when it assembles them, so a typo in a budget or a claim on
a missing variant fails when the catalog is built (the built-in one at import) with a
:class:`~cifar_core.experiments.declare.CatalogError` naming the file and the name.

* A :class:`Study` is a named group of variants compared against a ``baseline``; it
  cites the seed reports it comes from (``sources``), carries their reported test
  accuracies (``reported``), pass marks where the seed has them, notes, and the
  ``chapter`` that shows it (:mod:`cifar_core.experiments.chapters`).
* A :class:`~cifar_core.experiments.profiles.Profile` (``demo``, ``sample``, ``smoke``,
  ``full``, ``full-seed-protocol``) says which data to load and scales every variant's
  epochs and seeds; it never changes *what* a variant is (a seed-protocol profile also
  trains without a validation split and keeps the last epoch, as the seeds did).

The functions of this module answer for the catalog of the project being worked on
(:func:`active`: the project at the working directory, or the one :func:`use_project`
names); without a ``studies/`` folder that is the built-in catalog (:func:`builtin`).

Naming: ``sNNN_…`` variants reproduce seed NNN's experiments; ``ctl_…`` variants are
controlled additions (same epochs as the baseline, one change) that the seeds lacked.

Example
-------
``demo`` caps epochs at 2; s004_cnn (5 epochs) and s004_cnn_dropout (10) are scaled
below their epoch-matched controls (10 and 15 epochs) rather than onto them:

>>> [(v.name, v.epochs) for v in plan("demo", studies=["seed004_lab"])]  # doctest: +NORMALIZE_WHITESPACE
[('s004_mlp', 2), ('s004_cnn', 1), ('s004_cnn_dropout', 1), ('s004_cnn_bn', 2), ('s004_final', 2)]
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cifar_core.experiments import chapters, declare, local
from cifar_core.experiments.declare import CatalogError, Claim, SeedProtocol, Source, StudySpec
from cifar_core.experiments.profiles import (
    PROFILE_NAMES,
    Profile,
    declared_profiles,
    with_distinct_epochs,
)
from cifar_core.experiments.seeds import SEED_FILES
from cifar_core.experiments.variant import Variant
from cifar_core.project import find_project_root

BUILTIN_SOURCES = (
    "seeds.s000",
    "seeds.s001",
    "seeds.s002",
    "seeds.s003",
    "seeds.s004",
    "controls.optimizers",
    "flagship",
)
"""The built-in source files (modules of ``cifar_core.experiments``), in order: the order
of the claims and of the studies :data:`~cifar_core.experiments.chapters.STUDY_ORDER`
does not place."""
__all__ = ["Catalog", "CatalogError", "Profile", "Study", "SEED_FILES"]


@dataclass(frozen=True)
class Study:
    """A named comparison: variants against a baseline, with the seeds' figures."""

    name: str
    title: str
    sources: tuple[str, ...]
    baseline: str
    variants: tuple[Variant, ...]
    reported: Mapping[str, float] = field(default_factory=dict)
    pass_marks: Mapping[str, tuple] = field(default_factory=dict)  # (op, threshold[, max epochs])
    notes: tuple[str, ...] = ()
    reported_extra: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    derived: tuple[Mapping[str, Any], ...] = ()
    chapter: str = ""
    file: str = ""

    def __post_init__(self) -> None:
        for name in ("reported", "pass_marks", "reported_extra"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def names(self) -> list[str]:
        return [v.name for v in self.variants]

    def variant(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise KeyError(_unknown("variant", name, self.names(), f" in study {self.name!r}"))


def _unknown(kind: str, name: str, known: Iterable[str], where: str = "") -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
    return f"unknown {kind} {name!r}{where}{hint}"


# ---------------------------------------------------------------------------- assembly
class Catalog:
    """The studies, variants, claims, protocols, budget and profiles of ``sources``,
    checked (see the module docstring).

    >>> Catalog([]).studies
    ()
    """

    def __init__(self, sources: Sequence[Source], order: Sequence[str] = chapters.STUDY_ORDER):
        self.sources = tuple(sources)
        self._origin: dict[str, Source] = {}
        declared: dict[str, Variant] = {}
        for source in self.sources:
            for variant in source.variants:
                if variant.name in declared:
                    raise CatalogError(
                        f"{source.path}: variant {variant.name!r} is already declared in "
                        f"{self._origin[variant.name].path}; give it another name"
                    )
                declared[variant.name] = variant
                self._origin[variant.name] = source
        self.reported = self._figures("reported")
        self.reported_extra = self._figures("reported_extra")
        self.studies = self._studies(declared, order)
        self.variants = {v.name: v for s in self.studies for v in s.variants}
        for name, source in self._origin.items():
            if name not in self.variants:
                raise CatalogError(
                    f"{source.path}: variant {name!r} is in no study; "
                    "add it to a study's variants or remove it"
                )
        by_name = {s.name: s for s in self.studies}
        self.claims = tuple(c for source in self.sources for c in self._claims(source, by_name))
        self.protocols = self._protocols()
        self.budget = tuple(b for source in self.sources for b in source.budget)
        self.sample_epochs, self.sample_seeds = self._compiled_budget()
        self.full_only = self._full_only()
        self._profiles = declared_profiles(self.sample_epochs, self.sample_seeds, self.full_only)
        self._resolved: dict[str, Profile] = {}

    # -- checks, one per kind of declaration; each error names the file and the name
    def _own(self, source: Source, name: str, what: str) -> None:
        """A file gives figures, budgets and exclusions for its own variants only."""
        if name not in self._origin:
            raise CatalogError(f"{source.path}: {what} " + _unknown("variant", name, self._origin))
        if self._origin[name] is not source:
            raise CatalogError(
                f"{source.path}: {what} {name!r}, which {self._origin[name].path} declares; "
                "a file gives figures, budgets and exclusions for its own variants only"
            )

    def _figures(self, kind: str) -> dict[str, Any]:
        figures: dict[str, Any] = {}
        for source in self.sources:
            for name, value in getattr(source, kind).items():
                self._own(source, name, f"{kind.upper()} gives a figure for")
                figures[name] = value
        return figures

    def _studies(self, declared: Mapping[str, Variant], order: Sequence[str]) -> tuple[Study, ...]:
        specs: dict[str, tuple[StudySpec, Source]] = {}
        for source in self.sources:
            for spec in source.studies:
                if spec.name in specs:
                    raise CatalogError(
                        f"{source.path}: study {spec.name!r} is already declared in "
                        f"{specs[spec.name][1].path}; give it another name"
                    )
                specs[spec.name] = (spec, source)
        ranked = [n for n in order if n in specs] + [n for n in specs if n not in order]
        return tuple(self._study(*specs[name], declared) for name in ranked)

    def _study(self, spec: StudySpec, source: Source, declared: Mapping[str, Variant]) -> Study:
        where = f"{source.path}: study {spec.name!r}"
        for name in spec.variants:
            if name not in declared:
                raise CatalogError(f"{where} names " + _unknown("variant", name, declared))
        if spec.baseline not in spec.variants:
            raise CatalogError(
                f"{where}: baseline {spec.baseline!r} is not one of its variants "
                f"({', '.join(spec.variants)})"
            )
        for name in spec.pass_marks:
            if name not in spec.variants:
                raise CatalogError(
                    f"{where}: pass mark for {name!r}, which is not one of its variants"
                )
        for entry in spec.derived:
            if entry.get("base") not in declared:
                raise CatalogError(
                    f"{where}: derived entry {entry.get('name')!r} on "
                    + _unknown("variant", str(entry.get("base")), declared)
                )
        chapter = spec.chapter or (chapters.ADDED_STUDIES if source.local else "")
        known = [c.name for c in chapters.CHAPTERS]
        if not chapter:
            raise CatalogError(f"{where} names no chapter; give chapter= one of {', '.join(known)}")
        if chapter not in known:
            raise CatalogError(f"{where}: " + _unknown("chapter", chapter, known))
        return Study(
            name=spec.name,
            title=spec.title,
            sources=tuple(SEED_FILES.get(s, s) for s in spec.sources),
            baseline=spec.baseline,
            variants=tuple(declared[n] for n in spec.variants),
            reported={n: self.reported[n] for n in spec.variants if n in self.reported},
            pass_marks=spec.pass_marks,
            notes=spec.notes,
            reported_extra={
                n: self.reported_extra[n] for n in spec.variants if n in self.reported_extra
            },
            derived=spec.derived,
            chapter=chapter,
            file=source.path,
        )

    def _claims(self, source: Source, studies: Mapping[str, Study]) -> Iterator[Claim]:
        for claim in source.claims:
            where = f"{source.path}: claim {claim.statement!r}"
            if claim.study not in studies:
                raise CatalogError(f"{where} is about " + _unknown("study", claim.study, studies))
            names = studies[claim.study].names()
            for name in (claim.variant, claim.baseline):
                if name not in names:
                    raise CatalogError(
                        f"{where}: {name!r} is not a variant of study {claim.study!r} "
                        f"({', '.join(names)})"
                    )
            if source.seed and not claim.seed:
                claim = Claim(**{**vars(claim), "seed": source.seed})
            yield claim

    def _protocols(self) -> dict[str, SeedProtocol]:
        protocols: dict[str, SeedProtocol] = {}
        for source in self.sources:
            if source.protocol is not None:
                if source.protocol.seed in protocols:
                    raise CatalogError(
                        f"{source.path}: a second protocol for seed {source.protocol.seed!r}"
                    )
                protocols[source.protocol.seed] = source.protocol
        return protocols

    def _compiled_budget(self) -> tuple[dict[str, int], dict[str, tuple[int, ...]]]:
        budgets: dict[str, declare.Budget] = {}
        for source in self.sources:
            for budget in source.budget:
                for name in budget.epochs:
                    self._own(source, name, f"budget {budget.family!r} is for")
                    if name in budgets:
                        raise CatalogError(
                            f"{source.path}: {name!r} is budgeted twice "
                            f"({budgets[name].family!r} and {budget.family!r}); "
                            "give each variant one line"
                        )
                    budgets[name] = budget
        epochs = {name: int(budget.epochs[name]) for name, budget in budgets.items()}
        return epochs, {name: tuple(budget.seeds) for name, budget in budgets.items()}

    def _full_only(self) -> dict[str, frozenset[str]]:
        left_out: dict[str, set[str]] = {name: set() for name in PROFILE_NAMES}
        for source in self.sources:
            for entry in source.full_only:
                for name in entry.names:
                    self._own(source, name, "FULL_ONLY names")
                for profile in entry.profiles:
                    if profile not in left_out:
                        raise CatalogError(
                            f"{source.path}: FULL_ONLY names "
                            + _unknown("profile", profile, PROFILE_NAMES)
                        )
                    left_out[profile].update(entry.names)
        return {name: frozenset(names) for name, names in left_out.items()}

    # -- queries
    def get_study(self, name: str) -> Study:
        for study in self.studies:
            if study.name == name:
                return study
        raise KeyError(_unknown("study", name, [s.name for s in self.studies]))

    def get_variant(self, name: str) -> Variant:
        if name not in self.variants:
            raise KeyError(_unknown("variant", name, self.variants))
        return self.variants[name]

    def source_of(self, variant: str) -> Source:
        """The source file that declares ``variant``."""
        return self._origin[self.get_variant(variant).name]

    def studies_of(self, name: str) -> list[str]:
        """The names of the studies a variant appears in."""
        return [s.name for s in self.studies if name in s.names()]

    def profiles(self) -> list[Profile]:
        return [self.get_profile(name) for name in self._profiles]

    def get_profile(self, name: str | Profile) -> Profile:
        """The profile ``name`` with the epochs of this catalog's variants resolved (a
        :class:`Profile` given as such is resolved against this catalog if it is not)."""
        if isinstance(name, Profile):
            return name if name.resolved_epochs is not None else self._resolve(name)
        if name not in self._resolved:
            if name not in self._profiles:
                raise KeyError(_unknown("profile", name, self._profiles))
            self._resolved[name] = self._resolve(self._profiles[name])
        return self._resolved[name]

    def _resolve(self, profile: Profile) -> Profile:
        ordered = list(self.variants.values())
        added = [v for v in ordered if self._origin[v.name].local]
        builtin = [v for v in ordered if not self._origin[v.name].local]
        return with_distinct_epochs(profile, builtin, added)

    @property
    def added_studies(self) -> list[str]:
        """The studies of a project's own ``studies/*.py``."""
        local_files = {source.path for source in self.sources if source.local}
        return [s.name for s in self.studies if s.file in local_files]

    def chapter_studies(self, chapter: str) -> list[str]:
        """The studies that name ``chapter``, in catalog order."""
        return [s.name for s in self.studies if s.chapter == chapter]

    def findings_elsewhere(self) -> list[str]:
        """The studies whose chapter shows no findings table of its own: the findings
        chapter tabulates theirs."""
        own = {c.name for c in chapters.CHAPTERS if c.findings_table}
        return [s.name for s in self.studies if s.chapter not in own]

    def select(
        self,
        studies: Iterable[str] | None,
        names: Iterable[str] | None,
        *,
        derived_bases: bool = False,
    ) -> list[Variant]:
        """The variants of ``studies`` (with the base variants of their derived entries
        when ``derived_bases``) and the variants ``names``, once each; every variant
        when both are ``None``."""
        if studies is None and names is None:
            return list(self.variants.values())
        chosen: dict[str, Variant] = {}
        for study in map(self.get_study, studies or ()):
            bases = [self.get_variant(e["base"]) for e in study.derived] if derived_bases else []
            for variant in (*study.variants, *bases):
                chosen.setdefault(variant.name, variant)
        for name in names or ():
            chosen.setdefault(name, self.get_variant(name))
        return list(chosen.values())

    def plan(
        self,
        profile: str | Profile,
        studies: Iterable[str] | None = None,
        names: Iterable[str] | None = None,
    ) -> list[Variant]:
        """The runs a profile trains (see :func:`plan`)."""
        profile = self.get_profile(profile)
        explicit = set(names or ())
        runs: list[Variant] = []
        for variant in self.select(studies, names, derived_bases=True):
            if variant.name in explicit or profile.includes(variant):
                runs.extend(profile.scale(variant, seed) for seed in profile.seeds_for(variant))
        return runs


# ---------------------------------------------------------------------------- the catalog in use
def _builtin_sources() -> list[Source]:
    sources = []
    for name in BUILTIN_SOURCES:
        module = importlib.import_module(f"cifar_core.experiments.{name}")
        path = Path(module.__file__ or name).resolve()
        sources.append(Source.read(module, str(path.relative_to(Path(__file__).parents[2]))))
    return sources


def _checked_order(catalog: Catalog) -> Catalog:
    known = [s.name for s in catalog.studies]
    for name in chapters.STUDY_ORDER:
        if name not in known:
            raise CatalogError(
                "cifar_core/experiments/chapters.py: STUDY_ORDER names "
                + _unknown("study", name, known)
            )
    return catalog


_BUILTIN = _checked_order(Catalog(_builtin_sources()))
_PROJECTS: dict[Path, tuple[tuple, Catalog]] = {}
_USING: list[Path] = []
_LOADING: set[Path] = set()


def builtin() -> Catalog:
    """The catalog of the package's own source files."""
    return _BUILTIN


def for_project(root: str | os.PathLike) -> Catalog:
    """The built-in catalog plus the project's ``studies/*.py`` (re-read when a file
    changes). Raises :class:`CatalogError` naming the file and the name."""
    root = Path(root).resolve()
    signature = local.signature(root)
    if not signature or root in _LOADING:  # a study file asking the catalog: the built-in one
        return _BUILTIN
    cached = _PROJECTS.get(root)
    if cached is None or cached[0] != signature:
        _LOADING.add(root)
        try:
            cached = (signature, Catalog([*_BUILTIN.sources, *local.read_studies(root)]))
        finally:
            _LOADING.discard(root)
        _PROJECTS[root] = cached
    return cached[1]


def active() -> Catalog:
    """The catalog of the project being worked on: the one :func:`use_project` names,
    else the project at (or above) the working directory, else the built-in one."""
    root = _active_root()
    return for_project(root) if root is not None else _BUILTIN


@contextlib.contextmanager
def use_project(root: str | os.PathLike) -> Iterator[Catalog]:
    """Within the block, the module's functions answer for the project at ``root``
    (a build of a project that is not the working directory)."""
    catalog = for_project(root)
    _USING.append(Path(root).resolve())
    try:
        yield catalog
    finally:
        _USING.pop()


def _active_root() -> Path | None:
    return _USING[-1] if _USING else find_project_root()


def added_studies_digest() -> str:
    """What identifies the project's own study files now (``"none"`` without): recorded
    by the chapters that read them, whose provenance then goes stale when one changes."""
    root = _active_root()
    return local.contents_digest(root) if root is not None else "none"


def reads_added_studies(studies: Sequence[str] | str | None) -> bool:
    """Whether a chapter reading ``studies`` ("all" or names) reads a study of the
    project's own ``studies/*.py``."""
    added = set(active().added_studies)
    if not added or not studies:
        return False
    return studies == "all" or bool(
        added & ({studies} if isinstance(studies, str) else set(studies))
    )


def studies() -> list[Study]:
    return list(active().studies)


def get_study(name: str) -> Study:
    return active().get_study(name)


def all_variants() -> list[Variant]:
    """Every variant of every study, once, in catalog order."""
    return list(active().variants.values())


def get_variant(name: str) -> Variant:
    return active().get_variant(name)


def studies_of(name: str) -> list[str]:
    """The names of the studies a variant appears in."""
    return active().studies_of(name)


def claims() -> list[Claim]:
    """Every claim, in source order."""
    return list(active().claims)


def reported() -> dict[str, float]:
    """``{variant: test accuracy its source reports}``."""
    return dict(active().reported)


def profiles() -> list[Profile]:
    return active().profiles()


def get_profile(name: str | Profile) -> Profile:
    return active().get_profile(name)


def chapter_studies(chapter: str, given: Sequence[str] | str | None = None) -> Sequence[str] | str:
    """A chapter's ``studies`` parameter: ``given`` as set, or (``None``) the studies
    that name ``chapter`` in the registry.

    >>> chapter_studies("02-baselines"), chapter_studies("02-baselines", ["depth"])
    (['baselines', 'seed004_lab'], ['depth'])
    """
    return active().chapter_studies(chapter) if given is None else given


def findings_elsewhere(given: Sequence[str] | None = None) -> Sequence[str]:
    """The findings chapter's ``table_studies``: ``given``, or (``None``) the studies
    whose chapter shows no findings table.

    >>> findings_elsewhere()
    ['seed002_families', 'wrn', 'transfer']
    """
    return active().findings_elsewhere() if given is None else given


def plan(
    profile: str | Profile, studies: Iterable[str] | None = None, names: Iterable[str] | None = None
) -> list[Variant]:
    """The runs a profile trains: selected variants (and the base variants of the
    selected studies' derived entries, such as k-NN on features), scaled, once per
    profile seed.

    Variants the profile marks full-only are left out unless named explicitly.
    Unknown study or variant names raise ``KeyError`` with close matches.
    """
    return active().plan(profile, studies, names)
