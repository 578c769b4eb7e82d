"""Describers (OpenAI-compatible, transformers, built-in scene), prompts and the response cache."""

from __future__ import annotations

from typing import Any


def get_describer(params: Any, root: Any = None):
    """The describer chosen by ``describe.backend`` (heavy imports happen inside each backend)."""
    backend = params.describe.backend
    if backend == "scene":
        from perceptops.describe.scene_backend import SceneDescriber

        return SceneDescriber(params, root=root)
    if backend == "openai":
        from perceptops.describe.openai_backend import OpenAIDescriber

        return OpenAIDescriber(params)
    if backend == "transformers":
        from perceptops.describe.transformers_backend import TransformersDescriber

        return TransformersDescriber(params)
    from perceptops.errors import ConfigError

    raise ConfigError(f"describe.backend {backend!r} is unknown; allowed: scene, openai, transformers")
