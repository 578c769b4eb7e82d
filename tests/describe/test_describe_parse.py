"""The tolerant answer parser: accepts what models really write, rejects what is not a rating."""

from __future__ import annotations

import pytest

from perceptops.describe.parse import ParseError, parse_answer


@pytest.mark.parametrize(
    ("text", "safety", "factors"),
    [
        ('{"description": "calm street", "safety": 7, "factors": ["trees"]}', 7, ["trees"]),
        ('```json\n{"description": "calm", "safety": "7", "factors": []}\n```', 7, []),
        (
            'Sure! Here it is:\n{"description": "calm", "safety": 7.0, "factors": "trees, light"} Hope it helps',
            7,
            ["trees", "light"],
        ),
        ('{"description": "calm", "safety": "8/10"}', 8, []),
        ('{"description": "calm", "rating": 3, "factors": ["dark"]}', 3, ["dark"]),
        ('{"note": 1} then {"description": "d", "safety": 1, "factors": [1, "", null]}', 1, ["1"]),
        ('{"description": "d", "safety": 10, "factors": ["x"]}', 10, ["x"]),
    ],
)
def test_accepts(text, safety, factors):
    a = parse_answer(text)
    assert a.safety == safety and a.factors == factors and a.description


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"description": "d", "safety": 11}', "outside 1-10"),
        ('{"description": "d", "safety": -1}', "outside 1-10"),
        ('{"description": "d", "safety": 0}', "outside 1-10"),
        ('{"description": "d", "safety": "ten"}', "not a number"),
        ('{"description": "d", "safety": null}', "null"),
        ('{"description": "d", "safety": true}', "whole number"),
        ('{"description": "d", "safety": 6.5}', "whole number"),
        ('{"description": "d", "safety": [5]}', "not a number"),
        ('{"description": "", "safety": 5}', "description"),
        ('{"description": "d", "factors": []}', "no 'safety'"),
        ('{"description": "d", "safety": 5, "factors": {"a": 1}}', "factors"),
        ("The street is nice.", "no JSON object"),
        ('{"description": "d", "safety": 5', "no JSON object"),  # cut off
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("I'm sorry, but I can't help with that.", "refused"),
    ],
)
def test_rejects(text, reason):
    with pytest.raises(ParseError, match=reason):
        parse_answer(text)
