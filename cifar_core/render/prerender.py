"""Quarto `pre-render` hook: build (train, run analyses) for the active Quarto profile,
unless nothing a build reads has changed.

Quarto runs the hook before every render of the project, `quarto preview`'s re-renders
included, with QUARTO_PROFILE set (comma-separated when several). It always writes the
render's own inputs, ``_tables.html`` (`cifar_core.render.tables`) and
``_report-metadata.yml`` (`cifar_core.render.report_meta`), each only when its text
changes. Then:

- when `cifar-report build` itself runs `quarto render` (CIFAR_REPORT_IN_BUILD=1), it
  stops: the build has just run;
- when nothing a build reads has changed since the hook's last successful build (the
  chapters' sources and every other source or configuration file of the project, the
  run store's keys, the profile and the data settings: :func:`build_inputs`), and the
  build's outputs are there, it stops too: an edit of the article re-renders without
  re-executing a chapter, retraining, or rewriting a file Quarto watches;
- otherwise it runs `cifar-report build --no-render --profile P` and, when that
  succeeds, records the inputs in ``_build/prerender.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from cifar_core.project import default_runs_dir
from cifar_core.render.config import load_config
from cifar_core.render.report_meta import write_report_metadata
from cifar_core.render.tables import write_include

STAMP = Path("_build") / "prerender.json"
#: Read by the render only (an edit of them needs no build), or written by the build.
RENDER_ONLY = frozenset({"_variables.yml", "_report-metadata.yml", "report.yml"})
SKIPPED_DIRS = frozenset(
    {"_site", "_build", "runs", "tests", "docs", "benchmarks", "__pycache__", "node_modules"}
)
SOURCE_SUFFIXES = frozenset({".py", ".yml", ".yaml", ".toml", ".json", ".cfg"})
#: Environment that changes what a build reads (data, run store, weights).
ENV_KEYS = ("CIFAR10_DIR", "CIFAR_REPORT_RUNS", "CIFAR_REPORT_WEIGHTS", "KERAS_HOME")


def _sources(root: Path):
    """The project's source and configuration files a build may read, sorted."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        here = Path(folder)
        for name in sorted(files):
            path = here / name
            relative = path.relative_to(root)
            if path.suffix not in SOURCE_SUFFIXES or name in RENDER_ONLY:
                continue
            if name.startswith("_quarto") or relative.parts[0] == "notebooks":
                continue  # Quarto's configuration; the build's outputs
            yield relative, path


def build_inputs(root: Path, profile: str, runs: Path) -> str:
    """A digest of what a build of ``profile`` reads besides the run store's contents:
    the project's sources and configuration (``analyses/``, the package, chapter and
    study definitions), the chapters' stored ``-p`` overrides, the keys in the run
    store, the profile and the data/store environment."""
    digest = hashlib.sha256(json.dumps([profile, [os.environ.get(k) for k in ENV_KEYS]]).encode())
    package = Path(__file__).resolve().parents[1]
    for base in dict.fromkeys([root, package.parent]):  # the package: installed elsewhere?
        for relative, path in _sources(base):
            digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    overrides = root / "notebooks" / ".overrides.json"
    if overrides.is_file():
        digest.update(overrides.read_bytes())
    if runs.is_dir():
        digest.update("\n".join(sorted(p.name for p in runs.iterdir())).encode())
    return digest.hexdigest()


def _outputs_present(root: Path, config) -> bool:
    """``_variables.yml`` and every notebook the manuscript lists are there."""
    notebooks = (config.raw.get("manuscript") or {}).get("notebooks") or []
    paths = [n["notebook"] if isinstance(n, dict) else n for n in notebooks]
    return (root / "_variables.yml").is_file() and all((root / p).is_file() for p in paths)


def main() -> int:
    root = Path.cwd()
    profile = os.environ.get("QUARTO_PROFILE", "").split(",")[0].strip() or "demo"
    config = load_config(root, profile)
    write_include(root)  # _quarto.yml's include-after-body (the sortable tables)
    # _quarto.yml's metadata-files (title block; Quarto re-reads it after this hook)
    write_report_metadata(root, config.build_subtitle)
    if os.environ.get("CIFAR_REPORT_IN_BUILD") == "1":
        return 0
    inputs = build_inputs(root, profile, default_runs_dir(root))
    stamp = root / STAMP
    recorded = json.loads(stamp.read_text()) if stamp.is_file() else {}
    if recorded.get("inputs") == inputs and _outputs_present(root, config):
        print(f"pre-render: nothing a build reads has changed ({STAMP}); not rebuilding")
        return 0
    command = [sys.executable, "-m", "cifar_core.cli", "build", "--no-render", "--profile", profile]
    print("pre-render:", " ".join(command[1:]), flush=True)
    code = subprocess.call(command)
    if code == 0:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        # read again: the build may have trained runs (new keys in the store)
        inputs = build_inputs(root, profile, default_runs_dir(root))
        stamp.write_text(json.dumps({"profile": profile, "inputs": inputs}) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
