"""Quarto `pre-render` hook: build (train, run analyses) for the active Quarto profile.

Quarto sets QUARTO_PROFILE (comma-separated when several) for pre-render scripts.
When `cifar-report build` itself runs `quarto render`, it sets CIFAR_REPORT_IN_BUILD=1
and this hook does nothing, so the pipeline is not run twice. Either way it writes
``_tables.html``, which ``_quarto.yml`` includes in the HTML (`cifar_core.render.tables`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def main() -> int:
    from cifar_core.render.config import load_config
    from cifar_core.render.report_meta import write_report_metadata
    from cifar_core.render.tables import write_include

    profile = os.environ.get("QUARTO_PROFILE", "").split(",")[0].strip() or "demo"
    write_include(".")  # _quarto.yml's include-after-body (the sortable tables)
    # _quarto.yml's metadata-files (title block; Quarto re-reads it after this hook)
    write_report_metadata(Path.cwd(), load_config(Path.cwd(), profile).build_subtitle)
    if os.environ.get("CIFAR_REPORT_IN_BUILD") == "1":
        return 0
    command = [sys.executable, "-m", "cifar_core.cli", "build", "--no-render", "--profile", profile]
    print("pre-render:", " ".join(command[1:]), flush=True)
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
