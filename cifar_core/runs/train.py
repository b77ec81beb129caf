"""Training: fit a variant with Keras 3, evaluate it, and write it to the run store.

:func:`get_or_train` is the one entry point the rest of the project uses: it returns
the cached run of a variant on a dataset, or trains it (one process per run key; other
processes wait on the key's lock and then reuse the result). A run killed mid-way
resumes from its last finished epoch (``keras.callbacks.BackupAndRestore``) when asked
for again.

What a fit does, in order: seed everything (deterministic on CPU); split a seeded,
stratified validation set off the training images; fit the preprocessing on the
training split only; build the model family with the augmentation layers in front (in
the model, so only active while training) and, under mixed precision, a float32
output; compile it (with XLA when the setting asks for it:
:mod:`cifar_core.runs.compute_choice`); ``model.fit`` with the callbacks below; reload
the weights of the best validation loss; score train/val/test with :func:`cifar_core.runs.predict.predict`
(test-time flip averaging when ``tta_flip``, and translations when ``tta_translate``). Recipes may
augment the batches instead (:mod:`cifar_core.runs.batches`) and average weights
(:mod:`cifar_core.runs.lookahead`): :func:`fit_inputs` gives ``fit`` both.

Callbacks: ``LearningRateLogger`` (lr per epoch), ``ModelCheckpoint`` of the best
``val_loss`` (correct also when the best epoch is the last, and across a resume via
``initial_value_threshold``), ``CSVLogger`` (history, appended across a resume),
optional ``EarlyStopping``, ``BackupAndRestore`` and ``ResumeReporter``.
"""

from __future__ import annotations

import importlib
import os
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

from cifar_core.data.dataset import Dataset
from cifar_core.data.preprocessing import Preprocessor
from cifar_core.data.splits import validation_split
from cifar_core.experiments.variant import Variant
from cifar_core.faults import CRASH_ENV, crash_point
from cifar_core.files import out_of_space
from cifar_core.models import build_model
from cifar_core.project import Log
from cifar_core.runs.augmentation import batch_augmentation, finalize_model
from cifar_core.runs.batches import AugmentedBatches
from cifar_core.runs.callbacks import LearningRateLogger, ResumeReporter, kill_hook_from_env
from cifar_core.runs.hardware import Hardware, configure, seed_everything
from cifar_core.runs.keys import key_inputs, run_key
from cifar_core.runs.lookahead import Lookahead
from cifar_core.runs.predict import predict
from cifar_core.runs.schedules import learning_rate_for
from cifar_core.runs.step_cap import scored_training_images, steps_per_epoch, validation_steps
from cifar_core.runs.store import Run, RunStore, scratch_problem
from cifar_core.usage import peak_rss, reset_peak

HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]


# ---------------------------------------------------------------------- data
@dataclass(frozen=True)
class Splits:
    """Preprocessed float32 images and int labels of the train/val/test splits, with
    the indices of val (into ``dataset.x_train``) and test (into ``dataset.x_test``)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    val_indices: np.ndarray
    test_indices: np.ndarray
    preprocessing: dict[str, Any]

    @property
    def has_validation(self) -> bool:
        return len(self.y_val) > 0


def prepare_splits(variant: Variant, dataset: Dataset) -> Splits:
    """Split off the validation set and apply the preprocessing fitted on train only."""
    train_idx, val_idx = validation_split(
        dataset.y_train, variant.validation_fraction, seed=variant.seed
    )
    preprocessor = Preprocessor.fit(variant.preprocessing, dataset.x_train[train_idx])
    return Splits(
        x_train=preprocessor.transform(dataset.x_train[train_idx]),
        y_train=dataset.y_train[train_idx],
        x_val=preprocessor.transform(dataset.x_train[val_idx]),
        y_val=dataset.y_train[val_idx],
        x_test=preprocessor.transform(dataset.x_test),
        y_test=dataset.y_test,
        val_indices=val_idx,
        test_indices=np.arange(len(dataset.y_test)),
        preprocessing=preprocessor.stats,
    )


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return keras.utils.to_categorical(labels, num_classes).astype("float32")


def fit_inputs(
    variant: Variant, x: np.ndarray, y: np.ndarray
) -> tuple[dict[str, Any], list[keras.callbacks.Callback]]:
    """The training data as ``model.fit`` keyword arguments, and the callbacks the
    variant's recipe needs (put them first): arrays and ``batch_size``, or
    :class:`~cifar_core.runs.batches.AugmentedBatches` with ``steps_per_epoch`` when the
    variant augments batches; :class:`~cifar_core.runs.lookahead.Lookahead` when asked for.
    A rehearsal's cap (:mod:`cifar_core.runs.step_cap`) sets ``steps_per_epoch`` on arrays too."""
    callbacks = [Lookahead.from_config_mapping(variant.lookahead)] if variant.lookahead else []
    on_batches = batch_augmentation(variant.augmentation)
    if not on_batches:
        data: dict[str, Any] = {"x": x, "y": y, "batch_size": variant.batch_size}
        if variant.max_steps_per_epoch is not None:
            data["steps_per_epoch"] = steps_per_epoch(variant, len(x))
        return data, callbacks
    batches = AugmentedBatches(
        x,
        y,
        batch_size=variant.batch_size,
        seed=variant.seed,
        max_steps_per_epoch=variant.max_steps_per_epoch,
        **on_batches,
    )
    fit = {
        "x": batches,
        "steps_per_epoch": batches.steps_per_epoch,
        "shuffle": False,
        # Keras's own default for validation arrays when fit gets no batch_size, said
        # explicitly: left implicit, Keras 3.15 holds ~1.7 GB more while it validates
        # 10,000 images (the same batches and numbers either way).
        "validation_batch_size": 32,
    }
    return fit, callbacks + [batches.callback()]


