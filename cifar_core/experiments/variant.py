"""Variants: frozen, validated, serializable training configurations.

A :class:`Variant` says *what* is trained: the model family and its parameters, the
optimizer and learning-rate schedule, batch size, epochs, preprocessing, augmentation,
regularization, validation fraction and seed. Its :meth:`Variant.normalized` form (every
field except the display ``name``, with every default filled in) is what the run key
hashes, so two variants that differ only in name, or in writing a default out, share
one cached run.

Examples
--------
>>> v = Variant.from_dict({"name": "mlp", "family": "mlp",
...                        "params": {"units": [512, 256], "activation": "tanh"},
...                        "optimizer": "sgd", "learning_rate": 0.01, "epochs": 15})
>>> v.epochs, v.params["units"]
(15, (512, 256))
>>> Variant.from_dict({"name": "x", "family": "mlp", "epoch": 3})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
cifar_core.experiments.variant.VariantError: variant 'x': unknown key 'epoch' (known keys: ...)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cifar_core.data.preprocessing import PREPROCESSING
from cifar_core.models import validate_params
from cifar_core.models.signatures import with_defaults

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
AUGMENTATION_KEYS = ("rotation", "shift", "flip", "translate")
LOOKAHEAD_KEYS = ("every", "decay", "power")
SCHEDULE_PARAMS: dict[str, dict[str, Any]] = {
    "constant": {},
    "step": {"boundaries": None, "factors": None},
    "cosine": {"warmup_fraction": 0.0, "alpha": 0.0},
    "inverse_time": {"decay": None},
    "warmup_linear": {"warmup_fraction": 0.1, "initial": 0.0, "final": 0.0},
}
"""Each schedule's parameters and defaults (``None``: required); see
:mod:`cifar_core.runs.schedules` for what they mean."""
SCHEDULES = tuple(SCHEDULE_PARAMS)
FLOAT_FIELDS = (
    "learning_rate",
    "momentum",
    "weight_decay",
    "label_smoothing",
    "validation_fraction",
)


class VariantError(ValueError):
    """A variant config is invalid; the message names the variant and the key."""


def _freeze(value: Any) -> Any:
    """Recursively turn lists into tuples and dicts into read-only mappings."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in sorted(value.items())})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    """Inverse of :func:`_freeze`: plain dicts and lists, ready for JSON."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in sorted(value.items())}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Variant:
    """One trainable configuration. Build it with :meth:`from_dict` to get validation.

    Learning-rate schedule parameters that refer to time are *fractions of the total
    epochs* (``{"boundaries": [0.75], "factors": [0.5]}``), so a profile can scale
    ``epochs`` without changing what the schedule means.

    ``augmentation``: ``rotation`` (degrees), ``shift`` (fraction of the size; a random
    sub-pixel translation), ``flip`` (``True``: random horizontal flips; ``"alternating"``:
    a random half of the images flipped in the first epoch, and every image flipped the
    other way in each following epoch, as airbench does) and ``translate`` (whole pixels,
    a random crop of the reflect-padded image). The last two are applied to the batches
    (:mod:`cifar_core.runs.batches`), the others by layers in the model.
    ``lookahead``: ``{"every": k, "decay": d, "power": p}`` (empty: off) — every ``k``
    optimizer steps the weights move to an exponential moving average of themselves
    with decay ``d**k * (t/T)**p`` at step ``t`` of ``T`` (:mod:`cifar_core.runs.lookahead`).
    ``tta_translate``: whole pixels of test-time translation (0: none), on top of
    ``tta_flip``.
    ``max_steps_per_epoch``: a rehearsal's training cap (``None``: none), set by a profile
    (:attr:`~cifar_core.experiments.profiles.Profile.max_steps_per_epoch`), never by a
    variant's author: at most this many optimizer steps and validation batches per epoch,
    and the training split scored on at most this many prediction batches; validation
    and test are still predicted in full (:mod:`cifar_core.runs.step_cap`). Left out of
    :meth:`normalized` when ``None``, so an uncapped configuration hashes as before it
    existed, and a capped run never shares a key with a real one.
    """

    name: str
    family: str
    params: Mapping[str, Any] = field(default_factory=dict)
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"
    schedule_params: Mapping[str, Any] = field(default_factory=dict)
    batch_size: int = 32
    epochs: int = 10
    preprocessing: str = "unit"
    augmentation: Mapping[str, Any] = field(default_factory=dict)
    label_smoothing: float = 0.0
    validation_fraction: float = 0.2
    early_stopping_patience: int | None = None
    restore_best: bool = True
    tta_flip: bool = False
    seed: int = 0
    lookahead: Mapping[str, Any] = field(default_factory=dict)
    tta_translate: int = 0
    max_steps_per_epoch: int | None = None

    def __post_init__(self) -> None:
        for name in ("params", "schedule_params", "augmentation", "lookahead"):
            object.__setattr__(self, name, _freeze(dict(getattr(self, name))))
        self._validate()

    # ------------------------------------------------------------------ construction
    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> Variant:
        """Build a variant from a plain mapping, rejecting unknown keys by name."""
        name = str(config.get("name", "<unnamed>"))
        known = cls.field_names()
        for key in config:
            if key not in known:
                raise VariantError(
                    f"variant {name!r}: unknown key {key!r} (known keys: {', '.join(known)})"
                )
        for required in ("name", "family"):
            if required not in config:
                raise VariantError(f"variant {name!r}: missing required key {required!r}")
        return cls(**dict(config))

    def replace(self, **changes: Any) -> Variant:
        """A copy with some fields changed (validated again)."""
        return Variant.from_dict({**self.to_dict(), **changes})

    # ------------------------------------------------------------------ serialization
    def to_dict(self) -> dict[str, Any]:
        return {f: _thaw(getattr(self, f)) for f in self.field_names()}

    def normalized(self) -> dict[str, Any]:
        """The config a run key hashes: everything except the display name, with the
        model family's and the schedule's defaults filled in and numbers in one type, so
        that one configuration spelled two ways gives one key.

        >>> a = Variant(name="a", family="mlp", params={"units": [64]})
        >>> b = Variant(name="b", family="mlp", params={"units": [64], "activation": "relu"},
        ...             learning_rate=0.001)
        >>> a.normalized() == b.normalized()
        True
        >>> a.config_hash() == a.replace(max_steps_per_epoch=2).config_hash()
        False
        """
        config = self.to_dict()
        config.pop("name")
        config["params"] = _thaw(_freeze(with_defaults(self.family, config["params"])))
        config["schedule_params"] = self.schedule_settings()
        for key in FLOAT_FIELDS:
            config[key] = float(config[key])
        if config["max_steps_per_epoch"] is None:
            del config["max_steps_per_epoch"]
        return config

    def schedule_settings(self) -> dict[str, Any]:
        """``schedule_params`` with the schedule's defaults filled in."""
        defaults = {k: v for k, v in SCHEDULE_PARAMS[self.schedule].items() if v is not None}
        return _thaw(_freeze({**defaults, **dict(self.schedule_params)}))

    def config_hash(self) -> str:
        payload = json.dumps(self.normalized(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()

    # ------------------------------------------------------------------ validation
    def _fail(self, key: str, problem: str) -> None:
        raise VariantError(f"variant {self.name!r}: {key} {problem}")

    def _validate(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            self._fail("name", "must be a non-empty string")
        if self.optimizer not in OPTIMIZERS:
            self._fail("optimizer", f"is {self.optimizer!r}; choose one of {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            self._fail("schedule", f"is {self.schedule!r}; choose one of {SCHEDULES}")
        if self.preprocessing not in PREPROCESSING:
            self._fail("preprocessing", f"is {self.preprocessing!r}; choose one of {PREPROCESSING}")
        self._check_number("learning_rate", self.learning_rate, low=0, low_open=True)
        self._check_number("momentum", self.momentum, low=0, high=1, high_open=True)
        self._check_number("weight_decay", self.weight_decay, low=0)
        self._check_number("label_smoothing", self.label_smoothing, low=0, high=1, high_open=True)
        self._check_number(
            "validation_fraction", self.validation_fraction, low=0, high=1, high_open=True
        )
        self._check_int("batch_size", self.batch_size, low=1)
        self._check_int("epochs", self.epochs, low=1)
        self._check_int("seed", self.seed, low=0)
        if self.early_stopping_patience is not None:
            self._check_int("early_stopping_patience", self.early_stopping_patience, low=1)
        if self.max_steps_per_epoch is not None:
            self._check_int("max_steps_per_epoch", self.max_steps_per_epoch, low=1)
        for flag in ("nesterov", "restore_best", "tta_flip"):
            if not isinstance(getattr(self, flag), bool):
                self._fail(flag, f"must be true or false, got {getattr(self, flag)!r}")
        for key, value in self.augmentation.items():
            if key not in AUGMENTATION_KEYS:
                self._fail(f"augmentation.{key}", f"is unknown; known: {AUGMENTATION_KEYS}")
            if key == "flip" and not (isinstance(value, bool) or value == "alternating"):
                self._fail(
                    "augmentation.flip",
                    "must be true, false or 'alternating' (horizontal flips only)",
                )
            if key in ("rotation", "shift"):
                self._check_number(f"augmentation.{key}", value, low=0)
            if key == "translate":
                self._check_int("augmentation.translate", value, low=0)
        self._check_int("tta_translate", self.tta_translate, low=0)
        self._validate_lookahead()
        if self.nesterov and self.optimizer != "sgd":
            self._fail("nesterov", "applies only to optimizer 'sgd'")
        self._validate_schedule_params()

    def _validate_schedule_params(self) -> None:
        known, params = SCHEDULE_PARAMS[self.schedule], dict(self.schedule_params)

        def fail(key: str, problem: str) -> None:
            self._fail(f"schedule_params.{key}", f"{problem} (schedule {self.schedule!r})")

        for key in params:
            if key not in known:
                fail(key, f"is unknown; known: {', '.join(known) or '(none)'}")
        for key, default in known.items():
            if default is None and key not in params:
                fail(key, "is required")
        if self.schedule == "step":
            boundaries, factors = list(params["boundaries"]), list(params["factors"])
            if len(boundaries) != len(factors) or not boundaries:
                fail("factors", "needs one factor per boundary (and at least one boundary)")
            if any(not 0 < b <= 1 for b in boundaries) or boundaries != sorted(boundaries):
                fail("boundaries", f"must be increasing fractions in (0, 1], got {boundaries}")
            if any(f <= 0 for f in factors):
                fail("factors", f"must be positive multipliers, got {factors}")
        for key in ("warmup_fraction", "alpha"):
            if key in params and not 0 <= params[key] < 1:
                fail(key, f"must be in [0, 1), got {params[key]!r}")
        for key in ("initial", "final"):
            if key in params and not 0 <= params[key] <= 1:
                fail(key, f"must be a fraction of the learning rate in [0, 1], got {params[key]!r}")
        if "decay" in params and not params["decay"] >= 0:
            fail("decay", f"must be >= 0, got {params['decay']!r}")

    def _validate_lookahead(self) -> None:
        if not self.lookahead:
            return
        for key in self.lookahead:
            if key not in LOOKAHEAD_KEYS:
                self._fail(f"lookahead.{key}", f"is unknown; known: {LOOKAHEAD_KEYS}")
        for key in LOOKAHEAD_KEYS:
            if key not in self.lookahead:
                self._fail(f"lookahead.{key}", "is required when lookahead is set")
        self._check_int("lookahead.every", self.lookahead["every"], low=1)
        self._check_number(
            "lookahead.decay", self.lookahead["decay"], low=0, high=1, high_open=True
        )
        self._check_number("lookahead.power", self.lookahead["power"], low=0)

    def check_family(self) -> Variant:
        """Check ``family`` and ``params`` against the model registry; returns ``self``.

        Kept out of construction because the registry imports Keras (seconds), and the
        read side (analysis notebooks, ``status``) builds variants without training.
        Training calls it for every variant before the first one starts.
        """
        try:
            validate_params(self.family, dict(self.params))
        except (KeyError, TypeError, ValueError) as error:
            raise VariantError(f"variant {self.name!r}: {error}") from None
        return self

    def _check_number(
        self,
        key: str,
        value: Any,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        high_open: bool = False,
    ) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            self._fail(key, f"must be a finite number, got {value!r}")
        if low is not None and (value < low or (low_open and value == low)):
            self._fail(key, f"must be {'>' if low_open else '>='} {low}, got {value!r}")
        if high is not None and (value > high or (high_open and value == high)):
            self._fail(key, f"must be {'<' if high_open else '<='} {high}, got {value!r}")

    def _check_int(self, key: str, value: Any, *, low: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self._fail(key, f"must be an integer, got {value!r}")
        if value < low:
            self._fail(key, f"must be >= {low}, got {value!r}")
