"""Fake projects and fake runs for the tests, in one place.

Runs
    :func:`store_run` writes a complete run into a real store through
    :meth:`RunStore.write_run` (the writer training uses), so a test reads it back
    exactly as a chapter does; :func:`store_scored_run` is one whose test predictions
    are right on a given fraction of images (for findings and claims);
    :class:`FakeTrainer` is an executor that "trains" by writing such runs;
    :func:`memory_run` is a run held in memory with the attributes the analysis
    functions read (``key``, ``config``, ``metrics``, ``history``, ``variant``,
    ``predictions()``), for tests of pure functions.

Benchmarks
    :func:`load_benchmark` imports a script of ``benchmarks/`` (not a package) as a module.

Catalog
    :func:`collapsed` lists the variants a profile turns into one run.

Findings
    :func:`comparison` picks one row of a study's findings.

Projects
    :func:`chapter_project` is a project of tiny dummy chapters (no training);
    :func:`context_project` a project whose build context points at a dataset and a
    store, as after a build, for chapters read through ``open_context``;
    :func:`article_project` the real chapters named, under a small article of your own;
    :func:`copy_project` copies a project's sources (and, with ``built=True``, what a
    build made: runs, notebooks, ``_site``, ``_variables.yml``);
    :func:`stub_project` (from ``render_fixtures``) the real article over stub notebooks.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from cifar_core.experiments.profiles import Profile
from cifar_core.experiments.variant import Variant
from cifar_core.runs.keys import key_inputs, run_key
from cifar_core.runs.manifest import MEASURED_METRICS  # noqa: F401 - the tests' import
from cifar_core.runs.store import Run, RunStore
from tests.support.render_fixtures import stub_project

if TYPE_CHECKING:  # the statistics (scipy, statsmodels) load only in the tests that use them
    from cifar_core.analysis.stats.findings import Comparison, StudyFindings

__all__ = [
    "PROJECT",
    "SOURCES",
    "VARIANT",
    "PLATEAU",
    "FakeTrainer",
    "MemoryRun",
    "article_project",
    "chapter_project",
    "collapsed",
    "comparison",
    "context_project",
    "copy_project",
    "flip_byte",
    "load_benchmark",
    "replace_bytes",
    "truncate",
    "memory_run",
    "store_run",
    "store_scored_run",
    "stub_project",
    "write_chapter",
]

PROJECT = Path(__file__).resolve().parents[2]
SOURCES = (
    "analyses",
    "index.qmd",
    "references.bib",
    ".gitignore",
    "_quarto.yml",
    "_quarto-demo.yml",
    "_quarto-sample.yml",
    "_quarto-full.yml",
    "_quarto-smoke.yml",
)
"""What a project is made of before a build (copied by :func:`copy_project`)."""
BUILT = ("runs", "notebooks", "_site", "_variables.yml", "_tables.html")
"""What a build adds to a project."""

VARIANT = Variant.from_dict(
    {"name": "mlp-small", "family": "mlp", "params": {"units": [8]}, "epochs": 2}
)
TWO_EPOCHS = pd.DataFrame(
    {
        "epoch": [1, 2],
        "loss": [2.0, 1.5],
        "accuracy": [0.2, 0.4],
        "val_loss": [2.1, 1.8],
        "val_accuracy": [0.2, 0.3],
        "lr": [0.001, 0.001],
    }
)
PLATEAU = pd.DataFrame(
    {
        "epoch": range(1, 9),
        "loss": np.linspace(2, 0.8, 8),
        "accuracy": np.linspace(0.3, 0.7, 8),
        "val_loss": [2.0, 1.4, 1.1, 1.0, 0.98, 1.0, 1.02, 1.05],
        "val_accuracy": [0.3, 0.5, 0.58, 0.6, 0.61, 0.61, 0.6, 0.6],
        "lr": 0.01,
    }
)
"""A history whose validation loss bottoms out at epoch 5 (not under-trained)."""


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` imported as the module ``<name>_benchmark`` (registered in
    ``sys.modules``, where dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(
        f"{name}_benchmark", PROJECT / "benchmarks" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- catalog
def collapsed(profile: Profile, variants: Iterable[Variant]) -> list[tuple[str, str]]:
    """Pairs ``(later, earlier)`` of ``variants`` that ``profile`` turns into one
    configuration (so one run): what the report marks "same run as earlier".

    >>> a, b = Variant(name="a", family="mlp", epochs=4), Variant(name="b", family="mlp", epochs=2)
    >>> collapsed(Profile("one", "1 epoch", "synthetic", (0,), max_epochs=1), [a, b])
    [('b', 'a')]
    """
    first: dict[str, str] = {}
    pairs = []
    for variant in variants:
        key = profile.scale(variant).config_hash()
        if key in first:
            pairs.append((variant.name, first[key]))
        else:
            first[key] = variant.name
    return pairs


# ----------------------------------------------------------------------------- findings
def comparison(found: StudyFindings, variant: str) -> Comparison | None:
    """The row of ``found`` for ``variant`` against the study's baseline."""
    return next(
        (c for c in found.comparisons if (c.variant, c.baseline) == (variant, found.baseline)),
        None,
    )


