"""Seed 003 (``003_f66d146831284692.txt``): a two-stage CNN with batch norm and dropout
trained on raw, then z-scored, then augmented inputs, then with L2 and a step schedule
for 100 epochs; VGG16 fine-tuned from ImageNet (cut after block 3, or whole) and k-NN
on its features.

Its ``ctl_`` variants are controls the seed lacked: two more input normalizations, L2
at 10 epochs, the constant, intended-step and cosine schedules, and block-3 VGG16 with
the ImageNet layers frozen.
"""

from cifar_core.experiments.declare import (
    BETTER,
    NO_DIFFERENCE,
    NOT_STATED,
    WORSE,
    Budget,
    Claim,
    FullOnly,
    SeedProtocol,
    each,
    study,
    variant,
)

SEED = "003"

# ---------------------------------------------------------------------------- variants
NET = {
    "blocks": [[32, 32], [64, 64]],
    "batch_norm": True,
    "bn_position": "after_activation",
    "block_dropout": [0.2, 0.3],
    "dense": [],
}
NET_L2 = {**NET, "l2": 1e-4}
TEN_EPOCHS = dict(batch_size=64, epochs=10)
AUGMENTATION = {"rotation": 15, "shift": 0.1, "flip": True}
AUGMENTED = dict(preprocessing="zscore", augmentation=AUGMENTATION, **TEN_EPOCHS)
STEP_AS_WRITTEN = dict(schedule="step", schedule_params={"boundaries": [0.5], "factors": [0.5]})
STEP_AS_INTENDED = dict(
    schedule="step", schedule_params={"boundaries": [0.5, 0.75], "factors": [0.5, 0.3]}
)
COSINE = dict(schedule="cosine", schedule_params={"warmup_fraction": 0.0})
L2_100_EPOCHS = dict(batch_size=64, epochs=100, preprocessing="zscore", augmentation=AUGMENTATION)
VGG = dict(epochs=5, batch_size=64, learning_rate=1e-4, preprocessing="zscore")
VARIANTS = (
    variant("s003_net", "cnn", NET, preprocessing="raw", **TEN_EPOCHS),
    variant("ctl_s003_net_unit", "cnn", NET, preprocessing="unit", **TEN_EPOCHS),
    variant("s003_net_zscore", "cnn", NET, preprocessing="zscore", **TEN_EPOCHS),
    variant("ctl_s003_net_channel", "cnn", NET, preprocessing="channel_zscore", **TEN_EPOCHS),
    variant("s003_net_zscore_aug", "cnn", NET, **AUGMENTED),
    variant("ctl_s003_net_zscore_aug_l2", "cnn", NET_L2, **AUGMENTED),
    variant("s003_net_l2_step", "cnn", NET_L2, **STEP_AS_WRITTEN, **L2_100_EPOCHS),
    variant("ctl_s003_l2_constant", "cnn", NET_L2, **L2_100_EPOCHS),
    variant("ctl_s003_l2_step_intended", "cnn", NET_L2, **STEP_AS_INTENDED, **L2_100_EPOCHS),
    variant("ctl_s003_l2_cosine", "cnn", NET_L2, **COSINE, **L2_100_EPOCHS),
    variant("s003_vgg16_b3", "vgg16_transfer", {"cut": "block3_pool"}, **VGG),
    variant(
        "ctl_vgg16_b3_frozen", "vgg16_transfer", {"cut": "block3_pool", "trainable": False}, **VGG
    ),
    variant("s003_vgg16_full", "vgg16_transfer", {"cut": "block5_pool"}, **VGG),
    variant(
        "s003_vgg16_full_imagenet",
        "vgg16_transfer",
        {"cut": "block5_pool"},
        **{**VGG, "preprocessing": "imagenet"},
    ),
)

# ---------------------------------------------------------------------------- figures
REPORTED = {
    "s003_net": 0.7805,
    "s003_net_zscore": 0.785,
    "s003_net_zscore_aug": 0.7304,
    "s003_net_l2_step": 0.8221,
    "s003_vgg16_b3": 0.8162,
    "s003_vgg16_full": 0.83,
    "s003_vgg16_full_imagenet": 0.8347,
}
KNN = {
    "name": "s003_vgg16_knn",
    "base": "s003_vgg16_full_imagenet",
    "method": "knn",
    "k": 5,
    "reported_test_accuracy": 0.84,
    "note": "k-NN on the penultimate features of the trained base variant "
    "(cifar_core.runs.knn.knn_on_features); seed 003 reports ~84 %.",
}
KNN_FROM_SCRATCH = {
    "name": "ctl_s003_net_knn",
    "base": "s003_net_zscore",
    "method": "knn",
    "k": 5,
    "note": "k-NN on the penultimate features of seed 003's net trained from "
    "scratch: the same method without ImageNet, runnable in every profile.",
}

