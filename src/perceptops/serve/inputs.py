"""Request validation for the service: pure functions, no BentoML, so they are unit-tested directly.

Every bad input becomes a :class:`RequestError` carrying the HTTP status and a message that says what
to change. Images are checked from the header (format, size in pixels) before any pixel is decoded.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from typing import Any

GENERAL = "general"


class RequestError(Exception):
    """A client error: ``status`` (4xx) and a message for the response body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    max_images: int

    @classmethod
    def from_params(cls, serve: Any) -> Limits:
        return cls(int(serve.max_upload_mb * 1024 * 1024), int(serve.max_pixels), int(serve.max_images))


def decode_image(data: bytes, limits: Limits, what: str = "image") -> Any:
    """Bytes -> RGB PIL image. Size and pixel count are checked from the header before decoding."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise RequestError(422, f"{what} is empty: send the bytes of a JPEG/PNG/WebP street view image")
    if len(data) > limits.max_bytes:
        raise RequestError(
            413,
            f"{what} is {len(data) / 2**20:.1f} MB; the limit is serve.max_upload_mb = "
            f"{limits.max_bytes / 2**20:.0f} MB",
        )
    # Image.open reads only the header; PIL's own bomb check raises above 2 x MAX_IMAGE_PIXELS.
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as err:
        raise RequestError(413, f"{what} is a decompression bomb ({err}); limit serve.max_pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise RequestError(
            422, f"{what} is not an image PIL can read (send JPEG, PNG or WebP bytes)"
        ) from None
    w, h = img.size
    if w * h > limits.max_pixels:
        raise RequestError(
            413,
            f"{what} declares {w}x{h} = {w * h} pixels, above serve.max_pixels = {limits.max_pixels} "
            "(refused before decoding)",
        )
    if w < 1 or h < 1:
        raise RequestError(422, f"{what} has no pixels ({w}x{h})")
    try:
        img.load()
        return img.convert("RGB")
    except Exception as err:  # truncated or corrupt pixel data
        raise RequestError(422, f"{what} could not be decoded: {err}") from None


def decode_base64(value: Any, what: str) -> bytes:
    """A base64 string (a ``data:image/...;base64,`` prefix is accepted) -> bytes."""
    if not isinstance(value, str):
        raise RequestError(422, f"{what} must be a base64 string, got {type(value).__name__}")
    if value.startswith("data:"):
        value = value.partition(",")[2]
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(422, f"{what} is not valid base64") from None


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise RequestError(
            400,
            'empty request body: send JSON {"image": <base64>, "descriptions": {...}} or a '
            "multipart upload with an 'image' file",
        )
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RequestError(400, f"malformed JSON body: {err}") from None


def parse_descriptions(
    value: Any, targets: list[str], groups: list[str], what: str = "descriptions"
) -> dict[str, str]:
    """Validate client descriptions -> {target: text}.

    Accepted shapes: ``{"general": str, "women-crime": str, ...}`` or nested per group
    ``{"general": str, "women": {"crime": str}}``. Unknown targets or groups are refused (422) with the
    allowed names; values must be non-empty strings.
    """
    if value is None:
        return {}
    if isinstance(value, str):  # a multipart form field holds JSON text
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise RequestError(
                422, f"{what} must be a JSON object of target -> text, not plain text"
            ) from None
    if not isinstance(value, dict):
        raise RequestError(
            422,
            f"{what} must be an object mapping 'general' or '<group>-<scenario>' to text, "
            f"got {type(value).__name__}",
        )
    allowed = [GENERAL, *targets]
    out: dict[str, str] = {}
    for key, text in value.items():
        if isinstance(text, dict) and key in groups:
            for scen, t in text.items():
                _put(out, f"{key}-{scen}", t, allowed, f"{what}.{key}.{scen}")
            continue
        if isinstance(text, dict):
            raise RequestError(422, f"{what}: unknown group {key!r}; allowed groups: {', '.join(groups)}")
        _put(out, key, text, allowed, f"{what}.{key}")
    return out


def _put(out: dict[str, str], target: str, text: Any, allowed: list[str], where: str) -> None:
    if target not in allowed:
        raise RequestError(
            422, f"{where}: unknown group or group-scenario {target!r}; allowed: {', '.join(allowed)}"
        )
    if not isinstance(text, str):
        raise RequestError(422, f"{where} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise RequestError(422, f"{where} is empty")
    out[target] = text
