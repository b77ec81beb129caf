"""Build the report: train what is missing, execute the analyses whose inputs changed,
merge the numbers they quote, render.

An analysis is a papermill notebook ``analyses/<name>.ipynb`` with a cell tagged
``parameters``. Its executed copy goes to ``notebooks/<name>.ipynb`` together with
a sidecar ``notebooks/.<name>.hash`` holding the hash of its inputs (notebook
bytes, parameters, run keys it reads, dataset fingerprint, code versions). A build
re-executes an analysis only when that hash changes; otherwise it logs ``reused``.

Notebooks call :func:`analysis_context` to get the dataset and their runs (training the
missing ones, so a notebook run alone is complete) and :func:`save_vars` to hand the
numbers the article quotes to the build, which merges them into ``_variables.yml``.

Nothing here imports Keras at module import; papermill, the catalog, the store and the
data layer are imported when used.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import platform
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import cifar_core

ANALYSES_DIR = "analyses"
OUTPUT_DIR = Path("notebooks")
VARIABLES_FILE = "_variables.yml"
OVERRIDES_FILE = ".overrides.json"
READ_SIDE_MODULES = ("evaluation.py", "plots.py", "pipeline.py", "catalog.py")
"""Library files whose content is part of every analysis' input hash."""

Log = Callable[[str], Any]


class PipelineError(RuntimeError):
    """A build or analysis request that cannot proceed; the message says what to do."""


# =========================================================================== helpers for notebooks
def project_root(start: str | os.PathLike | None = None) -> Path:
    """The nearest folder (from ``start``, the cwd, then this package) holding ``analyses/``."""
    candidates = [Path(start)] if start else []
    candidates += [Path.cwd(), Path(__file__).resolve().parent.parent]
    for candidate in candidates:
        for folder in (candidate.resolve(), *candidate.resolve().parents):
            if (folder / ANALYSES_DIR).is_dir():
                return folder
    raise PipelineError(f"no project root with an {ANALYSES_DIR}/ folder above {candidates[0]}")


def load_profile_dataset(profile: Any, data: str | None = None):
    """The dataset a profile asks for; ``data`` (a path or ``"synthetic"``) overrides its source."""
    from cifar_core.data import load_dataset

    kwargs = dict(profile.dataset_kwargs())
    if data:
        kwargs["source"] = str(data)
    return load_dataset(**kwargs)


def _seed_list(base: Sequence[int], seeds: int | Sequence[int] | None) -> list[int] | None:
    """``None`` keeps the profile's seeds; an int takes that many (extending with the next
    integers); a list names the seeds exactly."""
    if seeds is None:
        return None
    if isinstance(seeds, int):
        chosen = list(base)[:seeds]
        extra = max(list(base) + [-1]) + 1
        while len(chosen) < seeds:
            chosen.append(extra)
            extra += 1
        return chosen
    return [int(s) for s in seeds]


def resolve_variants(profile: Any, studies: Sequence[str] | str | None = None,
                     names: Sequence[str] | str | None = None,
                     seeds: int | Sequence[int] | None = None) -> list:
    """The scaled variants (one per seed) an analysis reads, via :func:`catalog.plan`.

    ``studies="all"`` selects every study; a string is one study (or one variant name).
    """
    from cifar_core import catalog

    if studies == "all":
        studies, names = [s.name for s in catalog.studies()], None
    studies = [studies] if isinstance(studies, str) else studies
    names = [names] if isinstance(names, str) else names
    planned = catalog.plan(profile, studies=studies or None, names=names or None)
    by_name: dict[str, list] = {}
    for variant in planned:
        by_name.setdefault(variant.name, []).append(variant)
    out = []
    for group in by_name.values():
        wanted = _seed_list([v.seed for v in group], seeds)
        out += group if wanted is None else [group[0].replace(seed=s) for s in wanted]
    return out


# Mirrors cifar_core.models.transfer (which imports Keras) so that planning stays Keras-free.
VGG16_WEIGHTS_ENV = "CIFAR_REPORT_VGG16_WEIGHTS"
VGG16_WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