# ---------------------------------------------------------------------- model
def make_optimizer(variant: Variant, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The variant's optimizer with its learning-rate schedule (decoupled weight decay
    when ``weight_decay`` > 0; AdamW always takes it)."""
    lr = learning_rate_for(variant, steps_per_epoch)
    decay = {"weight_decay": variant.weight_decay} if variant.weight_decay else {}
    if variant.optimizer == "sgd":
        return keras.optimizers.SGD(
            lr, momentum=variant.momentum, nesterov=variant.nesterov, **decay
        )
    if variant.optimizer == "adam":
        return keras.optimizers.Adam(lr, **decay)
    if variant.optimizer == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=variant.weight_decay)
    return keras.optimizers.RMSprop(lr, momentum=variant.momentum, **decay)


def build_compiled_model(
    variant: Variant,
    dataset: Dataset,
    hardware: Hardware,
    steps_per_epoch: int,
    training_images: np.ndarray,
) -> keras.Model:
    """Build the family's network, adapt its data-dependent layers to the (preprocessed,
    unaugmented) ``training_images``, add augmentation/float32 output, and compile it."""
    network = build_model(
        variant.family,
        dict(variant.params),
        input_shape=dataset.input_shape,
        num_classes=dataset.num_classes,
    )
    adapt_to_training_images(network, training_images)
    model = finalize_model(
        network,
        variant.augmentation,
        seed=variant.seed,
        float32_output=hardware.policy != "float32",
    )
    model.compile(
        optimizer=make_optimizer(variant, steps_per_epoch),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=variant.label_smoothing),
        metrics=["accuracy"],
        jit_compile=hardware.jit_compile,
    )
    return model


def adapt_to_training_images(model: keras.Model, images: np.ndarray) -> None:
    """Call ``adapt(images)`` on every layer (nested models included) that declares
    ``adapt_before_fit``, such as the flagship's patch-whitening stem."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            adapt_to_training_images(layer, images)
        elif getattr(layer, "adapt_before_fit", False):
            layer.adapt(images)


# ---------------------------------------------------------------------- callbacks
def _best_val_loss_so_far(history_csv: Path) -> float | None:
    """The lowest val_loss of epochs finished before an interruption (for a resume)."""
    if not history_csv.exists():
        return None
    previous = pd.read_csv(history_csv)
    if "val_loss" not in previous or previous["val_loss"].isna().all():
        return None
    return float(previous["val_loss"].min())


