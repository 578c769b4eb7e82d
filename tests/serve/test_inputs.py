"""Request validation (pure functions): every bad input the service refuses, and what it accepts."""

from __future__ import annotations

import base64
import json

import pytest
from serve_helpers import bomb_png, png_bytes

from perceptops.serve.inputs import (
    Limits,
    RequestError,
    decode_base64,
    decode_image,
    parse_descriptions,
    parse_json,
)

LIMITS = Limits(max_bytes=1 << 20, max_pixels=4_000_000, max_images=4)
TARGETS = ["women-crime", "women-traffic", "middle-aged-crime"]
GROUPS = ["women", "middle-aged"]


def status_of(fn, *args) -> RequestError:
    with pytest.raises(RequestError) as info:
        fn(*args)
    return info.value


def test_decode_accepts_png_and_converts_to_rgb():
    img = decode_image(png_bytes(mode="L"), LIMITS)
    assert img.mode == "RGB" and img.size == (32, 24)


def test_empty_and_not_an_image_are_422():
    assert status_of(decode_image, b"", LIMITS).status == 422
    err = status_of(decode_image, b"hello, this is text, not a picture", LIMITS)
    assert err.status == 422 and "not an image" in err.message


def test_upload_above_limit_is_413_naming_the_setting():
    err = status_of(decode_image, b"\x00" * (LIMITS.max_bytes + 1), LIMITS)
    assert err.status == 413 and "serve.max_upload_mb" in err.message


@pytest.mark.parametrize("w,h", [(3000, 3000), (30000, 30000)])  # above our limit; above PIL's own guard
def test_decompression_bomb_refused_from_header(w, h):
    data = bomb_png(w, h)
    assert len(data) < 2000
    err = status_of(decode_image, data, LIMITS)
    assert err.status == 413 and "max_pixels" in err.message


def test_truncated_image_is_422():
    data = png_bytes(200, 200)
    err = status_of(decode_image, data[: len(data) // 2], LIMITS)
    assert err.status == 422


def test_base64_roundtrip_and_errors():
    raw = png_bytes()
    assert decode_base64(base64.b64encode(raw).decode(), "image") == raw
    assert decode_base64("data:image/png;base64," + base64.b64encode(raw).decode(), "image") == raw
    assert status_of(decode_base64, "not base64 at all!!", "image").status == 422
    assert "base64 string" in status_of(decode_base64, 12, "image").message


def test_parse_json_empty_and_malformed_are_400():
    assert status_of(parse_json, b"").status == 400
    err = status_of(parse_json, b'{"image": ')
    assert err.status == 400 and "malformed JSON" in err.message
    assert parse_json(b'{"a": 1}') == {"a": 1}


def test_descriptions_flat_nested_and_json_text():
    flat = parse_descriptions({"general": "g", "women-crime": "w"}, TARGETS, GROUPS)
    assert flat == {"general": "g", "women-crime": "w"}
    nested = parse_descriptions({"women": {"crime": "a", "traffic": "b"}}, TARGETS, GROUPS)
    assert nested == {"women-crime": "a", "women-traffic": "b"}
    assert parse_descriptions(json.dumps({"general": "g"}), TARGETS, GROUPS) == {"general": "g"}
    assert parse_descriptions(None, TARGETS, GROUPS) == {}


@pytest.mark.parametrize(
    "value,needle",
    [
        ({"aliens-crime": "x"}, "unknown group"),
        ({"aliens": {"crime": "x"}}, "unknown group 'aliens'"),
        ({"women": {"boredom": "x"}}, "women-boredom"),
        (["general", "text"], "must be an object"),
        ("plain words", "not plain text"),
        ({"general": 5}, "must be a string"),
        ({"general": ["a"]}, "must be a string"),
        ({"general": "   "}, "is empty"),
    ],
)
def test_bad_descriptions_are_422_with_message(value, needle):
    err = status_of(parse_descriptions, value, TARGETS, GROUPS)
    assert err.status == 422 and needle in err.message
    if "unknown" in needle:
        assert "women-crime" in err.message or "women" in err.message  # names what is allowed