def vgg16_weights_status() -> tuple[bool, str]:
    """(available, explanation) for the VGG16 ImageNet weights, without importing Keras."""
    explicit = os.environ.get(VGG16_WEIGHTS_ENV)
    cached = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / VGG16_WEIGHTS_FILE
    if explicit:
        if Path(explicit).expanduser().is_file():
            return True, f"weights from ${VGG16_WEIGHTS_ENV} = {explicit}"
        return False, f"${VGG16_WEIGHTS_ENV} points to {explicit}, which is not a file"
    if cached.is_file():
        return True, f"weights from the Keras cache ({cached})"
    return False, (f"the VGG16 ImageNet weights ({VGG16_WEIGHTS_FILE}) are neither in the Keras "
                   f"cache ({cached}) nor named by ${VGG16_WEIGHTS_ENV}, and this machine "
                   "cannot download them")


def not_runnable(variant: Any) -> str | None:
    """Why ``variant`` cannot be trained on this machine (``None`` when it can)."""
    if variant.family == "vgg16_transfer" and variant.params.get("weights", "imagenet") == "imagenet":
        available, why = vgg16_weights_status()
        return None if available else why
    return None


def _group(variants: Iterable[Any], runs: Mapping[str, Any], fingerprint: str) -> dict[str, list]:
    """``{variant name: [runs of its seeds]}`` in catalog order, skipping missing runs."""
    grouped: dict[str, list] = {}
    for variant in variants:
        key = variant_key(variant, fingerprint)
        grouped.setdefault(variant.name, [])
        if runs.get(key) is not None:
            grouped[variant.name].append(runs[key])
    return grouped


def variant_key(variant: Any, fingerprint: str) -> str:
    """The run-store key of ``variant`` on data with ``fingerprint``."""
    from cifar_core.store import run_key

    return run_key(variant, fingerprint)


def ensure_runs(variants: Sequence[Any], dataset: Any, store: Any, *, train: bool = True,
                log: Log = print, verbose: int = 1, trained: list | None = None,
                verify: bool = True, jobs: int | str = 1) -> dict[str, Any]:
    """``{run key: Run}`` for ``variants``, training the missing ones (imports Keras only then).

    Keys of runs that are missing and not trained (or that :func:`not_runnable` refuses,
    e.g. transfer learning without ImageNet weights) map to ``None``. The keys trained
    here are appended to ``trained`` when given. ``verify=False`` trusts any entry with a
    manifest (no checksums: fast for a no-change build; notebooks verify when they read).
    ``jobs`` worker processes train (:func:`cifar_core.parallel.train_runs`).
    """
    found: dict[str, Any] = {}
    missing, refused = [], {}
    for variant in variants:
        key = variant_key(variant, dataset.fingerprint)
        if key in found:
            continue
        found[key] = store.get(key) if verify else _quick_get(store, key)
        reason = not_runnable(variant) if found[key] is None else None
        if reason:
            refused[variant.name] = reason
        elif found[key] is None:
            missing.append(variant)
    if found:
        log(_runs_summary(found, missing, refused, train))
    if missing and train:
        from cifar_core.parallel import train_runs

        log(f"training {len(missing)} missing run(s): "
            + ", ".join(f"{v.name} (seed {v.seed})" for v in missing))
        for run in train_runs(missing, dataset, store, jobs=jobs, verbose=verbose, log=log):
            found[run.key] = run
            if trained is not None:
                trained.append(run.key)
        _warm_model_stats(missing)
    return found


def _runs_summary(found: Mapping[str, Any], missing: Sequence[Any], refused: Mapping[str, str],
                  train: bool) -> str:
    """One line: how many runs are reused from the store, trained, or cannot run here."""
    reused = sum(run is not None for run in found.values())
    parts = [f"runs: {reused} of {len(found)} reused from the store",
             f"{len(missing)} to train" if train else f"{len(missing)} missing (not trained)"]
    if refused:
        reasons = sorted(set(refused.values()))
        parts.append(f"{len(found) - reused - len(missing)} cannot run here "
                     f"({', '.join(sorted(refused))}: {'; '.join(reasons)})")
    return ", ".join(parts)


def _quick_get(store: Any, key: str) -> Any:
    """The run ``key`` if its directory has a manifest (checksums not verified)."""
    from cifar_core.store import MANIFEST, Run

    directory = store.run_dir(key)
    return Run(key, directory) if (directory / MANIFEST).is_file() else None