def build_callbacks(
    variant: Variant, scratch: Path, has_validation: bool, log: Log
) -> tuple[list[keras.callbacks.Callback], ResumeReporter]:
    """The trainer's callbacks (order matters: lr into the logs before CSVLogger; the
    checkpoint before the backup, so a backed-up epoch always has its best weights)."""
    callbacks: list[keras.callbacks.Callback] = [LearningRateLogger()]
    if has_validation and variant.restore_best:
        best_file = scratch / "best.weights.h5"
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                best_file,
                monitor="val_loss",
                save_best_only=True,
                save_weights_only=True,
                initial_value_threshold=_best_val_loss_so_far(scratch / "history.csv")
                if best_file.exists()
                else None,
            )
        )
    callbacks.append(keras.callbacks.CSVLogger(scratch / "history.csv", append=True))
    if variant.early_stopping_patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss" if has_validation else "loss",
                patience=variant.early_stopping_patience,
            )
        )
    reporter = ResumeReporter(log)
    callbacks += [keras.callbacks.BackupAndRestore(scratch / "backup"), reporter]
    return callbacks + kill_hook_from_env() + _crash_points(), reporter


def _crash_points() -> list[keras.callbacks.Callback]:
    """The fault-injection test hook ``train.epoch`` (:mod:`cifar_core.faults`): after an
    epoch ended and was backed up. Only when the hook is set."""
    if not os.environ.get(CRASH_ENV):
        return []
    return [keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: crash_point("train.epoch"))]


# ---------------------------------------------------------------------- evaluation
def score(probs: np.ndarray, labels: np.ndarray, label_smoothing: float) -> tuple[float, float]:
    """(loss, accuracy) of probabilities against integer labels, with the training loss."""
    if len(labels) == 0:
        return float("nan"), float("nan")
    loss_fn = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    loss = float(keras.ops.convert_to_numpy(loss_fn(one_hot(labels, probs.shape[1]), probs)))
    return loss, float(np.mean(probs.argmax(axis=1) == labels))


# ---------------------------------------------------------------------- fitting
@dataclass
class TrainingResult:
    """Everything a run directory holds, in memory."""

    model: keras.Model
    history: pd.DataFrame
    metrics: dict[str, Any]
    predictions: dict[str, np.ndarray]


def _read_history(history_csv: Path) -> pd.DataFrame:
    """The CSVLogger file as a clean table: 1-based epochs, one row per epoch (a row
    repeated by a resume keeps its last value), the standard columns first."""
    history = pd.read_csv(history_csv)
    history["epoch"] = history["epoch"].astype(int) + 1
    history = history.drop_duplicates("epoch", keep="last").sort_values("epoch")
    extra = [c for c in history.columns if c not in HISTORY_COLUMNS]
    return history.reindex(columns=HISTORY_COLUMNS + extra).reset_index(drop=True)


def fit_variant(
    variant: Variant, dataset: Dataset, scratch: Path, *, verbose: int = 1, log: Log = print
) -> TrainingResult:
    """Train ``variant`` on ``dataset`` (resuming from ``scratch`` if it holds a backup)
    and evaluate it. ``scratch`` keeps the backup, best weights and partial history."""
    started, cpu_started = time.perf_counter(), time.process_time()
    reset_peak()  # this run's own peak memory, also in a worker that trained others before
    hardware = configure()
    seed_everything(variant.seed, hardware)
    splits = prepare_splits(variant, dataset)
    steps = steps_per_epoch(variant, len(splits.y_train))
    model = build_compiled_model(variant, dataset, hardware, steps, splits.x_train)
    scratch.mkdir(parents=True, exist_ok=True)
    callbacks, reporter = build_callbacks(variant, scratch, splits.has_validation, log)
    data, recipe_callbacks = fit_inputs(
        variant, splits.x_train, one_hot(splits.y_train, dataset.num_classes)
    )
    validation = (
        (splits.x_val, one_hot(splits.y_val, dataset.num_classes))
        if splits.has_validation
        else None
    )
    fit_started = time.perf_counter()
    model.fit(
        **data,
        epochs=variant.epochs,
        validation_data=validation,
        validation_steps=validation_steps(variant) if validation else None,
        callbacks=recipe_callbacks + callbacks,
        verbose=verbose,
    )
    fit_time = time.perf_counter() - fit_started
    history = _read_history(scratch / "history.csv")
    if (scratch / "best.weights.h5").exists():
        model.load_weights(scratch / "best.weights.h5")
    epochs_here = len(history) - reporter.initial_epoch
    metrics, predictions = _evaluate(model, splits, variant)
    metrics.update(
        best_epoch=_best_epoch(history, splits.has_validation and variant.restore_best),
        epochs_run=len(history),
        resumed_from_epoch=reporter.initial_epoch or None,
        fit_time_s=fit_time,
        images_per_s=min(len(splits.y_train), steps * variant.batch_size) * epochs_here / fit_time,
        wall_time_s=time.perf_counter() - started,
        cpu_s=time.process_time() - cpu_started,
        peak_rss=peak_rss(),
        params=int(model.count_params()),
        device=hardware.device,
        device_name=hardware.name,
        mixed_precision=hardware.policy,
        precision=hardware.policy,
        backend=hardware.backend,
        jit_compile=hardware.jit_compile,
        jit_compiled=bool(model.jit_compile),  # Keras falls back when a layer cannot compile
        versions=library_versions(hardware.backend),
        preprocessing=splits.preprocessing,
        n_train=len(splits.y_train),
        n_val=len(splits.y_val),
        n_test=len(splits.y_test),
    )
    return TrainingResult(model, history, metrics, predictions)


