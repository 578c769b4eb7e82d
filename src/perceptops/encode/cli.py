"""CLI commands of this concern. Top-level imports: typer/stdlib only (fast start-up)."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the root app."""

    @app.command("embed")
    def embed(
        city: Annotated[str, typer.Option("--city", help="City name from params.yaml `cities`.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    ) -> None:
        """Encode a city's valid images and descriptions with the frozen encoders (params `encode`)
        into data/<city>/embed/, reusing the embedding cache (each item is encoded once)."""
        from perceptops.config import load_params
        from perceptops.encode.embed import embed_city
        from perceptops.paths import Layout

        stats = embed_city(load_params(), Layout(), city)
        if as_json:
            typer.echo(json.dumps(stats, indent=2))
        else:
            typer.echo(
                f"embed {city}: {stats['images']} images ({stats['image_forwards']} encoded, "
                f"{stats['image_cache_hits']} cached); texts {stats['text_forwards']} encoded, "
                f"{stats['text_cache_hits']} cached; encoders {stats['image_encoder']} / {stats['text_encoder']}"
            )
