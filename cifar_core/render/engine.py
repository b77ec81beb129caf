"""`render()`: Quarto when available (or asked for), else the built-in renderer."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable
from pathlib import Path

from .check import check
from .config import ProjectConfig, load_config
from .document import build_document, embedded_labels
from .errors import RenderError
from .notebook_pages import notebook_titles, write_notebook_pages
from .quarto_checks import quarto_problems
from .report_meta import display_date, report_metadata, write_report_metadata
from .tables import write_include
from .variables import load_variables, variables_file
from .writers import check_bibliography, write_html, write_pdf

FORMATS = ("html", "pdf")
QUARTO_FORMATS = {"html": "html", "pdf": "typst"}
INSTALL_HINT = (
    "install Quarto from https://quarto.org/docs/get-started/ so that `quarto` "
    "is on PATH, or render without it: `cifar-report render --renderer builtin`"
)
BUILTIN_HINT = (
    "the executed notebooks are kept, so nothing is retrained: render them "
    "with the built-in renderer, `cifar-report render --renderer builtin`"
)
#: Quarto's words for a reference it could not resolve (it prints "?@label", exits 0).
QUARTO_XREF_RE = re.compile(r"Unable to resolve crossref @(\S+)|\?@[\w-]+")
#: ... and for a resource it could not fetch (offline: CDN scripts, web fonts).
QUARTO_RESOURCE_RE = re.compile(
    r"(?:unable|failed|could not|couldn't) (?:to )?"
    r"(?:fetch|download|load|resolve resource)"
    r"|WARN.*(?:resource|https?://)",
    re.I,
)

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

Log = Callable[[str], None]


def render(
    project_root=".",
    *,
    to=FORMATS,
    renderer: str = "auto",
    profile: str | None = None,
    log: Log | None = print,
    detail: Log | None = None,
) -> list[Path]:
    """Render the report into the project's output dir and return the files written.

    ``renderer="auto"`` uses Quarto when `quarto` is on PATH and the built-in pandoc +
    typst renderer otherwise; either way ``log`` is told which one ran. Quarto's own
    output goes to ``detail`` (default: ``log``), without colour codes.
    ``profile`` defaults to the one the analyses were built with (``_variables.yml``);
    naming another one is an error, since its title page would mislabel the numbers."""
    log = log or (lambda _message: None)
    detail = detail or log
    to = _check_formats(to)
    if renderer not in ("auto", "quarto", "builtin"):
        raise RenderError(f"unknown renderer {renderer!r}; use auto, quarto or builtin.")
    quarto = shutil.which("quarto") if renderer != "builtin" else None
    if renderer == "quarto" and not quarto:
        raise RenderError(
            f"renderer 'quarto' was requested but `quarto` is not on PATH: {INSTALL_HINT}."
        )
    built = built_profile(Path(project_root))
    config = load_config(Path(project_root), profile or built)
    if built and config.profile and config.profile != built:
        raise RenderError(
            f"the executed analyses are from profile {built!r} ({variables_file(Path(project_root))}), "
            f"not {config.profile!r}: rendering would label them wrongly. Render with "
            f"--profile {built}, or run `cifar-report build --profile {config.profile}` first."
        )
    if quarto:
        log(f"rendering with Quarto ({quarto_version(quarto)}, {quarto})")
        return render_quarto(config, to, quarto, log, detail)
    why = (
        ""
        if renderer == "builtin"
        else " (`quarto` is not on PATH; install it from https://quarto.org to render with Quarto)"
    )
    log(f"rendering with the built-in renderer, pandoc + typst{why}")
    return render_builtin(config, to)


def quarto_version(quarto: str) -> str:
    """`quarto --version`, or "version unknown" when it does not answer."""
    try:
        out = subprocess.run([quarto, "--version"], capture_output=True, text=True, timeout=60)
        return f"Quarto {out.stdout.strip()}" if out.returncode == 0 else "version unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "version unknown"


def built_profile(project_root: Path) -> str | None:
    """The profile of the last build (``profile`` in ``_variables.yml``), if any."""
    variables, _ = load_variables(project_root)
    return variables.get("profile") or None


def _check_formats(to) -> tuple[str, ...]:
    formats = (to,) if isinstance(to, str) else tuple(to)
    formats = tuple(f.strip() for part in formats for f in part.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise RenderError(f"unknown output format(s) {unknown or to!r}; choose from html, pdf.")
    return formats


def crossref_chapters(config: ProjectConfig) -> bool:
    """``crossref: {chapters: true}`` in the project configuration."""
    crossref = config.raw.get("crossref") or {}
    return bool(isinstance(crossref, dict) and crossref.get("chapters"))


def render_builtin(config: ProjectConfig, to=FORMATS) -> list[Path]:
    """Pandoc + typst: resolve shortcodes, write into a temp dir, then publish atomically."""
    variables, source = load_variables(config.root)
    report = report_metadata(config.root, config.build_subtitle)
    report["date"] = f"Published {display_date(report['date'])}"
    if "pdf" in to:
        report["pdf-href"] = f"{config.article.stem}.pdf"
    config = dataclasses.replace(config, metadata={**config.metadata, **report})
    config.output_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".render-", dir=config.output_dir.parent) as tmp:
        build_dir = Path(tmp)
        doc, _ = build_document(
            config.article,
            variables,
            source,
            build_dir / "figures",
            chapters=crossref_chapters(config),
        )
        check_bibliography(doc, config)
        writers = {"html": write_html, "pdf": write_pdf}
        built = [writers[fmt](doc, config, build_dir) for fmt in to]
        if "html" in to:  # the notebook pages the article's "Source" links point to
            notebooks = [path for path, _ in embedded_labels(config.article.read_text())]
            pages = write_notebook_pages(
                config.article.parent,
                notebooks,
                notebook_titles(config.raw.get("manuscript") or {}),
                build_dir,
                f"{config.article.stem}.html",
            )
            _publish(pages, build_dir, config.output_dir)
        return _publish(built, build_dir, config.output_dir)


def _publish(files: list[Path], build_dir: Path, output_dir: Path) -> list[Path]:
    """Move finished files into the output dir, at their place under ``build_dir``
    (each replace is atomic)."""
    published = []
    for path in files:
        target = output_dir / path.relative_to(build_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        published.append(target)
    return published


def render_quarto(
    config: ProjectConfig, to, quarto: str, log: Log = print, detail: Log | None = None
) -> list[Path]:
    """`quarto render --profile P [--to F]` in the project root.

    The article's inputs are checked first, so a missing variable, notebook or label
    fails with the same message as the built-in renderer. The pre-render hook is told
    (CIFAR_REPORT_IN_BUILD=1) not to rebuild when we were called by the pipeline."""
    problems = check(config.root, config.profile)
    problems += quarto_problems(config.root, config.profile, notebooks=False)
    if problems:
        raise RenderError(
            "the article cannot be rendered with Quarto:\n" + "\n".join(f"- {p}" for p in problems)
        )
    for problem in quarto_problems(config.root, config.profile, notebooks=True):
        log(f"warning: {problem}")  # only notebook outputs are left to report
    write_include(config.root)  # _quarto.yml's include-after-body
    write_report_metadata(config.root, config.build_subtitle)  # _quarto.yml's metadata-files
    env = dict(
        os.environ,
        CIFAR_REPORT_IN_BUILD=os.environ.get("CIFAR_REPORT_IN_BUILD", "1"),
        NO_COLOR="1",  # Quarto's log (Deno's colors) then writes no colour codes
    )
    base = [quarto, "render", str(config.root)]
    if config.profile:
        base += ["--profile", config.profile]
    runs = [base] if set(to) == set(FORMATS) else [base + ["--to", QUARTO_FORMATS[f]] for f in to]
    for command in runs:
        (detail or log)(f"$ {' '.join(command)}")
        code, tail, unresolved, unfetched = run_quarto(command, config.root, env, detail or log)
        if code != 0:
            message = "\n".join(line for line in tail if "ERROR" in line) or "\n".join(tail)
            raise RenderError(
                f"`{' '.join(command)}` failed with exit code {code}. "
                f"Quarto said:\n{message}\n{BUILTIN_HINT}."
            )
        if unresolved:
            raise RenderError(
                f"`{' '.join(command)}` left unresolved references:\n"
                + "\n".join(unresolved)
                + f"\nFix the labels, or {BUILTIN_HINT}."
            )
        for line in unfetched:
            log(f"warning: Quarto could not fetch a resource, the page may lack it: {line}")
    stem = config.article.stem
    outputs = [config.output_dir / f"{stem}.{f}" for f in to]
    missing = [p for p in outputs if not p.exists()]
    if missing:
        raise RenderError(
            f"Quarto exited 0 but did not write {', '.join(map(str, missing))}; "
            f"check `project.output-dir` and `manuscript.article` in "
            f"{config.root / '_quarto.yml'}."
        )
    return outputs


def run_quarto(
    command: list[str], cwd: Path, env: dict, log: Log
) -> tuple[int, list[str], list[str], list[str]]:
    """Run Quarto, passing its output through ``log`` line by line (colour codes removed).

    Returns the exit code, the last 40 lines, the lines that report an unresolved
    cross-reference and those that report a resource it could not fetch."""
    tail: deque[str] = deque(maxlen=40)
    unresolved: list[str] = []
    unfetched: list[str] = []
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as proc:
        assert proc.stdout is not None  # stdout=PIPE
        for line in proc.stdout:
            line = ANSI_RE.sub("", line.rstrip("\n"))
            log(line)
            tail.append(line)
            if QUARTO_XREF_RE.search(line):
                unresolved.append(line.strip())
            elif QUARTO_RESOURCE_RE.search(line):
                unfetched.append(line.strip())
    return proc.returncode, list(tail), unresolved, unfetched
