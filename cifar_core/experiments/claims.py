"""The claims as data (their verdicts under our runs: :mod:`cifar_core.analysis.claims`).

Each :class:`~cifar_core.experiments.declare.Claim` is declared in a source file beside
the variants it compares: a seed report's claims in its seed file (``seeds/s000.py`` …,
quoted verbatim: ``quote`` is an exact substring of ``../shared/seeds/<seed_file>``,
the tests check it), a project's own in its ``studies/*.py``. A claim names its study
and two of its variants and states the expected direction of ``variant`` relative to
``baseline`` (``better``, ``worse`` or ``no difference``); ``statement`` is our reading
in one line; ``note`` names what makes the comparison imperfect.

:func:`cifar_core.analysis.claims.evaluate_claims` looks each claim up in the findings of
:func:`cifar_core.analysis.findings.compare_study` (pass ``pairs=claim_pairs(study)``
so that claims between two non-baseline variants are tested, inside the study's Holm
family) and says whether it **holds**, is **reversed** or is **inconclusive at this
budget**; a claim whose comparison could not be made is **not evaluated**, with the
reason.


Example
-------
>>> [c.variant for c in claims_for("normalization")]
['s003_net_zscore']
"""

from __future__ import annotations

from collections.abc import Iterable

from cifar_core.experiments import catalog
from cifar_core.experiments.declare import BETTER, NO_DIFFERENCE, WORSE, Claim

__all__ = ["BETTER", "NO_DIFFERENCE", "WORSE", "Claim", "CLAIMS", "claims_for", "claim_pairs"]

HOLDS, REVERSED, INCONCLUSIVE, NOT_EVALUATED = (
    "holds",
    "reversed",
    "inconclusive at this budget",
    "not evaluated",
)

CLAIMS: tuple[Claim, ...] = catalog.builtin().claims
"""The seed reports' claims, in seed order (a project's own: :func:`catalog.claims`)."""


def claims_for(study: str, claims: Iterable[Claim] | None = None) -> list[Claim]:
    """The claims about one study, in order (default: every claim of the catalog in use)."""
    return [c for c in (catalog.claims() if claims is None else claims) if c.study == study]


def claim_pairs(study: str, claims: Iterable[Claim] | None = None) -> list[tuple[str, str]]:
    """``(variant, baseline)`` of the study's claims: the ``pairs`` for ``compare_study``."""
    return list(dict.fromkeys((c.variant, c.baseline) for c in claims_for(study, claims)))
