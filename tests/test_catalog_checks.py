"""The catalog checks every cross-reference of its source files when it is built: each
mistake is a CatalogError (a usage error, exit 2) naming the file and the name."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from cifar_core.experiments import catalog
from cifar_core.experiments.catalog import Catalog
from cifar_core.experiments.declare import (
    BETTER,
    Budget,
    CatalogError,
    Claim,
    FullOnly,
    Source,
    study,
    variant,
)
from cifar_core.project import ProjectError

FILE = "studies/mine.py"
MINE = variant("my_cnn", "cnn", {"blocks": [[16]], "dense": [32]}, epochs=3)


def _catalog(**declared) -> Catalog:
    """The built-in sources plus one file declaring ``declared`` (upper-case names)."""
    declared.setdefault("VARIANTS", [MINE])
    declared.setdefault(
        "STUDIES", [study("mine", "Mine", baseline="s000_cnn1", variants=["s000_cnn1", "my_cnn"])]
    )
    module = SimpleNamespace(**declared)
    return Catalog([*catalog.builtin().sources, Source.read(module, FILE, local=True)])


def _fails(match: str, **declared) -> str:
    with pytest.raises(CatalogError) as error:
        _catalog(**declared)
    message = str(error.value)
    assert message.startswith(FILE), message
    assert match in message, message
    return message


def test_a_correct_file_joins_the_catalog_after_the_built_in_studies():
    mine = _catalog()
    assert [s.name for s in mine.studies][-1] == "mine"
    assert mine.get_study("mine").chapter == "15-added-studies"
    assert mine.get_study("mine").file == FILE
    assert mine.source_of("my_cnn").path == FILE
    assert issubclass(CatalogError, ProjectError)  # the command line exits 2


def test_unknown_baseline_names_the_file_and_the_baseline():
    _fails(
        "baseline 's000_cnn9' is not one of its variants",
        STUDIES=[study("mine", "Mine", baseline="s000_cnn9", variants=["s000_cnn1", "my_cnn"])],
    )


def test_a_study_naming_an_unknown_variant_suggests_close_names():
    message = _fails(
        "study 'mine' names unknown variant 'my_cn'",
        STUDIES=[study("mine", "Mine", baseline="my_cn", variants=["my_cn"])],
    )
    assert "did you mean my_cnn" in message


def test_duplicate_variant_names_within_a_file_and_with_the_catalog():
    _fails("variant 'my_cnn' is already declared in studies/mine.py", VARIANTS=[MINE, MINE])
    _fails(
        "variant 's000_cnn1' is already declared in cifar_core/experiments/seeds/s000.py",
        VARIANTS=[MINE, MINE.replace(name="s000_cnn1")],
    )


def test_duplicate_study_names_clash_with_the_catalog():
    _fails(
        "study 'depth' is already declared in cifar_core/experiments/seeds/s000.py",
        STUDIES=[study("depth", "Mine", baseline="my_cnn", variants=["my_cnn"])],
    )


def test_a_claim_on_a_missing_variant_or_study():
    _fails(
        "'my_cnn2' is not a variant of study 'mine'",
        CLAIMS=[Claim("mine", "my_cnn2", "s000_cnn1", BETTER, "Mine wins.")],
    )
    _fails(
        "claim 'Mine wins.' is about unknown study 'mien'",
        CLAIMS=[Claim("mien", "my_cnn", "s000_cnn1", BETTER, "Mine wins.")],
    )


def test_a_budget_for_a_missing_variant_or_twice():
    _fails(
        "budget 'mine' is for unknown variant 'my_cnm'",
        BUDGET=[Budget("mine", {"my_cnm": 3}, (0,), "why")],
    )
    _fails(
        "'my_cnn' is budgeted twice ('mine' and 'again')",
        BUDGET=[
            Budget("mine", {"my_cnn": 3}, (0,), "why"),
            Budget("again", {"my_cnn": 4}, (0,), ""),
        ],
    )
    _fails(
        "FULL_ONLY names unknown variant 'my_cmn'",
        FULL_ONLY=[FullOnly(("my_cmn",), ("sample",), "why")],
    )
    _fails(
        "FULL_ONLY names unknown profile 'sampel'",
        FULL_ONLY=[FullOnly(("my_cnn",), ("sampel",), "why")],
    )


def test_a_file_gives_figures_budgets_and_exclusions_for_its_own_variants_only():
    """A project's file cannot move a built-in variant's runs or figures."""
    declared_in = "which cifar_core/experiments/flagship.py declares"
    _fails(
        f"budget 'mine' is for 'flagship', {declared_in}",
        BUDGET=[Budget("mine", {"flagship": 3}, (0,), "")],
    )
    _fails(
        f"FULL_ONLY names 'flagship', {declared_in}",
        FULL_ONLY=[FullOnly(("flagship",), ("demo",), "")],
    )
    _fails(
        "REPORTED gives a figure for 's000_cnn1', which cifar_core/experiments/seeds/s000.py",
        REPORTED={"s000_cnn1": 0.9},
    )


def test_a_figure_for_an_unknown_variant():
    _fails("REPORTED gives a figure for unknown variant 'my_cnnn'", REPORTED={"my_cnnn": 0.5})
    _fails(
        "REPORTED_EXTRA gives a figure for unknown variant 'x'",
        REPORTED_EXTRA={"x": {"train_accuracy": 0.9}},
    )


def test_a_study_naming_an_unknown_chapter():
    _fails(
        "unknown chapter '03-architectur'",
        STUDIES=[
            study(
                "mine",
                "Mine",
                baseline="my_cnn",
                variants=["my_cnn"],
                chapter="03-architectur",
            )
        ],
    )


def test_a_variant_in_no_study_and_a_misspelt_declaration():
    _fails("variant 'my_cnn' is in no study", STUDIES=[])
    _fails(
        "STUDY is not a name the catalog reads; did you mean STUDIES?",
        STUDY=study("other", "Other", baseline="my_cnn", variants=["my_cnn"]),
    )
    _fails(
        "VARIANTS[0] is a dict; each entry must be made by variant(...)",
        VARIANTS=[{"name": "my_cnn"}],
    )


def test_a_built_in_study_must_name_its_chapter():
    module = SimpleNamespace(
        VARIANTS=[MINE], STUDIES=[study("mine", "Mine", baseline="my_cnn", variants=["my_cnn"])]
    )
    with pytest.raises(CatalogError, match="x.py: study 'mine' names no chapter"):
        Catalog([Source.read(module, "x.py")])


def test_the_built_in_catalog_is_checked_at_import():
    """A typo in a seed file's budget fails the import of the catalog, naming the file."""
    code = (
        "from cifar_core.experiments.declare import Budget\n"
        "import cifar_core.experiments.seeds.s003 as s\n"
        "s.BUDGET = s.BUDGET + (Budget('typo', {'s003_net_zscor': 3}, (0,), ''),)\n"
        "import cifar_core.experiments.catalog\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert (
        "CatalogError: cifar_core/experiments/seeds/s003.py: budget 'typo' is for unknown "
        "variant 's003_net_zscor'; did you mean s003_net_zscore" in result.stderr
    )


def test_the_study_order_names_only_known_studies(monkeypatch):
    from cifar_core.experiments import chapters

    monkeypatch.setattr(chapters, "STUDY_ORDER", (*chapters.STUDY_ORDER, "poolng"))
    with pytest.raises(CatalogError, match="chapters.py: STUDY_ORDER names unknown study 'poolng'"):
        catalog._checked_order(catalog.builtin())
