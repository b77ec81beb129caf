"""The analysis notebooks: their sources, their declared parameters, the overrides a
user set with ``cifar-report analysis NAME -p key value``, and executing them.

A notebook's source of truth is ``analyses/<name>.py`` (jupytext percent format); the
build converts it to a notebook in memory and papermill executes it, with the project
folder as working directory, into ``notebooks/<name>.ipynb``.

Parameters are declared, with types, in the cell tagged ``parameters``::

    seeds: int | list[int] | None = None  # None: the profile's seeds

``-p`` accepts only declared names and parses each value by its declared type (a YAML
value that fits the type, else the text itself when the type admits a string), so
``-p model no`` stays the string ``"no"`` where a string is declared.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import json
import os
import re
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import papermill
import yaml
from pydantic import TypeAdapter, ValidationError

import cifar_core
from cifar_core.experiments import catalog, chapters
from cifar_core.faults import crash_point
from cifar_core.files import write_text_atomic
from cifar_core.orchestrate.measure import ChildUsage
from cifar_core.project import ANALYSES_DIR, NOTEBOOKS_DIR, ProjectError
from cifar_core.render.figures import carry_alt_text

OVERRIDES_FILE = ".overrides.json"
PLAN_PARAMETERS = ("studies", "variants", "seeds")
"""Parameters that select the runs a chapter reads (the build trains them first)."""
_TYPES = {t.__name__: t for t in (int, float, str, bool, list, dict, tuple)} | {"None": None}


@dataclass(frozen=True)
class Parameter:
    """One declared notebook parameter."""

    name: str
    annotation: str
    default: Any
    help: str = ""

    @property
    def type(self) -> Any:
        return eval(self.annotation, {"__builtins__": {}}, dict(_TYPES))  # noqa: S307

    def parse(self, text: str, where: str = "") -> Any:
        """The value of ``-p NAME TEXT`` under the declared type (see the module docstring).

        >>> Parameter("model", "str", "a").parse("no"), Parameter("n", "int", 1).parse("3")
        ('no', 3)
        """
        adapter = TypeAdapter(self.type)
        try:
            candidates = [yaml.safe_load(text), text]
        except yaml.YAMLError:
            candidates = [text]
        for candidate in candidates:
            try:
                return adapter.validate_python(candidate, strict=True)
            except ValidationError:
                continue
        raise ProjectError(
            f"{where}-p {self.name} {text!r}: expected {self.annotation}; "
            f"e.g. -p {self.name} {json.dumps(self.default)!r}"
        )


# --------------------------------------------------------------------------- sources
def analysis_names(root: Path) -> list[str]:
    """The chapters a build executes, in the registry's order
    (:mod:`cifar_core.experiments.chapters`): the project's ``analyses/*.py``, the
    added-studies chapter only when the project declares a study of its own
    (``studies/*.py``); sources the registry does not list follow in name order."""
    present = {p.stem for p in (root / ANALYSES_DIR).glob("*.py")}
    names = [
        c.name
        for c in chapters.CHAPTERS
        if c.name in present
        and (not c.added_studies or catalog.for_project(root).chapter_studies(c.name))
    ]
    return names + sorted(present - {c.name for c in chapters.CHAPTERS})


def source_path(root: Path, name: str) -> Path:
    path = root / ANALYSES_DIR / f"{name}.py"
    if not path.is_file():
        known = analysis_names(root)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known)}"
        raise ProjectError(f"no analysis named {name!r} ({path} does not exist); {hint}")
    return path


def read_notebook(path: Path):
    """The notebook of a jupytext percent-format source."""
    notebook = jupytext.read(path)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def declared_parameters(path: Path) -> dict[str, Parameter]:
    """The parameters declared in the ``parameters`` cell of ``path``, in order.

    Raises :class:`ProjectError` when the cell is missing or a parameter has no type.
    """
    for cell in read_notebook(path).cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return _parse_parameters(cell.source, path)
    raise ProjectError(
        f"{path}: no cell tagged 'parameters' (papermill needs one: "
        'start it with `# %% tags=["parameters"]`)'
    )


def _parse_parameters(source: str, path: Path) -> dict[str, Parameter]:
    lines = source.splitlines()
    declared = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            raise ProjectError(
                f"{path}: parameter {ast.unparse(node.targets[0])} has no declared "
                f"type; write it as `name: type = value`"
            )
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            comment = lines[node.lineno - 1].partition("#")[2].strip()
            value = ast.literal_eval(node.value) if node.value is not None else None
            declared[node.target.id] = Parameter(
                node.target.id, ast.unparse(node.annotation), value, comment
            )
    return declared


def parse_overrides(path: Path, pairs: Sequence[Sequence[str]]) -> dict[str, Any]:
    """``[("seeds", "[0, 1]")]`` → ``{"seeds": [0, 1]}``, checked against the declared
    parameters of ``path``; unknown names raise :class:`ProjectError` listing them."""
    declared = declared_parameters(path)
    values = {}
    for name, text in pairs:
        if name not in declared:
            listing = "\n".join(
                f"  {p.name}: {p.annotation} = {p.default!r}" + (f"  # {p.help}" if p.help else "")
                for p in declared.values()
            )
            raise ProjectError(
                f"{path.stem}: unknown parameter {name!r}; its parameters are:\n{listing}"
            )
        values[name] = declared[name].parse(text, where=f"{path.stem}: ")
    return values


# --------------------------------------------------------------------------- overrides
def overrides_path(root: Path) -> Path:
    return root / NOTEBOOKS_DIR / OVERRIDES_FILE


def load_overrides(root: Path, profile: str) -> dict[str, dict[str, Any]]:
    """``{analysis: {parameter: value}}`` set with ``-p`` for ``profile``."""
    path = overrides_path(root)
    return json.loads(path.read_text()).get(profile, {}) if path.is_file() else {}


def save_overrides(root: Path, profile: str, name: str, params: Mapping[str, Any] | None) -> None:
    """Record (or, with empty ``params``, drop) the overrides of one analysis in ``profile``."""
    path = overrides_path(root)
    every = json.loads(path.read_text()) if path.is_file() else {}
    chapter = every.setdefault(profile, {})
    if params:
        chapter[name] = dict(params)
    else:
        chapter.pop(name, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({p: v for p, v in every.items() if v}, indent=2, sort_keys=True)
    write_text_atomic(path, text)


# --------------------------------------------------------------------------- execution
@dataclass
class Execution:
    """The outcome of executing one notebook."""

    ok: bool
    seconds: float
    output: Path
    error: str | None = None
    peak_rss: int | None = None  # bytes: the kernel's peak resident memory (Linux)
    cpu_s: float | None = None  # the kernel's CPU seconds (Linux)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def error_text(error: BaseException) -> str:
    """The notebook traceback for papermill errors, the Python one otherwise (ANSI stripped)."""
    lines = getattr(error, "traceback", None)
    text = "\n".join(lines) if lines else "".join(traceback.format_exception(error))
    return _ANSI.sub("", text)


@contextlib.contextmanager
def _kernel_imports_this_package() -> Iterator[None]:
    """Let the kernel import the same ``cifar_core`` as this process (an uninstalled
    checkout included): its parent folder goes first on the kernel's PYTHONPATH."""
    before = os.environ.get("PYTHONPATH")
    package_parent = str(Path(cifar_core.__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, before) if p)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def execute(root: Path, name: str, parameters: Mapping[str, Any]) -> Execution:
    """Execute ``analyses/<name>.py`` with papermill into ``notebooks/<name>.ipynb``.

    On failure the partly executed notebook is kept as ``notebooks/<name>.failed.ipynb``
    and the previous ``<name>.ipynb`` is left untouched. A figure cell without a caption
    or alternative text fails the chapter, naming the cell
    (`cifar_core.render.figures.carry_alt_text`).
    """
    out = root / NOTEBOOKS_DIR
    out.mkdir(parents=True, exist_ok=True)
    running, failed = out / f".{name}.running.ipynb", out / f"{name}.failed.ipynb"
    started = time.perf_counter()
    crash_point("chapter.start", name)
    usage = ChildUsage()

    def outcome(output: Path, error: str | None = None) -> Execution:
        seconds = time.perf_counter() - started
        return Execution(error is None, seconds, output, error, usage.peak_rss, usage.cpu_s)

    try:
        with _kernel_imports_this_package(), usage:
            papermill.execute_notebook(
                read_notebook(source_path(root, name)),
                str(running),
                parameters=dict(parameters),
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
                cwd=str(root),
                on_cell_executed=lambda **_: crash_point("chapter.cell", name),
            )
    except Exception as error:  # noqa: BLE001 - any failure is reported, the build goes on
        if running.exists():
            running.replace(failed)
        return outcome(failed, error_text(error))
    problems = carry_alt_text(running)  # fig-alt for Quarto and the built-in renderer
    if problems:
        running.replace(failed)
        return outcome(failed, "\n".join(problems))
    output = out / f"{name}.ipynb"
    crash_point("chapter.executed", name)
    running.replace(output)
    failed.unlink(missing_ok=True)
    return outcome(output)
