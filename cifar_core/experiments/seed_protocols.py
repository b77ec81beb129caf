"""How each seed report trained and scored its models: the protocol facts behind its
figures, as data beside the catalog (the comparison with a build's protocol:
:mod:`cifar_core.analysis.protocols`).

The catalog's variants carry each seed's architecture, optimizer, epochs,
preprocessing and augmentation; what they cannot carry is how the seed split its data
and which weights it scored. :data:`SEED_PROTOCOLS` records that, per seed, with the
passage of the seed report it rests on, and names what the seed does not state (so a
table can say "not stated" instead of repeating our assumption as the seed's).

Example
-------
>>> protocol_of("s001_model_b").checkpoint
'best validation loss'
>>> seed_side("s002_model1_b32")["preprocessing"]
'not stated'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cifar_core.experiments.catalog import SEED_FILES, get_variant

NOT_STATED = "not stated"
LAST_EPOCH, BEST_VAL_LOSS = "last epoch", "best validation loss"
FIELDS = ("train images", "checkpoint", "epochs", "optimizer", "preprocessing", "augmentation")
"""The protocol facts a "reported vs reproduced" table sets side by side."""


@dataclass(frozen=True)
class SeedProtocol:
    """How one seed report trained and scored.

    ``train_images`` is the number of images the models were fitted on (``None``: not
    stated); ``validation`` says how a validation set was drawn, if any; ``checkpoint``
    which weights were scored; ``not_stated`` the fields of :data:`FIELDS` the seed does
    not state (the catalog then assumes them: see the studies' notes); ``evidence`` the
    passages of the seed report these facts come from, and ``marker`` one of them
    verbatim (the tests find it in the seed file).
    """

    seed: str
    train_images: int | None
    validation: str
    checkpoint: str
    not_stated: tuple[str, ...]
    evidence: str
    marker: str

    @property
    def seed_file(self) -> str:
        return SEED_FILES[self.seed]


SEED_PROTOCOLS: dict[str, SeedProtocol] = {
    p.seed: p
    for p in (
        SeedProtocol(
            "000",
            50_000,
            "none: every model is fitted on all 50,000 training images",
            LAST_EPOCH,
            (),
            "`model.fit(x_train, y_train, epochs=…)` without callbacks or validation data; "
            "pixels divided by 255",
            "simpleModel.fit(x_train, y_train, epochs=5)",
        ),
        SeedProtocol(
            "001",
            40_000,
            "a random 20 % of the training images (np.random.permutation)",
            BEST_VAL_LOSS,
            (),
            "step A (random 20 % validation), step B (divide by 255), step E "
            "(ModelCheckpoint on the lowest val_loss, 50 epochs, batch 32)",
            "ModelCheckpoint(save_path, monitor='val_loss'",
        ),
        SeedProtocol(
            "002",
            None,
            NOT_STATED,
            NOT_STATED,
            ("train images", "preprocessing"),
            "the report gives architectures, optimizers, batch sizes and epochs, not the "
            "split, the preprocessing or which weights were scored",
            "Set the momentum parameter as 0.9, and the others as default.",
        ),
        SeedProtocol(
            "003",
            50_000,
            "none: the official test set is used to monitor training",
            NOT_STATED,
            ("optimizer",),
            "'our train set contain all the 5 batches … 50000 samples'; optimizer and "
            "batch size not shown",
            "so our train set contain all the 5 batches",
        ),
        SeedProtocol(
            "004",
            40_000,
            "Keras validation_split=0.2: the last 10,000 training images",
            LAST_EPOCH,
            (),
            "`model.fit(…, validation_split=0.2)` without callbacks; pixels divided by 255",
            "epochs=25, verbose=1, validation_split=0.2)",
        ),
    )
}


def protocol_of(variant_name: str) -> SeedProtocol:
    """The protocol of the seed a ``sNNN_…`` variant reproduces (``KeyError`` otherwise)."""
    seed = variant_name[1:4]
    if not (variant_name.startswith("s") and seed in SEED_PROTOCOLS):
        raise KeyError(f"{variant_name!r} reproduces no seed report (only sNNN_… variants do)")
    return SEED_PROTOCOLS[seed]


def describe_optimizer(variant: Any) -> str:
    """``"SGD 0.04, Nesterov 0.9, inverse-time decay"``, ``"Adam 0.001"``…

    >>> describe_optimizer(get_variant("s004_final"))
    'SGD 0.04, Nesterov 0.9, inverse_time schedule, batch 32'
    """
    names = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
    text = f"{names.get(variant.optimizer, variant.optimizer)} {variant.learning_rate:g}"
    if variant.momentum:
        text += f", {'Nesterov' if variant.nesterov else 'momentum'} {variant.momentum:g}"
    if variant.schedule != "constant":
        text += f", {variant.schedule} schedule"
    return text + f", batch {variant.batch_size}"


def describe_augmentation(variant: Any) -> str:
    """``"none"`` or ``"rotation 15°, shift 0.1, flip"``."""
    aug = dict(variant.augmentation)
    if not aug:
        return "none"
    parts = []
    if aug.get("rotation"):
        parts.append(f"rotation {aug['rotation']:g}°")
    if aug.get("shift"):
        parts.append(f"shift {aug['shift']:g}")
    if aug.get("flip"):
        parts.append("flip")
    return ", ".join(parts) or "none"


PREPROCESSING_TEXT = {
    "raw": "raw pixels",
    "unit": "÷255",
    "zscore": "global z-score",
    "channel_zscore": "per-channel z-score",
    "imagenet": "ImageNet mean/std",
}


def seed_side(variant_name: str) -> dict[str, str]:
    """The seed's protocol for one of its figures, one text per field of :data:`FIELDS`.

    Architecture, optimizer, epochs, preprocessing and augmentation come from the
    catalog variant (which encodes the seed's); a field the seed does not state reads
    ``"not stated"``.
    """
    protocol = protocol_of(variant_name)
    variant = get_variant(variant_name)
    side = {
        "train images": (f"{protocol.train_images:,}" if protocol.train_images else NOT_STATED),
        "checkpoint": protocol.checkpoint,
        "epochs": str(variant.epochs),
        "optimizer": describe_optimizer(variant),
        "preprocessing": PREPROCESSING_TEXT.get(variant.preprocessing, variant.preprocessing),
        "augmentation": describe_augmentation(variant),
    }
    for name in protocol.not_stated:
        side[name] = NOT_STATED
    return side
