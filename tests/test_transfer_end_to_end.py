"""Transfer learning as a user runs it, on a stand-in weights file of the exact VGG16
no-top topology (random weights: ImageNet's cannot be downloaded here), through the
``cifar-report`` command line in a project that holds only the transfer chapter.

* Without weights the chapter says why the VGG16 variant did not run; when the file
  appears (``--vgg16-weights``) the build re-executes the chapter and says why, trains
  the variant, and the rendered chapter names the file as a user file not verified as
  ImageNet; a second build changes nothing.
* A wrong file (missing, corrupt, other topology) is refused with exit status 2 before
  anything is trained, naming the file and the expected shapes.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")

from cifar_core.cli import main  # noqa: E402
from cifar_core.models.weights import WEIGHTS_ENV, expected_shapes  # noqa: E402
from tests.support.fixtures import article_project  # noqa: E402
from tests.test_weights import write_legacy_weights  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
VARIANT = "ctl_vgg16_b3_frozen"  # the cheapest transfer variant: frozen VGG16 blocks 1-3
ARTICLE = """---
title: "Transfer learning only"
---

# Transfer learning {#sec-transfer}

Status: {{< var transfer.status >}}; weights: {{< var transfer.weights >}}.

{{< embed notebooks/06-transfer.ipynb#tbl-transfer >}}

{{< embed notebooks/06-transfer.ipynb#transfer-notes >}}
"""


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    """What a user would pass: VGG16 without its top, saved by Keras (random weights)."""
    path = tmp_path_factory.mktemp("weights") / "stand_in_vgg16.weights.h5"
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3)).save_weights(
        path
    )
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project with the real transfer chapter and a one-chapter article; the working
    directory, no weights anywhere (an empty Keras home), and the variable the CLI
    sets restored afterwards."""
    root = article_project(tmp_path / "project", ["06-transfer"], ARTICLE)
    monkeypatch.chdir(root)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    monkeypatch.setenv(WEIGHTS_ENV, "")  # empty = unset; --vgg16-weights overwrites it
    monkeypatch.delenv("CIFAR_REPORT_RUNS", raising=False)
    return root


def _notes(root: Path) -> str:
    from cifar_core.render.notebooks import cell_outputs

    return "\n".join(
        cell_outputs(root / "notebooks" / "06-transfer.ipynb", "transfer-notes").markdown
    )


def _plain(html: str) -> str:
    import html as html_module

    return re.sub(
        r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ")
    )


@pytest.mark.slow
def test_stand_in_weights_train_the_transfer_variant_and_the_chapter_says_so(
    project, stand_in, capfd
):
    common = ["--profile", "smoke", "--runs", str(project / "runs"), "--jobs", "1"]
    # Without weights: the chapter runs (k-NN on a net trained from scratch) and says why
    # the VGG16 variant did not.
    assert main(["analysis", "06-transfer", "-p", "variants", f"[{VARIANT}]", *common]) == 0
    assert "not run" in _notes(project) and "weights not found" in _notes(project)
    capfd.readouterr()

    # The weights file appears: the build says why the chapter re-executes, trains the
    # variant on the stand-in file, and renders the chapter naming the file.
    code = main(
        [
            "build",
            *common,
            "--to",
            "html",
            "--renderer",
            "builtin",
            "--vgg16-weights",
            str(stand_in),
        ]
    )
    log = capfd.readouterr().out
    assert code == 0, log
    reason = next(line for line in log.splitlines() if "executed 06-transfer in" in line)
    assert (
        "vgg16_weights changed: now available: user file stand_in_vgg16.weights.h5, "
        "not verified as ImageNet"
    ) in reason
    assert f"runs now available: {VARIANT} (before: VGG16 ImageNet weights not found" in reason
    said = "weights: user file stand_in_vgg16.weights.h5, not verified as ImageNet"
    assert said in _notes(project)
    assert said in _plain((project / "_site" / "index.html").read_text())
    table = re.search(
        rf"\|\s*{VARIANT}\s*\|\s*run\s*\|\s*([\d.]+)",
        json.dumps(json.load(open(project / "notebooks" / "06-transfer.ipynb"))).replace(
            "\\n", "\n"
        ),
    )
    assert table and 0 <= float(table.group(1)) <= 100, "the variant's row shows its accuracy"
    runs = [
        json.loads((d / "metrics.json").read_text())
        for d in (project / "runs").iterdir()
        if (d / "config.json").is_file()
        and json.loads((d / "config.json").read_text())["variant"]["name"] == VARIANT
    ]
    assert len(runs) == 1 and runs[0]["epochs_run"] == 1

    # Nothing changed: nothing trains or re-executes.
    assert (
        main(
            [
                "build",
                *common,
                "--to",
                "html",
                "--renderer",
                "builtin",
                "--vgg16-weights",
                str(stand_in),
            ]
        )
        == 0
    )
    log = capfd.readouterr().out
    assert "build: 0 run(s) trained; chapters: 0 executed, 1 reused" in log, log


@pytest.mark.parametrize(
    "case, says",
    [
        ("missing", "which is not a file"),
        ("corrupt", "is not a readable HDF5 file"),
        (
            "other topology",
            "has weight shapes (3, 3, 3, 32), (32,); VGG16 no-top expects kernel (3, 3, 3, 64)",
        ),
    ],
)
def test_a_wrong_weights_file_is_a_usage_error_before_training(
    case, says, project, tmp_path, monkeypatch, capsys
):
    path = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    if case == "corrupt":
        path.write_bytes(b"\x89HDF\r\n but not really" * 10)
    elif case == "other topology":  # half-width first block
        layers = [
            (name, [(3, 3, 3, 32), (32,)]) if name == "block1_conv1" else (name, list(shapes))
            for name, shapes in expected_shapes().items()
        ]
        write_legacy_weights(path, layers)
    monkeypatch.setattr(keras.Model, "fit", lambda *a, **k: pytest.fail("training started"))
    for command in (
        ["build", "--no-render"],
        ["analysis", "06-transfer", "-p", "variants", f"[{VARIANT}]"],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(
                [
                    *command,
                    "--profile",
                    "smoke",
                    "--runs",
                    str(project / "runs"),
                    "--vgg16-weights",
                    str(path),
                ]
            )
        assert exit_.value.code == 2
        error = capsys.readouterr().err
        assert str(path) in error and says in error, error
        assert "(3, 3, 3, 64)" in error  # the expected shape of block1_conv1, in every case
    assert not (project / "runs").exists() and not (project / "notebooks").exists()
