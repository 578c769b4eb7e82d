"""What every describer backend shares: the work item, its outcome, and image helpers."""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perceptops.describe.prompts import Prompt
from perceptops.errors import DataError

if TYPE_CHECKING:
    from PIL import Image

    from perceptops.describe.cache import ResponseCache


@dataclass(frozen=True)
class Job:
    """One (image, target) description to produce."""

    key: str
    image_id: str
    target: str
    prompt: Prompt
    image_path: Path | None = None
    scene: dict[str, float] | None = None


@dataclass
class Outcome:
    """The result of one job: ``parsed`` is set on success, ``error`` on failure."""

    raw: str | None = None
    parsed: dict[str, Any] | None = None
    usage: dict[str, int] = field(default_factory=dict)
    latency_s: float = 0.0
    error: str | None = None
    attempts: int = 0


OnResult = Callable[[Job, Outcome], None]


class Describer:
    """Base class. Subclasses set ``backend``/``model`` and implement :meth:`run`."""

    backend: str = ""
    model: str = ""
    needs_images: bool = True
    needs_scene: bool = False

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()  # backend calls per target (scale turns included)
        self.tokens: Counter[str] = Counter()

    def gen_params(self) -> dict[str, Any]:
        """Everything besides image, prompt and model that changes the answer (part of the cache key)."""
        return {}

    def check(self) -> None:
        """Fail fast (before any call) on a missing key, model or dependency."""

    def run(self, jobs: list[Job], cache: ResponseCache, on_result: OnResult) -> None:
        raise NotImplementedError


def load_image(path: Path, max_pixels: int) -> Image.Image:
    """RGB image via the data layer's checked loader (header checked before decode)."""
    try:
        from perceptops.data.images import load_rgb
    except ImportError:  # the data layer's loader is the contract; this keeps describe usable without it
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = None
        try:
            with Image.open(path) as im:
                if im.width * im.height > max_pixels:
                    raise DataError(
                        f"{path}: {im.width}x{im.height} exceeds validate.max_pixels={max_pixels}"
                    )
                return im.convert("RGB")
        except OSError as err:
            raise DataError(f"{path}: cannot read image ({err})") from None
    return load_rgb(path, max_pixels)


def resize_max_side(img: Image.Image, max_side: int) -> Image.Image:
    if max(img.size) <= max_side:
        return img
    img = img.copy()
    img.thumbnail((max_side, max_side))
    return img


def jpeg_data_url(img: Image.Image, max_side: int, quality: int = 90) -> str:
    """Resize to ``max_side`` and encode as a base64 JPEG data URL (what chat servers accept)."""
    img = resize_max_side(img, max_side)
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
