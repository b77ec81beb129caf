"""What a source file of the catalog declares: the vocabulary of the seed files, the
control files, the flagship and a project's own ``studies/*.py``.

A *source file* is a Python module; the catalog (:mod:`cifar_core.experiments.catalog`)
reads these upper-case names from it, all optional:

``VARIANTS``
    the variants it adds, each built with :func:`variant`;
``STUDIES``
    its studies, each a :func:`study` (variants named, from any file);
``CLAIMS``
    :class:`Claim`\\ s about two variants of a study (a seed file's claims quote it);
``REPORTED`` / ``REPORTED_EXTRA``
    the test accuracies it reports, ``{variant: fraction}``, and other figures,
    ``{variant: {"train_accuracy": fraction, …}}``;
``SEED`` / ``PROTOCOL``
    in a seed file: the seed report it reproduces (``"000"``; its claims' seed) and how
    that report trained and scored (:class:`SeedProtocol`);
``BUDGET`` / ``FULL_ONLY``
    the ``sample`` profile's epochs and seeds for its variants (:class:`Budget`), and
    the variants a scaled profile leaves out (:class:`FullOnly`), each with why.

The catalog checks every name these declarations use when it assembles them (an unknown
baseline, a claim on a missing variant, a budget for a missing variant, a duplicate
name…) and raises :class:`CatalogError` naming the file and the name.

Example
-------
>>> cnn = variant("my_cnn", "cnn", {"blocks": [[32]], "dense": [64]}, epochs=5)
>>> cnn.family, cnn.epochs
('cnn', 5)
>>> study("mine", "My CNN against seed 000's", baseline="s000_cnn1",
...       variants=["s000_cnn1", "my_cnn"]).variants
('s000_cnn1', 'my_cnn')
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cifar_core.experiments.seeds import SEED_FILES
from cifar_core.experiments.variant import Variant
from cifar_core.project import ProjectError

BETTER, WORSE, NO_DIFFERENCE = "better", "worse", "no difference"
EXPECTATIONS = (BETTER, WORSE, NO_DIFFERENCE)
NOT_STATED = "not stated"
LAST_EPOCH, BEST_VAL_LOSS = "last epoch", "best validation loss"
DECLARATIONS = (
    "VARIANTS",
    "STUDIES",
    "CLAIMS",
    "REPORTED",
    "REPORTED_EXTRA",
    "SEED",
    "PROTOCOL",
    "BUDGET",
    "FULL_ONLY",
)
"""The names the catalog reads from a source file."""


class CatalogError(ProjectError):
    """A source file declares something the catalog cannot assemble; the message names
    the file and the name (a usage error: the command line exits with status 2)."""


def variant(name: str, family: str, params: Mapping[str, Any] | None = None, **training: Any):
    """A :class:`~cifar_core.experiments.variant.Variant`: ``family`` with model
    ``params``, and training settings as keywords (``epochs``, ``optimizer``,
    ``learning_rate``, ``batch_size``, ``augmentation``…; every other default is the
    Variant's: Adam 1e-3, batch 32, pixels ÷ 255, 20 % validation split).

    >>> variant("m", "mlp", {"units": [64]}, optimizer="sgd", learning_rate=0.01).optimizer
    'sgd'
    """
    return Variant.from_dict(
        {"name": name, "family": family, "params": dict(params or {}), **training}
    )


@dataclass(frozen=True)
class StudySpec:
    """A study as a source file declares it (see :func:`study`); the catalog resolves it
    into a :class:`~cifar_core.experiments.catalog.Study`."""

    name: str
    title: str
    baseline: str
    variants: tuple[str, ...]
    chapter: str | None = None
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    pass_marks: Mapping[str, tuple] = field(default_factory=dict)
    derived: tuple[Mapping[str, Any], ...] = ()


def study(
    name: str,
    title: str,
    *,
    baseline: str,
    variants: Iterable[str],
    chapter: str | None = None,
    sources: Iterable[str] = (),
    notes: str | Iterable[str] = (),
    pass_marks: Mapping[str, tuple] | None = None,
    derived: Iterable[Mapping[str, Any]] = (),
) -> StudySpec:
    """A named comparison: ``variants`` (names, declared in any source file) against
    ``baseline``, one of them.

    ``chapter`` is the chapter that shows it (:mod:`cifar_core.experiments.chapters`; a
    project's own studies default to the added-studies chapter); ``sources`` the seed
    reports it comes from (``"000"`` … or a citation); ``notes`` remarks the chapter
    prints; ``pass_marks`` ``{variant: (op, threshold[, max epochs])}``; ``derived``
    results computed from a trained variant (k-NN on its features:
    ``{"name", "base", "method": "knn", "k", …}``).
    """
    notes = (notes,) if isinstance(notes, str) else tuple(notes)
    return StudySpec(
        name=name,
        title=title,
        baseline=baseline,
        variants=tuple(variants),
        chapter=chapter,
        sources=tuple(sources),
        notes=tuple(n.strip() for n in notes if n),
        pass_marks=dict(pass_marks or {}),
        derived=tuple(derived),
    )


@dataclass(frozen=True)
class Claim:
    """A claim about two variants of one study: ``variant`` is ``expected`` (``better``,
    ``worse`` or ``no difference``) relative to ``baseline``.

    ``statement`` is the claim in one line; ``note`` what makes the comparison imperfect.
    A seed report's claim also gives ``seed`` (its file's ``SEED`` by default) and
    ``quote``, a verbatim passage of ``../shared/seeds/<seed_file>`` (the tests check it).
    """

    study: str
    variant: str
    baseline: str
    expected: str
    statement: str
    seed: str = ""
    quote: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.expected not in EXPECTATIONS:
            raise ValueError(
                f"claim on {self.variant}: expected must be {BETTER!r}, {WORSE!r} "
                f"or {NO_DIFFERENCE!r}, got {self.expected!r}"
            )
        if self.seed and self.seed not in SEED_FILES:
            raise ValueError(
                f"claim on {self.variant}: unknown seed {self.seed!r}; "
                f"known: {', '.join(SEED_FILES)}"
            )
        if self.variant == self.baseline:
            raise ValueError(f"claim on {self.variant}: variant and baseline are the same")


@dataclass(frozen=True)
class SeedProtocol:
    """How one seed report trained and scored.

    ``train_images`` is the number of images the models were fitted on (``None``: not
    stated); ``validation`` says how a validation set was drawn, if any; ``checkpoint``
    which weights were scored; ``not_stated`` the fields of
    :data:`~cifar_core.experiments.seed_protocols.FIELDS` the seed does not state (the
    catalog then assumes them: see the studies' notes); ``evidence`` the passages of the
    seed report these facts come from, and ``marker`` one of them verbatim (the tests
    find it in the seed file).
    """

    seed: str
    train_images: int | None
    validation: str
    checkpoint: str
    not_stated: tuple[str, ...]
    evidence: str
    marker: str


@dataclass(frozen=True)
class Budget:
    """The ``sample`` profile's epochs (per variant) and seeds for one family of
    variants, and why (:mod:`cifar_core.experiments.sample_budget`)."""

    family: str
    epochs: Mapping[str, int]
    seeds: tuple[int, ...]
    why: str


@dataclass(frozen=True)
class FullOnly:
    """Variants the ``profiles`` named leave out (listed as "full profile only"), and why."""

    names: tuple[str, ...]
    profiles: tuple[str, ...]
    why: str


def each(names: str, value: int) -> dict[str, int]:
    """``{name: value}`` for the space-separated ``names`` (a budget for a family).

    >>> each("a b", 10)
    {'a': 10, 'b': 10}
    """
    return {name: value for name in names.split()}


@dataclass(frozen=True)
class Source:
    """What one source file declares (the names of the module docstring), read by
    :meth:`read`; ``path`` is how errors name the file, ``local`` marks a project's own
    ``studies/*.py``."""

    path: str
    variants: tuple[Variant, ...] = ()
    studies: tuple[StudySpec, ...] = ()
    claims: tuple[Claim, ...] = ()
    reported: Mapping[str, float] = field(default_factory=dict)
    reported_extra: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    seed: str = ""
    protocol: SeedProtocol | None = None
    budget: tuple[Budget, ...] = ()
    full_only: tuple[FullOnly, ...] = ()
    local: bool = False

    @classmethod
    def read(cls, module: Any, path: str, *, local: bool = False) -> Source:
        """The declarations of ``module``, each checked for its type; a misspelt name
        that holds declarations (``STUDY`` for ``STUDIES``) is an error, not ignored."""
        names = vars(module)
        for name, value in names.items():
            near = _misspelt(name)
            if near and _declares(value):
                raise CatalogError(
                    f"{path}: {name} is not a name the catalog reads; did you mean {near}?"
                )
        seed = names.get("SEED", "")
        if seed and seed not in SEED_FILES:
            raise CatalogError(
                f"{path}: SEED {seed!r} is not a seed report ({', '.join(SEED_FILES)})"
            )
        protocol = names.get("PROTOCOL")
        if protocol is not None and not isinstance(protocol, SeedProtocol):
            raise CatalogError(f"{path}: PROTOCOL must be a SeedProtocol(...)")
        return cls(
            path=path,
            variants=_items(names, "VARIANTS", Variant, "variant(...)", path),
            studies=_items(names, "STUDIES", StudySpec, "study(...)", path),
            claims=_items(names, "CLAIMS", Claim, "Claim(...)", path),
            reported=_figures(names, path),
            reported_extra=_extra(names, path),
            seed=seed,
            protocol=protocol,
            budget=_items(names, "BUDGET", Budget, "Budget(...)", path),
            full_only=_items(names, "FULL_ONLY", FullOnly, "FullOnly(...)", path),
            local=local,
        )


def _misspelt(name: str) -> str | None:
    """The declaration ``name`` is probably meant to be, if it is not one itself."""
    if not name.isupper() or name in DECLARATIONS:
        return None
    for candidate in (f"{name}S", name.removesuffix("S"), name.replace("Y", "IES")):
        if candidate in DECLARATIONS:
            return candidate
    close = difflib.get_close_matches(name, DECLARATIONS, n=1, cutoff=0.8)
    return close[0] if close else None


_KINDS = (Variant, StudySpec, Claim, Budget, FullOnly, SeedProtocol)


def _declares(value: Any) -> bool:
    values = value if isinstance(value, (list, tuple)) else [value]
    return any(isinstance(v, _KINDS) for v in values)


def _items(names: Mapping[str, Any], name: str, kind: type, made_by: str, path: str) -> tuple:
    value = names.get(name, ())
    if isinstance(value, kind):
        value = (value,)
    if not isinstance(value, (list, tuple)):
        raise CatalogError(
            f"{path}: {name} must be a list of {made_by}, not {type(value).__name__}"
        )
    for i, item in enumerate(value):
        if not isinstance(item, kind):
            raise CatalogError(
                f"{path}: {name}[{i}] is a {type(item).__name__}; each entry must be made by {made_by}"
            )
    return tuple(value)


def _figures(names: Mapping[str, Any], path: str) -> dict[str, float]:
    value = names.get("REPORTED", {})
    if not isinstance(value, Mapping) or not all(
        isinstance(v, (int, float)) and 0 <= v <= 1 for v in value.values()
    ):
        raise CatalogError(
            f"{path}: REPORTED must map variant names to test accuracies (fractions)"
        )
    return dict(value)


def _extra(names: Mapping[str, Any], path: str) -> dict[str, dict[str, float]]:
    value = names.get("REPORTED_EXTRA", {})
    if not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
        raise CatalogError(
            f"{path}: REPORTED_EXTRA must map variant names to {{figure: value}}, "
            'e.g. {"my_cnn": {"train_accuracy": 0.91}}'
        )
    return {k: dict(v) for k, v in value.items()}
