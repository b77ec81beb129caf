"""The build: plan the chapters, train the runs they need, re-execute the chapters whose
inputs changed, write ``_variables.yml`` and render.

    chapters (analyses/*.py + overrides)  ──►  runs they need (trained if missing)
        ──►  stale chapters executed (papermill) + provenance records
        ──►  _variables.yml  ──►  render (Quarto or the built-in renderer)

Each step's inputs are declared: a chapter re-executes exactly when its provenance
record (:mod:`cifar_core.orchestrate.provenance`) differs from what it would read now, and
the build says why.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import shutil
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cifar_core.render
from cifar_core.analysis.context import BUILD_CONTEXT, read_build_context, store_of
from cifar_core.experiments import catalog
from cifar_core.experiments.plan import dataset_for, variants_for
from cifar_core.faults import crash_point
from cifar_core.files import write_text_atomic
from cifar_core.orchestrate import notebooks
from cifar_core.orchestrate.added_studies import write_added_studies
from cifar_core.orchestrate.lock import project_lock, remove_crash_leftovers
from cifar_core.orchestrate.measure import DriverPhases, format_bytes, write_build_record
from cifar_core.orchestrate.notebooks import PLAN_PARAMETERS
from cifar_core.orchestrate.progress import Progress
from cifar_core.orchestrate.provenance import ChapterPlan, load_record, why_stale, write_record
from cifar_core.orchestrate.variables import build_variables, write_variables
from cifar_core.project import (
    NOTEBOOKS_DIR,
    Log,
    ProjectError,
    default_profile,
    default_runs_dir,
    project_root,
)
from cifar_core.render import RenderError, render
from cifar_core.runs.compute_plan import plan_summary
from cifar_core.runs.ensure import ensure_runs, plan_runs
from cifar_core.runs.keys import run_key
from cifar_core.runs.store import RunStore

PROVENANCE_TABLE = "_provenance.md"


@dataclass
class ChapterResult:
    name: str
    status: str  # "executed" | "reused" | "failed"
    seconds: float = 0.0
    error: str | None = None
    peak_rss: int | None = None  # bytes, the kernel's peak (orchestrate/measure.py)
    cpu_s: float | None = None  # the kernel's CPU seconds


@dataclass
class BuildResult:
    """What a build did. ``exit_code`` is 1 when a chapter or the render failed."""

    chapters: list[ChapterResult] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)
    render_error: str | None = None

    def _named(self, status: str) -> list[str]:
        return [c.name for c in self.chapters if c.status == status]

    @property
    def executed(self) -> list[str]:
        return self._named("executed")

    @property
    def reused(self) -> list[str]:
        return self._named("reused")

    @property
    def failed(self) -> list[ChapterResult]:
        return [c for c in self.chapters if c.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and self.render_error is None

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


def _in_project(function: Callable) -> Callable:
    """Run ``function`` with the catalog of the project its ``root`` names (its own
    ``studies/*.py`` included), whatever the working directory."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        root = signature.bind(*args, **kwargs).arguments.get("root")
        with catalog.use_project(project_root() if root is None else root):
            return function(*args, **kwargs)

    return run


def resolve_profile(name: str | None) -> catalog.Profile:
    """The profile named (default ``$CIFAR_REPORT_PROFILE`` or ``demo``); unknown →
    :class:`ProjectError` with the known names."""
    try:
        return catalog.get_profile(name or default_profile())
    except KeyError as error:
        raise ProjectError(f"--profile: {error.args[0]}") from None


def plan_chapter(
    root: Path, name: str, profile: catalog.Profile, overrides: Mapping[str, Any], fingerprint: str
) -> tuple[ChapterPlan, list]:
    """A chapter's effective parameters (its defaults, then the profile's
    ``chapter_parameters``, then the stored ``-p`` overrides) and the scaled variants it
    reads."""
    declared = notebooks.declared_parameters(notebooks.source_path(root, name))
    by_profile = dict(profile.chapter_parameters.get(name, {}))
    for given, where, fix in (
        (by_profile, f"profile {profile.name!r} sets", "correct the profile"),
        (
            overrides,
            "stored overrides name",
            f"clear them with `cifar-report analysis {name} --reset`",
        ),
    ):
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise ProjectError(f"{name}: {where} unknown parameter(s) {', '.join(unknown)}; {fix}")
    overrides = {**by_profile, **overrides}
    parameters = {**{n: p.default for n, p in declared.items()}, **overrides}
    selection = {k: parameters.get(k) for k in PLAN_PARAMETERS}
    selection["studies"] = catalog.chapter_studies(name, selection["studies"])  # None: registry
    variants = variants_for(
        profile, selection["studies"], selection["variants"], selection["seeds"]
    )
    planned = {run_key(v, fingerprint): v.name for v in variants}
    return ChapterPlan(name, parameters, dict(overrides), planned), variants


def _write_build_context(
    root: Path, profile: str, data: str | None, store: RunStore, verify: bool = False
) -> None:
    """What the notebooks read: profile, data, the store (relative to the project when
    inside it, so that a moved project still finds it) and how runs are checked."""
    if data and data != "synthetic":
        data = str(Path(data).expanduser().resolve())  # notebooks run in the project folder
    path = root / NOTEBOOKS_DIR / BUILD_CONTEXT
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = {"profile": profile, "data": data, "runs_dir": _portable(store.root, root)}
    write_text_atomic(path, json.dumps({**settings, "verify": verify}, indent=2))


def _portable(path: Path, root: Path) -> str:
    """``path`` relative to the project when inside it (POSIX), else absolute."""
    path = Path(path).resolve()
    return (
        path.relative_to(root.resolve()).as_posix()
        if path.is_relative_to(root.resolve())
        else str(path)
    )


def _clear_crash_leftovers(root: Path, store: RunStore, say: Log) -> None:
    removed = remove_crash_leftovers(root, store)
    if removed:
        shown = [_portable(p, root) for p in removed[:3]]
        more = f" and {len(removed) - 3} more" if len(removed) > 3 else ""
        say(f"removed {len(removed)} leftover(s) of an interrupted build: {', '.join(shown)}{more}")


@_in_project
def build(
    profile: str | None = None,
    data: str | None = None,
    *,
    root: str | Path | None = None,
    runs_dir: str | Path | None = None,
    analyses: Sequence[str] | None = None,
    to: Sequence[str] = ("html", "pdf"),
    renderer: str = "auto",
    render: bool = True,
    force: bool = False,
    verify: bool = False,
    wait: bool = True,
    executor: Any = None,
    log: Log = print,
    progress: Progress | None = None,
) -> BuildResult:
    """Bring the report up to date (see the module docstring); returns a :class:`BuildResult`.

    Everything a user can get wrong (profile, data, analysis names, stored overrides) is
    checked before any training starts and raises :class:`ProjectError`. One build runs
    per project at a time (:mod:`cifar_core.orchestrate.lock`: a second waits, or with
    ``wait=False`` raises ``BuildLocked``); it first removes what a crashed build left.
    Runs are checked by size and modification time, hashing what changed; ``verify``
    hashes every file. Damaged runs are moved aside and trained again. ``executor``
    trains the missing runs (default: local worker processes, see
    :mod:`cifar_core.runs.executors`). ``log`` gets every detail; ``progress`` (a
    :class:`~cifar_core.orchestrate.progress.Progress`) the milestones and counts a console
    display shows.
    """
    progress = progress or Progress()
    root = project_root(root)
    prof = resolve_profile(profile)
    phases = DriverPhases()
    dataset = dataset_for(prof, data)
    phases.mark("data loaded")
    store = RunStore(Path(runs_dir).resolve() if runs_dir else default_runs_dir(root))
    names = list(analyses) if analyses else notebooks.analysis_names(root)
    overrides = notebooks.load_overrides(root, prof.name)
    planned = [
        plan_chapter(root, n, prof, overrides.get(n, {}), dataset.fingerprint) for n in names
    ]
    say = teller(log, progress)

    with project_lock(root, "build", wait=wait, log=say):
        crash_point("build.locked")
        _clear_crash_leftovers(root, store, say)
        say(
            f"profile {prof.name}: data {dataset.source} ({dataset.fingerprint}"
            f"{', SYNTHETIC' if dataset.synthetic else ''}), runs in {store.root}"
        )
        variants = [v for _, chapter_variants in planned for v in chapter_variants]
        trained = _ensure(variants, dataset, store, executor, log, progress, verify)
        result = BuildResult(trained=trained)
        phases.mark("runs trained")
        crash_point("build.trained")
        runs = plan_runs(variants, dataset.fingerprint, store).runs
        phases.mark("runs verified")
        _write_build_context(root, prof.name, data, store, verify)
        present = {k for k, run in runs.items() if run is not None}
        progress.chapters_planned([chapter.name for chapter, _ in planned])
        for chapter, _ in planned:
            result.chapters.append(
                _bring_up_to_date(
                    root,
                    chapter,
                    prof.name,
                    dataset.fingerprint,
                    present,
                    force,
                    log,
                    progress,
                    store,
                )
            )
        phases.mark("chapters executed")
        crash_point("build.variables")
        _write_report_inputs(root, prof, dataset, store, trained, runs)
        phases.mark("variables written")
        if result.failed:
            say("render skipped: failed chapters: " + ", ".join(c.name for c in result.failed))
        elif render:
            result.render_error = render_report(root, to, renderer, prof.name, say, detail=log)
        say(
            f"build: {len(result.trained)} run(s) trained; chapters: {len(result.executed)} "
            f"executed, {len(result.reused)} reused, {len(result.failed)} failed"
            + ("" if result.ok else " - exit 1")
        )
        phases.mark("rendered" if render and not result.failed else "done")
        _record(root, prof.name, dataset, result, phases)
        return result


def _record(
    root: Path, profile: str, dataset: Any, result: BuildResult, phases: DriverPhases
) -> None:
    """The build's figures in ``_build/measurements.json`` (``orchestrate/measure.py``)."""
    write_build_record(
        root,
        profile=profile,
        dataset={
            "source": dataset.source,
            "fingerprint": dataset.fingerprint,
            "synthetic": dataset.synthetic,
            "n_train": len(dataset.y_train),
            "n_test": len(dataset.y_test),
        },
        chapters=[
            {k: getattr(c, k) for k in ("name", "status", "seconds", "cpu_s", "peak_rss")}
            for c in result.chapters
        ],
        driver=phases,
        trained=len(result.trained),
        exit_code=result.exit_code,
    )


def teller(log: Log, progress: Progress) -> Log:
    """A log function that also shows the line on the progress display."""

    def say(line: str) -> None:
        log(line)
        progress.say(line)

    return say


def _ensure(
    variants: Sequence[Any],
    dataset: Any,
    store: RunStore,
    executor: Any,
    log: Log,
    progress: Progress,
    verify: bool,
) -> list[str]:
    """Train the runs ``variants`` need (damaged ones again, after saying so); return
    the keys trained."""
    say = teller(log, progress)
    plan = plan_runs(variants, dataset.fingerprint, store, full=verify)
    progress.runs_planned(plan.reused, len(plan.missing), len(plan.refused))
    if plan.runs:
        say(plan.summary())
    for line in plan.damage_lines():
        say(line)
    if plan.missing:
        say(plan_summary(plan.missing, dataset, speed="cached"))
    trained: list[str] = []

    def done(run: Any) -> None:
        trained.append(run.key)
        progress.run_done(run.name, run.key)

    ensure_runs(variants, dataset, store, executor=executor, log=log, plan=plan, on_done=done)
    return sorted(set(trained))


def _bring_up_to_date(
    root: Path,
    chapter: ChapterPlan,
    profile: str,
    fingerprint: str,
    present: set[str],
    force: bool,
    log: Log,
    progress: Progress,
    store: RunStore,
) -> ChapterResult:
    reasons = (
        ["--force"]
        if force
        else why_stale(
            root, chapter, profile, fingerprint, present & set(chapter.planned), store=store
        )
    )
    if not reasons:
        log(f"reused chapter {chapter.name}")
        progress.chapter_done(chapter.name, "reused", 0.0)
        return ChapterResult(chapter.name, "reused")
    log(f"executing {chapter.name}: {'; '.join(reasons)}")
    execution = notebooks.execute(root, chapter.name, chapter.overrides)
    status = "executed" if execution.ok else "failed"
    progress.chapter_done(chapter.name, status, execution.seconds)
    say = teller(log, progress)
    result = ChapterResult(
        chapter.name,
        status,
        execution.seconds,
        execution.error,  # None when it ran
        execution.peak_rss,
        execution.cpu_s,
    )
    if not execution.ok:
        say(
            f"FAILED chapter {chapter.name} (partly executed notebook: {execution.output})\n"
            f"{execution.error}"
        )
        return result
    crash_point("chapter.replaced", chapter.name)
    write_record(root, chapter, profile, fingerprint)
    say(
        f"executed {chapter.name} in {execution.seconds:.1f} s ({_cpu(execution.cpu_s)}), "
        f"peak memory {format_bytes(execution.peak_rss)} ({'; '.join(reasons)})"
    )
    return result


def _cpu(seconds: float | None) -> str:
    return "CPU time not measured" if seconds is None else f"{seconds:.1f} s of CPU"


@_in_project
def run_analysis(
    name: str,
    parameters: Sequence[Sequence[str]] = (),
    *,
    profile: str | None = None,
    data: str | None = None,
    root: str | Path | None = None,
    runs_dir: str | Path | None = None,
    reset: bool = False,
    verify: bool = False,
    wait: bool = True,
    executor: Any = None,
    log: Log = print,
    progress: Progress | None = None,
) -> BuildResult:
    """Re-execute one chapter with ``-p`` overrides (``[(name, text), …]``), training only
    the runs they need. Overrides are kept for this profile (later builds use them) until
    ``reset``. Bad names or values raise :class:`ProjectError` before anything trains.
    Holds the project lock like :func:`build` (``wait``, ``verify`` as there)."""
    progress = progress or Progress()
    root = project_root(root)
    prof = resolve_profile(profile)
    source = notebooks.source_path(root, name)
    given = notebooks.parse_overrides(source, parameters)
    stored = {} if reset else notebooks.load_overrides(root, prof.name).get(name, {})
    overrides = {**stored, **given}
    dataset = dataset_for(prof, data)
    chapter, variants = plan_chapter(root, name, prof, overrides, dataset.fingerprint)
    store = RunStore(Path(runs_dir).resolve() if runs_dir else default_runs_dir(root))
    say = teller(log, progress)
    with project_lock(root, "analysis", wait=wait, log=say):
        _clear_crash_leftovers(root, store, say)
        trained = _ensure(variants, dataset, store, executor, log, progress, verify)
        result = BuildResult(trained=trained)
        runs = plan_runs(variants, dataset.fingerprint, store).runs
        _write_build_context(root, prof.name, data, store, verify)
        progress.chapters_planned([name])
        result.chapters.append(
            _bring_up_to_date(
                root, chapter, prof.name, dataset.fingerprint, set(), True, log, progress, store
            )
        )
        if not result.failed:
            notebooks.save_overrides(root, prof.name, name, overrides)
            _write_report_inputs(root, prof, dataset, store, trained, runs)
        return result


def _write_report_inputs(
    root: Path,
    prof: catalog.Profile,
    dataset: Any,
    store: RunStore,
    trained: list[str],
    runs: Mapping[str, Any],
) -> None:
    """What the article reads besides the chapters: ``_variables.yml``, the provenance
    table and the page of the project's own studies."""
    names = notebooks.analysis_names(root)
    stored = [r for r in runs.values() if r is not None]
    write_variables(
        root,
        build_variables(prof, dataset, _portable(store.root, root), len(trained), stored),
        names,
    )
    write_provenance_table(root, names)
    write_added_studies(root, names)


# --------------------------------------------------------------------------- rendering
@_in_project
def chapter_problems(root: Path, profile: str | None = None) -> list[str]:
    """Why the executed chapters cannot be stitched into one document: chapters never
    executed, chapters from different profiles, and chapters whose record is stale.
    Cheap: no dataset is loaded and nothing is trained."""
    names = notebooks.analysis_names(root)
    if not names:
        return []
    loaded = {n: load_record(root, n) for n in names}
    missing = [n for n, r in loaded.items() if r is None]
    if missing:
        return [f"not executed yet: {', '.join(missing)} (run `cifar-report build`)"]
    records = {n: r for n, r in loaded.items() if r is not None}
    profiles: dict[str, list[str]] = {}
    for name, record in records.items():
        profiles.setdefault(record["profile"], []).append(name)
    if len(profiles) > 1 or (profile and set(profiles) != {profile}):
        listing = "; ".join(f"{p}: {', '.join(ns)}" for p, ns in sorted(profiles.items()))
        return [
            f"chapters come from different profiles ({listing}); rebuild with "
            f"`cifar-report build --profile {profile or next(iter(profiles))}`"
        ]
    problems = []
    prof = resolve_profile(next(iter(profiles)))
    store = store_of(root, read_build_context(root))
    overrides = notebooks.load_overrides(root, prof.name)
    for name, record in records.items():
        chapter, _ = plan_chapter(root, name, prof, overrides.get(name, {}), record["dataset"])
        present = {k for k in chapter.planned if store.check(k).usable}
        reasons = why_stale(
            root, chapter, prof.name, record["dataset"], present, record, store=store
        )
        if reasons:
            problems.append(f"{name} is stale ({'; '.join(reasons)})")
    return problems


def render_report(
    root: Path,
    to: Sequence[str] = ("html", "pdf"),
    renderer: str = "auto",
    profile: str | None = None,
    log: Log = print,
    detail: Log | None = None,
) -> str | None:
    """Render the article after checking that its chapters belong together; returns the
    error text, or None when it rendered (or was up to date). ``log`` gets what a reader of the console needs
    (which renderer, what was written, what failed); ``detail`` (default ``log``) the
    renderer's own output, e.g. Quarto's, for the log file."""

    problems = chapter_problems(root, profile)
    if problems:
        text = "render refused:\n  " + "\n  ".join(problems)
        log(text)
        return text
    stamp, stamp_file = render_stamp(root, to, renderer, profile), root / "_site" / RENDER_STAMP
    previous = json.loads(stamp_file.read_text()) if stamp_file.is_file() else {}
    published = [root / p for p in previous.get("outputs", [])]  # relative: the project moves
    if previous.get("stamp") == stamp and published and all(p.is_file() for p in published):
        log("render: up to date (no input of the document changed)")
        return None
    stamp_file.unlink(missing_ok=True)
    crash_point("render.start")
    try:
        outputs = render(
            root, to=tuple(to), renderer=renderer, profile=profile, log=log, detail=detail
        )
    except Exception as error:  # noqa: BLE001 - reported and turned into exit code 1
        # A RenderError says what to fix; anything else is a bug: keep its traceback.
        text = (
            str(error)
            if isinstance(error, RenderError)
            else "".join(traceback.format_exception(error))
        )
        log(f"FAILED render:\n{text}")
        return text
    for path in outputs:
        log(f"rendered {path}")
    crash_point("render.written")
    record = {"stamp": stamp, "outputs": [_portable(p, root) for p in outputs]}
    write_text_atomic(stamp_file, json.dumps(record))
    return None


RENDER_STAMP = ".render-stamp.json"


def render_stamp(root: Path, to: Sequence[str], renderer: str, profile: str | None) -> str:
    """A digest of everything the rendered document is made from: the article and what it
    includes, the Quarto configuration, the bibliography, ``_variables.yml``, ``report.yml``, the executed
    notebooks, the renderer's own code and assets, and the choice of renderer."""

    renderer_dir = Path(cifar_core.render.__file__).parent
    files = sorted(
        [
            *root.glob("*.qmd"),
            *root.glob("_quarto*.yml"),
            *root.glob("*.bib"),
            root / "_variables.yml",
            root / "report.yml",  # title, authors, ... (cifar_core.render.report_meta)
            *(root / NOTEBOOKS_DIR).glob("*.ipynb"),
            *(root / NOTEBOOKS_DIR).glob("*.md"),
            *renderer_dir.rglob("*.*"),
        ]
    )
    digest = hashlib.sha256(
        json.dumps(
            [list(to), renderer, profile, bool(shutil.which("quarto")) and renderer != "builtin"]
        ).encode()
    )
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(
                str(path.relative_to(root) if path.is_relative_to(root) else path.name).encode()
            )
            digest.update(path.read_bytes())
    return digest.hexdigest()


def write_provenance_table(root: Path, names: Sequence[str]) -> Path:
    """``notebooks/_provenance.md``: one row per chapter record, for the appendix."""
    rows = [
        "| chapter | profile | runs read | parameters changed from defaults | notebook | "
        "code | executed |",
        "|:--|:--|--:|:--|:--|:--|:--|",
    ]
    for name in names:
        record = load_record(root, name)
        if record is None:
            rows.append(f"| {name} | – | – | – | – | – | not executed |")
            continue
        changed = (
            ", ".join(f"`{k} = {json.dumps(v)}`" for k, v in record["overrides"].items()) or "none"
        )
        modules = json.dumps(record["modules"], sort_keys=True)
        code = hashlib.sha256(modules.encode()).hexdigest()[:12]
        rows.append(
            f"| {name} | {record['profile']} | {len(record['runs_read'])} | {changed} | "
            f"`{record['notebook']}` | `{code}` | {record['executed']} |"
        )
    path = root / NOTEBOOKS_DIR / PROVENANCE_TABLE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, "\n".join(rows) + "\n")
    return path
