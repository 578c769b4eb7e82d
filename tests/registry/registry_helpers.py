"""Helpers shared by the registry tests (a unique module name: every test folder has a conftest)."""

from __future__ import annotations

import os
from pathlib import Path

TARGETS = ["women-traffic", "women-crime"]
SMALL = {
    "groups!": {"women": {"persona": "a woman walking alone", "filter": {"gender": "female"}}},
    "scenarios!": {"traffic": {"risk": "traffic accidents"}, "crime": {"risk": "crime"}},
}
FAKE_DVC = """stages:
  upstream:
    cmd: python fake_upstream.py a
    deps: [fake_upstream.py]
    outs:
      - data/demo/ingest
      - data/demo/survey
      - descriptions/demo
      - data/labels
      - models/general
      - models/finetune
      - pseudo_labels
      - reports/evaluation
      - metrics/validate
"""


def load(root: Path):
    from perceptops.config import load_params

    return load_params(root / "params.yaml")


def add_version(
    reg,
    name: str,
    acc: float | None = 0.7,
    data_md5: str = "d1",
    validation: str = "true",
    city: str = "demo",
):
    """A registered version carrying the tags the gates read (no run: fast)."""
    from perceptops.registry.tracking import not_found

    try:
        reg.client.get_registered_model(name)
    except Exception as err:
        assert not_found(err)
        reg.client.create_registered_model(name)
    tags = {"train_city": city, "data.validation_passed": validation, "eval.data_md5": data_md5}
    if acc is not None:
        tags["eval.accuracy"] = str(acc)
    src = reg.root / "src"
    src.mkdir(exist_ok=True)
    return reg.client.create_model_version(name, src.as_uri(), tags=tags)


def env_clean() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    return env
