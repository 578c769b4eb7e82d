"""Typed, frozen view of ``params.yaml``.

Every section is a pydantic model with ``extra="forbid"`` so a typo in a key fails at once, and
:func:`load_params` turns pydantic's errors into one message per problem that names the key path
(``cities.demo.synthetic.n_images``) and, where the value is one of a fixed set, the allowed values.

Groups, scenarios and cities are mappings keyed by name: the key *is* the entry's name (DVC's
``matrix``/``foreach`` then name the stages ``finetune@women-crime``, ``ingest@demo``). Adding one
is a change to ``params.yaml`` only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from perceptops.errors import ConfigError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]*(?:-[a-z0-9_]+)*$")
NAME_RULE = "lower-case letters, digits, '_' and single '-' (no spaces or slashes)"


def check_name(value: str, what: str) -> str:
    """Names become file names and DVC stage keys: keep them to a safe alphabet."""
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise ValueError(f"{what} name {value!r} is invalid: use {NAME_RULE}")
    return value


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]


# --------------------------------------------------------------------------------------- project
class ProjectParams(Frozen):
    seed: int = 42
    cache_dir: str = ".cache/perceptops"  # content-addressed caches (scene, descriptions, embeddings)


# ---------------------------------------------------------------------------------------- cities
class SyntheticParams(Frozen):
    """The generated demo city. ``style`` shifts the latent-factor distribution (drift demos)."""

    n_images: PosInt = 240
    seed: int = 7
    style: Literal["mixed", "night", "traffic", "green"] = "mixed"
    width: PosInt = 320
    height: PosInt = 240
    raters: PosInt = 160
    votes_per_rater: PosInt = 60
    noise: Annotated[float, Field(ge=0)] = 0.6  # std of per-vote utility noise
    center: tuple[float, float] = (59.3293, 18.0686)  # lat, lon of the generated grid
    extent_km: PosFloat = 4.0


class PanelParams(Frozen):
    """Simulated individual-level panel for a real city with crowd scores only (documented simulation)."""

    enabled: bool = True
    seed: int = 11
    raters: PosInt = 200
    votes_per_rater: PosInt = 60
    noise: Annotated[float, Field(ge=0)] = 0.6


class CityParams(Frozen):
    source: Literal["synthetic", "folder", "placepulse1", "placepulse2"]
    path: str | None = None  # source root (folder / placepulse*); ${PERCEPTOPS_SHARED} is expanded
    filter: dict[str, str] = Field(default_factory=dict)  # e.g. {city: Boston} for placepulse1
    limit: NonNegInt = 0  # 0 = all images; else the first N by sorted id (quick runs)
    bbox: tuple[float, float, float, float] | None = None  # lat_min, lon_min, lat_max, lon_max
    survey: str | None = None  # path of an individual-level survey file (replaces the simulated panel)
    synthetic: SyntheticParams | None = None
    panel: PanelParams = Field(default_factory=PanelParams)

    @model_validator(mode="after")
    def _source_needs(self) -> CityParams:
        if self.source == "synthetic" and self.synthetic is None:
            object.__setattr__(self, "synthetic", SyntheticParams())
        if self.source != "synthetic" and not self.path:
            raise ValueError(f"source {self.source!r} needs 'path' (the folder that holds the images)")
        if self.bbox is not None:
            la0, lo0, la1, lo1 = self.bbox
            if not (-90 <= la0 < la1 <= 90 and -180 <= lo0 < lo1 <= 180):
                raise ValueError("bbox must be [lat_min, lon_min, lat_max, lon_max] with min < max in range")
        return self


# --------------------------------------------------------------------------- groups / scenarios
class RangeFilter(Frozen):
    min: float | None = None
    max: float | None = None


FilterValue = str | int | float | bool | list[str | int | float | bool] | RangeFilter


class GroupParams(Frozen):
    """A population group: who the LLM is asked to be, and which survey raters belong to it.

    ``filter`` maps a rater attribute to a value, a list of values, or ``{min, max}`` (inclusive).
    """

    persona: str
    filter: dict[str, FilterValue] = Field(default_factory=dict)

    @field_validator("persona")
    @classmethod
    def _persona(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("persona must not be empty")
        return v


class ScenarioParams(Frozen):
    """A perception scenario: the risk the person weighs, and the survey question it answers."""

    risk: str
    question: str = ""

    @field_validator("risk")
    @classmethod
    def _risk(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("risk must not be empty")
        return v


# ------------------------------------------------------------------------------- data / scene
class NearDuplicateParams(Frozen):
    max_distance: NonNegInt = 4  # Hamming distance between 64-bit perceptual hashes
    action: Literal["flag", "drop"] = "flag"


class ValidateParams(Frozen):
    min_width: PosInt = 64
    min_height: PosInt = 64
    max_pixels: PosInt = 40_000_000  # decompression-bomb guard, checked from the header
    max_bad_share: Fraction = 0.2  # the stage fails only above this share of bad items
    near_duplicates: NearDuplicateParams = Field(default_factory=NearDuplicateParams)


class SceneParams(Frozen):
    backend: Literal["pixel", "tflite", "transformers"] = "pixel"
    model: str | None = None  # tflite file or transformers name/path; ${PERCEPTOPS_SHARED} expanded
    threads: PosInt = (
        1  # tflite: worker processes, one single-threaded interpreter each; transformers: torch threads
    )
    batch_size: PosInt = 8


class SurveyParams(Frozen):
    method: Literal["placepulse", "bradley_terry"] = "placepulse"
    min_comparisons: NonNegInt = 1  # images with fewer comparisons get no Q-score


# ------------------------------------------------------------------------------------ describe
class OpenAIParams(Frozen):
    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "llava-hf/llava-v1.6-mistral-7b-hf"
    api_key_env: str = "PERCEPTOPS_LLM_API_KEY"  # the key itself is never in params, logs or MLflow
    require_api_key: bool = True
    max_side: PosInt = 768
    concurrency: PosInt = 8
    timeout_s: PosFloat = 60.0
    max_retries: NonNegInt = 4
    backoff_base_s: PosFloat = 0.5
    backoff_max_s: PosFloat = 30.0
    temperature: Annotated[float, Field(ge=0)] = 0.0
    max_tokens: PosInt = 600
    json_schema: bool = True  # use the server's response_format json_schema where supported


class TransformersDescribeParams(Frozen):
    model: str | None = None  # local path or hub name of an image-text-to-text model
    batch_size: PosInt = 4
    max_new_tokens: PosInt = 400
    max_side: PosInt = 768


class DescribeParams(Frozen):
    backend: Literal["scene", "openai", "transformers"] = "scene"
    prompt_version: str = "v1"
    max_attempts: PosInt = 3  # parse/repair attempts per item before it is recorded as failed
    validate_outputs: bool = True  # Great Expectations checks of every description table
    openai: OpenAIParams = Field(default_factory=OpenAIParams)
    transformers: TransformersDescribeParams = Field(default_factory=TransformersDescribeParams)


# -------------------------------------------------------------------------------------- encode
class EncoderParams(Frozen):
    kind: Literal["builtin", "hf", "tflite"] = "builtin"
    model: str | None = None  # hub name or local path (hf), .tflite file (tflite)
    batch_size: PosInt = 32


class EncodeParams(Frozen):
    image: EncoderParams = Field(default_factory=EncoderParams)
    text: EncoderParams = Field(default_factory=EncoderParams)

    @model_validator(mode="after")
    def _kinds(self) -> EncodeParams:
        if self.text.kind == "tflite":
            raise ValueError("encode.text.kind 'tflite' is not available: use 'builtin' or 'hf'")
        for branch, enc in (("image", self.image), ("text", self.text)):
            if enc.kind != "builtin" and not enc.model:
                raise ValueError(f"encode.{branch}.model is required when kind is {enc.kind!r}")
        return self


# ------------------------------------------------------------------------------- model / train
class LabelParams(Frozen):
    k_sd: Annotated[float, Field(ge=0)] = 0.5  # safe above mean + k sd, unsafe below mean - k sd


class NetParams(Frozen):
    adapter_dim: PosInt = 128
    dropout: Fraction = 0.1
    fusion: Literal["concat", "cross_attention"] = "concat"
    variant: Literal["fusion", "image", "text"] = "fusion"  # image-only / text-only ablations


class TrainParams(Frozen):
    split: tuple[Fraction, Fraction, Fraction] = (0.6, 0.2, 0.2)
    lr: PosFloat = 1e-3
    batch_size: PosInt = 64
    max_epochs: PosInt = 100
    patience: PosInt = 8
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    threads: PosInt = (
        1  # torch CPU threads for training/fine-tuning (tiny nets: more threads only add overhead)
    )

    @field_validator("split")
    @classmethod
    def _split(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if abs(sum(v) - 1.0) > 1e-6:
            raise ValueError(f"split must sum to 1, got {sum(v):.3f}")
        return v


class FinetuneParams(Frozen):
    mc_passes: PosInt = 10
    top_k: PosInt = 16  # most confident per class, per pass / per round
    rounds: PosInt = 5
    max_labelled_fraction: Fraction = 0.3  # later rounds add ever less accurate pseudo-labels
    val_fraction: Fraction = 0.3
    lr: PosFloat = 1e-4  # gentle: the fine-tune stays close to the general model
    max_epochs: PosInt = 60
    patience: PosInt = 6


class EvaluateParams(Frozen):
    threshold: float = 5.0  # binarise scores and Q-scores at this value (0-10 scale)
    min_comparisons: NonNegInt = 2
    min_images: PosInt = (
        20  # evaluate on images outside the general model's train/val split if this many remain
    )


# ------------------------------------------------------------------------------ registry/promote
class RegistryParams(Frozen):
    tracking_uri: str = "sqlite:///mlflow/mlflow.db"  # MLFLOW_TRACKING_URI overrides
    artifact_root: str = "mlflow/artifacts"
    experiment: str = "perceptops"
    auto_promote: bool = True  # the pipeline's register stage promotes candidates that pass the gates
    events_log: str = "mlflow/events.jsonl"  # append-only promotion/rollback log (also kept as model tags)


class PromotionParams(Frozen):
    min_accuracy: Fraction = 0.5
    max_regression: Fraction = 0.02
    require_validation: bool = True
    require_no_drift: bool = True


# ------------------------------------------------------------------------------------- serve
class ServeParams(Frozen):
    """The BentoML service (``perceptops serve``) and the bento (``perceptops package``)."""

    max_upload_mb: PosFloat = 20.0  # whole request body; larger uploads get 413 before they are read
    max_pixels: PosInt = 40_000_000  # decompression-bomb guard, checked from the image header
    max_images: PosInt = 32  # images in one /score_batch request
    max_batch_size: Annotated[int, Field(ge=2)] = 32  # adaptive batching of encode+score (BentoML)
    max_latency_ms: PosInt = 10_000  # BentoML answers 503 to requests it predicts would wait longer
    describer: Literal["auto", "none"] = "auto"  # none: /score without descriptions answers 422
    workers: PosInt = 1  # encode+score worker processes (models are loaded once per worker)
    host: str = "127.0.0.1"
    port: PosInt = 3000
    bento: str = "perceptops"  # bento name; the BentoML store is $BENTOML_HOME, default <project>/bentoml
    timeout_s: PosFloat = 60.0


# ------------------------------------------------------------------------------------- drift
class DriftParams(Frozen):
    reference: str | None = None  # default: the training city
    min_images: PosInt = 20
    drift_share: Fraction = 0.3  # verdict "drifted" when at least this share of features drift
    stattest_threshold: Fraction = 0.05
    embedding_method: Literal["model", "ratio", "distance", "mmd"] = "model"


# -------------------------------------------------------------------------------------- maps
class MapsParams(Frozen):
    top_gaps: PosInt = 10  # streets with the largest group-general gap listed per model
    point_size: PosFloat = 18.0


# --------------------------------------------------------------------------------------- root
class Params(Frozen):
    project: ProjectParams = Field(default_factory=ProjectParams)
    train_city: str = "demo"
    cities: dict[str, CityParams]
    groups: dict[str, GroupParams]
    scenarios: dict[str, ScenarioParams]
    validate_: ValidateParams = Field(default_factory=ValidateParams, alias="validate")
    scene: SceneParams = Field(default_factory=SceneParams)
    survey: SurveyParams = Field(default_factory=SurveyParams)
    describe: DescribeParams = Field(default_factory=DescribeParams)
    encode: EncodeParams = Field(default_factory=EncodeParams)
    labels: LabelParams = Field(default_factory=LabelParams)
    net: NetParams = Field(default_factory=NetParams)
    train: TrainParams = Field(default_factory=TrainParams)
    finetune: FinetuneParams = Field(default_factory=FinetuneParams)
    evaluate: EvaluateParams = Field(default_factory=EvaluateParams)
    registry: RegistryParams = Field(default_factory=RegistryParams)
    promotion: PromotionParams = Field(default_factory=PromotionParams)
    serve: ServeParams = Field(default_factory=ServeParams)
    drift: DriftParams = Field(default_factory=DriftParams)
    maps: MapsParams = Field(default_factory=MapsParams)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _names(self) -> Params:
        for what, mapping in (("city", self.cities), ("group", self.groups), ("scenario", self.scenarios)):
            if not mapping:
                raise ValueError(f"at least one {what} is required")
            for name in mapping:
                check_name(name, what)
        if self.train_city not in self.cities:
            raise ValueError(
                f"train_city {self.train_city!r} is not a city; allowed: {', '.join(sorted(self.cities))}"
            )
        if self.drift.reference is not None and self.drift.reference not in self.cities:
            raise ValueError(
                f"drift.reference {self.drift.reference!r} is not a city; allowed: {', '.join(sorted(self.cities))}"
            )
        return self

    # -- conveniences used across the code base -------------------------------------------
    @property
    def validate_params(self) -> ValidateParams:
        return self.validate_

    def targets(self) -> list[tuple[str, str]]:
        """Every (group, scenario) pair, in params order."""
        return [(g, s) for g in self.groups for s in self.scenarios]

    def target_names(self) -> list[str]:
        return [target_name(g, s) for g, s in self.targets()]

    def city(self, name: str) -> CityParams:
        if name not in self.cities:
            raise ConfigError(f"unknown city {name!r}; known cities: {', '.join(sorted(self.cities))}")
        return self.cities[name]

    def group(self, name: str) -> GroupParams:
        if name not in self.groups:
            raise ConfigError(f"unknown group {name!r}; allowed: {', '.join(self.groups)}")
        return self.groups[name]

    def scenario(self, name: str) -> ScenarioParams:
        if name not in self.scenarios:
            raise ConfigError(f"unknown scenario {name!r}; allowed: {', '.join(self.scenarios)}")
        return self.scenarios[name]

    def parse_target(self, name: str) -> tuple[str, str]:
        """'middle-aged-traffic' -> ('middle-aged', 'traffic'); names may contain '-'."""
        for g, s in self.targets():
            if target_name(g, s) == name:
                return g, s
        raise ConfigError(f"unknown group-scenario {name!r}; allowed: {', '.join(self.target_names())}")


def target_name(group: str, scenario: str) -> str:
    return f"{group}-{scenario}"


# --------------------------------------------------------------------------------- loading
def _loc(loc: tuple[Any, ...]) -> str:
    parts = []
    for p in loc:
        if p == "validate_":
            p = "validate"
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif str(p).startswith(("function-after", "function-before", "union", "tagged-union")):
            continue
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or "<root>"


def format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"invalid parameters in {source}:"]
    seen = set()
    for e in err.errors():
        loc = _loc(tuple(x for x in e["loc"] if not (isinstance(x, str) and x in ("RangeFilter",))))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (typo?)"
        elif e["type"] == "literal_error":
            allowed = e.get("ctx", {}).get("expected", "")
            msg = f"got {e.get('input')!r}; allowed values: {allowed}"
        elif e["type"] == "missing":
            msg = "required key is missing"
        key = (loc, msg)
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def parse_params(data: dict[str, Any], source: str = "params.yaml") -> Params:
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must hold a mapping at the top level")
    try:
        return Params.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None


def read_yaml(path: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML, YAMLError

    if not path.is_file():
        raise ConfigError(
            f"{path} not found: run perceptops inside a project checkout (the folder with params.yaml), "
            "or pass --project DIR"
        )
    try:
        data = YAML(typ="safe").load(path.read_text())
    except YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    return data or {}


def load_params(path: str | Path | None = None) -> Params:
    """Load and validate params.yaml (default: the project root's)."""
    from perceptops.paths import project_root

    p = Path(path) if path is not None else project_root() / "params.yaml"
    return parse_params(read_yaml(p), str(p))
