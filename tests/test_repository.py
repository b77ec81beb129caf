"""Checks over the tracked files themselves (what a careless merge leaves behind)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFLICT_MARKER = re.compile(r"^(<{7} |={7}$|>{7} )", re.MULTILINE)


def tracked_text_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    suffixes = {".py", ".md", ".qmd", ".yml", ".yaml", ".toml", ".lua", ".typ", ".html", ".cfg"}
    return [ROOT / name for name in listed if Path(name).suffix in suffixes]


def test_no_tracked_file_keeps_merge_conflict_markers():
    marked = [
        str(path.relative_to(ROOT))
        for path in tracked_text_files()
        if path.is_file() and CONFLICT_MARKER.search(path.read_text(errors="replace"))
    ]
    assert marked == []