def _warm_model_stats(variants: Iterable[Any]) -> None:
    """Record parameter counts and FLOPs in the model-stats cache while Keras is loaded,
    so that notebooks read them without importing Keras."""
    from cifar_core.models.stats import model_stats

    for family, params in {(v.family, json.dumps(dict(v.params), sort_keys=True, default=list))
                           for v in variants}:
        try:
            model_stats(family, json.loads(params))
        except Exception:  # noqa: BLE001 - stats are a nicety; training already succeeded
            pass


@dataclass
class AnalysisContext:
    """What an analysis notebook works with: the profile, dataset, store and its runs."""

    profile: Any
    dataset: Any
    store: Any
    variants: list
    runs: dict[str, list]  # variant name -> runs (one per seed), in catalog order
    root: Path

    @property
    def synthetic(self) -> bool:
        return bool(self.dataset.synthetic)

    @property
    def not_run(self) -> dict[str, str]:
        """``{variant name: reason}`` for selected variants this machine cannot train."""
        reasons = {v.name: not_runnable(v) for v in self.variants}
        return {n: r for n, r in reasons.items() if r and not self.runs.get(n)}

    def study_runs(self, study: str) -> dict[str, list]:
        """The runs of one catalog study's variants (those present), in study order."""
        from cifar_core import catalog

        return {n: self.runs[n] for n in catalog.get_study(study).names() if self.runs.get(n)}

    def runs_of(self, *names: str) -> dict[str, list]:
        """The runs of the named variants (all when none named), skipping absent ones."""
        return {n: r for n, r in self.runs.items() if (not names or n in names) and r}

    def histories(self, names: Iterable[str] | None = None) -> dict[str, list]:
        """``{variant: [history DataFrame per seed]}``."""
        return {n: [run.history for run in runs] for n, runs in self.runs.items()
                if runs and (names is None or n in names)}


def analysis_context(profile: str = "demo", data: str | None = None, runs_dir: str | None = None,
                     studies: Sequence[str] | None = None, variants: Sequence[str] | None = None,
                     seeds: int | Sequence[int] | None = None, *, project_root_dir: str | None = None,
                     train: bool = True, log: Log = print) -> AnalysisContext:
    """Load the profile's dataset and the runs of the selected studies/variants; train the
    missing ones through :func:`cifar_core.training.train_many` (so a notebook run alone is
    complete). With everything cached nothing here imports Keras."""
    from cifar_core import catalog
    from cifar_core.store import RunStore

    root = project_root(project_root_dir)
    prof = catalog.get_profile(profile)
    dataset = load_profile_dataset(prof, data)
    store = RunStore(Path(runs_dir) if runs_dir else default_runs_dir(root))
    selected = resolve_variants(prof, studies, variants, seeds) if (studies or variants) else []
    runs = ensure_runs(selected, dataset, store, train=train, log=log)
    return AnalysisContext(prof, dataset, store, selected,
                           _group(selected, runs, dataset.fingerprint), root)


def default_runs_dir(root: Path) -> Path:
    """``$CIFAR_REPORT_RUNS`` when set, else ``<root>/runs``."""
    return Path(os.environ.get("CIFAR_REPORT_RUNS") or root / "runs")


def save_vars(name: str, values: Mapping[str, Any], root: str | os.PathLike | None = None) -> None:
    """Write the numbers an analysis quotes to ``notebooks/<name>.vars.json``
    (nested dicts; the build merges every such file into ``_variables.yml``)."""
    path = project_root(root) / OUTPUT_DIR / f"{name}.vars.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=2, sort_keys=True, default=str))


# =========================================================================== parameters
def notebook_defaults(path: Path) -> dict[str, Any]:
    """The default values in the ``parameters`` cell (simple literal assignments)."""
    import ast

    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            values = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        if isinstance(target, ast.Name):
                            values[target.id] = ast.literal_eval(node.value)
            return values
    raise PipelineError(f"{path}: no cell tagged 'parameters' (papermill needs one)")


def parse_cli_parameters(pairs: Sequence[Sequence[str]]) -> dict[str, Any]:
    """``[("seeds", "[0, 1]"), ("gallery_size", "8")]`` → values parsed with ``yaml.safe_load``."""
    import yaml

    return {key: yaml.safe_load(value) for key, value in pairs}


