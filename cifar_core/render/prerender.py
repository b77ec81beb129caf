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


def main() -> int:
    from cifar_core.render.tables import write_include

    write_include(".")  # _quarto.yml's include-after-body (the sortable tables)
    if os.environ.get("CIFAR_REPORT_IN_BUILD") == "1":
        return 0
    profile = os.environ.get("QUARTO_PROFILE", "").split(",")[0].strip() or "demo"
    command = [sys.executable, "-m", "cifar_core.cli", "build", "--no-render", "--profile", profile]
    print("pre-render:", " ".join(command[1:]), flush=True)
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
