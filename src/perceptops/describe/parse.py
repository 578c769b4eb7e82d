"""Tolerant parser of the structured answer ``{description, safety (1-10), factors [..]}``.

Models wrap JSON in code fences, add chatter around it, or write the rating as a string. The parser
accepts those, coerces ``"7"`` -> 7, and rejects what cannot be a rating (11, -1, "ten", null, true);
a rejected answer raises :class:`ParseError` whose reason goes into the repair turn and, finally,
into failures.csv.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_REFUSAL = re.compile(
    r"\b(i\s*(?:am|'m)\s*(?:sorry|unable|not able)|i\s*can(?:not|'t|\u2019t)|i\s*won(?:'t|\u2019t)|"
    r"as an ai|i\s*must decline|not able to help|cannot assist|can't assist)\b",
    re.I,
)


class ParseError(ValueError):
    """The answer is not a usable ``{description, safety, factors}`` object; ``str()`` says why."""


@dataclass(frozen=True)
class Answer:
    description: str
    safety: int
    factors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description, "safety": self.safety, "factors": list(self.factors)}


def _objects(text: str):
    """Every JSON object that starts at a '{' in ``text``, in order."""
    dec = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = dec.raw_decode(text, m.start())
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            yield obj


def _safety(value: Any) -> int:
    if value is None:
        raise ParseError("'safety' is null; it must be a whole number from 1 to 10")
    if isinstance(value, bool):
        raise ParseError(f"'safety' is {value!r}; it must be a whole number from 1 to 10")
    if isinstance(value, str):
        s = value.strip().removesuffix("/10").strip()
        try:
            value = float(s)
        except ValueError:
            raise ParseError(f"'safety' is {value!r}, not a number from 1 to 10") from None
    if not isinstance(value, int | float) or value != value:  # NaN
        raise ParseError(f"'safety' is {value!r}, not a number from 1 to 10")
    if not 1 <= value <= 10:
        raise ParseError(f"'safety' is {value!r}, outside 1-10")
    if float(value) != int(value):
        raise ParseError(f"'safety' is {value!r}; it must be a whole number from 1 to 10")
    return int(value)


def _factors(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in re.split(r"[;,\n]", value)]
    if not isinstance(value, list):
        raise ParseError(f"'factors' is {type(value).__name__}; it must be a list of short phrases")
    out = []
    for v in value:
        if isinstance(v, str | int | float) and not isinstance(v, bool) and str(v).strip():
            out.append(str(v).strip())
    return out


def parse_answer(text: str | None) -> Answer:
    """Parse a model answer into an :class:`Answer`, or raise :class:`ParseError` saying why."""
    if text is None or not str(text).strip():
        raise ParseError("empty answer")
    text = str(text).strip()
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    obj = None
    for chunk in candidates:
        for o in _objects(chunk):
            if any(k in o for k in ("safety", "description", "rating")):
                obj = o
                break
        if obj is not None:
            break
    if obj is None:
        if _REFUSAL.search(text[:400]):
            raise ParseError(f"the model refused: {text[:120]!r}")
        raise ParseError(f"no JSON object in the answer: {text[:120]!r}")
    if "safety" not in obj:
        if "rating" in obj:  # a common near-miss; same meaning
            obj = {**obj, "safety": obj["rating"]}
        else:
            raise ParseError("the JSON has no 'safety' field")
    desc = obj.get("description")
    if not isinstance(desc, str) or not desc.strip():
        raise ParseError("the JSON has no non-empty 'description' text")
    return Answer(
        description=desc.strip(), safety=_safety(obj["safety"]), factors=_factors(obj.get("factors"))
    )
