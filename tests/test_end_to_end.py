"""The whole product, once: build the `smoke` profile (tiny synthetic data, one epoch,
every study of the demo report) into a copy of the project, then check the article.

This is the slowest test (a few minutes on 2 cores): it trains every demo variant for
one epoch on 320 images, executes all fourteen analysis notebooks (the five "beyond the
seeds" ones predict mirrored, translated and corrupted test images from the stored
models) and renders HTML + PDF. The build is the session fixture ``smoke_build``
(tests/conftest.py); the browser and
PDF checks (tests/test_browser.py) read the same report.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
import yaml

from cifar_core.experiments import catalog
from cifar_core.orchestrate.build import build
from cifar_core.runs.keys import run_key
from cifar_core.runs.store import RunStore
from tests.support.fixtures import MEASURED_METRICS, copy_project
from tests.support.render_fixtures import EMBEDDED_LABELS, REQUIRED_VARIABLES

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built(smoke_build):
    """The session's smoke build (tests/conftest.py), shared with tests/test_browser.py."""
    return smoke_build


def test_build_succeeds_and_writes_html_and_pdf(built):
    root, _, result = built
    assert result.exit_code == 0, [a.name for a in result.failed]
    assert len(result.executed) == 14
    html_file, pdf_file = root / "_site" / "index.html", root / "_site" / "index.pdf"
    assert html_file.stat().st_size > 50_000
    assert pdf_file.read_bytes()[:4] == b"%PDF"


def test_every_embed_and_variable_resolved(built):
    root, _, _ = built
    text = (root / "_site" / "index.html").read_text()
    assert "{{<" not in text and "??" not in text
    for notebook, label in EMBEDDED_LABELS:
        if not label.startswith(("fig-", "tbl-")):
            continue  # notes cells are embedded as text, without an anchor
        assert f'id="{label}"' in text, f"{label} of {notebook} missing from the article"
    variables = yaml.safe_load((root / "_variables.yml").read_text())
    for key in REQUIRED_VARIABLES:
        node = variables
        for part in key.split("."):
            node = node[part]
    assert "SYNTHETIC" in text  # the title page says the data is synthetic


def test_the_page_has_a_language_a_title_alt_text_and_headings_in_order(built):
    from cifar_core.render.quarto_checks import notebook_problems

    text = (built[0] / "_site" / "index.html").read_text()
    assert re.search(r'<html[^>]*\blang="en"', text)
    assert re.search(r"<title>[^<]*CIFAR-10[^<]*</title>", text)
    figures = re.findall(
        r'<figure id="(fig-[\w-]+)"[^>]*>\s*<img ([^>]*)>\s*<figcaption[^>]*>'
        r"(.*?)</figcaption>",
        text,
        re.S,
    )
    assert len(figures) == sum(1 for _, label in EMBEDDED_LABELS if label.startswith("fig-"))
    for label, img, caption in figures:
        alt = html.unescape(re.search(r'\balt="([^"]*)"', img).group(1))
        caption = html.unescape(caption).replace("\u2019", "'")  # pandoc's smart quotes
        words = re.sub(r"<[^>]+>|Figure\s\d+:", " ", caption).split()[:4]
        assert alt.startswith(" ".join(words)) and len(alt) > len(" ".join(words)) + 10, label
    levels = [int(n) for n in re.findall(r"<h([1-6])\b", text)]
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), levels
    assert [
        p for nb in sorted((built[0] / "notebooks").glob("*.ipynb")) for p in notebook_problems(nb)
    ] == []  # nothing that makes Quarto use a CDN


def test_every_cross_reference_matches_its_target(built):
    from tests.support.render_fixtures import expected_numbers
    from tests.support.xrefs import read_xrefs

    report = read_xrefs((built[0] / "_site" / "index.html").read_text())
    assert report.problems() == [] and report.targets == expected_numbers()


def test_numbers_in_the_article_equal_the_run_store(built):
    root, runs, _ = built
    store = RunStore(runs)
    profile = catalog.get_profile("smoke")
    from cifar_core.data import load_dataset

    dataset = load_dataset(**profile.dataset_kwargs())
    validation, test = {}, {}
    for variant in catalog.plan("smoke"):
        run = store.get(run_key(variant, dataset.fingerprint))
        if run is not None:
            validation[variant.name] = run.metrics["val_accuracy"]
            test[variant.name] = run.metrics["test_accuracy"]
    best_name = max(validation, key=validation.get)  # "best" is chosen on validation
    expected = f"{test[best_name] * 100:.1f}"
    variables = yaml.safe_load((root / "_variables.yml").read_text())
    assert variables["summary"]["best_test_acc"].startswith(expected)
    text = html.unescape((root / "_site" / "index.html").read_text())
    plain = re.sub(r"\s+", " ", text.replace("\u00a0", " "))
    assert f"{expected} %" in plain


