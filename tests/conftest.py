"""Shared fixtures: tiny generated datasets, and a private cache for generated data.

``synthetic_dir`` is a folder of official-format batches (300 train images in three
batches of 100, 100 test images, synthetic marker); ``tiny_dataset`` is it, loaded.
Nothing here reads ../shared or the network.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from tests.support.fixtures import PROJECT, copy_project

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# `auto` must not pick up a committed benchmarks/backends.json: tests expect the default
# setting (TensorFlow float32) unless they choose another; worker processes inherit this
os.environ.setdefault(
    "CIFAR_REPORT_BACKENDS_FILE", str(Path(__file__).with_name("no-backends-measurement.json"))
)


@pytest.fixture(scope="session", autouse=True)
def _private_data_cache(tmp_path_factory):
    """Generated datasets go to a temporary cache, never to ~/.cache/cifar-report
    (unless a reused smoke build is given: then its cache, with its model statistics)."""
    with pytest.MonkeyPatch.context() as patch:
        if not os.environ.get(REUSE_SMOKE_ENV):
            cache = tmp_path_factory.mktemp("cifar-report-cache")
            patch.setenv("CIFAR_REPORT_CACHE", str(cache))
        yield


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory):
    """A ``cifar-10-batches-py`` folder: 3 × 100 training and 100 test synthetic images."""
    from cifar_core.data import make_synthetic, write_batches

    folder = tmp_path_factory.mktemp("synthetic-data") / "cifar-10-batches-py"
    write_batches(
        folder,
        *make_synthetic(300, 100, seed=0),
        batch_size=100,
        provenance={"name": "synthetic", "n_train": 300, "n_test": 100, "seed": 0},
    )
    return folder


@pytest.fixture(scope="session")
def tiny_dataset(synthetic_dir):
    """``synthetic_dir`` loaded: a synthetic :class:`~cifar_core.data.Dataset`, 300/100."""
    from cifar_core.data import load_dataset

    return load_dataset(synthetic_dir)


REUSE_SMOKE_ENV = "CIFAR_REPORT_TEST_SMOKE_PROJECT"
"""For iterating on the slow tests only (CI never sets it): a project where this very
checkout ran `cifar-report build --profile smoke --renderer builtin`; the session copies
it instead of building the smoke profile again (10+ minutes on 2 cores)."""


@pytest.fixture(scope="session")
def smoke_build(tmp_path_factory):
    """The `smoke` profile built once per test session into a copy of the project
    (trains every demo variant for one epoch, executes all analyses, renders HTML and
    PDF with the built-in renderer): ``(root, runs_dir, BuildResult)``. Shared by the
    end-to-end test and the browser and PDF checks, so the report is built once."""
    from cifar_core.orchestrate.build import BuildResult, ChapterResult, build

    reuse = os.environ.get(REUSE_SMOKE_ENV)
    if reuse:  # a developer's shortcut; see REUSE_SMOKE_ENV
        root = copy_project(Path(reuse), tmp_path_factory.mktemp("project"), built=True)
        names = sorted(p.stem for p in (root / "analyses").glob("*.py"))
        return root, root / "runs", BuildResult([ChapterResult(n, "executed") for n in names])
    root = copy_project(PROJECT, tmp_path_factory.mktemp("project"))
    runs = root / "runs"
    result = build(
        profile="smoke", root=root, runs_dir=str(runs), to=("html", "pdf"), renderer="builtin"
    )
    return root, runs, result


@contextlib.contextmanager
def two_node_ray_cluster():
    """A real Ray cluster on loopback: a head node and a second worker node, one CPU
    each, with quick node-failure detection; this process is connected to it.
    Yields ``(cluster, worker_node)``."""
    import ray
    from ray.cluster_utils import Cluster

    repo = str(Path(__file__).resolve().parents[1])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "PYTHONPATH", os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))
        )
        patch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
        patch.setenv("RAY_USAGE_STATS_ENABLED", "0")
        node_args = {"num_cpus": 1, "object_store_memory": 100 * 2**20}
        cluster = Cluster(
            initialize_head=True,
            head_node_args={
                **node_args,
                "include_dashboard": False,
                "_system_config": {
                    "health_check_period_ms": 500,
                    "health_check_failure_threshold": 3,
                },
            },
        )
        worker = cluster.add_node(**node_args)
        ray.init(address=cluster.address, log_to_driver=False)
        try:
            yield cluster, worker
        finally:
            ray.shutdown()
            cluster.shutdown()


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for pytest-xdist (``--dist loadgroup``): the tests that share the smoke
    build run in one worker, so it is built once; the Ray tests in one worker, so two
    clusters never start at once; every other test with the rest of its module, so a
    module-scoped fixture is built once."""
    for item in items:
        if "smoke_build" in getattr(item, "fixturenames", ()):
            group = "smoke-build"
        elif item.get_closest_marker("ray"):
            group = "ray"
        else:
            group = item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