# ----------------------------------------------------------------------------- runs
def store_run(
    store: RunStore,
    variant: Variant = VARIANT,
    fingerprint: str = "f" * 16,
    *,
    metrics: Mapping[str, Any] | None = None,
    history: pd.DataFrame = TWO_EPOCHS,
    predictions: Mapping[str, np.ndarray] | None = None,
    model: bytes = b"placeholder: these tests never load a model",
    code: str | None = None,
) -> Run:
    """A complete run of ``variant`` written through :meth:`RunStore.write_run` and read
    back. ``code`` replaces the training-code hash it was trained with (a stale run)."""
    key = run_key(variant, fingerprint)
    inputs = key_inputs(variant, fingerprint)
    if code is not None:
        inputs["training_code"] = code
    config = {
        "key": key,
        "key_inputs": inputs,
        "variant": variant.to_dict(),
        "dataset": {"fingerprint": fingerprint, "source": "test", "synthetic": True},
    }
    predictions = predictions or {
        "test_probs": np.full((4, 10), 0.1),
        "test_labels": np.arange(4),
        "test_indices": np.arange(4),
    }
    return store.write_run(
        key,
        config=config,
        metrics={"test_accuracy": 0.5, "wall_time_s": 1.5} if metrics is None else metrics,
        history=history,
        predictions=predictions,
        model=model,
    )


def store_scored_run(
    store: RunStore,
    variant: Variant,
    fingerprint: str,
    accuracy: float,
    *,
    n_test: int = 600,
    salt: int | None = None,
    metrics: Mapping[str, Any] | None = None,
    history: pd.DataFrame = PLATEAU,
) -> Run:
    """A run whose test predictions are right on ``round(accuracy × n_test)`` images
    (labels ``0..9`` cycling; which ones from ``salt``, by default from the variant's
    name and seed). A run already stored under its key (a control the profile
    collapses into another variant) is returned as it is."""
    key = run_key(variant, fingerprint)
    stored = store.get(key, warn=False)
    if stored is not None:
        return stored
    labels = np.arange(n_test) % 10
    salt = sum(map(ord, variant.name)) * 10 + variant.seed if salt is None else salt
    correct = np.zeros(n_test, bool)
    correct[np.random.default_rng(salt).permutation(n_test)[: round(accuracy * n_test)]] = True
    predicted = np.where(correct, labels, (labels + 1) % 10)
    return store_run(
        store,
        variant,
        fingerprint,
        metrics={
            "val_accuracy": 0.6,
            "val_loss": 1.0,
            "test_accuracy": float(correct.mean()),
            **(metrics or {}),
        },
        history=history,
        predictions={
            "test_probs": np.eye(10)[predicted],
            "test_labels": labels,
            "test_indices": np.arange(n_test),
            "val_probs": np.eye(10)[:5],
            "val_labels": np.arange(5),
            "val_indices": np.arange(5),
        },
    )


class FakeTrainer:
    """An executor (``build(executor=FakeTrainer())``) that "trains" a variant by writing
    :func:`store_run` for it, and records which it trained; no Keras."""

    def __init__(self):
        self.trained: list[str] = []

    def describe(self) -> str:
        return "fake trainer"

    def check(self) -> None:
        """Always there, like the local executor."""

    def train(self, variants, dataset, store, *, log=print, on_done=None) -> list[Run]:
        runs = []
        for variant in variants:
            self.trained.append(variant.name)
            runs.append(store_run(store, variant, dataset.fingerprint))
            if on_done is not None:
                on_done(runs[-1])
        return runs


@dataclass
class MemoryRun:
    """A run in memory with what analysis code reads from a stored :class:`Run`."""

    key: str = "k"
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    history: pd.DataFrame | None = None
    stored: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def variant(self) -> SimpleNamespace:
        return SimpleNamespace(**self.config["variant"])

    @property
    def name(self) -> str:
        return self.config["variant"]["name"]

    def predictions(self) -> dict[str, np.ndarray]:
        return self.stored


def memory_run(
    *,
    name: str = "v",
    seed: int = 0,
    family: str = "cnn",
    key: str | None = None,
    metrics: Mapping[str, Any] | None = None,
    history: pd.DataFrame | None = None,
    predictions: Mapping[str, np.ndarray] | None = None,
    class_names: Iterable[str] | None = None,
    **config: Any,
) -> MemoryRun:
    """A :class:`MemoryRun`; extra keyword arguments go into its ``config``."""
    return MemoryRun(
        key=key or name,
        config={
            "variant": {"name": name, "seed": seed, "family": family, "params": {}},
            "dataset": {"class_names": list(class_names or [])},
            **config,
        },
        metrics=dict(metrics or {}),
        history=history,
        stored=dict(predictions or {}),
    )


