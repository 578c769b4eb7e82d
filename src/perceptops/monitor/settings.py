"""``monitoring/drift.yaml``: feature groups and the thresholds beyond params.yaml ``drift``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError

from perceptops.config import Frozen, PosFloat, PosInt, format_validation_error, read_yaml
from perceptops.errors import ConfigError

GROUPS = ("scene", "photometric", "descriptions", "scores", "embeddings")
# the drift score above which each Evidently embedding method reports drift (its own defaults)
EMBEDDING_THRESHOLDS = {"model": 0.55, "ratio": 0.2, "distance": 0.2, "mmd": 0.015}


class GroupSwitches(Frozen):
    scene: bool = True
    photometric: bool = True
    descriptions: bool = True
    scores: bool = True
    embeddings: bool = True


class DescriptionSettings(Frozen):
    top_factors: Annotated[int, Field(ge=0)] = 8


class StattestSettings(Frozen):
    distance_threshold: PosFloat = 0.1


class EmbeddingSettings(Frozen):
    pca_components: PosInt = 32
    plot_sample: PosInt = 300  # rows a side in the report's t-SNE picture (the score uses all rows)
    threshold: PosFloat | None = None


class SelfCheckSettings(Frozen):
    fraction: Annotated[float, Field(gt=0, lt=1)] = 0.5


class DriftSettings(Frozen):
    groups: GroupSwitches = Field(default_factory=GroupSwitches)
    descriptions: DescriptionSettings = Field(default_factory=DescriptionSettings)
    stattests: StattestSettings = Field(default_factory=StattestSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    self_check: SelfCheckSettings = Field(default_factory=SelfCheckSettings)

    def enabled(self) -> list[str]:
        return [g for g in GROUPS if getattr(self.groups, g)]


def settings_path(root: Path) -> Path:
    return root / "monitoring" / "drift.yaml"


def load_settings(root: Path) -> DriftSettings:
    """The file's settings; defaults when the file is absent (a project without monitoring/)."""
    path = settings_path(root)
    if not path.is_file():
        return DriftSettings()
    try:
        s = DriftSettings.model_validate(read_yaml(path))
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, str(path))) from None
    if not s.enabled():
        raise ConfigError(f"{path}: every feature group is switched off; enable at least one under 'groups'")
    return s
