"""``benchmarks/code_size.py``: lines by kind, and statements and tokens that no
formatting changes, for the package now and at a git revision."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.fixtures import PROJECT, load_benchmark

code_size = load_benchmark("code_size")
in_git = bool(shutil.which("git")) and (
    subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT, capture_output=True).returncode == 0
)
needs_git = pytest.mark.skipif(not in_git, reason="not a git checkout: no revision to measure")

ONE_LINE = '''def f(a, b):
    """Add."""
    return g(a, b)  # why
'''
WRAPPED = '''def f(
    a,
    b
):
    """Add."""

    # why
    return g(
        a,
        b
    )
'''


def test_statements_and_tokens_do_not_depend_on_the_layout():
    one, wrapped = code_size.measure_source(ONE_LINE), code_size.measure_source(WRAPPED)
    assert (
        (one["statements"], one["tokens"]) == (wrapped["statements"], wrapped["tokens"]) == (3, 15)
    )
    assert [one[k] for k in ("lines", "code", "docstrings", "comments", "blank")] == [3, 2, 1, 0, 0]
    assert [wrapped[k] for k in ("lines", "code", "docstrings", "comments", "blank")] == [
        11,
        8,
        1,
        1,
        1,
    ]


def test_the_tree_is_measured_by_part_and_the_parts_add_up_to_the_total(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "top.py").write_text(ONE_LINE)
    (tmp_path / "sub" / "a.py").write_text(WRAPPED)
    (tmp_path / "sub" / "b.py").write_text(ONE_LINE)
    sizes = code_size.measure_tree(tmp_path)
    assert set(sizes) == {"(modules)", "sub", "total"}
    assert sizes["sub"]["lines"] == 14 and sizes["(modules)"]["lines"] == 3
    assert sizes["total"] == sizes["sub"] + sizes["(modules)"]
    assert "3 → 14" in code_size.table(sizes, {"sub": sizes["(modules)"]})


@needs_git
def test_a_committed_revision_is_measured_and_formatting_it_like_now_changes_nothing(tmp_path):
    # the committed package is ruff-formatted (CI checks it), so formatting is a no-op
    committed = code_size.measure_tree(
        code_size.package_at("HEAD", tmp_path / "a", formatted=False)
    )
    formatted = code_size.measure_tree(code_size.package_at("HEAD", tmp_path / "b", formatted=True))
    assert committed == formatted
    assert committed["total"]["statements"] > 5_000
    assert set(committed) == set(code_size.measure_tree(PROJECT / "cifar_core"))


@needs_git
def test_an_unknown_revision_names_the_option_and_the_fix(tmp_path):
    with pytest.raises(
        SystemExit, match="--against 'no-such-rev': git archive failed.*give a commit"
    ):
        code_size.package_at("no-such-rev", tmp_path, formatted=False)


@needs_git
def test_formatting_a_revision_without_ruff_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(code_size.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit, match=r"needs ruff.*pip install.*--as-committed"):
        code_size.package_at("HEAD", tmp_path / "a", formatted=True)
