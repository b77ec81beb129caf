"""Planning which runs exist, which to train and which cannot run on this machine."""

from __future__ import annotations

from cifar_core.experiments import catalog
from cifar_core.runs.ensure import plan_runs
from cifar_core.runs.keys import run_key


class FakeStore:
    def __init__(self, present):
        self.present = present

    def get_unverified(self, key):
        return "a run" if key in self.present else None


def test_plan_says_what_is_reused_trained_and_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("CIFAR_REPORT_VGG16_WEIGHTS", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # no weights anywhere: simply not run
    cached, missing, refused = catalog.plan(
        "demo", names=["s000_cnn2", "s004_cnn", "s003_vgg16_b3"]
    )
    cached_key = run_key(cached, "f" * 16)
    plan = plan_runs([cached, missing, refused], "f" * 16, FakeStore({cached_key}))
    assert plan.runs[cached_key] == "a run" and list(plan.runs.values()).count(None) == 2
    assert plan.missing == [missing] and list(plan.refused) == ["s003_vgg16_b3"]
    assert plan.summary().startswith(
        "runs: 1 of 3 reused from the store, 1 to train, 1 cannot run here (s003_vgg16_b3: "
        "VGG16 ImageNet weights not found"
    )