# ---------------------------------------------------------------------------- studies
NOTE = (
    "Seed 003's optimizer is not shown: Adam 1e-3 and batch 64 (its reference's batch) are assumed."
)
STEP_NOTE = (
    "Seed 003's step schedule as written (`if epoch > 50 … elif epoch > 75`) never "
    "reaches the second step: s003_net_l2_step runs it as written, "
    "ctl_s003_l2_step_intended as intended."
)
STUDIES = (
    study(
        "lr_schedule",
        "Learning-rate schedule (seed 003 net, L2, augmentation)",
        chapter="04-training",
        sources=["003"],
        baseline="s003_net_l2_step",
        variants=[
            "ctl_s003_l2_constant",
            "s003_net_l2_step",
            "ctl_s003_l2_step_intended",
            "ctl_s003_l2_cosine",
        ],
        notes=(NOTE, STEP_NOTE),
    ),
    study(
        "normalization",
        "Input normalization (seed 003 net)",
        chapter="04-training",
        sources=["003"],
        baseline="s003_net",
        variants=["s003_net", "ctl_s003_net_unit", "s003_net_zscore", "ctl_s003_net_channel"],
        notes=NOTE,
    ),
    study(
        "l2",
        "L2 weight penalty on convolutions (seed 003 net)",
        chapter="05-regularization",
        sources=["003"],
        baseline="s003_net_zscore_aug",
        variants=["s003_net_zscore_aug", "ctl_s003_net_zscore_aug_l2", "s003_net_l2_step"],
        notes=(NOTE, STEP_NOTE),
    ),
    study(
        "transfer",
        "Transfer learning from VGG16 (+ k-NN on features)",
        chapter="06-transfer",
        sources=["003"],
        baseline="s003_vgg16_b3",
        variants=[
            "s003_vgg16_b3",
            "ctl_vgg16_b3_frozen",
            "s003_vgg16_full",
            "s003_vgg16_full_imagenet",
        ],
        derived=[KNN, KNN_FROM_SCRATCH],
        notes=(
            NOTE,
            "Fine-tuning VGG16 uses Adam 1e-4.",
            "Needs the VGG16 ImageNet weights as a local file; without them the study "
            "is reported as not run.",
        ),
    ),
)

# ---------------------------------------------------------------------------- protocol
PROTOCOL = SeedProtocol(
    SEED,
    50_000,
    "none: the official test set is used to monitor training",
    NOT_STATED,
    ("optimizer",),
    "'our train set contain all the 5 batches … 50000 samples'; optimizer and batch size not shown",
    "so our train set contain all the 5 batches",
)

# ---------------------------------------------------------------------------- claims
CLAIMS = (
    Claim(
        "normalization",
        "s003_net_zscore",
        "s003_net",
        BETTER,
        "Z-score inputs beat raw inputs.",
        quote="After only normalization of the data using z-score normalization, "
        "we get improvement of ~ 0.5% on test set accuracy",
    ),
    Claim(
        "augmentation",
        "s003_net_zscore_aug",
        "s003_net_zscore",
        WORSE,
        "Augmentation lowers the accuracy of seed 003's net.",
        quote="After normalization and augmentation we get Deterioration test and train accuracy,",
    ),
    Claim(
        "l2",
        "s003_net_l2_step",
        "s003_net_zscore_aug",
        BETTER,
        "L2 with a step schedule improves seed 003's net.",
        quote="We get improvement in test and train accuracy: 82% test accuracy and ~86% train accuracy:",
        note="In the seed, the L2 run also trains 100 epochs instead of 10.",
    ),
    Claim(
        "transfer",
        "s003_vgg16_full_imagenet",
        "s003_vgg16_full",
        NO_DIFFERENCE,
        "ImageNet normalization makes no difference for VGG16 fine-tuning.",
        quote="(no significant improvement from the last run)",
    ),
)

# ---------------------------------------------------------------------------- budget
BUDGET = (
    Budget(
        "seed 003: net, normalization, augmentation (10 epochs)",
        each(
            "s003_net ctl_s003_net_unit s003_net_zscore ctl_s003_net_channel "
            "s003_net_zscore_aug ctl_s003_net_zscore_aug_l2",
            10,
        ),
        (0, 1),
        "The seed's 10 epochs: the net's lowest validation loss comes at epoch 6, with "
        "augmentation at 7.",
    ),
    Budget(
        "seed 003: L2 and learning-rate schedules (100 epochs)",
        each(
            "s003_net_l2_step ctl_s003_l2_constant ctl_s003_l2_step_intended ctl_s003_l2_cosine", 15
        ),
        (0,),
        "15 epochs, with the step and cosine schedules rescaled (they are fractions of "
        "the epochs): the cosine run's lowest validation loss comes at epoch 10 of 15. "
        "One seed.",
    ),
    Budget(
        "seed 003: VGG16 block 3 transfer (5 epochs)",
        each("s003_vgg16_b3 ctl_vgg16_b3_frozen", 3),
        (0,),
        "About 30 s of CPU per epoch on the slice; 3 epochs, one seed. Run only with the "
        "ImageNet weights on disk.",
    ),
)
FULL_ONLY = (
    FullOnly(
        ("s003_vgg16_full", "s003_vgg16_full_imagenet"),
        ("demo", "sample", "smoke", "rehearsal"),
        "Too costly for a 2-core CPU even for a few epochs (the whole VGG16: 0.63 GFLOPs "
        "per image).",
    ),
    FullOnly(
        ("s003_vgg16_b3", "ctl_vgg16_b3_frozen"),
        ("demo", "smoke", "rehearsal"),
        "The synthetic profiles build in minutes: fine-tuning VGG16 to block 3 (about "
        "30 s of CPU per epoch on the sample slice) does not fit them, nor, in a "
        "rehearsal, predicting 20,000 full-size validation and test images per run.",
    ),
)