def check_parameters(path: Path, params: Mapping[str, Any]) -> None:
    """Raise :class:`PipelineError` naming unknown keys and listing the notebook's parameters
    (read with :func:`papermill.inspect_notebook`)."""
    import papermill

    declared = papermill.inspect_notebook(str(path))
    unknown = sorted(set(params) - set(declared))
    if unknown:
        listing = "\n".join(f"  {n} = {p.get('default')}" + (f"  # {p['help']}" if p.get("help") else "")
                            for n, p in declared.items())
        raise PipelineError(f"{path.stem}: unknown parameter(s) {', '.join(unknown)}; "
                            f"this notebook's parameters are:\n{listing}")


def _overrides_path(root: Path) -> Path:
    return root / OUTPUT_DIR / OVERRIDES_FILE


def load_overrides(root: Path) -> dict[str, dict[str, Any]]:
    """Parameters set by ``cifar-report analysis NAME -p …`` that later builds keep using."""
    path = _overrides_path(root)
    return json.loads(path.read_text()) if path.exists() else {}


def set_overrides(root: Path, name: str, params: Mapping[str, Any] | None) -> None:
    """Record (or with ``None`` drop) the parameter overrides of one analysis."""
    overrides = load_overrides(root)
    if params:
        overrides[name] = dict(params)
    else:
        overrides.pop(name, None)
    path = _overrides_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(overrides, indent=2, sort_keys=True))


# =========================================================================== execution
@dataclass
class Job:
    """One analysis to bring up to date."""

    name: str
    source: Path
    parameters: dict[str, Any]
    run_keys: list[str] = field(default_factory=list)


@dataclass
class AnalysisResult:
    name: str
    status: str  # "executed" | "reused" | "failed"
    seconds: float = 0.0
    output: Path | None = None
    error: str | None = None


@dataclass
class BuildResult:
    """What a build did. ``ok`` is False when an analysis or the render failed."""

    analyses: list[AnalysisResult] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)
    rendered: list[Path] = field(default_factory=list)
    render_error: str | None = None
    variables: Path | None = None

    @property
    def failed(self) -> list[AnalysisResult]:
        return [a for a in self.analyses if a.status == "failed"]

    @property
    def executed(self) -> list[str]:
        return [a.name for a in self.analyses if a.status == "executed"]

    @property
    def reused(self) -> list[str]:
        return [a.name for a in self.analyses if a.status == "reused"]

    @property
    def ok(self) -> bool:
        return not self.failed and self.render_error is None

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


def code_fingerprint() -> str:
    """Hash of the library version, the training-code version and the read-side sources."""
    from cifar_core.version import TRAINING_CODE_VERSION

    digest = hashlib.sha256(f"{cifar_core.__version__}/{TRAINING_CODE_VERSION}".encode())
    package = Path(cifar_core.__file__).parent
    for module in READ_SIDE_MODULES:
        if (package / module).exists():
            digest.update((package / module).read_bytes())
    return digest.hexdigest()


def input_hash(job: Job, fingerprint: str, code: str) -> str:
    """Hash of everything an executed notebook depends on."""
    digest = hashlib.sha256(job.source.read_bytes())
    digest.update(json.dumps(job.parameters, sort_keys=True, default=str).encode())
    digest.update("\n".join(sorted(job.run_keys)).encode())
    digest.update(f"{fingerprint}/{code}".encode())
    return digest.hexdigest()


def _hash_path(out_dir: Path, name: str) -> Path:
    return out_dir / f".{name}.hash"


def is_current(job: Job, out_dir: Path, digest: str) -> bool:
    """True when ``notebooks/<name>.ipynb`` exists and was made from these inputs."""
    marker = _hash_path(out_dir, job.name)
    return (out_dir / f"{job.name}.ipynb").exists() and marker.exists() \
        and marker.read_text().strip() == digest


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _error_text(error: BaseException) -> str:
    """The notebook traceback for papermill errors, the Python one otherwise (ANSI stripped)."""
    lines = getattr(error, "traceback", None)
    text = "\n".join(lines) if lines else "".join(traceback.format_exception(error))
    return _ANSI.sub("", text)


