"""Safe image loading: header checks before any decode, and one RGB mode for everything downstream.

Content decides, never the file extension: a PNG named ``.jpg`` is a PNG. The pixel count is read
from the header and checked *before* decoding, so a 30000x30000 header (a decompression bomb) costs
a few bytes of reading, not gigabytes of memory.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from perceptops.errors import DataError

# Reason codes written to quarantine.csv (stable: metrics and tests count them).
EMPTY = "empty_file"
UNREADABLE = "unreadable"
UNDECODABLE = "undecodable"
TRUNCATED = "truncated"
TOO_LARGE = "too_large"
TOO_SMALL = "too_small"


class ImageRejected(DataError):
    """An image that fails a check; ``reason`` is a stable code, ``detail`` says what was seen."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Header:
    format: str
    width: int
    height: int
    mode: str


Source = bytes | str | os.PathLike


def _open(src: Source, max_pixels: int):
    """Open lazily (header only) and refuse oversized images before anything is decoded.

    ``src`` is the bytes or a path; a path is read only as far as the header (a 2 GB file with a
    bomb header costs a few bytes of reading).
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    if isinstance(src, bytes):
        if not src:
            raise ImageRejected(EMPTY, "zero-byte file")
        fp: io.BytesIO | Path = io.BytesIO(src)
    else:
        fp = Path(src)
        try:
            if fp.stat().st_size == 0:
                raise ImageRejected(EMPTY, "zero-byte file")
        except OSError as err:
            raise ImageRejected(UNREADABLE, f"{fp}: {err.strerror or err}") from None
    try:
        with warnings.catch_warnings():
            # Our own limit (validate.max_pixels) decides below; Pillow's hard error (2x its limit) still fires.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(fp)
    except Image.DecompressionBombError as err:
        # Pillow's own guard fires in open() for headers far above its limit: same verdict as ours.
        raise ImageRejected(TOO_LARGE, f"header declares too many pixels ({err})") from None
    except UnidentifiedImageError:
        raise ImageRejected(
            UNDECODABLE, "not a recognised image format (content, not extension, decides)"
        ) from None
    except PermissionError as err:
        raise ImageRejected(UNREADABLE, f"{fp}: {err.strerror or err}") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageRejected(UNDECODABLE, f"header unreadable: {err}") from None
    w, h = im.size
    if w * h > max_pixels:
        im.close()
        raise ImageRejected(TOO_LARGE, f"{w}x{h} = {w * h} pixels > validate.max_pixels={max_pixels}")
    return im


def read_header(src: Source, max_pixels: int) -> Header:
    """Format, size and mode from the header; no pixel data is decoded."""
    with _open(src, max_pixels) as im:
        return Header(format=im.format or "", width=im.size[0], height=im.size[1], mode=im.mode)


def _to_rgb(im):
    """Normalise every mode (CMYK, L, P, LA/RGBA, 16-bit, float) to 8-bit RGB."""
    import numpy as np
    from PIL import Image

    mode = im.mode
    if mode == "RGB":
        return im
    if mode.startswith("I") or mode == "F":
        # 16/32-bit integer or float grey: rescale to 0-255 instead of clipping (16-bit PNGs, TIFFs).
        a = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or (a.size and a.max() > 255) else 255.0
        if mode == "F":
            hi = float(a.max()) if a.size and a.max() > 1.0 else 1.0
        g = np.clip(np.rint(a / hi * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(g, "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in im.info):
        # Transparent pixels become white, as a viewer would show them; alpha is not a street feature.
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, rgba).convert("RGB")
    return im.convert("RGB")  # CMYK, L, 1, P, YCbCr, LAB, HSV


def decode_rgb(src: Source, max_pixels: int, min_size: tuple[int, int] = (1, 1)):
    """Decode bytes or a file to an RGB PIL image; returns ``(image, original_mode)``. Raises ImageRejected."""
    with _open(src, max_pixels) as im:
        return _decode(im, min_size)


def _decode(im, min_size: tuple[int, int]):
    w, h = im.size
    if w < min_size[0] or h < min_size[1]:
        raise ImageRejected(TOO_SMALL, f"{w}x{h} is below the minimum {min_size[0]}x{min_size[1]}")
    mode = im.mode
    try:
        im.load()
    except OSError as err:
        code = TRUNCATED if "truncat" in str(err).lower() else UNDECODABLE
        raise ImageRejected(code, f"decoding failed: {err}") from None
    except (SyntaxError, ValueError, MemoryError) as err:
        raise ImageRejected(UNDECODABLE, f"decoding failed: {err}") from None
    try:
        rgb = _to_rgb(im)
        return (rgb.copy() if rgb is im else rgb), mode  # a copy outlives the closed file
    except (OSError, ValueError) as err:
        raise ImageRejected(UNDECODABLE, f"mode {mode} could not be converted to RGB: {err}") from None


def hash_file(path: str | os.PathLike) -> str:
    """sha256 of a file, streamed (memory stays flat whatever the file size): the image id."""
    from perceptops.utils import sha256_file

    try:
        return sha256_file(path)
    except OSError as err:
        raise ImageRejected(UNREADABLE, f"{path}: {err.strerror or err}") from None


def load_rgb(path: str | os.PathLike, max_pixels: int = 40_000_000):
    """Load an image file as RGB (header checked before decode). Raises :class:`ImageRejected`."""
    im, _ = decode_rgb(Path(path), max_pixels)
    return im
