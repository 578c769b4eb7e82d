"""The method's central claim on the demo city: a group's fine-tune beats the general model on that group.

Reads the evaluation of the session pipeline (conftest.pipeline_project: the small test demo). Only the
targets whose simulated perception differs from the crowd in ways the pixel scene parse can see are
asserted; the margin is a real one (several images of the ~90 held out), so the test fails if the effect
goes away.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

# target -> least accuracy gain (fine-tune minus general) on the held-out images
MUST_WIN = {"women-crime": 0.04, "elderly-traffic": 0.04}


@pytest.fixture(scope="module")
def results(pipeline_project):
    return json.loads((pipeline_project / "reports/evaluation/results.json").read_text())["targets"]


@pytest.mark.parametrize(("target", "margin"), sorted(MUST_WIN.items()))
def test_finetune_beats_general_on_its_own_group(results, target, margin):
    r = results[target]
    assert r["n"] >= 40, r  # a held-out set large enough for the margin to mean something
    gain = r["finetune_acc"] - r["general_acc"]
    assert gain >= margin, f"{target}: fine-tune {r['finetune_acc']:.3f} vs general {r['general_acc']:.3f}"


def test_finetunes_gain_on_average(results):
    gains = [r["finetune_acc"] - r["general_acc"] for r in results.values()]
    assert len(gains) == 8
    assert sum(gains) / len(gains) > 0.0, gains
