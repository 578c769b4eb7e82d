"""Versioned prompt templates (``prompts/<version>/*.md``) rendered per target.

The reference method's multi-turn structure: turn 1 asks the model to design the rating scale a
person attends to for this risk (image-independent, so it is asked once per target and cached);
turn 2 shows the image and asks for the evaluation with that scale as JSON. The reference hard-coded
the scenario to "car accident"; here the scenario's ``risk`` text from params is rendered into both
turns (tests check the crime prompt carries the crime text and not the traffic one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any

from perceptops.errors import ConfigError
from perceptops.utils import sha256_text, stable_json

TEMPLATE_FILES = ("system", "rating_scale", "general", "group_scenario", "format", "repair")

# The structured answer every backend is asked for (OpenAI ``response_format: json_schema``).
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "description": {"type": "string"},
        "safety": {"type": "integer", "minimum": 1, "maximum": 10},
        "factors": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["description", "safety", "factors"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt for one target. ``hash`` identifies it in the cache and in every output row."""

    target: str
    version: str
    persona: str
    risk: str
    system: str
    scale_request: str  # turn 1 (text only)
    evaluate: str  # turn 2 (with the image)
    repair_template: str
    hash: str
    schema: dict[str, Any] = field(default_factory=lambda: RESPONSE_SCHEMA)

    def scale_messages(self) -> list[dict[str, Any]]:
        """Turn 1: ask for the rating scale of what this person attends to."""
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.scale_request},
        ]

    def messages(self, scale_answer: str, image_url: str | None = None) -> list[dict[str, Any]]:
        """Turns 1+2 in OpenAI chat format; the image goes with turn 2 as a data URL (when given)."""
        content: list[dict[str, Any]] = []
        if image_url is not None:
            content.append({"type": "image_url", "image_url": {"url": image_url}})
        content.append({"type": "text", "text": self.evaluate})
        return [
            *self.scale_messages(),
            {"role": "assistant", "content": scale_answer},
            {"role": "user", "content": content},
        ]

    def repair(self, reason: str) -> str:
        return Template(self.repair_template).safe_substitute(reason=reason)


def prompts_dir(root: Path | None = None) -> Path:
    from perceptops.paths import project_root

    return (root if root is not None else project_root()) / "prompts"


@lru_cache(maxsize=16)
def _templates(folder: str) -> dict[str, str]:
    d = Path(folder)
    out = {}
    for name in TEMPLATE_FILES:
        f = d / f"{name}.md"
        if not f.is_file():
            raise ConfigError(
                f"prompt template {f} is missing: check describe.prompt_version (the folder under prompts/)"
            )
        out[name] = f.read_text().strip()
    return out


@lru_cache(maxsize=16)
def _knowledge_cached(path: str, mtime: float) -> dict[str, Any]:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(Path(path).read_text()) or {}


def load_knowledge(root: Path | None = None) -> dict[str, Any]:
    """prompts/knowledge.yaml: general persona/risk, scenario words, factors, persona emphasis."""
    f = prompts_dir(root) / "knowledge.yaml"
    if not f.is_file():
        raise ConfigError(f"{f} is missing: the describer's domain knowledge lives there")
    return _knowledge_cached(str(f), f.stat().st_mtime)


def short_risk(risk: str) -> str:
    """'traffic accidents - being hit by a car ...' -> 'traffic accidents' (for readable verdicts)."""
    return re.split(r"\s+[-\u2013\u2014:]\s+|[:;(]", risk, maxsplit=1)[0].strip() or risk


def persona_and_risk(params: Any, target: str, root: Path | None = None) -> tuple[str, str, str]:
    """(persona, risk, question) for ``general`` or ``<group>-<scenario>``, from params (+ knowledge)."""
    if target == "general":
        g = load_knowledge(root).get("general", {})
        return (
            str(g.get("persona", "an average adult pedestrian")),
            str(g.get("risk", "general street safety")),
            "",
        )
    group, scenario = params.parse_target(target)
    sc = params.scenario(scenario)
    return params.group(group).persona, sc.risk, sc.question


def build_prompt(params: Any, target: str, root: Path | None = None) -> Prompt:
    """Render the templates of ``describe.prompt_version`` for ``target``; hash = sha256(version + text)."""
    version = params.describe.prompt_version
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", version):
        raise ConfigError(f"describe.prompt_version {version!r} must be a folder name under prompts/")
    folder = prompts_dir(root) / version
    if not folder.is_dir():
        have = (
            sorted(p.name for p in prompts_dir(root).iterdir() if p.is_dir())
            if prompts_dir(root).is_dir()
            else []
        )
        raise ConfigError(
            f"describe.prompt_version {version!r}: no folder {folder}; available: {', '.join(have) or 'none'}"
        )
    t = _templates(str(folder))
    persona, risk, question = persona_and_risk(params, target, root)
    values = {
        "persona": persona,
        "risk": risk,
        "question_line": f"The survey question this answers: {question}\n" if question else "",
        "format": t["format"],
    }
    system = Template(t["system"]).substitute(values)
    scale = Template(t["rating_scale"]).substitute(values)
    evaluate = Template(t["general" if target == "general" else "group_scenario"]).substitute(values)
    digest = sha256_text(
        stable_json(
            {
                "version": version,
                "system": system,
                "scale": scale,
                "evaluate": evaluate,
                "repair": t["repair"],
                "schema": RESPONSE_SCHEMA,
            }
        )
    )
    return Prompt(
        target=target,
        version=version,
        persona=persona,
        risk=risk,
        system=system,
        scale_request=scale,
        evaluate=evaluate,
        repair_template=t["repair"],
        hash=digest,
    )