# ----------------------------------------------------------------------------- projects
CHAPTER = """# %% tags=["parameters"]
x: int = 1  # a number the chapter publishes
label: str = "a"  # a string parameter
{extra}
# %%
{imports}
from cifar_core.analysis.context import open_context

ctx = open_context("{name}")
ctx.publish({{"{name}": {{"x": x, "label": label}}}})
"""


def write_chapter(
    root: Path, name: str, *, extra: str = "", imports: str = "", body: str = ""
) -> None:
    """``analyses/<name>.py``: a dummy chapter that publishes its two parameters;
    ``extra`` adds parameter lines, ``imports`` lines before ``open_context``, ``body``
    lines after ``publish``."""
    source = CHAPTER.format(name=name, extra=extra, imports=imports)
    (root / "analyses" / f"{name}.py").write_text(source + body)


def chapter_project(root: Path, chapters: Mapping[str, str] | None = None) -> Path:
    """A project of dummy chapters ``{name: imports}`` (default: ``a1``, and ``a2``
    which imports the k-NN module) with the real ``_quarto.yml``."""
    (root / "analyses").mkdir(parents=True, exist_ok=True)
    shutil.copy2(PROJECT / "_quarto.yml", root / "_quarto.yml")
    chapters = (
        {"a1": "", "a2": "import cifar_core.runs.knn  # noqa: F401"}
        if chapters is None
        else chapters
    )
    for name, imports in chapters.items():
        write_chapter(root, name, imports=imports)
    return root


def context_project(root: Path, data: Path | str, profile: str = "sample") -> tuple[RunStore, str]:
    """A project whose build context points at ``data`` and at the store ``runs/`` in
    it, as a build leaves it: ``(store, dataset fingerprint)``."""
    from cifar_core.experiments.plan import dataset_for

    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    (root / "analyses").mkdir(exist_ok=True)
    shutil.copy2(PROJECT / "_quarto.yml", root / "_quarto.yml")
    (root / "notebooks" / ".build-context.json").write_text(
        json.dumps({"profile": profile, "data": str(data), "runs_dir": "runs"})
    )
    return RunStore(root / "runs"), dataset_for(profile, str(data)).fingerprint


def article_project(
    root: Path, chapters: Iterable[str], article: str, profile: str = "smoke"
) -> Path:
    """The real chapters ``chapters`` (e.g. ``["06-transfer"]``) under ``article`` (an
    ``index.qmd`` of your own), with a manuscript ``_quarto.yml`` listing them."""
    chapters = list(chapters)
    (root / "analyses").mkdir(parents=True)
    for name in chapters:
        shutil.copy(PROJECT / "analyses" / f"{name}.py", root / "analyses")
    shutil.copy(PROJECT / f"_quarto-{profile}.yml", root)
    (root / "_quarto.yml").write_text(
        yaml.safe_dump(
            {
                "project": {"type": "manuscript", "output-dir": "_site"},
                "manuscript": {
                    "article": "index.qmd",
                    "notebooks": [{"notebook": f"notebooks/{n}.ipynb"} for n in chapters],
                },
                "profile": {"default": profile},
                "lang": "en",
            }
        )
    )
    (root / "index.qmd").write_text(article)
    return root


def copy_project(
    source: Path,
    dest: Path,
    *,
    built: bool = False,
    keep_times: bool = True,
    link_runs: bool = False,
) -> Path:
    """Copy a project's sources (:data:`SOURCES`) from ``source`` to ``dest``; with
    ``built`` also what a build made (:data:`BUILT`). ``keep_times=False`` copies as
    ``cp -r`` does, giving every file a new modification time. ``link_runs`` hard-links
    the run store's files instead of copying them (fast; the product replaces run files
    by renaming, never in place, so a test that damages one must replace it too:
    :func:`replace_bytes`)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in SOURCES + (BUILT if built else ()):
        path = source / name
        copy = shutil.copy2 if keep_times else shutil.copy
        if link_runs and name == "runs":
            copy = os.link
        if path.is_dir():
            shutil.copytree(
                path, dest / name, ignore=shutil.ignore_patterns("__pycache__"), copy_function=copy
            )
        elif path.is_file():
            copy(path, dest / name)
    return dest


def replace_bytes(path: Path, data: bytes, *, keep_time: bool = False) -> None:
    """Give ``path`` the content ``data`` as a new file (a hard-linked copy elsewhere
    keeps the old one); ``keep_time`` keeps its modification time, as a bad sector
    would."""
    before = path.stat()
    path.unlink()
    path.write_bytes(data)
    if keep_time:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def flip_byte(path: Path, *, keep_time: bool = False) -> None:
    """Flip every bit of the byte in the middle of ``path``."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    replace_bytes(path, bytes(data), keep_time=keep_time)


def truncate(path: Path) -> None:
    """Cut ``path`` to half its size."""
    replace_bytes(path, path.read_bytes()[: path.stat().st_size // 2])
