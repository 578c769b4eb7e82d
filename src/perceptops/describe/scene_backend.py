"""The built-in, offline describer: texts and ratings from the scene parse + persona/scenario text.

It reads only the scene parse of each image (composition, lighting, indices), the persona and risk
text of params.yaml and the domain knowledge in ``prompts/knowledge.yaml`` (CPTED and pedestrian
traffic-safety factors, and which persona words shift which factor). Scenario knowledge is chosen by
words in the risk text, persona emphasis by words in the persona text, never by names or by the demo
simulator. The text states the verdict in words that carry the rating ("feels quite unsafe for ...
(3/10)"), because downstream the small model learns from these texts. Deterministic.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from perceptops.describe.base import Describer, Job, OnResult, Outcome
from perceptops.describe.prompts import load_knowledge, persona_and_risk, short_risk
from perceptops.errors import ConfigError, DataError
from perceptops.utils import sha256_text, stable_json

# Raw scene columns whose scale is not 0..1 in every parser: brought to 0..1 before use.
_SCALE = {"brightness": 255.0, "contrast": 128.0, "colourfulness": 150.0, "saturation": 255.0, "entropy": 8.0}

VERDICTS = [
    (2, "very unsafe"),
    (4, "quite unsafe"),
    (5, "somewhat unsafe"),
    (6, "somewhat safe"),
    (8, "quite safe"),
    (10, "very safe"),
]


def verdict(rating: int) -> str:
    for top, words in VERDICTS:
        if rating <= top:
            return words
    return VERDICTS[-1][1]


def norm_feature(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return 0.0
    if not math.isfinite(v):
        return 0.0
    if name in _SCALE and v > 1.5:
        v /= _SCALE[name]
    return min(1.0, max(0.0, v))


def _words_match(text: str, terms: list[str]) -> list[str]:
    low = text.lower()
    return [t for t in terms if re.search(rf"(?<![a-z]){re.escape(t.lower())}(?![a-z])", low)]


@dataclass(frozen=True)
class Plan:
    """How one target weighs the factors: scenario mixture, per-factor weights, rating offset."""

    target: str
    persona: str
    risk: str
    scenario_weights: dict[str, float]
    weights: dict[str, float]  # factor -> weight (0 for factors of scenarios not in the mixture)
    offset: float
    persona_rules: list[str]
    recognised: bool


def plan_for(params: Any, target: str, knowledge: dict[str, Any], root: Any = None) -> Plan:
    persona, risk, _ = persona_and_risk(params, target, root)
    scen = knowledge.get("scenarios") or {}
    factors = knowledge.get("factors") or {}
    if not scen or not factors:
        raise ConfigError("prompts/knowledge.yaml needs 'scenarios' and 'factors'")
    hits = {name: len(_words_match(risk, s.get("match", []))) for name, s in scen.items()}
    total = sum(hits.values())
    recognised = total > 0 and target != "general"
    mix = {k: v / total for k, v in hits.items()} if recognised else {k: 1.0 / len(scen) for k in scen}
    weights = {f: float(d.get("weight", 1.0)) * mix.get(d.get("scenario"), 0.0) for f, d in factors.items()}
    offset = 0.0
    rules: list[str] = []
    if target != "general":
        for rule in knowledge.get("personas") or []:
            if not _words_match(persona, rule.get("match", [])):
                continue
            rules.append(str(rule.get("name", "?")))
            for f, m in (rule.get("emphasis") or {}).items():
                if f in weights:
                    weights[f] *= float(m)
            for s, o in (rule.get("offset") or {}).items():
                offset += float(o) * mix.get(s, 0.0)
    return Plan(target, persona, risk, mix, weights, offset, rules, recognised)


def goodness(spec: dict[str, Any], scene: dict[str, float]) -> float:
    signal = sum(
        float(w) * norm_feature(col, scene.get(col, 0.0)) for col, w in (spec.get("signal") or {}).items()
    )
    lo, hi = (float(x) for x in spec.get("range", (0.0, 1.0)))
    g = 0.5 if hi <= lo else min(1.0, max(0.0, (signal - lo) / (hi - lo)))
    return g if spec.get("better", "high") == "high" else 1.0 - g


def _share(v: float) -> str:
    return f"about {round(v * 100)}%"


def composition(scene: dict[str, float]) -> str:
    """One sentence on what the parse sees, the same for every target of an image."""
    n = {
        k: norm_feature(k, scene.get(k, 0.0))
        for k in (
            "road_share",
            "sidewalk_share",
            "green_view",
            "sky_view",
            "brightness",
            "car_presence",
            "person_presence",
            "frac_building",
            "frac_wall",
            "frac_fence",
        )
    }
    parts = []
    road = n["road_share"]
    parts.append(
        ("a wide road" if road > 0.35 else "a road" if road > 0.15 else "a narrow street")
        + f" ({_share(road)} of the view)"
    )
    sw = n["sidewalk_share"]
    parts.append(
        "a generous sidewalk" if sw > 0.15 else "a narrow sidewalk" if sw > 0.04 else "hardly any sidewalk"
    )
    if n["frac_building"] > 0.25:
        parts.append("buildings lining the street")
    if n["frac_wall"] + n["frac_fence"] > 0.12:
        parts.append("walls or fences along the edge")
    g = n["green_view"]
    parts.append("plenty of greenery" if g > 0.25 else "some greenery" if g > 0.08 else "little greenery")
    parts.append("open sky" if n["sky_view"] > 0.3 else "little visible sky")
    cars = n["car_presence"]  # share of pixels on vehicles
    people = n["person_presence"]  # share of pixels on people and riders
    movers = (
        ("busy traffic" if cars > 0.12 else "some cars" if cars > 0.03 else "few or no cars")
        + ", "
        + ("people about" if people > 0.02 else "a few people" if people > 0.003 else "no people in sight")
    )
    b = n["brightness"]
    light = (
        "bright daylight" if b > 0.6 else "even light" if b > 0.4 else "dim light" if b > 0.25 else "darkness"
    )
    return f"A street scene with {', '.join(parts)}; {movers}; {light}."


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def describe_scene(plan: Plan, knowledge: dict[str, Any], scene: dict[str, float]) -> dict[str, Any]:
    """The answer for one image and one target: ``{description, safety, factors}``."""
    factors = knowledge["factors"]
    active = {f: w for f, w in plan.weights.items() if w > 0}
    gs = {f: goodness(factors[f], scene) for f in active}
    wsum = sum(active.values())
    score = sum(active[f] * gs[f] for f in active) / wsum if wsum else 0.5
    spread = float(knowledge.get("spread", 1.0))
    rating = int(min(10, max(1, math.floor(5.5 + spread * 9 * (score - 0.5) + plan.offset + 0.5))))
    # What drives the verdict: largest weighted distance from neutral, ties broken by name.
    ranked = sorted(active, key=lambda f: (-active[f] * abs(gs[f] - 0.5), f))
    bad = [f for f in ranked if gs[f] < 0.45][:3]
    good = [f for f in ranked if gs[f] > 0.55][:2]
    words = verdict(rating)
    if plan.target == "general":
        head = f"Overall this street feels {words} ({rating}/10)"
    else:
        head = f"For {plan.persona}, thinking of {short_risk(plan.risk)}, this street feels {words} ({rating}/10)"
    reasons = []
    if bad:
        reasons.append(_join([factors[f]["bad"] for f in bad]))
    if good:
        reasons.append(("although " if bad else "") + _join([factors[f]["good"] for f in good]))
    text = head + (": " + "; ".join(reasons) if reasons else "") + ". " + composition(scene)
    if plan.target != "general" and plan.persona_rules:
        emph = [f for f in sorted(active, key=lambda f: (-active[f], f))][:3]
        text += (
            " What weighs most for this person: "
            + _join([factors[f]["label_bad" if gs[f] < 0.5 else "label_good"] for f in emph])
            + "."
        )
    # Close with the verdict again, in the same words for every target: the small model reads these
    # texts as a bag of words, and a verdict stated once is drowned by the scene sentence that every
    # target of an image shares (the general model then cannot read a group's verdict).
    text += f" In short: {words} ({rating}/10)."
    labels = [factors[f]["label_bad"] for f in bad] + [factors[f]["label_good"] for f in good]
    return {"description": text, "safety": rating, "factors": labels}


class SceneDescriber(Describer):
    """``describe.backend: scene``: offline, deterministic, no model."""

    backend = "scene"
    model = "builtin-scene-v1"
    needs_images = False
    needs_scene = True

    def __init__(self, params: Any, root: Any = None):
        super().__init__()
        self.params = params
        self.root = root
        self.knowledge = load_knowledge(root)
        self._plans: dict[str, Plan] = {}

    def gen_params(self) -> dict[str, Any]:
        # The knowledge file decides the answer as much as the prompt does.
        return {"knowledge": sha256_text(stable_json(self.knowledge))[:16]}

    def plan(self, target: str) -> Plan:
        if target not in self._plans:
            self._plans[target] = plan_for(self.params, target, self.knowledge, self.root)
        return self._plans[target]

    def run(self, jobs: list[Job], cache: Any, on_result: OnResult) -> None:
        for job in jobs:
            if job.scene is None:
                on_result(job, Outcome(error=f"no scene parse for image {job.image_id}", attempts=1))
                continue
            try:
                ans = describe_scene(self.plan(job.target), self.knowledge, job.scene)
            except (KeyError, DataError) as err:
                on_result(job, Outcome(error=f"scene describer: {err}", attempts=1))
                continue
            self.calls[job.target] += 1
            on_result(job, Outcome(raw=None, parsed=ans, attempts=1))
