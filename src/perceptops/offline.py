"""The environment that keeps a run offline and quiet: no telemetry, never ask the Hugging Face hub.

Tests, benchmarks and scripts apply it as defaults (an explicit setting in the environment wins);
the Makefile and .ci/run export the same variables.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def apply_offline_defaults(env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Set each variable unless already set; defaults to this process's environment."""
    target = os.environ if env is None else env
    for k, v in OFFLINE_ENV.items():
        target.setdefault(k, v)
    return target
