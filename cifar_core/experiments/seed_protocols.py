"""How each seed report trained and scored its models: the protocol facts behind its
figures (the comparison with a build's protocol: :mod:`cifar_core.analysis.protocols`).

The catalog's variants carry each seed's architecture, optimizer, epochs,
preprocessing and augmentation; what they cannot carry is how the seed split its data
and which weights it scored. Each seed file declares that as its ``PROTOCOL`` (a
:class:`~cifar_core.experiments.declare.SeedProtocol`), with the passage of the seed
report it rests on, and names what the seed does not state (so a table can say "not
stated" instead of repeating our assumption as the seed's); :data:`SEED_PROTOCOLS`
collects them.

Example
-------
>>> protocol_of("s001_model_b").checkpoint
'best validation loss'
>>> seed_side("s002_model1_b32")["preprocessing"]
'not stated'
"""

from __future__ import annotations

from cifar_core.experiments import catalog
from cifar_core.experiments.declare import BEST_VAL_LOSS, LAST_EPOCH, NOT_STATED, SeedProtocol
from cifar_core.experiments.variant import Variant

__all__ = ["BEST_VAL_LOSS", "LAST_EPOCH", "NOT_STATED", "SeedProtocol", "SEED_PROTOCOLS"]

FIELDS = ("train images", "checkpoint", "epochs", "optimizer", "preprocessing", "augmentation")
"""The protocol facts a "reported vs reproduced" table sets side by side."""

SEED_PROTOCOLS: dict[str, SeedProtocol] = catalog.builtin().protocols


def protocol_of(variant_name: str) -> SeedProtocol:
    """The protocol of the seed a ``sNNN_…`` variant of seed NNN's file reproduces
    (``KeyError`` otherwise)."""
    seed = variant_name[1:4]
    known = catalog.active().variants
    if not (
        variant_name.startswith("s")
        and seed in SEED_PROTOCOLS
        and variant_name in known
        and catalog.active().source_of(variant_name).seed == seed
    ):
        raise KeyError(f"{variant_name!r} reproduces no seed report (only sNNN_… variants do)")
    return SEED_PROTOCOLS[seed]


def describe_optimizer(variant: Variant) -> str:
    """``"SGD 0.04, Nesterov 0.9, inverse-time decay"``, ``"Adam 0.001"``…

    >>> describe_optimizer(catalog.get_variant("s004_final"))
    'SGD 0.04, Nesterov 0.9, inverse_time schedule, batch 32'
    """
    names = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
    text = f"{names.get(variant.optimizer, variant.optimizer)} {variant.learning_rate:g}"
    if variant.momentum:
        text += f", {'Nesterov' if variant.nesterov else 'momentum'} {variant.momentum:g}"
    if variant.schedule != "constant":
        text += f", {variant.schedule} schedule"
    return text + f", batch {variant.batch_size}"


def describe_augmentation(variant: Variant) -> str:
    """``"none"`` or ``"rotation 15°, shift 0.1, flip"``."""
    texts = {"rotation": "rotation {:g}°", "shift": "shift {:g}", "flip": "flip"}
    aug = variant.augmentation
    return ", ".join(text.format(aug[key]) for key, text in texts.items() if aug.get(key)) or "none"


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
    variant = catalog.get_variant(variant_name)
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