@contextlib.contextmanager
def _importable(root: Path):
    """Let the kernel import ``cifar_core`` from ``root`` even when it is not installed."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), before) if p)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def execute(job: Job, out_dir: Path, digest: str, *, log: Log = print) -> AnalysisResult:
    """Run one notebook with papermill. Success → ``<name>.ipynb`` + hash sidecar;
    failure → ``<name>.failed.ipynb`` kept, the hash removed, the traceback returned."""
    import papermill

    out_dir.mkdir(parents=True, exist_ok=True)
    running = out_dir / f".{job.name}.running.ipynb"
    marker = _hash_path(out_dir, job.name)
    marker.unlink(missing_ok=True)
    started = time.perf_counter()
    log(f"executing analysis {job.name}")
    try:
        with _importable(job.source.parent.parent):
            papermill.execute_notebook(str(job.source), str(running), parameters=job.parameters,
                                       kernel_name="python3", progress_bar=False,
                                       cwd=str(job.source.parent))
    except Exception as error:  # noqa: BLE001 - any failure is reported, the build goes on
        failed = out_dir / f"{job.name}.failed.ipynb"
        if running.exists():
            running.replace(failed)
        text = _error_text(error)
        log(f"FAILED analysis {job.name} (executed notebook kept: {failed})\n{text}")
        return AnalysisResult(job.name, "failed", time.perf_counter() - started, failed, text)
    output = out_dir / f"{job.name}.ipynb"
    running.replace(output)
    (out_dir / f"{job.name}.failed.ipynb").unlink(missing_ok=True)
    marker.write_text(digest + "\n")
    seconds = time.perf_counter() - started
    log(f"executed analysis {job.name} in {seconds:.1f} s")
    return AnalysisResult(job.name, "executed", seconds, output)


def run_jobs(jobs: Sequence[Job], out_dir: Path, fingerprint: str, *, force: bool = False,
             log: Log = print) -> list[AnalysisResult]:
    """Execute the jobs whose input hash changed (all with ``force``); reuse the rest.
    A failing job does not stop the others."""
    code = code_fingerprint()
    results = []
    for job in jobs:
        digest = input_hash(job, fingerprint, code)
        if not force and is_current(job, out_dir, digest):
            log(f"reused analysis {job.name}")
            results.append(AnalysisResult(job.name, "reused", 0.0, out_dir / f"{job.name}.ipynb"))
        else:
            results.append(execute(job, out_dir, digest, log=log))
    return results


# =========================================================================== planning
def list_analyses(root: Path) -> list[str]:
    """Names of the analysis notebooks, in order (``01-data``, ``02-baselines``, …)."""
    return sorted(p.stem for p in (root / ANALYSES_DIR).glob("*.ipynb"))


def _source(root: Path, name: str) -> Path:
    path = root / ANALYSES_DIR / f"{name}.ipynb"
    if not path.exists():
        known = ", ".join(list_analyses(root)) or "(none)"
        raise PipelineError(f"no analysis named {name!r} ({path} does not exist); known: {known}")
    return path


def plan_job(root: Path, name: str, base: Mapping[str, Any], overrides: Mapping[str, Any],
             profile: Any) -> tuple[Job, list]:
    """The job for one analysis and the variants it reads (from its run parameters)."""
    source = _source(root, name)
    defaults = notebook_defaults(source)
    parameters = {k: v for k, v in base.items() if k in defaults}
    parameters.update(overrides)
    effective = {**defaults, **parameters}
    variants = []
    if any(effective.get(k) for k in ("studies", "variants")):
        variants = resolve_variants(profile, effective.get("studies"), effective.get("variants"),
                                    effective.get("seeds"))
    return Job(name, source, parameters), variants


def _base_parameters(root: Path, profile: str, data: str | None, runs_dir: Path) -> dict[str, Any]:
    # Notebooks run with their own working directory: a relative --data path given on
    # the command line must reach them resolved against the caller's.
    if data and data != "synthetic":
        data = str(Path(data).expanduser().resolve())
    return {"profile": profile, "data": data, "runs_dir": str(runs_dir), "project_root": str(root)}


# =========================================================================== variables
def _deep_merge(into: dict, values: Mapping) -> dict:
    for key, value in values.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value
    return into


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment_variables(runs: Iterable[Any] = ()) -> dict[str, Any]:
    """Python, library versions (from package metadata: no imports) and hardware."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    versions = (f"Keras {_version('keras')} ({backend} backend, TensorFlow {_version('tensorflow')}), "
                f"NumPy {_version('numpy')}, pandas {_version('pandas')}, "
                f"scikit-learn {_version('scikit-learn')}, papermill {_version('papermill')}")
    devices = sorted({str((getattr(r, "metrics", None) or {}).get("device")) for r in runs
                      if (getattr(r, "metrics", None) or {}).get("device")})
    hardware = f"{os.cpu_count()} CPU cores ({platform.machine()}, {platform.system()})"
    if devices:
        hardware += "; runs trained on " + ", ".join(devices)
    return {"python": platform.python_version(), "versions": versions, "hardware": hardware}


