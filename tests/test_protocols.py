"""Reported vs reproduced with both protocols: the seeds' protocol facts as data (checked
against the seed reports) and the differences a build's profile makes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cifar_core.analysis.views.protocols import (
    build_side,
    differences,
    differing,
    protocol_table,
    train_images,
)
from cifar_core.experiments import catalog
from cifar_core.experiments.seed_protocols import SEED_PROTOCOLS, protocol_of, seed_side

SEEDS = Path(
    os.environ.get("CIFAR_SEEDS_DIR", Path(__file__).resolve().parents[2] / "shared" / "seeds")
)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed reports are not present")
@pytest.mark.parametrize("seed", sorted(SEED_PROTOCOLS))
def test_every_protocol_rests_on_a_passage_of_its_seed_report(seed):
    protocol = SEED_PROTOCOLS[seed]
    text = (SEEDS / catalog.SEED_FILES[protocol.seed]).read_text(encoding="utf-8")
    assert protocol.marker in text


def test_seed_side_takes_the_recipe_from_the_catalog_and_says_what_is_not_stated():
    assert seed_side("s000_mlp") == {
        "train images": "50,000",
        "checkpoint": "last epoch",
        "epochs": "5",
        "optimizer": "SGD 0.01, batch 32",
        "preprocessing": "÷255",
        "augmentation": "none",
    }
    assert seed_side("s001_model_b")["augmentation"] == "rotation 10°, shift 0.1, flip"
    assert seed_side("s001_model_b")["checkpoint"] == "best validation loss"
    assert seed_side("s003_net")["optimizer"] == "not stated"
    assert seed_side("s002_model1_b32")["train images"] == "not stated"
    with pytest.raises(KeyError, match="reproduces no seed report"):
        protocol_of("ctl_final_adam")
    with pytest.raises(KeyError, match="reproduces no seed report"):
        protocol_of("ctl_cnn1_e5")  # a control in seed 000's file reproduces nothing


def test_each_seed_file_declares_its_protocol():
    from cifar_core.experiments.seeds import s000, s001, s002, s003, s004

    files = (s000, s001, s002, s003, s004)
    assert {f.SEED: f.PROTOCOL for f in files} == SEED_PROTOCOLS
    assert all(f.PROTOCOL.seed == f.SEED for f in files)


def _table(profile: str, n_train: int):
    prof = catalog.get_profile(profile)
    figures = list(catalog.reported().items())
    scaled = {v.name: v for v in catalog.plan(prof)}
    return protocol_table(figures, scaled, n_train, lambda name: "12.3").set_index("experiment")


def test_each_reported_figure_names_both_protocols_and_what_differs():
    sample = _table("sample", 5085)
    row = sample.loc["s000_mlp"]
    assert row["train images"] == "50,000 → 4,068"
    assert row["checkpoint"] == "last epoch → best validation loss"
    assert row["epochs"] == "5 → 10" and row["optimizer"] == "SGD 0.01, batch 32"
    assert row["differs"] == "train images, checkpoint, epochs"
    assert "train images (not stated by the seed)" in sample.loc["s002_model1_b32", "differs"]
    assert sample.loc["s002_wrn_16_8", "reproduced %"] == "not run in this profile"
    full = _table("full", 50_000)
    assert full.loc["s004_final", "differs"] == "checkpoint"  # 40,000 images, as seed 004
    assert full.loc["s000_mlp", "differs"] == "train images, checkpoint"
    seed = _table("full-seed-protocol", 50_000)
    assert seed.loc["s000_mlp", "differs"] == "none"  # like-for-like with seed 000
    assert seed.loc["s004_final", "differs"] == "train images"  # seed 004 held out 10,000


def test_build_side_follows_the_variant_split_and_checkpoint():
    assert train_images(5085, 0.2) == 4068
    full = catalog.get_profile("full-seed-protocol").scale(catalog.get_variant("s004_final"))
    assert build_side(full, 50_000)["checkpoint"] == "last epoch"
    assert differences(seed_side("s004_final"), build_side(full, 50_000)) == "train images"


def test_differing_counts_only_the_figures_this_profile_reproduced():
    # A figure not run in this profile has no protocol of this build ("differs" reads
    # "–"): it is neither a difference nor a figure compared (demo said "33 of 33"
    # with 4 such rows).
    sample = _table("sample", 5085)
    not_run = int((sample["reproduced %"] == "not run in this profile").sum())
    assert not_run > 0
    assert differing(sample) == (len(sample) - not_run, len(sample) - not_run)
    seed = _table("full-seed-protocol", 50_000)
    n, of = differing(seed)
    assert of == int((seed["reproduced %"] != "not run in this profile").sum())
    assert n == of - int((seed["differs"] == "none").sum()) and n < of
