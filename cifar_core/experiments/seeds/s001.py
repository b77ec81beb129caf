"""Seed 001 (``001_c57b9b24992a24fd.txt``): a two-stage VGG-style CNN (model_a), the same
with augmentation (model_b) and with batch norm (model_c); 50 epochs, a random 20 %
validation split, the weights of the lowest validation loss.

Its control ``ctl_model_a_flip`` is model_a with horizontal flips only (the seed's
augmentation adds rotation and shift).
"""

from cifar_core.experiments.declare import (
    BEST_VAL_LOSS,
    BETTER,
    Budget,
    Claim,
    SeedProtocol,
    each,
    study,
    variant,
)

SEED = "001"

# ---------------------------------------------------------------------------- variants
AUGMENTATION = {"rotation": 10, "shift": 0.1, "flip": True}
MODEL_A = {"blocks": [[32, 32], [64, 64]], "padding": "same", "dense": [512], "dense_dropout": 0.5}
VARIANTS = (
    variant("s001_model_a", "cnn", MODEL_A, epochs=50),
    variant("s001_model_b", "cnn", MODEL_A, epochs=50, augmentation=AUGMENTATION),
    variant(
        "s001_model_c",
        "cnn",
        {**MODEL_A, "batch_norm": True, "dense_batch_norm": True},
        epochs=50,
        learning_rate=0.01,
        batch_size=64,
    ),
    variant("ctl_model_a_flip", "cnn", MODEL_A, epochs=50, augmentation={"flip": True}),
)

# ---------------------------------------------------------------------------- figures
REPORTED_EXTRA = {"s001_model_a": {"train_accuracy": 0.8711, "val_accuracy": 0.7452}}

# ---------------------------------------------------------------------------- studies
STUDIES = (
    study(
        "augmentation",
        "Data augmentation",
        chapter="05-regularization",
        sources=["001", "003"],
        baseline="s001_model_a",
        variants=[
            "s001_model_a",
            "ctl_model_a_flip",
            "s001_model_b",
            "s003_net_zscore",
            "s003_net_zscore_aug",
        ],
        notes="Seed 001: rotation 10°, shift 0.1, flip; seed 003: rotation 15°.",
    ),
    study(
        "seed001_trio",
        "Seed 001: model_a, + augmentation, + batch norm",
        chapter="05-regularization",
        sources=["001"],
        baseline="s001_model_a",
        variants=["s001_model_a", "s001_model_b", "s001_model_c"],
        notes="Seed 001 reports train/validation accuracy only (model_a: 87.1 % / 74.5 %); "
        "every model restores the weights of the best validation loss.",
    ),
)

# ---------------------------------------------------------------------------- protocol
PROTOCOL = SeedProtocol(
    SEED,
    40_000,
    "a random 20 % of the training images (np.random.permutation)",
    BEST_VAL_LOSS,
    (),
    "step A (random 20 % validation), step B (divide by 255), step E "
    "(ModelCheckpoint on the lowest val_loss, 50 epochs, batch 32)",
    "ModelCheckpoint(save_path, monitor='val_loss'",
)

# ---------------------------------------------------------------------------- claims
CLAIMS = (
    Claim(
        "augmentation",
        "s001_model_b",
        "s001_model_a",
        BETTER,
        "Augmentation improves model_a.",
        quote="meaning that the model with data augmentation from step f "
        "generalizes better than the model from step e.",
    ),
    Claim(
        "seed001_trio",
        "s001_model_c",
        "s001_model_a",
        BETTER,
        "Batch norm improves model_a.",
        quote="it could indicate better generalization due to the regularizing "
        "effect of batch normalization.",
        note="model_c also uses Adam 0.01 and batch 64.",
    ),
)

# ---------------------------------------------------------------------------- budget
BUDGET = (
    Budget(
        "seed 001: model_a and model_b (Adam, 50 epochs)",
        each("s001_model_a s001_model_b", 20),
        (0, 1),
        "model_a's lowest validation loss comes at epoch 8 and it overfits after; with "
        "augmentation (model_b) it still falls until epoch 15 and the flag clears from "
        "epoch 19: 20 epochs for both, two seeds for the augmentation claim.",
    ),
    Budget(
        "seed 001: model_c and the flip-only control",
        each("s001_model_c ctl_model_a_flip", 20),
        (0,),
        "As model_a; one seed.",
    ),
)
