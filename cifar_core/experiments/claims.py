"""The seeds' claims as data (their verdicts under our runs: :mod:`cifar_core.analysis.claims`).

Each :class:`Claim` quotes a seed report verbatim (``quote`` is an exact substring of
``../shared/seeds/<seed_file>``; the tests check it), names the study and the two
variants it compares, and states the expected direction of ``variant`` relative to
``baseline`` (``better``, ``worse`` or ``no difference``). ``statement`` is our reading
of the quote in one line; ``note`` names what makes the comparison imperfect.

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
from dataclasses import dataclass

from cifar_core.experiments.catalog import SEED_FILES

BETTER, WORSE, NO_DIFFERENCE = "better", "worse", "no difference"
HOLDS, REVERSED, INCONCLUSIVE, NOT_EVALUATED = (
    "holds",
    "reversed",
    "inconclusive at this budget",
    "not evaluated",
)


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
            raise ValueError(
                f"claim on {self.variant}: expected must be {BETTER!r}, {WORSE!r} "
                f"or {NO_DIFFERENCE!r}, got {self.expected!r}"
            )
        if self.seed not in SEED_FILES:
            raise ValueError(
                f"claim on {self.variant}: unknown seed {self.seed!r}; "
                f"known: {', '.join(SEED_FILES)}"
            )
        if self.variant == self.baseline:
            raise ValueError(f"claim on {self.variant}: variant and baseline are the same")

    @property
    def seed_file(self) -> str:
        return SEED_FILES[self.seed]


def _c(study, seed, quote, variant, expected, baseline, statement, note="") -> Claim:
    return Claim(study, seed, quote, variant, baseline, expected, statement, note)


CLAIMS: tuple[Claim, ...] = (
    _c(
        "baselines",
        "000",
        "We see that our average precision and recall has increased, which means",
        "s000_cnn2",
        BETTER,
        "s000_mlp",
        "A two-block CNN beats the MLP on the test set.",
    ),
    _c(
        "depth",
        "000",
        "The accuracy has decreased too, Although it has increased in the training set.",
        "s000_cnn3",
        WORSE,
        "s000_cnn2",
        "A third conv block lowers test accuracy.",
        "The seed's depth-3 test figure (10.2 %) is chance level: an evaluation mismatch.",
    ),
    _c(
        "filters",
        "000",
        "We see that in both testing and training set, our loss has increased which is a bad sign.",
        "s000_cnn1_f64",
        WORSE,
        "ctl_cnn1_e5",
        "64 filters do worse than 32.",
        "The seed's 32-filter run had 10 epochs; ctl_cnn1_e5 has the 64-filter run's.",
    ),
    _c(
        "kernel_size",
        "000",
        "Again we see that the accuracy has decreased and it didn't have a good effect.",
        "s000_cnn1_k2",
        WORSE,
        "ctl_cnn1_e5",
        "2×2 kernels do worse than 3×3.",
    ),
    _c(
        "pooling",
        "000",
        "although the result wasn't as accurate for our training set, but the "
        "testing set has given us a better loss and accuracy.",
        "s000_cnn1_pool3",
        BETTER,
        "s000_cnn1",
        "3×3 max pooling beats 2×2.",
    ),
    _c(
        "pooling",
        "000",
        "so increasing the size of our pooling matrix has a good impact.",
        "s000_cnn1_pool4",
        BETTER,
        "s000_cnn1",
        "4×4 max pooling beats 2×2.",
    ),
    _c(
        "pooling",
        "000",
        "Both training and testing loss has increased, so maxpooling has shown to "
        "be a better option.",
        "s000_cnn1_avgpool",
        WORSE,
        "s000_cnn1",
        "Average pooling does worse than max pooling.",
    ),
    _c(
        "pooling",
        "000",
        "that's why global average pooling probably isn't a good option.",
        "s000_cnn1_gap",
        WORSE,
        "s000_cnn1",
        "Global average pooling does worse than max pooling.",
        "In the seed, global average pooling ran 5 epochs, the baseline 10.",
    ),
    _c(
        "batch_norm",
        "000",
        "We see that the accuracy has decreased a lot in our training set, but "
        "is overfitting our model.",
        "s000_cnn1_bn",
        WORSE,
        "ctl_cnn1_e5",
        "Batch norm (without pooling) does worse than the one-block CNN.",
        "Seed 000's BN model also drops the pooling layer.",
    ),
    _c(
        "augmentation",
        "001",
        "meaning that the model with data augmentation from step f "
        "generalizes better than the model from step e.",
        "s001_model_b",
        BETTER,
        "s001_model_a",
        "Augmentation improves model_a.",
    ),
    _c(
        "seed001_trio",
        "001",
        "it could indicate better generalization due to the regularizing "
        "effect of batch normalization.",
        "s001_model_c",
        BETTER,
        "s001_model_a",
        "Batch norm improves model_a.",
        "model_c also uses Adam 0.01 and batch 64.",
    ),
    _c(
        "batch_size",
        "002",
        "After 100 epochs, the accuracy on test dataset is around 68.34% in "
        "model 1-3, so we set batch size equal to 128.",
        "s002_model1_b32",
        WORSE,
        "s002_model1_b128",
        "Batch 32 does worse than batch 128.",
    ),
    _c(
        "batch_size",
        "002",
        "After 100 epochs, the accuracy on test dataset is around 68.34% in "
        "model 1-3, so we set batch size equal to 128.",
        "s002_model1_b64",
        WORSE,
        "s002_model1_b128",
        "Batch 64 does worse than batch 128.",
    ),
    _c(
        "depth",
        "002",
        "Add suitable more layers can achieve higher accuracy.",
        "s002_model2_3",
        BETTER,
        "s002_model2_1",
        "Model 2-3 (five blocks) beats Model 2-1 (three blocks).",
    ),
    _c(
        "seed002_families",
        "002",
        "Notice that the test result is 83.15%, which performance better "
        "than the previous simple model.",
        "s002_model2_3",
        BETTER,
        "s002_model1_b128",
        "Model 2-3 beats Model 1.",
    ),
    _c(
        "seed002_families",
        "002",
        "Model 3-3 increase test accuracy from 83.15% to 89.00%.",
        "s002_model3_3",
        BETTER,
        "s002_model2_3",
        "Model 3-3 beats Model 2-3.",
        "Model 3 changes the architecture, optimizer, epochs and augmentation at once.",
    ),
    _c(
        "optimizer",
        "002",
        "Stochastic Gradient Descent algorithm to optimize the weights is "
        "probably not the most appropriate algorithm for this dataset.",
        "ctl_final_adam",
        BETTER,
        "ctl_final_sgd_momentum",
        "Adam beats SGD with momentum.",
        "A conjecture of the seed, tested on seed 004's final model.",
    ),
    _c(
        "normalization",
        "003",
        "After only normalization of the data using z-score normalization, "
        "we get improvement of ~ 0.5% on test set accuracy",
        "s003_net_zscore",
        BETTER,
        "s003_net",
        "Z-score inputs beat raw inputs.",
    ),
    _c(
        "augmentation",
        "003",
        "After normalization and augmentation we get Deterioration test and train accuracy,",
        "s003_net_zscore_aug",
        WORSE,
        "s003_net_zscore",
        "Augmentation lowers the accuracy of seed 003's net.",
    ),
    _c(
        "l2",
        "003",
        "We get improvement in test and train accuracy: 82% test accuracy and ~86% train accuracy:",
        "s003_net_l2_step",
        BETTER,
        "s003_net_zscore_aug",
        "L2 with a step schedule improves seed 003's net.",
        "In the seed, the L2 run also trains 100 epochs instead of 10.",
    ),
    _c(
        "transfer",
        "003",
        "(no significant improvement from the last run)",
        "s003_vgg16_full_imagenet",
        NO_DIFFERENCE,
        "s003_vgg16_full",
        "ImageNet normalization makes no difference for VGG16 fine-tuning.",
    ),
    _c(
        "seed004_lab",
        "004",
        "You should find that this one is much more efficient, i.e. achieves "
        "higher accuracy with fewer parameters.",
        "s004_cnn",
        BETTER,
        "s004_mlp",
        "The CNN beats the MLP.",
    ),
    _c(
        "dropout",
        "004",
        "[It doesn't necessarily have worse accuracy than before, but it does seem "
        "to take longer to reach accuracy convergence.",
        "s004_cnn_dropout",
        NO_DIFFERENCE,
        "ctl_s004_cnn_e10",
        "Dropout does not change test accuracy (at equal epochs).",
    ),
    _c(
        "batch_norm",
        "004",
        "it helps the optimization converge faster which means we get higher "
        "performance in fewer epochs.",
        "s004_cnn_bn",
        BETTER,
        "ctl_s004_dropout_e15",
        "Batch norm improves seed 004's CNN with dropout (at equal epochs).",
    ),
)


def claims_for(study: str, claims: Iterable[Claim] = CLAIMS) -> list[Claim]:
    """The claims about one study, in order."""
    return [c for c in claims if c.study == study]


def claim_pairs(study: str, claims: Iterable[Claim] = CLAIMS) -> list[tuple[str, str]]:
    """``(variant, baseline)`` of the study's claims: the ``pairs`` for ``compare_study``."""
    return list(dict.fromkeys((c.variant, c.baseline) for c in claims_for(study, claims)))


def check_claims(claims: Iterable[Claim] = CLAIMS) -> None:
    """Raise ``ValueError`` if a claim names a study or variant the catalog lacks."""
    from cifar_core.experiments import catalog

    for claim in claims:
        study = catalog.get_study(claim.study)
        for name in (claim.variant, claim.baseline):
            if name not in study.names():
                raise ValueError(
                    f"claim of seed {claim.seed} ({claim.statement}): {name!r} is "
                    f"not a variant of study {claim.study!r}"
                )
