"""The ``sample`` profile's budget: epochs and seeds per model family, chosen so that
runs reach their plateau on the 5,085-image slice (4,068 training images after the
validation split) and the whole sample build fits in 45 minutes on a 2-core CPU.

An epoch of the slice is a tenth of a full-CIFAR-10 epoch, so a seed's epoch count is
not a plateau here: small CNNs trained with Adam overfit within 6-10 epochs (their
lowest validation loss comes at epoch 5-8), so the 5-epoch ones get 10; SGD-trained
models need more steps; long schedules (50-100 epochs) are cut to the epochs where
their validation loss stops falling, and their learning-rate schedules, written as
fractions of the epochs, shrink with them. Where no budget that fits reaches a plateau,
the runs stay (flagged under-trained by the report) or, for seed 002's Model 2-x and
Model 3-x, are left to the full profile (:data:`SAMPLE_FULL_ONLY`). Where two variants
of one configuration get the same budget (an epoch-matched control and the variant it
controls for), the build trains one run and the report says "same run as … under this
profile".

Seeds: three for the cheap families, two where a seed's claim is tested, one for the
costliest (the findings tables give the seeds each comparison shares: with one, the
test is exact McNemar on that pair of runs).

Each :class:`Budget` covers one family of variants with one reason; the measured
plateaus behind the numbers (one seed each, on the slice, ``cifar_core.runs.train``)
are in the ``why`` texts. :func:`epochs` and :func:`seeds` compile them to the
per-variant mappings a :class:`~cifar_core.experiments.profiles.Profile` takes; a
variant budgeted twice is an error. ``benchmarks/sample_budget.py`` prices the budget
in CPU time.

Example
-------
>>> epochs()["flagship"], seeds()["flagship"]
(64, (0,))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

THREE = (0, 1, 2)
TWO = (0, 1)
ONE = (0,)


@dataclass(frozen=True)
class Budget:
    """Epochs (per variant) and seeds of one family of variants, and why."""

    family: str
    epochs: Mapping[str, int]
    seeds: tuple[int, ...]
    why: str


def _all(names: str, epochs: int) -> dict[str, int]:
    return {name: epochs for name in names.split()}


SAMPLE_BUDGET: tuple[Budget, ...] = (
    Budget(
        "seed 000: one- and two-block CNNs (Adam)",
        _all(
            "s000_cnn2 s000_cnn1 ctl_cnn1_e5 s000_cnn1_f64 ctl_cnn1_f16 "
            "s000_cnn1_k2 ctl_cnn1_k5 s000_cnn1_leaky ctl_cnn1_tanh ctl_cnn1_gelu "
            "s000_cnn1_pool3 s000_cnn1_pool4 s000_cnn1_avgpool",
            10,
        ),
        THREE,
        "Lowest validation loss at epoch 5 (one block) and 6 (two blocks); at 5 epochs "
        "both are still improving. Every seed-000 CNN gets 10, so the 5-epoch control "
        "ctl_cnn1_e5 is the same run as s000_cnn1 here.",
    ),
    Budget(
        "seed 000: CNNs with one seed",
        _all("s000_cnn3 s000_cnn1_bn s000_cnn1_gap", 10),
        ONE,
        "The three-block CNN is still improving at 15 epochs (lowest validation loss at "
        "epoch 13) and global average pooling (10,581 parameters) after 20: at 10 they "
        "stay flagged, so one seed each; batch norm without pooling costs 4 s of CPU "
        "per epoch (its best epoch is the 3rd): one seed.",
    ),
    Budget(
        "seed 000: MLP (SGD 0.01)",
        {"s000_mlp": 10},
        ONE,
        "Plain SGD on a 12 M-parameter MLP still improves after 15 epochs (+2 points of "
        "validation accuracy from epoch 10 to 15); 10 epochs, one seed, flagged, rather "
        "than the 60 or more a plateau would take.",
    ),
    Budget(
        "seed 004: lab MLP",
        {"s004_mlp": 15},
        THREE,
        "Lowest validation loss at epoch 3: the seed's 15 epochs are plenty.",
    ),
    Budget(
        "seed 004: lab CNNs (SGD 0.01, Nesterov)",
        {
            "s004_cnn": 10,
            "ctl_s004_cnn_e10": 20,
            "s004_cnn_dropout": 20,
            "ctl_s004_dropout_e15": 20,
            "s004_cnn_bn": 20,
        },
        ONE,
        "The CNN's lowest validation loss comes at epoch 7 (10 here, twice the seed's 5); "
        "with dropout it is still falling at epoch 19 of 20, so the dropout CNN, batch "
        "norm and both epoch-matched controls get 20: the dropout and batch-norm claims "
        "stay compared at equal epochs, and ctl_s004_dropout_e15 is the same run as "
        "s004_cnn_dropout here. One seed: at 1-2.3 min of CPU per run a second seed "
        "would not fit the 45 minutes.",
    ),
    Budget(
        "seed 004's final model",
        {"s004_final": 20},
        ONE,
        "Its lowest validation loss comes at epoch 13 of 25; 20 epochs (within the "
        "lab's 25-epoch pass mark); one seed (2 min of CPU).",
    ),
    Budget(
        "optimizer study on seed 004's final model",
        _all("ctl_final_sgd_momentum ctl_final_adam ctl_final_rmsprop", 20),
        ONE,
        "As s004_final; one seed (the comparison with it is paired on seed 0).",
    ),
    Budget(
        "seed 001: model_a and model_b (Adam, 50 epochs)",
        _all("s001_model_a s001_model_b", 20),
        TWO,
        "model_a's lowest validation loss comes at epoch 8 and it overfits after; with "
        "augmentation (model_b) it still falls until epoch 15 and the flag clears from "
        "epoch 19: 20 epochs for both, two seeds for the augmentation claim.",
    ),
    Budget(
        "seed 001: model_c and the flip-only control",
        _all("s001_model_c ctl_model_a_flip", 20),
        ONE,
        "As model_a; one seed.",
    ),
    Budget(
        "seed 002: Model 1 (Adam, 100 epochs)",
        _all("s002_model1_b32 s002_model1_b64 s002_model1_b128", 25),
        TWO,
        "Lowest validation loss at epoch 13 (batch 32) and 18 (batch 128), flag clear "
        "from epoch 23: 25 epochs.",
    ),
    Budget(
        "seed 003: net, normalization, augmentation (10 epochs)",
        _all(
            "s003_net ctl_s003_net_unit s003_net_zscore ctl_s003_net_channel "
            "s003_net_zscore_aug ctl_s003_net_zscore_aug_l2",
            10,
        ),
        TWO,
        "The seed's 10 epochs: the net's lowest validation loss comes at epoch 6, with "
        "augmentation at 7.",
    ),
    Budget(
        "seed 003: L2 and learning-rate schedules (100 epochs)",
        _all(
            "s003_net_l2_step ctl_s003_l2_constant ctl_s003_l2_step_intended ctl_s003_l2_cosine", 15
        ),
        ONE,
        "15 epochs, with the step and cosine schedules rescaled (they are fractions of "
        "the epochs): the cosine run's lowest validation loss comes at epoch 10 of 15. "
        "One seed.",
    ),
    Budget(
        "seed 003: VGG16 block 3 transfer (5 epochs)",
        _all("s003_vgg16_b3 ctl_vgg16_b3_frozen", 3),
        ONE,
        "About 30 s of CPU per epoch on the slice; 3 epochs, one seed. Run only with the "
        "ImageNet weights on disk.",
    ),
    Budget(
        "flagship (64 epochs)",
        {"flagship": 64},
        ONE,
        "Its full budget: the recipe is tuned for 64 epochs on this slice (80.6 % test "
        "accuracy over 3 seeds in 181 s with both cores, benchmarks/time_to_accuracy.py; "
        "about 5.5 min of one core in a two-worker build); one seed.",
    ),
    Budget(
        "flagship ablations",
        {"ctl_flagship_e32": 32, "ctl_flagship_layer_augmentation": 64},
        ONE,
        "Each changes one setting of the recipe at the recipe's own budget (the "
        "epochs ablation at half of it); one seed each, paired with the flagship's "
        "seed 0 in the findings table. The other three ablations are full-profile "
        "only (SAMPLE_FULL_ONLY).",
    ),
)

FULL_ONLY = frozenset({"s002_wrn_16_8", "s003_vgg16_full", "s003_vgg16_full_imagenet"})
"""Too costly for a 2-core CPU even for a few epochs (WRN-16-8: 3.1 GFLOPs per image;
whole VGG16: 0.63): run in the full profile only, in every scaled profile."""

SAMPLE_FULL_ONLY = FULL_ONLY | {
    "s002_model2_1",
    "s002_model2_2",
    "s002_model2_3",
    "s002_model3_1",
    "s002_model3_2",
    "s002_model3_3",
    "ctl_flagship_warmup05",
    "ctl_flagship_no_tta_translate",
    "ctl_flagship_lookahead",
}
"""Not run by the sample profile: :data:`FULL_ONLY`; seed 002's Model 2-x (SGD +
momentum, 200 epochs), still improving after 40 epochs on the slice (lowest validation
loss at epoch 36 of 40, 52 % validation accuracy; at 20 epochs all three runs were
flagged under-trained and their depth claims were judged on them); seed 002's VGG-style
Model 3-x (RMSprop, augmentation, batch norm; 7-13 s of CPU per epoch here), which reach
30 % validation accuracy after 10 epochs on the slice and are still climbing: a run that
means something would take most of the 45-minute budget; and three of the flagship's
ablations (about 5.5 min of CPU each): the warm-up length and Lookahead, which the
recipe's log already settled (benchmarks/flagship_log.md), and translate TTA, whose gain
the TTA chapter measures on the flagship's own run."""


def _compiled() -> tuple[dict[str, int], dict[str, tuple[int, ...]]]:
    epochs: dict[str, int] = {}
    seeds: dict[str, tuple[int, ...]] = {}
    for budget in SAMPLE_BUDGET:
        for name, value in budget.epochs.items():
            if name in epochs:
                raise ValueError(
                    f"sample budget: {name!r} is budgeted twice (second time in "
                    f"{budget.family!r}); give each variant one line"
                )
            epochs[name], seeds[name] = int(value), tuple(budget.seeds)
    return epochs, seeds


def epochs() -> dict[str, int]:
    """``{variant: epochs}`` of the sample profile."""
    return _compiled()[0]


def seeds() -> dict[str, tuple[int, ...]]:
    """``{variant: seeds}`` of the sample profile."""
    return _compiled()[1]