def _profile_note(profile: Any, dataset: Any) -> str:
    note = getattr(profile, "note", None) or getattr(profile, "description", None)
    if note:
        return str(note)
    seeds = getattr(profile, "seeds", "?")
    seeds = len(seeds) if isinstance(seeds, (list, tuple)) else seeds
    kind = "synthetic data" if dataset.synthetic else f"{len(dataset.y_train):,} training images"
    return f"{profile.name}: {kind}, {seeds} seed(s) per variant"


def build_variables(root: Path, profile: Any, dataset: Any, store_root: Path,
                    trained: int, runs: Iterable[Any] = ()) -> dict[str, Any]:
    """The variables the pipeline itself knows (profile, build, dataset, env), before the
    analyses' ``*.vars.json`` are merged over them."""
    from cifar_core.version import TRAINING_CODE_VERSION

    banner = ("**SYNTHETIC DATA.** This report was built on SYNTHETIC data (procedurally "
              "generated images), not on CIFAR-10. No number in it says anything about CIFAR-10.")
    seeds = getattr(profile, "seeds", 1)
    return {
        "profile": profile.name,
        "profile_note": _profile_note(profile, dataset),
        "build": {"date": _dt.datetime.now(_dt.timezone.utc).date().isoformat(),
                  "code_version": cifar_core.__version__,
                  "training_code_version": str(TRAINING_CODE_VERSION)},
        "dataset": {"name": getattr(dataset, "name", "cifar10"), "source": str(dataset.source),
                    "synthetic": "yes" if dataset.synthetic else "no",
                    "synthetic_banner": banner if dataset.synthetic else "",
                    "fingerprint": dataset.fingerprint,
                    "n_classes": str(dataset.num_classes),
                    "n_test": f"{len(dataset.y_test):,}"},
        "training": {"seeds": str(len(seeds) if isinstance(seeds, (list, tuple)) else seeds)},
        "summary": {"n_trained": str(trained)},
        "env": {**environment_variables(runs), "store": str(store_root)},
    }


def write_variables(root: Path, base: Mapping[str, Any], names: Iterable[str]) -> Path:
    """Merge ``base`` and each analysis' ``<name>.vars.json`` into ``<root>/_variables.yml``."""
    import yaml

    merged = _deep_merge({}, base)
    for name in names:
        path = root / OUTPUT_DIR / f"{name}.vars.json"
        if path.exists():
            _deep_merge(merged, json.loads(path.read_text()))
    target = root / VARIABLES_FILE
    target.write_text("# generated by cifar_core.pipeline - do not edit\n"
                      + yaml.safe_dump(merged, sort_keys=True, allow_unicode=True))
    return target


# =========================================================================== entry points
def _prepare(root: Path, profile: str, data: str | None, runs_dir: str | None):
    from cifar_core import catalog
    from cifar_core.store import RunStore

    prof = catalog.get_profile(profile)
    dataset = load_profile_dataset(prof, data)
    store_root = Path(runs_dir).resolve() if runs_dir else default_runs_dir(root)
    return prof, dataset, RunStore(store_root), store_root


def _train_for(jobs_variants: Sequence[tuple[Job, list]], dataset: Any, store: Any,
               log: Log, workers: int | str = 1) -> tuple[dict[str, Any], list[str]]:
    """Train every missing run the jobs read (one Keras import for all); fill run keys."""
    everything = [v for _, variants in jobs_variants for v in variants]
    trained: list[str] = []
    runs = ensure_runs(everything, dataset, store, log=log, trained=trained, verbose=2,
                       verify=False, jobs=workers)
    for job, variants in jobs_variants:
        job.run_keys = sorted({variant_key(v, dataset.fingerprint) for v in variants})
    return runs, trained