def _best_epoch(history: pd.DataFrame, restored: bool) -> int:
    """The epoch whose weights the run keeps: lowest val_loss, or the last epoch."""
    if restored and history["val_loss"].notna().any():
        return int(history["epoch"].iloc[history["val_loss"].argmin()])
    return int(history["epoch"].iloc[-1])


def _evaluate(
    model: keras.Model, splits: Splits, variant: Variant
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Loss/accuracy on train (inference mode; its first images only under a rehearsal's
    cap), val and test, plus the stored predictions and each split's inference seconds
    (wall and CPU)."""
    metrics: dict[str, Any] = {"inference_s": {}, "inference_cpu_s": {}}
    predictions: dict[str, np.ndarray] = {}
    n_scored = scored_training_images(variant, len(splits.y_train))
    for split, x, y in (
        ("train", splits.x_train[:n_scored], splits.y_train[:n_scored]),
        ("val", splits.x_val, splits.y_val),
        ("test", splits.x_test, splits.y_test),
    ):
        started, cpu_started = time.perf_counter(), time.process_time()
        probs = predict(model, x, flip=variant.tta_flip, translate=variant.tta_translate)
        metrics["inference_s"][split] = time.perf_counter() - started
        metrics["inference_cpu_s"][split] = time.process_time() - cpu_started
        metrics[f"{split}_loss"], metrics[f"{split}_accuracy"] = score(
            probs, y, variant.label_smoothing
        )
        if split != "train":
            predictions[f"{split}_probs"], predictions[f"{split}_labels"] = probs, y
    metrics["n_train_scored"] = n_scored
    predictions["val_indices"] = splits.val_indices
    predictions["test_indices"] = splits.test_indices
    return metrics, predictions


def library_versions(backend: str) -> dict[str, str]:
    """Python, NumPy, Keras and the backend library versions."""
    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "keras": keras.__version__,
    }
    if backend in ("tensorflow", "torch", "jax"):  # each library is named as its backend
        versions[backend] = importlib.import_module(backend).__version__
    return versions


# ---------------------------------------------------------------------- the store
def run_config(variant: Variant, dataset: Dataset, key: str) -> dict[str, Any]:
    """What ``config.json`` holds: the variant, the dataset identity, versions, key."""
    return {
        "key": key,
        "key_inputs": key_inputs(variant, dataset.fingerprint),
        "variant": variant.to_dict(),
        "dataset": {
            "name": dataset.name,
            "source": dataset.source,
            "fingerprint": dataset.fingerprint,
            "synthetic": dataset.synthetic,
            "class_names": list(dataset.class_names),
            "n_train": len(dataset.y_train),
            "n_test": len(dataset.y_test),
        },
    }


def run_metrics(config: dict[str, Any], measured: dict[str, Any]) -> dict[str, Any]:
    """What ``metrics.json`` holds: the measured metrics and the run's identity."""
    return {
        **measured,
        "key": config["key"],
        "variant": config["variant"]["name"],
        "dataset_fingerprint": config["dataset"]["fingerprint"],
        "training_code": config["key_inputs"]["training_code"],
    }


def validate_variant(variant: Variant) -> Variant:
    """Check family/params and schedule parameters (raises ``VariantError``)."""
    variant.check_family()
    variant.schedule_settings()
    return variant


def get_or_train(
    variant: Variant,
    dataset: Dataset,
    store: RunStore | None = None,
    *,
    verbose: int = 1,
    log: Log = print,
) -> Run:
    """The run of ``variant`` on ``dataset``: reused when cached, else trained and stored.

    Concurrent callers for the same key: the first trains under the key's lock, the
    others wait for the lock and then reuse the stored run.
    """
    validate_variant(variant)
    store = store if store is not None else RunStore()
    key = run_key(variant, dataset.fingerprint)
    run = store.get(key)
    if run is None:
        with store.lock(key, log=log):
            run = store.get(key, warn=False)
            if run is None:
                return _train_and_store(variant, dataset, store, key, verbose=verbose, log=log)
    log(f"reused   {variant.name} [{key}] test acc {run.metrics['test_accuracy']:.3f}")
    return run


def _train_and_store(
    variant: Variant, dataset: Dataset, store: RunStore, key: str, *, verbose: int, log: Log
) -> Run:
    """Train under the held lock, write through the store, drop the resume scratch."""
    log(
        f"training {variant.name} [{key}] {variant.family}, {variant.epochs} "
        f"epoch{'s' if variant.epochs != 1 else ''}, {len(dataset.y_train)} official training "
        f"images ({variant.validation_fraction:.0%} held out for validation)"
    )
    crash_point("train.start")
    config = run_config(variant, dataset, key)
    result = _fit_resuming(variant, dataset, store, key, config, verbose=verbose, log=log)
    crash_point("train.evaluated")
    run = store.write_run(
        key,
        config=config,
        metrics=run_metrics(config, result.metrics),
        history=result.history,
        predictions=result.predictions,
        model=result.model,
    )
    store.remove_partial(key)
    metrics = result.metrics
    log(
        f"done     {variant.name} [{key}]: test acc {metrics['test_accuracy']:.3f} "
        f"in {metrics['wall_time_s']:.1f}s ({metrics['images_per_s']:.0f} images/s, "
        f"{metrics['device']}, {metrics['mixed_precision']})"
    )
    return run


def _fit_resuming(
    variant: Variant,
    dataset: Dataset,
    store: RunStore,
    key: str,
    config: dict[str, Any],
    *,
    verbose: int,
    log: Log,
) -> TrainingResult:
    """:func:`fit_variant` in the key's resume scratch. Scratch that a killed process left
    half-written (a backup, best weights or history cut short) is dropped and the run
    trained from the start; a full disk is a :class:`RunStoreError` naming the run."""
    scratch = store.partial_dir(key)
    resuming = scratch.exists()
    if resuming and (problem := scratch_problem(scratch)) is not None:
        log(
            f"the resume scratch of {variant.name} [{key}] cannot be used ({problem}); "
            "training it from the start"
        )
        store.remove_partial(key)
        resuming = False
    try:
        return fit_variant(variant, dataset, scratch, verbose=verbose, log=log)
    except Exception as error:  # noqa: BLE001 - sorted below: disk full, bad scratch, bug
        if out_of_space(error):
            store.remove_partial(key)
            raise store.write_error(
                key, config, error, "while training, into its resume scratch"
            ) from error
        if not resuming:
            raise
        log(
            f"the resume scratch of {variant.name} [{key}] cannot be used "
            f"({type(error).__name__}: {error}); training it from the start"
        )
    store.remove_partial(key)
    return fit_variant(variant, dataset, scratch, verbose=verbose, log=log)


def train_many(
    variants: Sequence[Variant] | Iterable[Variant],
    dataset: Dataset,
    store: RunStore | None = None,
    *,
    verbose: int = 1,
    log: Log = print,
    on_done: Callable[[Run], object] | None = None,
) -> list[Run]:
    """Validate every variant first (no training if any is invalid), then train or
    reuse each, announcing ``[i/n] name`` (and calling ``on_done(run)`` after each)."""
    variants = [validate_variant(v) for v in variants]
    store = store if store is not None else RunStore()
    runs = []
    for index, variant in enumerate(variants, start=1):
        log(f"[{index}/{len(variants)}] {variant.name}")
        runs.append(get_or_train(variant, dataset, store, verbose=verbose, log=log))
        if on_done is not None:
            on_done(runs[-1])
    return runs
