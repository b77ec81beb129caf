"""The seeds' claims as data, and their verdicts under our runs.

Each :class:`Claim` quotes a seed report verbatim (``quote`` is an exact substring of
``/work/shared/seeds/<seed_file>``; the tests check it), names the study and the two
variants it compares, and states the expected direction of ``variant`` relative to
``baseline`` (``better``, ``worse`` or ``no difference``). ``statement`` is our reading
of the quote in one line; ``note`` names what makes the comparison imperfect.

:func:`evaluate_claims` looks each claim up in the findings of
:func:`cifar_core.analysis.findings.compare_study` (pass ``pairs=claim_pairs(study)``
so that claims between two non-baseline variants are tested, inside the study's Holm
family) and says whether it **holds**, is **reversed** or is **inconclusive at this
budget**; a claim whose comparison could not be made is **not evaluated**, with the
reason.

This module does not import the catalog at import time (only inside functions).

Example
-------
>>> [c.variant for c in claims_for("normalization")]
['s003_net_zscore']
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

BETTER, WORSE, NO_DIFFERENCE = "better", "worse", "no difference"
HOLDS, REVERSED, INCONCLUSIVE, NOT_EVALUATED = ("holds", "reversed", "inconclusive at this budget",
                                                "not evaluated")
SEED_FILES = {"000": "000_01db5562a8938968.txt", "001": "001_c57b9b24992a24fd.txt",
              "002": "002_9b08b6f72382b430.txt", "003": "003_f66d146831284692.txt",
              "004": "004_8744a69186e23c83.txt"}
"""The seed reports (the catalog's ``SEED_FILES``; a test keeps the two equal)."""


@dataclass(frozen=True)
class Claim:
    """One claim of one seed report about two variants of a study."""

    study: str
    seed: str
    quote: str
    variant: str
    baseline: str
    expected: str
    statement: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.expected not in (BETTER, WORSE, NO_DIFFERENCE):
            raise ValueError(f"claim on {self.variant}: expected must be {BETTER!r}, {WORSE!r} "
                             f"or {NO_DIFFERENCE!r}, got {self.expected!r}")
        if self.seed not in SEED_FILES:
            raise ValueError(f"claim on {self.variant}: unknown seed {self.seed!r}; "
                             f"known: {', '.join(SEED_FILES)}")
        if self.variant == self.baseline:
            raise ValueError(f"claim on {self.variant}: variant and baseline are the same")

    @property
    def seed_file(self) -> str:
        return SEED_FILES[self.seed]


def _c(study, seed, quote, variant, expected, baseline, statement, note="") -> Claim:
    return Claim(study, seed, quote, variant, baseline, expected, statement, note)


CLAIMS: tuple[Claim, ...] = (
    _c("baselines", "000", "We see that our average precision and recall has increased, which means",
       "s000_cnn2", BETTER, "s000_mlp", "A two-block CNN beats the MLP on the test set."),
    _c("depth", "000", "The accuracy has decreased too, Although it has increased in the training set.",
       "s000_cnn3", WORSE, "s000_cnn2", "A third conv block lowers test accuracy.",
       "The seed's depth-3 test figure (10.2 %) is chance level: an evaluation mismatch."),
    _c("filters", "000", "We see that in both testing and training set, our loss has increased "
       "which is a bad sign.", "s000_cnn1_f64", WORSE, "ctl_cnn1_e5",
       "64 filters do worse than 32.", "The seed's 32-filter run had 10 epochs; ctl_cnn1_e5 has 5."),
    _c("kernel_size", "000", "Again we see that the accuracy has decreased and it didn't have a "
       "good effect.", "s000_cnn1_k2", WORSE, "ctl_cnn1_e5", "2×2 kernels do worse than 3×3."),
    _c("pooling", "000", "although the result wasn't as accurate for our training set, but the "
       "testing set has given us a better loss and accuracy.", "s000_cnn1_pool3", BETTER,
       "s000_cnn1", "3×3 max pooling beats 2×2."),
    _c("pooling", "000", "so increasing the size of our pooling matrix has a good impact.",
       "s000_cnn1_pool4", BETTER, "s000_cnn1", "4×4 max pooling beats 2×2."),
    _c("pooling", "000", "Both training and testing loss has increased, so maxpooling has shown to "
       "be a better option.", "s000_cnn1_avgpool", WORSE, "s000_cnn1",
       "Average pooling does worse than max pooling."),
    _c("pooling", "000", "that's why global average pooling probably isn't a good option.",
       "s000_cnn1_gap", WORSE, "s000_cnn1", "Global average pooling does worse than max pooling.",
       "Global average pooling ran 5 epochs, the baseline 10."),
    _c("batch_norm", "000", "We see that the accuracy has decreased a lot in our training set, but "
       "is overfitting our model.", "s000_cnn1_bn", WORSE, "ctl_cnn1_e5",
       "Batch norm (without pooling) does worse than the one-block CNN.",
       "Seed 000's BN model also drops the pooling layer."),
    _c("augmentation", "001", "meaning that the model with data augmentation from step f "
       "generalizes better than the model from step e.", "s001_model_b", BETTER, "s001_model_a",
       "Augmentation improves model_a."),
    _c("seed001_trio", "001", "it could indicate better generalization due to the regularizing "
       "effect of batch normalization.", "s001_model_c", BETTER, "s001_model_a",
       "Batch norm improves model_a.", "model_c also uses Adam 0.01 and batch 64."),
    _c("batch_size", "002", "After 100 epochs, the accuracy on test dataset is around 68.34% in "
       "model 1-3, so we set batch size equal to 128.", "s002_model1_b32", WORSE,
       "s002_model1_b128", "Batch 32 does worse than batch 128."),
    _c("batch_size", "002", "After 100 epochs, the accuracy on test dataset is around 68.34% in "
       "model 1-3, so we set batch size equal to 128.", "s002_model1_b64", WORSE,
       "s002_model1_b128", "Batch 64 does worse than batch 128."),
    _c("depth", "002", "Add suitable more layers can achieve higher accuracy.", "s002_model2_3",
       BETTER, "s002_model2_1", "Model 2-3 (five blocks) beats Model 2-1 (three blocks)."),
    _c("seed002_families", "002", "Notice that the test result is 83.15%, which performance better "
       "than the previous simple model.", "s002_model2_3", BETTER, "s002_model1_b128",
       "Model 2-3 beats Model 1."),
    _c("seed002_families", "002", "Model 3-3 increase test accuracy from 83.15% to 89.00%.",
       "s002_model3_3", BETTER, "s002_model2_3", "Model 3-3 beats Model 2-3.",
       "Model 3 changes the architecture, optimizer, epochs and augmentation at once."),
    _c("optimizer", "002", "Stochastic Gradient Descent algorithm to optimize the weights is "
       "probably not the most appropriate algorithm for this dataset.", "ctl_final_adam", BETTER,
       "ctl_final_sgd_momentum", "Adam beats SGD with momentum.",
       "A conjecture of the seed, tested on seed 004's final model."),
    _c("normalization", "003", "After only normalization of the data using z-score normalization, "
       "we get improvement of ~ 0.5% on test set accuracy", "s003_net_zscore", BETTER, "s003_net",
       "Z-score inputs beat raw inputs."),
    _c("augmentation", "003", "After normalization and augmentation we get Deterioration test and "
       "train accuracy,", "s003_net_zscore_aug", WORSE, "s003_net_zscore",
       "Augmentation lowers the accuracy of seed 003's net."),
    _c("l2", "003", "We get improvement in test and train accuracy: 82% test accuracy and ~86% "
       "train accuracy:", "s003_net_l2_step", BETTER, "s003_net_zscore_aug",
       "L2 with a step schedule improves seed 003's net.",
       "The L2 run also trains 100 epochs instead of 10."),
    _c("transfer", "003", "(no significant improvement from the last run)",
       "s003_vgg16_full_imagenet", NO_DIFFERENCE, "s003_vgg16_full",
       "ImageNet normalization makes no difference for VGG16 fine-tuning."),
    _c("seed004_lab", "004", "You should find that this one is much more efficient, i.e. achieves "
       "higher accuracy with fewer parameters.", "s004_cnn", BETTER, "s004_mlp",
       "The CNN beats the MLP."),
    _c("dropout", "004", "[It doesn't necessarily have worse accuracy than before, but it does seem "
       "to take longer to reach accuracy convergence.", "s004_cnn_dropout", NO_DIFFERENCE,
       "ctl_s004_cnn_e10", "Dropout does not change test accuracy (at equal epochs)."),
    _c("batch_norm", "004", "it helps the optimization converge faster which means we get higher "
       "performance in fewer epochs.", "s004_cnn_bn", BETTER, "ctl_s004_dropout_e15",
       "Batch norm improves seed 004's CNN with dropout (at equal epochs)."),
)


def claims_for(study: str, claims: Iterable[Claim] = CLAIMS) -> list[Claim]:
    """The claims about one study, in order."""
    return [c for c in claims if c.study == study]


def claim_pairs(study: str, claims: Iterable[Claim] = CLAIMS) -> list[tuple[str, str]]:
    """``(variant, baseline)`` of the study's claims: the ``pairs`` for ``compare_study``."""
    return list(dict.fromkeys((c.variant, c.baseline) for c in claims_for(study, claims)))


def check_claims(claims: Iterable[Claim] = CLAIMS) -> None:
    """Raise ``ValueError`` if a claim names a study or variant the catalog lacks."""
    catalog = _catalog()
    for claim in claims:
        study = catalog.get_study(claim.study)
        for name in (claim.variant, claim.baseline):
            if name not in study.names():
                raise ValueError(f"claim of seed {claim.seed} ({claim.statement}): {name!r} is "
                                 f"not a variant of study {claim.study!r}")


def _catalog():
    try:  # the catalog's new home after the package restructuring
        from cifar_core.experiments import catalog
    except ImportError:
        from cifar_core import catalog
    return catalog


@dataclass(frozen=True)
class ClaimResult:
    """A claim's verdict; numbers are the claim's ``variant − baseline`` (fractions)."""

    claim: Claim
    outcome: str
    verdict: str = ""
    diff: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_holm: float = math.nan
    n_seeds: int = 0
    under_trained: tuple[str, ...] = ()
    reason: str = ""


_FLIP = {"better": "worse", "worse": "better"}


def _lookup(claim: Claim, findings: Any) -> tuple[Any, bool] | None:
    if hasattr(findings, "comparisons"):  # one StudyFindings
        findings = [findings]
    study = findings.get(claim.study) if isinstance(findings, Mapping) else next(
        (f for f in findings if f.study == claim.study), None)
    if study is None:
        return None
    for comparison in study.comparisons:
        if (comparison.variant, comparison.baseline) == (claim.variant, claim.baseline):
            return comparison, False
        if (comparison.variant, comparison.baseline) == (claim.baseline, claim.variant):
            return comparison, True
    return None


def _outcome(expected: str, verdict: str, low: float, high: float, margin: float) -> str:
    if expected == NO_DIFFERENCE:
        if verdict in _FLIP:
            return REVERSED
        return HOLDS if -margin <= low and high <= margin else INCONCLUSIVE
    if verdict == expected:
        return HOLDS
    return REVERSED if verdict == _FLIP[expected] else INCONCLUSIVE


def evaluate_claim(claim: Claim, findings: Any, *, equivalence_margin: float = 0.01) -> ClaimResult:
    """One :class:`ClaimResult`; see :func:`evaluate_claims`."""
    found = _lookup(claim, findings)
    if found is None:
        return ClaimResult(claim, NOT_EVALUATED, reason=(
            f"{claim.variant} vs {claim.baseline} is not among the findings of study "
            f"{claim.study!r}; compare it with compare_study(..., pairs=claim_pairs({claim.study!r}))"))
    comparison, flip = found
    if not comparison.tested:
        return ClaimResult(claim, NOT_EVALUATED, verdict=comparison.verdict, reason=comparison.message)
    sign = -1.0 if flip else 1.0
    low, high = sorted((sign * comparison.ci_low, sign * comparison.ci_high))
    verdict = _FLIP.get(comparison.verdict, comparison.verdict) if flip else comparison.verdict
    return ClaimResult(claim, _outcome(claim.expected, verdict, low, high, equivalence_margin),
                       verdict, sign * comparison.diff, low, high, comparison.p_holm,
                       comparison.n_seeds, comparison.under_trained)


def evaluate_claims(claims: Iterable[Claim], findings: Any, *,
                    equivalence_margin: float = 0.01) -> list[ClaimResult]:
    """Each claim's outcome under the computed findings.

    Parameters
    ----------
    claims : iterable of Claim
    findings : StudyFindings, mapping or iterable of StudyFindings
        One study's findings, ``{study name: StudyFindings}`` or a list of them.
    equivalence_margin : float
        For ``no difference`` claims: the claim holds only when the whole confidence
        interval lies within ± this margin (0.01 = 1 point); a detected difference
        (``better``/``worse`` verdict) counts as ``reversed``.

    Returns
    -------
    list of ClaimResult
        ``holds`` when the verdict has the claimed direction, ``reversed`` when it has
        the opposite one, ``inconclusive at this budget`` when no difference is
        detected, ``not evaluated`` (with ``reason``) when the comparison was not made.
    """
    return [evaluate_claim(c, findings, equivalence_margin=equivalence_margin) for c in claims]


def _pts(value: float, signed: bool = False) -> str:
    from cifar_core.analysis.findings_text import points

    return points(value, signed=signed)


def claim_sentence(result: ClaimResult) -> str:
    """A sentence quoting the claim and stating its outcome with the effect.

    The effect is worded from the verdict: "better"/"worse" only when detected.
    """
    from cifar_core.analysis.findings_text import p_phrase

    c = result.claim
    head = f"Seed {c.seed} claims “{c.quote.strip()}” ({c.statement})"
    if result.outcome == NOT_EVALUATED:
        return f"{head}: not evaluated ({result.reason.removeprefix('not compared: ')})."
    numbers = (f"95 % CI {_pts(result.ci_low)} to {_pts(result.ci_high)}; "
               f"Holm p {p_phrase(result.p_holm)}")
    if result.verdict in _FLIP:
        effect = (f"{c.variant} is {result.verdict} than {c.baseline} by "
                  f"{_pts(abs(result.diff))} points ({numbers})")
    else:
        effect = (f"no detectable difference between {c.variant} and {c.baseline}, Δ = "
                  f"{_pts(result.diff, True)} points ({numbers})")
    text = f"{head}: {result.outcome}; {effect}."
    if result.under_trained:
        text += f" Under-trained runs: {', '.join(result.under_trained)}."
    return text


def claims_table(results: Sequence[ClaimResult]):
    """A pandas DataFrame: one row per claim with quote, expectation, outcome and numbers
    (percentage points)."""
    import pandas as pd

    return pd.DataFrame([{
        "study": r.claim.study, "seed": r.claim.seed, "claim": r.claim.statement,
        "quote": r.claim.quote, "variant": r.claim.variant, "baseline": r.claim.baseline,
        "expected": r.claim.expected, "outcome": r.outcome, "verdict": r.verdict,
        "Δ test acc (pts)": r.diff * 100, "CI low (pts)": r.ci_low * 100,
        "CI high (pts)": r.ci_high * 100, "p (Holm)": r.p_holm, "shared seeds": r.n_seeds,
        "under-trained runs": ", ".join(r.under_trained), "note": r.claim.note or r.reason}
        for r in results])