def build(profile: str = "demo", data: str | None = None, to: Sequence[str] = ("html", "pdf"),
          renderer: str = "auto", runs_dir: str | None = None,
          analyses: Sequence[str] | None = None, render: bool = True, *,
          root: str | os.PathLike | None = None, force: bool = False,
          jobs: int | str = "auto", log: Log = print) -> BuildResult:
    """Train what is missing, execute the analyses whose inputs changed, write
    ``_variables.yml`` and render. Returns a :class:`BuildResult` (``exit_code`` is 1 when
    an analysis or the render failed; the other analyses still ran). ``jobs`` worker
    processes train the missing runs (:func:`cifar_core.parallel.train_runs`)."""
    root = project_root(root)
    prof, dataset, store, store_root = _prepare(root, profile, data, runs_dir)
    log(f"profile {profile}: dataset {dataset.source} (fingerprint {dataset.fingerprint}"
        f"{', SYNTHETIC' if dataset.synthetic else ''}), runs in {store_root}")
    names = list(analyses) if analyses else list_analyses(root)
    base, overrides = _base_parameters(root, profile, data, store_root), load_overrides(root)
    planned = [plan_job(root, n, base, overrides.get(n, {}), prof) for n in names]
    runs, trained = _train_for(planned, dataset, store, log, jobs)
    result = BuildResult(trained=trained)
    result.analyses = run_jobs([job for job, _ in planned], root / OUTPUT_DIR,
                               dataset.fingerprint, force=force, log=log)
    base_vars = build_variables(root, prof, dataset, store_root, len(trained),
                                [r for r in runs.values() if r is not None])
    result.variables = write_variables(root, base_vars, list_analyses(root))
    _finish(result, root, profile, to, renderer, render, log)
    return result


def _finish(result: BuildResult, root: Path, profile: str, to: Sequence[str], renderer: str,
            render: bool, log: Log) -> None:
    """Render unless an analysis failed; log the summary."""
    if result.failed:
        log("render skipped: failed analyses: " + ", ".join(a.name for a in result.failed))
    elif render:
        result.rendered, result.render_error = render_report(root, to, renderer, profile, log)
    log(f"build: {len(result.trained)} run(s) trained, executed {len(result.executed)}, "
        f"reused {len(result.reused)}, failed {len(result.failed)}"
        + ("" if result.ok else " - exit 1"))


def render_report(root: Path, to: Sequence[str], renderer: str, profile: str | None,
                  log: Log = print) -> tuple[list[Path], str | None]:
    """Call :func:`cifar_core.render.render`; returns (outputs, error text or None)."""
    from cifar_core.render import RenderError, render as _render

    try:
        outputs = _render(root, to=tuple(to), renderer=renderer, profile=profile)
    except Exception as error:  # noqa: BLE001 - reported and turned into exit code 1
        # A RenderError says what to fix; anything else is a bug: keep its traceback.
        text = str(error) if isinstance(error, RenderError) else "".join(
            traceback.format_exception(error))
        log(f"FAILED render:\n{text}")
        return [], text
    outputs = [Path(p) for p in (outputs or [])] if not isinstance(outputs, (str, Path)) else [Path(outputs)]
    for path in outputs:
        log(f"rendered {path}")
    return outputs, None


def run_analysis(name: str, params: Mapping[str, Any] | None = None, profile: str = "demo",
                 data: str | None = None, *, runs_dir: str | None = None,
                 root: str | os.PathLike | None = None, reset: bool = False,
                 jobs: int | str = "auto", log: Log = print) -> BuildResult:
    """Re-execute one analysis with overridden parameters (papermill), training only the
    variants the new parameters need. The overrides are remembered (later builds use them;
    ``reset=True`` drops them) and ``_variables.yml`` is refreshed so the next render picks
    the new results up."""
    root = project_root(root)
    source = _source(root, name)
    params = dict(params or {})
    check_parameters(source, params)
    params = {} if reset else {**load_overrides(root).get(name, {}), **params}
    prof, dataset, store, store_root = _prepare(root, profile, data, runs_dir)
    job_variants = plan_job(root, name, _base_parameters(root, profile, data, store_root), params, prof)
    runs, trained = _train_for([job_variants], dataset, store, log, jobs)
    result = BuildResult(trained=trained)
    result.analyses = run_jobs([job_variants[0]], root / OUTPUT_DIR, dataset.fingerprint,
                               force=True, log=log)
    if not result.failed:
        set_overrides(root, name, params)
    base_vars = build_variables(root, prof, dataset, store_root, len(trained),
                                [r for r in runs.values() if r is not None])
    result.variables = write_variables(root, base_vars, list_analyses(root))
    log(f"analysis {name}: {len(trained)} run(s) trained, {result.analyses[0].status}")
    return result