def test_second_build_reuses_everything(built):
    root, runs, _ = built
    again = build(profile="smoke", root=root, runs_dir=str(runs), to=("html",), renderer="builtin")
    assert again.exit_code == 0
    assert again.trained == [] and again.executed == []
    assert len(again.reused) == 14


def test_knn_on_features_of_a_network_trained_from_scratch_runs_offline(built):
    root, runs, _ = built
    knn = yaml.safe_load((root / "_variables.yml").read_text())["transfer"]["knn_scratch"]
    assert knn["status"] == "run", knn
    from cifar_core.data import load_dataset

    base = catalog.get_profile("smoke").scale(catalog.get_variant("s003_net_zscore"))
    dataset = load_dataset(**catalog.get_profile("smoke").dataset_kwargs())
    run = RunStore(runs).get(run_key(base, dataset.fingerprint))
    assert knn["base_test_acc"] == f"{run.metrics['test_accuracy'] * 100:.1f} %"
    assert re.fullmatch(r"\d+\.\d %", knn["test_acc"])
    # k-NN on VGG16 features says why it did not run: its base is a full-profile variant.
    table = (root / "notebooks" / "06-transfer.ipynb").read_text()
    assert re.search(r"s003_vgg16_knn \(k-NN[^|]*\|\s*not run: full profile only", table)


def test_beyond_the_seeds_chapters_state_their_caveats(built):
    root, runs, _ = built
    text = html.unescape((root / "_site" / "index.html").read_text()).replace("\u00a0", " ")
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))
    assert "not the official CIFAR-10-C files" in plain
    assert "Published reference points (airbench, ResNet-18" in plain and "are not drawn" in plain
    variables = yaml.safe_load((root / "_variables.yml").read_text())
    assert (
        variables["calibration"]["n_variants"] == "5" and variables["tta"]["translate_views"] == "6"
    )
    # the derived predictions the chapters read are cached beside the store, and recorded
    record = json.loads((root / "notebooks" / "12-robustness.provenance.json").read_text())
    derived = record["derived"]
    assert len(derived) == 5 * 6 * 3 and all(  # relative to the store: the project can move
        Path(p).parent.parent == Path(".derived") and (runs / p).is_file() for p in derived
    )
    # a version bump of the derived predictions or of the corruptions changes these modules
    assert {"cifar_core/runs/derived_predictions.py", "cifar_core/data/corruptions.py"} <= set(
        record["modules"]
    )


@pytest.mark.ray
def test_a_chapter_built_through_ray_equals_the_local_build(tmp_path):
    """The smoke profile's baselines chapter built twice into empty stores, its runs
    trained once by local workers and once by the Ray executor on a two-node cluster:
    same run keys, same metrics, same numbers. (Its own local build, not the shared smoke
    build, so that the Ray tests run together in one test process.)"""
    pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[ray]")')
    from cifar_core.runs.executors import RayExecutor
    from tests.conftest import two_node_ray_cluster

    def baselines(folder: Path, runs: Path, executor=None):
        return build(
            profile="smoke",
            root=folder,
            runs_dir=str(runs),
            analyses=["02-baselines"],
            render=False,
            executor=executor,
        )

    root, runs = copy_project(PROJECT, tmp_path / "local"), tmp_path / "local-runs"
    assert baselines(root, runs).exit_code == 0
    again = copy_project(PROJECT, tmp_path / "ray")
    with two_node_ray_cluster() as (cluster, _):
        result = baselines(again, tmp_path / "ray-runs", RayExecutor(address=cluster.address))
    assert result.exit_code == 0 and result.trained
    ray_store, local_store = RunStore(tmp_path / "ray-runs"), RunStore(runs)
    timing = MEASURED_METRICS
    for run in ray_store.runs():
        local = local_store.get(run.key)
        assert local is not None, f"{run.name}: the Ray build made a key the local one did not"
        assert {k: v for k, v in run.metrics.items() if k not in timing} == {
            k: v for k, v in local.metrics.items() if k not in timing
        }
    ours = yaml.safe_load((again / "_variables.yml").read_text())["baselines"]
    theirs = yaml.safe_load((root / "_variables.yml").read_text())["baselines"]
    assert ours == theirs
