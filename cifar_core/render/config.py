"""Read the Quarto project configuration (`_quarto.yml` + the active profile file)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import RenderError

#: Top-level keys of `_quarto.yml` that configure Quarto rather than describe the document.
PROJECT_KEYS = frozenset(
    {
        "project",
        "manuscript",
        "format",
        "execute",
        "profile",
        "bibliography",
        "jupyter",
        "engine",
        "crossref",
        "filters",
        "metadata-files",
        "build-subtitle",
    }
)


@dataclass(frozen=True)
class ProjectConfig:
    """What the built-in renderer needs from the merged project configuration."""

    root: Path
    profile: str | None
    article: Path
    output_dir: Path
    bibliography: tuple[Path, ...]
    metadata: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    @property
    def build_subtitle(self) -> str | None:
        """The active profile's ``build-subtitle`` (what kind of build this is)."""
        value = self.raw.get("build-subtitle")
        return str(value) if value else None


def read_yaml(path: Path) -> dict:
    """Parse a YAML mapping, raising RenderError naming the file when it is invalid."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RenderError(f"{path}: invalid YAML ({exc}); fix the syntax.") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RenderError(f"{path}: expected a YAML mapping at the top level.")
    return data


def deep_merge(base: dict, over: dict) -> dict:
    """Merge `over` into a copy of `base`: mappings recursively, everything else replaced."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def active_profile(config: dict, explicit: str | None) -> str | None:
    """The profile Quarto would use: explicit, else $QUARTO_PROFILE, else profile.default."""
    if explicit:
        return explicit
    env = os.environ.get("QUARTO_PROFILE", "").split(",")[0].strip()
    if env:
        return env
    default = (config.get("profile") or {}).get("default")
    if isinstance(default, list):
        default = default[0] if default else None
    return default


def load_config(project_root: Path, profile: str | None = None) -> ProjectConfig:
    """Read `_quarto.yml`, merge `_quarto-<profile>.yml` over it, and resolve paths."""
    root = Path(project_root).resolve()
    main = root / "_quarto.yml"
    if not main.is_file():
        raise RenderError(
            f"{main}: no Quarto project here; run from the project root or pass project_root."
        )
    config = read_yaml(main)
    name = active_profile(config, profile)
    if name:
        profile_file = root / f"_quarto-{name}.yml"
        if not profile_file.is_file():
            raise RenderError(
                f"{profile_file}: profile {name!r} has no configuration "
                "file; create it or choose another profile."
            )
        config = deep_merge(config, read_yaml(profile_file))
    return _project_config(root, name, config)


def _project_config(root: Path, profile: str | None, config: dict) -> ProjectConfig:
    project = config.get("project") or {}
    manuscript = config.get("manuscript") or {}
    article = root / manuscript.get("article", "index.qmd")
    if not article.is_file():
        raise RenderError(
            f"{article}: the article named by manuscript.article in "
            f"{root / '_quarto.yml'} does not exist."
        )
    bib = config.get("bibliography") or []
    bib = [bib] if isinstance(bib, str) else list(bib)
    metadata = {k: v for k, v in config.items() if k not in PROJECT_KEYS}
    return ProjectConfig(
        root=root,
        profile=profile,
        article=article,
        output_dir=root / project.get("output-dir", "_site"),
        bibliography=tuple(root / b for b in bib),
        metadata=metadata,
        raw=config,
    )
