"""Dropout before the classifier of seed 000's one-block CNN.

Copy this file to the project's ``studies/`` folder: ``cifar-report build`` then trains
``my_cnn1_head_dropout`` (and reuses ``s000_cnn1``'s runs), compares it with seed 000's
CNN and shows the runs, the finding and the claim's verdict in the chapter "Added
studies" of the report.
"""

from cifar_core.experiments.declare import BETTER, Claim, study, variant

# Seed 000's one-block CNN (s000_cnn1: 32 filters, Dense 225 head, Adam 1e-3, batch 32,
# 10 epochs) with half of the head's inputs dropped during training.
VARIANTS = [
    variant(
        "my_cnn1_head_dropout",
        "cnn",
        {"blocks": [[32]], "dense": [225], "dense_dropout": 0.5},
        epochs=10,
    ),
]

STUDIES = [
    study(
        "my_head_dropout",
        "Dropout before the head of seed 000's one-block CNN",
        baseline="s000_cnn1",
        variants=["s000_cnn1", "my_cnn1_head_dropout"],
        notes="Dropout 0.5 on the Dense 225 layer's inputs; everything else is s000_cnn1.",
    ),
]

CLAIMS = [
    Claim(
        "my_head_dropout",
        "my_cnn1_head_dropout",
        "s000_cnn1",
        BETTER,
        "Dropout before the head improves the one-block CNN.",
    ),
]
