"""What the service runs on, read from the BentoML model store (never from MLflow).

``perceptops package`` writes one BentoML model ``perceptops-runtime`` beside the imported champions:

```
params.yaml     params snapshot; local model files it names are copied under files/ (relative paths)
prompts/        the prompt templates (the describer writes missing descriptions with them)
manifest.json   {"models": [{target, name, version, run_id, tag, model_dir, labels}], "threshold", ...}
files/          encoder / scene model files named in params
```

Inside a bento, the bento's own model store holds exactly the models it was built with, so
``perceptops-runtime:latest`` is the packaged one; serving from the project uses the latest package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perceptops.errors import BackendError, DataError

RUNTIME_MODEL = "perceptops-runtime"
MANIFEST = "manifest.json"
ENV_RUNTIME = "PERCEPTOPS_RUNTIME"  # a runtime tag or folder; default perceptops-runtime:latest


@dataclass(frozen=True)
class ModelEntry:
    target: str  # "general" or "<group>-<scenario>"
    name: str  # MLflow registered model name, e.g. safety-women-crime
    version: str  # MLflow version (the champion when packaged)
    tag: str  # BentoML model tag, name:version
    model_dir: str  # folder of the SafetyModel inside that BentoML model
    labels: dict[str, str] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "name": self.name,
            "version": self.version,
            "bentoml_tag": self.tag,
            "labels": dict(self.labels),
        }


@dataclass(frozen=True)
class Runtime:
    root: Path  # the runtime folder (a BentoML model's path)
    tag: str
    models: list[ModelEntry]
    threshold: float
    manifest: dict[str, Any]

    @property
    def targets(self) -> list[str]:
        return [m.target for m in self.models]

    def params(self) -> Any:
        from perceptops.config import load_params

        return load_params(self.root / "params.yaml")

    def activate(self) -> None:
        """Make relative paths in the params snapshot (files/, prompts/) resolve inside the runtime.

        The bento store may be read-only: caches (describer, scene) go to a temp folder instead.
        """
        import tempfile

        from perceptops.paths import ENV_PROJECT

        os.environ[ENV_PROJECT] = str(self.root)
        os.environ.setdefault("PERCEPTOPS_CACHE", str(Path(tempfile.gettempdir()) / "perceptops-serve-cache"))

    def model_path(self, entry: ModelEntry) -> Path:
        import bentoml

        return Path(bentoml.models.get(entry.tag).path) / entry.model_dir


def load_runtime(ref: str | None = None) -> Runtime:
    """The runtime by BentoML tag (default ``perceptops-runtime:latest``) or a folder path."""
    from perceptops.utils import read_json

    ref = ref or os.environ.get(ENV_RUNTIME) or f"{RUNTIME_MODEL}:latest"
    if Path(ref).is_dir():
        root, tag = Path(ref), ref
    else:
        import bentoml
        from bentoml.exceptions import NotFound

        try:
            m = bentoml.models.get(ref)
        except NotFound:
            raise BackendError(
                f"no BentoML model {ref!r} in the store ($BENTOML_HOME): run `perceptops package` first"
            ) from None
        root, tag = Path(m.path), str(m.tag)
    if not (root / MANIFEST).is_file():
        raise DataError(f"{root} holds no {MANIFEST}: rebuild it with `perceptops package`")
    man = read_json(root / MANIFEST)
    models = [
        ModelEntry(**{k: m[k] for k in ModelEntry.__dataclass_fields__ if k in m}) for m in man["models"]
    ]
    return Runtime(root=root, tag=tag, models=models, threshold=float(man["threshold"]), manifest=man)


def find_model_dir(base: Path) -> Path:
    """The SafetyModel folder (config.json + model.pt) inside an imported MLflow model."""
    from perceptops.model.io import CONFIG_FILE, MODEL_FILE

    hits = sorted(p.parent for p in base.rglob(CONFIG_FILE) if (p.parent / MODEL_FILE).is_file())
    if not hits:
        raise DataError(f"no {CONFIG_FILE} + {MODEL_FILE} folder under {base}: is it a perceptops model?")
    return min(hits, key=lambda p: len(p.parts))


class Engine:
    """Encoders + every packaged model, loaded once (per worker). ``score`` is the batched hot path."""

    def __init__(self, runtime: Runtime):
        from perceptops.model.inference import Scorer
        from perceptops.model.io import load_model

        runtime.activate()
        self.runtime = runtime
        self.params = runtime.params()
        models = {e.target: load_model(runtime.model_path(e)) for e in runtime.models}
        self.scorer = Scorer(self.params, models)
        self.scorer.check()  # loads the encoders now and refuses a model/encoder mismatch at start-up

    def score(self, images: list[Any], texts: list[dict[str, str]]) -> list[dict[str, float]]:
        """One dict target -> score (0-10) per image; ``texts[i]`` holds a description per target."""
        targets = self.runtime.targets
        per_target = {t: [tx[t] for tx in texts] for t in targets}
        scores = self.scorer.score(images, per_target)
        return [{t: float(scores[t][i]) for t in targets} for i in range(len(images))]
