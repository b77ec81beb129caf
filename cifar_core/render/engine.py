"""`render()`: Quarto when available (or asked for), else the built-in renderer."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .config import ProjectConfig, load_config
from .document import build_markdown
from .errors import RenderError
from .variables import load_variables, variables_file
from .writers import check_bibliography, write_html, write_pdf

FORMATS = ("html", "pdf")
QUARTO_FORMATS = {"html": "html", "pdf": "typst"}
INSTALL_HINT = ("install Quarto (https://quarto.org/docs/get-started/) so that `quarto` "
                "is on PATH, or use renderer='builtin' (`--renderer builtin`)")


def render(project_root=".", *, to=FORMATS, renderer: str = "auto",
           profile: str | None = None) -> list[Path]:
    """Render the report into the project's output dir and return the files written.

    ``profile`` defaults to the one the analyses were built with (``_variables.yml``);
    naming another one is an error, since its title page would mislabel the numbers."""
    to = _check_formats(to)
    if renderer not in ("auto", "quarto", "builtin"):
        raise RenderError(f"unknown renderer {renderer!r}; use auto, quarto or builtin.")
    quarto = shutil.which("quarto")
    if renderer == "quarto" and not quarto:
        raise RenderError(f"renderer 'quarto' was requested but `quarto` is not on PATH: "
                          f"{INSTALL_HINT}.")
    built = built_profile(Path(project_root))
    config = load_config(Path(project_root), profile or built)
    if built and config.profile and config.profile != built:
        raise RenderError(
            f"the executed analyses are from profile {built!r} ({variables_file(Path(project_root))}), "
            f"not {config.profile!r}: rendering would label them wrongly. Render with "
            f"--profile {built}, or run `cifar-report build --profile {config.profile}` first.")
    if renderer == "quarto" or (renderer == "auto" and quarto):
        return render_quarto(config, to, quarto)
    return render_builtin(config, to)


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


def render_builtin(config: ProjectConfig, to=FORMATS) -> list[Path]:
    """Pandoc + typst: resolve shortcodes, write into a temp dir, then publish atomically."""
    variables, source = load_variables(config.root)
    config.output_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".render-", dir=config.output_dir.parent) as tmp:
        build_dir = Path(tmp)
        markdown, _ = build_markdown(config.article, variables, source, build_dir / "figures")
        (build_dir / "index.md").write_text(markdown, encoding="utf-8")
        check_bibliography(markdown, config)
        writers = {"html": write_html, "pdf": write_pdf}
        built = [writers[fmt](markdown, config, build_dir) for fmt in to]
        return _publish(built, config.output_dir)


def _publish(files: list[Path], output_dir: Path) -> list[Path]:
    """Move finished files into the output dir (each replace is atomic)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    published = []
    for path in files:
        target = output_dir / path.name
        os.replace(path, target)
        published.append(target)
    return published


def render_quarto(config: ProjectConfig, to, quarto: str) -> list[Path]:
    """`quarto render --profile P [--to F]` in the project root; the pre-render hook is
    told (CIFAR_REPORT_IN_BUILD=1) not to rebuild when we were called by the pipeline."""
    env = dict(os.environ, CIFAR_REPORT_IN_BUILD=os.environ.get("CIFAR_REPORT_IN_BUILD", "1"))
    base = [quarto, "render", str(config.root)]
    if config.profile:
        base += ["--profile", config.profile]
    runs = [base] if set(to) == set(FORMATS) else [base + ["--to", QUARTO_FORMATS[f]] for f in to]
    for command in runs:
        result = subprocess.run(command, cwd=config.root, env=env)
        if result.returncode != 0:
            raise RenderError(f"`{' '.join(command)}` failed with exit code "
                              f"{result.returncode}; see its output above.")
    stem = config.article.stem
    outputs = [config.output_dir / f"{stem}.{ 'html' if f == 'html' else 'pdf'}" for f in to]
    return [p for p in outputs if p.exists()]
