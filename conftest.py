"""The doctests' temporary files go to pytest's temporary folder, not the system's: an
example that calls ``tempfile.mkdtemp()`` reads as the user would write it and leaves
nothing in /tmp. (The tests' own fixtures are in ``tests/conftest.py``.)"""

from __future__ import annotations

import tempfile

import pytest


@pytest.fixture(autouse=True)
def _doctest_temporary_files(request: pytest.FixtureRequest) -> None:
    if isinstance(request.node, pytest.DoctestItem):
        folder = request.getfixturevalue("tmp_path")
        request.getfixturevalue("monkeypatch").setattr(tempfile, "tempdir", str(folder))
