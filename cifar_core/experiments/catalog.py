"""The experiment catalog: every experiment of the seed reports as a named variant,
grouped into studies, and the profiles that scale them to a budget.

* A :class:`Study` is a named group of variants compared against a ``baseline``; it
  cites the seed reports it comes from (``sources``), carries their reported test
  accuracies (``reported``), pass marks where the seed has them, and notes (separate
  remarks, so that one shared by several studies can be printed once).
* A :class:`~cifar_core.experiments.profiles.Profile` (``demo``, ``sample``, ``smoke``,
  ``full``, ``full-seed-protocol``) says which data to load and scales every variant's
  epochs and seeds; it never changes *what* a variant is (a seed-protocol profile also
  trains without a validation split and keeps the last epoch, as the seeds did).

This module does not import Keras: listing parameter counts and FLOPs goes through the
on-disk cache of :mod:`cifar_core.models.stats`, which builds a model only on a miss.

Naming: ``sNNN_…`` variants reproduce seed NNN's experiments; ``ctl_…`` variants are
controlled additions (same epochs as the baseline, one change) that the seeds lacked.

Example
-------
``demo`` caps epochs at 2; s004_cnn (5 epochs) and s004_cnn_dropout (10) are scaled
below their epoch-matched controls (10 and 15 epochs) rather than onto them:

>>> [(v.name, v.epochs) for v in plan("demo", studies=["seed004_lab"])]  # doctest: +NORMALIZE_WHITESPACE
[('s004_mlp', 2), ('s004_cnn', 1), ('s004_cnn_dropout', 1), ('s004_cnn_bn', 2), ('s004_final', 2)]
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cifar_core.experiments import sample_budget
from cifar_core.experiments.flagship import ABLATIONS as FLAGSHIP_ABLATIONS
from cifar_core.experiments.flagship import FLAGSHIP
from cifar_core.experiments.profiles import Profile, ResolvedEpochs, distinct_epochs
from cifar_core.experiments.variant import Variant

SEED_FILES = {
    "000": "000_01db5562a8938968.txt",
    "001": "001_c57b9b24992a24fd.txt",
    "002": "002_9b08b6f72382b430.txt",
    "003": "003_f66d146831284692.txt",
    "004": "004_8744a69186e23c83.txt",
}
FLAGSHIP_SOURCE = "airbench (Jordan 2024), outside anchor in DESIGN.md"


# ---------------------------------------------------------------------------- types
@dataclass(frozen=True)
class Study:
    """A named comparison: variants against a baseline, with the seeds' figures."""

    name: str
    title: str
    sources: tuple[str, ...]
    baseline: str
    variants: tuple[Variant, ...]
    reported: Mapping[str, float] = field(default_factory=dict)
    pass_marks: Mapping[str, tuple] = field(default_factory=dict)  # (op, threshold[, max epochs])
    notes: tuple[str, ...] = ()
    reported_extra: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    derived: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        names = [v.name for v in self.variants]
        if self.baseline not in names:
            raise ValueError(
                f"study {self.name!r}: baseline {self.baseline!r} is not one of its variants"
            )
        for key in (*self.reported, *self.pass_marks, *self.reported_extra):
            if key not in names:
                raise ValueError(f"study {self.name!r}: figure for unknown variant {key!r}")
        for name in ("reported", "pass_marks", "reported_extra"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def names(self) -> list[str]:
        return [v.name for v in self.variants]

    def variant(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise KeyError(_unknown("variant", name, self.names(), f" in study {self.name!r}"))


# ---------------------------------------------------------------------------- helpers
def _unknown(kind: str, name: str, known: Iterable[str], where: str = "") -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
    return f"unknown {kind} {name!r}{where}{hint}"


def _v(name: str, family: str, params: Mapping[str, Any], **training: Any) -> Variant:
    return Variant.from_dict({"name": name, "family": family, "params": dict(params), **training})


SGD_NESTEROV = dict(
    optimizer="sgd",
    learning_rate=0.01,
    momentum=0.9,
    nesterov=True,
    schedule="inverse_time",
    schedule_params={"decay": 1e-6},
)
AUG_001 = {"rotation": 10, "shift": 0.1, "flip": True}
AUG_002 = {"rotation": 15, "shift": 0.1, "flip": True}


# ---------------------------------------------------------------------------- seed 000
def _s000_cnn(blocks=((32,),), *, epochs=10, **params) -> dict:
    return dict(
        family="cnn",
        params={"blocks": [list(b) for b in blocks], "dense": [225], **params},
        epochs=epochs,
    )


def _s000(name: str, **spec) -> Variant:
    spec = dict(spec)
    return _v(name, spec.pop("family"), spec.pop("params"), **spec)


S000 = {
    "s000_mlp": _s000(
        "s000_mlp",
        family="mlp",
        params={"units": [3000, 1000]},
        optimizer="sgd",
        learning_rate=0.01,
        epochs=5,
    ),
    "s000_cnn2": _s000("s000_cnn2", **_s000_cnn([[32], [32]], epochs=5)),
    "s000_cnn3": _s000("s000_cnn3", **_s000_cnn([[32], [32], [32]], epochs=5)),
    "s000_cnn1": _s000("s000_cnn1", **_s000_cnn()),
    "ctl_cnn1_e5": _s000("ctl_cnn1_e5", **_s000_cnn(epochs=5)),
    "s000_cnn1_f64": _s000("s000_cnn1_f64", **_s000_cnn([[64]], epochs=5)),
    "ctl_cnn1_f16": _s000("ctl_cnn1_f16", **_s000_cnn([[16]], epochs=5)),
    "s000_cnn1_k2": _s000("s000_cnn1_k2", **_s000_cnn(epochs=5, kernel_size=2)),
    "ctl_cnn1_k5": _s000("ctl_cnn1_k5", **_s000_cnn(epochs=5, kernel_size=5)),
    "s000_cnn1_leaky": _s000("s000_cnn1_leaky", **_s000_cnn(activation="leaky_relu")),
    "ctl_cnn1_tanh": _s000("ctl_cnn1_tanh", **_s000_cnn(activation="tanh")),
    "ctl_cnn1_gelu": _s000("ctl_cnn1_gelu", **_s000_cnn(activation="gelu")),
    "s000_cnn1_pool3": _s000("s000_cnn1_pool3", **_s000_cnn(pool_size=3)),
    "s000_cnn1_pool4": _s000("s000_cnn1_pool4", **_s000_cnn(pool_size=4)),
    "s000_cnn1_avgpool": _s000("s000_cnn1_avgpool", **_s000_cnn(pool="average")),
    "s000_cnn1_gap": _s000(
        "s000_cnn1_gap", **_s000_cnn(epochs=5, pool=None, global_pool="average")
    ),
    "s000_cnn1_bn": _s000(
        "s000_cnn1_bn",
        **_s000_cnn(epochs=5, pool=None, batch_norm=True, bn_position="after_activation"),
    ),
}
S000_REPORTED = {
    "s000_mlp": 0.4642,
    "s000_cnn2": 0.6890,
    "s000_cnn3": 0.1018,
    "s000_cnn1": 0.6443,
    "s000_cnn1_f64": 0.6212,
    "s000_cnn1_k2": 0.6355,
    "s000_cnn1_leaky": 0.6427,
    "s000_cnn1_pool3": 0.6780,
    "s000_cnn1_avgpool": 0.6178,
    "s000_cnn1_gap": 0.3702,
    "s000_cnn1_bn": 0.5102,
}
S000_TRAIN = {
    "s000_cnn3": 0.8549,
    "s000_cnn1_leaky": 0.9751,
    "s000_cnn1_pool4": 0.7746,
    "s000_cnn1_bn": 0.8444,
    "s000_mlp": 0.4691,
    "s000_cnn2": 0.7369,
}
S000_NOTE = (
    "Seed 000's architectures and optimizer (Adam 1e-3, batch 32, valid padding, "
    "Dense 225 head) are kept."
)
S000_MLP_NOTE = (
    "Seed 000's MLP layers are not shown in the report, so the codebasics tutorial "
    "it follows (Dense 3000-1000 ReLU, SGD) is assumed."
)
S000_DEPTH3_NOTE = (
    "Seed 000's depth-3 test figure (10.2 %) is chance level while training "
    "accuracy is 85.5 %: an evaluation mismatch in the seed, to be flagged, not "
    "interpreted."
)

# ---------------------------------------------------------------------------- seed 001
_MODEL_A = {"blocks": [[32, 32], [64, 64]], "padding": "same", "dense": [512], "dense_dropout": 0.5}
S001 = {
    "s001_model_a": _v("s001_model_a", "cnn", _MODEL_A, epochs=50),
    "s001_model_b": _v("s001_model_b", "cnn", _MODEL_A, epochs=50, augmentation=AUG_001),
    "s001_model_c": _v(
        "s001_model_c",
        "cnn",
        {**_MODEL_A, "batch_norm": True, "dense_batch_norm": True},
        epochs=50,
        learning_rate=0.01,
        batch_size=64,
    ),
    "ctl_model_a_flip": _v(
        "ctl_model_a_flip", "cnn", _MODEL_A, epochs=50, augmentation={"flip": True}
    ),
}
S001_EXTRA = {"s001_model_a": {"train_accuracy": 0.8711, "val_accuracy": 0.7452}}

# ---------------------------------------------------------------------------- seed 002
_M1 = {"blocks": [[32], [64]], "dense": []}
_WIDTHS = [32, 64, 128, 256, 512]


def _model2(blocks: int) -> dict:
    return {
        "blocks": [[w] for w in _WIDTHS[:blocks]],
        "padding": "same",
        "block_dropout": 0.25,
        "dense": [512],
        "dense_dropout": 0.5,
    }


def _model3(blocks: int) -> dict:
    return {
        "blocks": [[w, w] for w in _WIDTHS[:blocks]],
        "padding": "same",
        "activation": "elu",
        "batch_norm": True,
        "bn_position": "after_activation",
        "block_dropout": [0.2, 0.3, 0.4, 0.5, 0.5][:blocks],
        "dense": [],
    }


_M2_TRAIN = dict(optimizer="sgd", learning_rate=0.01, momentum=0.9, batch_size=128, epochs=200)
_M3_TRAIN = dict(
    optimizer="rmsprop",
    learning_rate=1e-3,
    schedule="inverse_time",
    schedule_params={"decay": 1e-6},
    batch_size=128,
    epochs=100,
    augmentation=AUG_002,
)
S002 = {
    **{
        f"s002_model1_b{b}": _v(f"s002_model1_b{b}", "cnn", _M1, epochs=100, batch_size=b)
        for b in (32, 64, 128)
    },
    **{
        f"s002_model2_{i}": _v(f"s002_model2_{i}", "cnn", _model2(i + 2), **_M2_TRAIN)
        for i in (1, 2, 3)
    },
    **{
        f"s002_model3_{i}": _v(f"s002_model3_{i}", "cnn", _model3(i + 2), **_M3_TRAIN)
        for i in (1, 2, 3)
    },
    "s002_wrn_16_8": _v(
        "s002_wrn_16_8", "wide_resnet", {"depth": 16, "width": 8}, batch_size=100, epochs=100
    ),
}
S002_REPORTED = {
    "s002_model1_b32": 0.662,
    "s002_model1_b64": 0.6716,
    "s002_model1_b128": 0.6834,
    "s002_model2_1": 0.8088,
    "s002_model2_2": 0.8089,
    "s002_model2_3": 0.8315,
    "s002_model3_1": 0.8755,
    "s002_model3_2": 0.8938,
    "s002_model3_3": 0.8900,
    "s002_wrn_16_8": 0.8617,
}
S002_NOTE = (
    "Seed 002 prints only Model 1's summary (42,442 parameters). Model 2's padding, "
    "dropout (0.25/0.5) and Dense 512 head follow the Keras CIFAR-10 example it cites; "
    "Model 3's ELU, BN after the activation and dropout 0.2→0.5 follow its "
    "reference [6]. "
)

# ---------------------------------------------------------------------------- seed 003
_S003 = {
    "blocks": [[32, 32], [64, 64]],
    "batch_norm": True,
    "bn_position": "after_activation",
    "block_dropout": [0.2, 0.3],
    "dense": [],
}
_S003_TRAIN = dict(batch_size=64, epochs=10)
_STEP_AS_WRITTEN = {"boundaries": [0.5], "factors": [0.5]}
_STEP_AS_INTENDED = {"boundaries": [0.5, 0.75], "factors": [0.5, 0.3]}
_L2_100 = dict(batch_size=64, epochs=100, preprocessing="zscore", augmentation=AUG_002)
_VGG = dict(epochs=5, batch_size=64, learning_rate=1e-4, preprocessing="zscore")
S003 = {
    "s003_net": _v("s003_net", "cnn", _S003, preprocessing="raw", **_S003_TRAIN),
    "ctl_s003_net_unit": _v("ctl_s003_net_unit", "cnn", _S003, preprocessing="unit", **_S003_TRAIN),
    "s003_net_zscore": _v("s003_net_zscore", "cnn", _S003, preprocessing="zscore", **_S003_TRAIN),
    "ctl_s003_net_channel": _v(
        "ctl_s003_net_channel", "cnn", _S003, preprocessing="channel_zscore", **_S003_TRAIN
    ),
    "s003_net_zscore_aug": _v(
        "s003_net_zscore_aug",
        "cnn",
        _S003,
        preprocessing="zscore",
        augmentation=AUG_002,
        **_S003_TRAIN,
    ),
    "ctl_s003_net_zscore_aug_l2": _v(
        "ctl_s003_net_zscore_aug_l2",
        "cnn",
        {**_S003, "l2": 1e-4},
        preprocessing="zscore",
        augmentation=AUG_002,
        **_S003_TRAIN,
    ),
    "s003_net_l2_step": _v(
        "s003_net_l2_step",
        "cnn",
        {**_S003, "l2": 1e-4},
        schedule="step",
        schedule_params=_STEP_AS_WRITTEN,
        **_L2_100,
    ),
    "ctl_s003_l2_constant": _v("ctl_s003_l2_constant", "cnn", {**_S003, "l2": 1e-4}, **_L2_100),
    "ctl_s003_l2_step_intended": _v(
        "ctl_s003_l2_step_intended",
        "cnn",
        {**_S003, "l2": 1e-4},
        schedule="step",
        schedule_params=_STEP_AS_INTENDED,
        **_L2_100,
    ),
    "ctl_s003_l2_cosine": _v(
        "ctl_s003_l2_cosine",
        "cnn",
        {**_S003, "l2": 1e-4},
        schedule="cosine",
        schedule_params={"warmup_fraction": 0.0},
        **_L2_100,
    ),
    "s003_vgg16_b3": _v("s003_vgg16_b3", "vgg16_transfer", {"cut": "block3_pool"}, **_VGG),
    "ctl_vgg16_b3_frozen": _v(
        "ctl_vgg16_b3_frozen", "vgg16_transfer", {"cut": "block3_pool", "trainable": False}, **_VGG
    ),
    "s003_vgg16_full": _v("s003_vgg16_full", "vgg16_transfer", {"cut": "block5_pool"}, **_VGG),
    "s003_vgg16_full_imagenet": _v(
        "s003_vgg16_full_imagenet",
        "vgg16_transfer",
        {"cut": "block5_pool"},
        **{**_VGG, "preprocessing": "imagenet"},
    ),
}
S003_REPORTED = {
    "s003_net": 0.7805,
    "s003_net_zscore": 0.785,
    "s003_net_zscore_aug": 0.7304,
    "s003_net_l2_step": 0.8221,
    "s003_vgg16_b3": 0.8162,
    "s003_vgg16_full": 0.83,
    "s003_vgg16_full_imagenet": 0.8347,
}
S003_NOTE = (
    "Seed 003's optimizer is not shown: Adam 1e-3 and batch 64 (its reference's batch) are assumed."
)
S003_STEP_NOTE = (
    "Seed 003's step schedule as written (`if epoch > 50 … elif epoch > 75`) never "
    "reaches the second step: s003_net_l2_step runs it as written, "
    "ctl_s003_l2_step_intended as intended."
)
KNN_DERIVED = {
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

# ---------------------------------------------------------------------------- seed 004
_S004_CNN = {"blocks": [[96], [80]], "kernel_size": 5, "dense": [256]}
_S004_DROP = {**_S004_CNN, "block_dropout": 0.25, "dense_dropout": 0.5}
_S004_BN = {
    **_S004_DROP,
    "batch_norm": True,
    "dense_batch_norm": True,
    "use_bias": True,
    "bn_momentum": 0.75,
}
_S004_FINAL = {
    "blocks": [[64], [128]],
    "kernel_size": 5,
    "batch_norm": True,
    "use_bias": True,
    "bn_momentum": 0.8,
    "block_dropout": [0.25, 0.3],
    "dense": [512],
    "dense_batch_norm": True,
    "dense_dropout": 0.5,
}
S004 = {
    "s004_mlp": _v(
        "s004_mlp", "mlp", {"units": [512, 256], "activation": "tanh"}, epochs=15, **SGD_NESTEROV
    ),
    "s004_cnn": _v("s004_cnn", "cnn", _S004_CNN, epochs=5, **SGD_NESTEROV),
    "ctl_s004_cnn_e10": _v("ctl_s004_cnn_e10", "cnn", _S004_CNN, epochs=10, **SGD_NESTEROV),
    "s004_cnn_dropout": _v("s004_cnn_dropout", "cnn", _S004_DROP, epochs=10, **SGD_NESTEROV),
    "ctl_s004_dropout_e15": _v(
        "ctl_s004_dropout_e15", "cnn", _S004_DROP, epochs=15, **SGD_NESTEROV
    ),
    "s004_cnn_bn": _v("s004_cnn_bn", "cnn", _S004_BN, epochs=15, **SGD_NESTEROV),
    "s004_final": _v(
        "s004_final", "cnn", _S004_FINAL, epochs=25, **{**SGD_NESTEROV, "learning_rate": 0.04}
    ),
}
S004_REPORTED = {
    "s004_mlp": 0.485,
    "s004_cnn": 0.663,
    "s004_cnn_dropout": 0.653,
    "s004_cnn_bn": 0.701,
    "s004_final": 0.758,
}
OPTIMIZERS = {
    "ctl_final_sgd_momentum": S004["s004_final"].replace(
        name="ctl_final_sgd_momentum",
        learning_rate=0.01,
        nesterov=False,
        schedule="constant",
        schedule_params={},
    ),
    "ctl_final_adam": S004["s004_final"].replace(
        name="ctl_final_adam",
        optimizer="adam",
        learning_rate=1e-3,
        momentum=0.0,
        nesterov=False,
        schedule="constant",
        schedule_params={},
    ),
    "ctl_final_rmsprop": S004["s004_final"].replace(
        name="ctl_final_rmsprop",
        optimizer="rmsprop",
        learning_rate=1e-3,
        momentum=0.0,
        nesterov=False,
    ),
}


# ---------------------------------------------------------------------------- studies
def _pick(*names: str) -> tuple[Variant, ...]:
    return tuple(_ALL[n] for n in names)


def _only(mapping: Mapping[str, Any], names: Iterable[str]) -> dict:
    return {n: mapping[n] for n in names if n in mapping}


def _study(name, title, seeds, baseline, names, *, notes=(), pass_marks=None, derived=()):
    names = tuple(names)
    notes = tuple(n.strip() for n in ((notes,) if isinstance(notes, str) else notes) if n)
    reported = _only(ALL_REPORTED, names)
    extra = {n: ALL_EXTRA[n] for n in names if n in ALL_EXTRA}
    sources = tuple(SEED_FILES[s] if s in SEED_FILES else s for s in seeds)
    return Study(
        name=name,
        title=title,
        sources=sources,
        baseline=baseline,
        variants=_pick(*names),
        reported=reported,
        pass_marks=pass_marks or {},
        notes=notes,
        reported_extra=extra,
        derived=tuple(derived),
    )


_ALL: dict[str, Variant] = {
    **S000,
    **S001,
    **S002,
    **S003,
    **S004,
    **OPTIMIZERS,
    "flagship": FLAGSHIP,
    **FLAGSHIP_ABLATIONS,
}
ALL_REPORTED = {**S000_REPORTED, **S002_REPORTED, **S003_REPORTED, **S004_REPORTED}
ALL_EXTRA = {**{k: {"train_accuracy": v} for k, v in S000_TRAIN.items()}, **S001_EXTRA}
CONFOUND = (
    "The seed compares models trained for different epochs; ctl_ variants match the baseline's. "
)

_STUDIES = (
    _study(
        "baselines",
        "Baselines: MLP vs CNN",
        ["000", "004"],
        "s000_cnn2",
        ["s000_mlp", "s000_cnn2", "s004_mlp", "s004_cnn"],
        notes=(S000_NOTE, S000_MLP_NOTE),
    ),
    _study(
        "depth",
        "Depth: number of conv blocks",
        ["000", "002"],
        "s000_cnn2",
        [
            "ctl_cnn1_e5",
            "s000_cnn2",
            "s000_cnn3",
            "s002_model2_1",
            "s002_model2_2",
            "s002_model2_3",
        ],
        notes=(S000_NOTE, S000_DEPTH3_NOTE, S002_NOTE),
    ),
    _study(
        "filters",
        "Width: filters per convolution",
        ["000"],
        "ctl_cnn1_e5",
        ["ctl_cnn1_f16", "ctl_cnn1_e5", "s000_cnn1_f64"],
        notes=S000_NOTE,
    ),
    _study(
        "kernel_size",
        "Kernel size",
        ["000"],
        "ctl_cnn1_e5",
        ["s000_cnn1_k2", "ctl_cnn1_e5", "ctl_cnn1_k5"],
        notes=S000_NOTE,
    ),
    _study(
        "activation",
        "Activation function",
        ["000"],
        "s000_cnn1",
        ["s000_cnn1", "s000_cnn1_leaky", "ctl_cnn1_tanh", "ctl_cnn1_gelu"],
        notes=S000_NOTE,
    ),
    _study(
        "pooling",
        "Pooling: max 2×2/3×3/4×4, average, global average",
        ["000"],
        "s000_cnn1",
        ["s000_cnn1", "s000_cnn1_pool3", "s000_cnn1_pool4", "s000_cnn1_avgpool", "s000_cnn1_gap"],
        notes=(S000_NOTE, "In seed 000, global average pooling ran 5 epochs, the rest 10."),
    ),
    _study(
        "batch_size",
        "Batch size (seed 002 Model 1, 100 epochs)",
        ["002"],
        "s002_model1_b128",
        ["s002_model1_b32", "s002_model1_b64", "s002_model1_b128"],
        notes=S002_NOTE,
    ),
    _study(
        "optimizer",
        "Optimizer at the seeds' rates (seed 004 final model)",
        ["004", "002"],
        "s004_final",
        ["ctl_final_sgd_momentum", "s004_final", "ctl_final_adam", "ctl_final_rmsprop"],
        notes="SGD+momentum 0.01 (seed 002 Model 2), SGD+Nesterov 0.04 with decay 1e-6 "
        "(seed 004), Adam 1e-3 (seeds 000/001/002), RMSprop 1e-3 with decay 1e-6 "
        "(seed 002 Model 3).",
    ),
    _study(
        "lr_schedule",
        "Learning-rate schedule (seed 003 net, L2, augmentation)",
        ["003"],
        "s003_net_l2_step",
        [
            "ctl_s003_l2_constant",
            "s003_net_l2_step",
            "ctl_s003_l2_step_intended",
            "ctl_s003_l2_cosine",
        ],
        notes=(S003_NOTE, S003_STEP_NOTE),
    ),
    _study(
        "normalization",
        "Input normalization (seed 003 net)",
        ["003"],
        "s003_net",
        ["s003_net", "ctl_s003_net_unit", "s003_net_zscore", "ctl_s003_net_channel"],
        notes=S003_NOTE,
    ),
    _study(
        "dropout",
        "Dropout (seed 004 CNN)",
        ["004"],
        "ctl_s004_cnn_e10",
        ["s004_cnn", "ctl_s004_cnn_e10", "s004_cnn_dropout"],
        notes=CONFOUND,
    ),
    _study(
        "batch_norm",
        "Batch normalization",
        ["004", "001", "000"],
        "ctl_s004_dropout_e15",
        [
            "ctl_s004_dropout_e15",
            "s004_cnn_bn",
            "s001_model_a",
            "s001_model_c",
            "ctl_cnn1_e5",
            "s000_cnn1_bn",
        ],
        notes=(CONFOUND, "Seed 000 puts BN after the ReLU and drops the pooling layer."),
    ),
    _study(
        "l2",
        "L2 weight penalty on convolutions (seed 003 net)",
        ["003"],
        "s003_net_zscore_aug",
        ["s003_net_zscore_aug", "ctl_s003_net_zscore_aug_l2", "s003_net_l2_step"],
        notes=(S003_NOTE, S003_STEP_NOTE),
    ),
    _study(
        "augmentation",
        "Data augmentation",
        ["001", "003"],
        "s001_model_a",
        [
            "s001_model_a",
            "ctl_model_a_flip",
            "s001_model_b",
            "s003_net_zscore",
            "s003_net_zscore_aug",
        ],
        notes="Seed 001: rotation 10°, shift 0.1, flip; seed 003: rotation 15°.",
    ),
    _study(
        "seed001_trio",
        "Seed 001: model_a, + augmentation, + batch norm",
        ["001"],
        "s001_model_a",
        ["s001_model_a", "s001_model_b", "s001_model_c"],
        notes="Seed 001 reports train/validation accuracy only (model_a: 87.1 % / 74.5 %); "
        "every model restores the weights of the best validation loss.",
    ),
    _study(
        "seed002_families",
        "Seed 002: Model 1, Model 2-x, Model 3-x",
        ["002"],
        "s002_model1_b128",
        [
            "s002_model1_b128",
            "s002_model2_1",
            "s002_model2_2",
            "s002_model2_3",
            "s002_model3_1",
            "s002_model3_2",
            "s002_model3_3",
        ],
        notes=S002_NOTE,
    ),
    _study(
        "seed004_lab",
        "Seed 004 lab: MLP, CNN, + dropout, + BN, final",
        ["004"],
        "s004_cnn",
        ["s004_mlp", "s004_cnn", "s004_cnn_dropout", "s004_cnn_bn", "s004_final"],
        pass_marks={
            "s004_mlp": (">", 0.45),
            "s004_cnn": (">=", 0.62),
            "s004_final": (">=", 0.75, 25),
        },
        notes="Pass marks: MLP > 45 %, CNN >= 62 %, final >= 75 % in at most 25 epochs.",
    ),
    _study(
        "wrn",
        "Wide residual network WRN-16-8",
        ["002"],
        "s002_wrn_16_8",
        ["s002_wrn_16_8"],
        notes="The WRN paper reports 95.8 % for WRN-28-10; the seed "
        "reached 86.2 % with Adam in 100 epochs.",
    ),
    _study(
        "transfer",
        "Transfer learning from VGG16 (+ k-NN on features)",
        ["003"],
        "s003_vgg16_b3",
        ["s003_vgg16_b3", "ctl_vgg16_b3_frozen", "s003_vgg16_full", "s003_vgg16_full_imagenet"],
        derived=[KNN_DERIVED, KNN_FROM_SCRATCH],
        notes=(
            S003_NOTE,
            "Fine-tuning VGG16 uses Adam 1e-4.",
            "Needs the VGG16 ImageNet weights as a local file; without them the study "
            "is reported as not run.",
        ),
    ),
    _study(
        "flagship",
        "Flagship: a fast airbench-style recipe",
        [FLAGSHIP_SOURCE, "004"],
        "flagship",
        ["s004_final", "flagship", *FLAGSHIP_ABLATIONS],
        notes=(
            "Compared with seed 004's final recipe in time to accuracy "
            "(benchmarks/time_to_accuracy.py).",
            "The recipe and its evidence: cifar_core/experiments/flagship.py; each "
            "ctl_flagship_ variant changes one of its settings, and is compared with "
            "the flagship, the study's baseline: a change that loses accuracy marks a "
            "setting that helps.",
        ),
    ),
)

# ---------------------------------------------------------------------------- profiles
HEAVY = sample_budget.FULL_ONLY
_PROFILES = (
    Profile(
        "demo",
        "synthetic data (2,000 train / 500 test images), at most 2 epochs, one "
        "seed: the whole report builds offline in minutes on any CPU",
        data="synthetic",
        seeds=(0,),
        max_epochs=2,
        synthetic_sizes=(2000, 500),
        full_only=HEAVY | {"s003_vgg16_b3", "ctl_vgg16_b3_frozen"},
    ),
    Profile(
        "sample",
        "the real images of ../shared/data/cifar-10-sample (5,085 train / "
        "1,017 test), epochs chosen per model family so that runs reach their "
        "plateau on the slice (10 for seed 000's CNNs, 15-25 for the 50-100-epoch "
        f"schedules, the flagship's own {sample_budget.epochs()['flagship']}), "
        "one to three seeds per family (see the findings tables' shared seeds); "
        "WRN-16-8, whole VGG16, seed 002's Model 2-x and 3-x and three of the "
        "flagship's five ablations run in the full profile only",
        data="cifar10",
        seeds=(0, 1, 2),
        epochs=sample_budget.epochs(),
        variant_seeds=sample_budget.seeds(),
        full_only=sample_budget.SAMPLE_FULL_ONLY,
    ),
    Profile(
        "smoke",
        "a check that the whole pipeline works, in a couple of minutes: "
        "synthetic data (400 train / 200 test images), one epoch, one seed; "
        "its numbers mean nothing (the test suite builds it end to end)",
        data="synthetic",
        seeds=(0,),
        max_epochs=1,
        synthetic_sizes=(400, 200),
        full_only=HEAVY | {"s003_vgg16_b3", "ctl_vgg16_b3_frozen"},
    ),
    Profile(
        "full",
        "full CIFAR-10 (50,000 / 10,000), the seeds' epochs, three seeds, 40,000 "
        "training images and the best-validation checkpoint; meant for a GPU",
        data="cifar10",
        seeds=(0, 1, 2),
    ),
    Profile(
        "full-seed-protocol",
        "full CIFAR-10, the seeds' epochs, three seeds, trained as "
        "the seeds did: on all 50,000 training images, keeping the "
        "last epoch (no validation split, so nothing is selected "
        "as best and convergence is not checked); meant for a GPU",
        data="cifar10",
        seeds=(0, 1, 2),
        seed_protocol=True,
    ),
)


# ---------------------------------------------------------------------------- API
def studies() -> list[Study]:
    return list(_STUDIES)


def get_study(name: str) -> Study:
    for study in _STUDIES:
        if study.name == name:
            return study
    raise KeyError(_unknown("study", name, [s.name for s in _STUDIES]))


_RESOLVED: dict[int, tuple[Profile, ResolvedEpochs]] = {}


def catalog_epochs(profile: Profile) -> ResolvedEpochs:
    """``{variant name: epochs}`` of every catalog variant under ``profile``, with
    epoch-only controls kept distinct (:func:`~cifar_core.experiments.profiles.distinct_epochs`)."""
    cached = _RESOLVED.get(id(profile))
    if cached is None or cached[0] is not profile:
        variants = all_variants()
        cached = (
            profile,
            ResolvedEpochs(distinct_epochs(profile, variants), {v.name: v for v in variants}),
        )
        _RESOLVED[id(profile)] = cached
    return cached[1]


def profiles() -> list[Profile]:
    return list(_PROFILES)


def get_profile(name: str | Profile) -> Profile:
    if isinstance(name, Profile):
        return name
    for profile in _PROFILES:
        if profile.name == name:
            return profile
    raise KeyError(_unknown("profile", name, [p.name for p in _PROFILES]))


def all_variants() -> list[Variant]:
    """Every variant of every study, once, in catalog order."""
    seen: dict[str, Variant] = {}
    for study in _STUDIES:
        for variant in study.variants:
            seen.setdefault(variant.name, variant)
    return list(seen.values())


def get_variant(name: str) -> Variant:
    for variant in all_variants():
        if variant.name == name:
            return variant
    raise KeyError(_unknown("variant", name, [v.name for v in all_variants()]))


def studies_of(name: str) -> list[str]:
    """The names of the studies a variant appears in."""
    return [s.name for s in _STUDIES if name in s.names()]


def _select(
    studies: Iterable[str] | None, names: Iterable[str] | None, *, derived_bases: bool = False
) -> list[Variant]:
    if studies is None and names is None:
        return all_variants()
    chosen: dict[str, Variant] = {}
    for study in map(get_study, studies or ()):
        bases = [get_variant(entry["base"]) for entry in study.derived] if derived_bases else []
        for variant in (*study.variants, *bases):
            chosen.setdefault(variant.name, variant)
    for name in names or ():
        chosen.setdefault(name, get_variant(name))
    return list(chosen.values())


def plan(
    profile: str | Profile, studies: Iterable[str] | None = None, names: Iterable[str] | None = None
) -> list[Variant]:
    """The runs a profile trains: selected variants (and the base variants of the
    selected studies' derived entries, such as k-NN on features), scaled, once per
    profile seed.

    Variants the profile marks full-only are left out unless named explicitly.
    Unknown study or variant names raise ``KeyError`` with close matches.
    """
    profile = get_profile(profile)
    explicit = set(names or ())
    runs = []
    for variant in _select(studies, names, derived_bases=True):
        if variant.name in explicit or profile.includes(variant):
            runs.extend(profile.scale(variant, seed) for seed in profile.seeds_for(variant))
    return runs


def listing(
    profile: str | Profile,
    is_cached: Callable[[Variant], bool] | None = None,
    *,
    studies: Iterable[str] | None = None,
    with_stats: bool = True,
) -> list[dict]:
    """One row per variant (and derived entry) for ``cifar-report list``.

    Keys: ``name, study, source, reported_test_accuracy, params, flops, epochs, seeds,
    profile_note, cached``. ``cached`` is True when ``is_cached`` says so for every
    seed's scaled variant; None without ``is_cached``.
    """
    profile = get_profile(profile)
    rows = []
    for variant in _select(studies, None):
        rows.append(_row(variant, profile, is_cached, with_stats))
    for study in (get_study(s) for s in studies) if studies else _STUDIES:
        rows.extend(_derived_row(entry, study) for entry in study.derived)
    return rows


def _row(variant: Variant, profile: Profile, is_cached, with_stats) -> dict:
    in_studies = studies_of(variant.name)
    first = get_study(in_studies[0])
    stats = _stats(variant) if with_stats else {}
    included = profile.includes(variant)
    return {
        "name": variant.name,
        "study": ", ".join(in_studies),
        "source": _source(variant.name, first),
        "reported_test_accuracy": ALL_REPORTED.get(variant.name),
        "params": stats.get("params"),
        "flops": stats.get("flops"),
        "family": variant.family,
        "epochs": profile.epochs_for(variant) if included else None,
        "seeds": list(profile.seeds_for(variant)) if included else [],
        "profile_note": "" if included else "full profile only",
        "cached": (
            all(is_cached(profile.scale(variant, seed)) for seed in profile.seeds_for(variant))
            if included and is_cached is not None
            else None
        ),
    }


def _source(name: str, study: Study) -> str:
    if name.startswith("s") and name[1:4] in SEED_FILES:
        return SEED_FILES[name[1:4]]
    if name == "flagship":
        return FLAGSHIP_SOURCE
    return "controlled variant (" + ", ".join(study.sources) + ")"


def _derived_row(entry: Mapping[str, Any], study: Study) -> dict:
    return {
        "name": entry["name"],
        "study": study.name,
        "source": study.sources[0],
        "reported_test_accuracy": entry.get("reported_test_accuracy"),
        "params": None,
        "flops": None,
        "family": entry["method"],
        "epochs": None,
        "seeds": [],
        "profile_note": f"derived from {entry['base']}",
        "cached": None,
    }


def _stats(variant: Variant) -> dict:
    from cifar_core.models.stats import model_stats

    return model_stats(variant.family, variant.params)
