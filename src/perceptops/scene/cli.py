"""CLI commands of this concern. Top-level imports: typer/rich/stdlib only (fast start-up)."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the root app."""

    @app.command("scene")
    def scene(
        city: Annotated[str, typer.Option("--city", help="City name from params.yaml `cities`.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    ) -> None:
        """Parse a city's valid images (class fractions, photometric stats, indices) into
        data/<city>/scene/scene.parquet, reusing the per-image cache."""
        from perceptops.config import load_params
        from perceptops.paths import Layout
        from perceptops.scene.parse import parse_city

        stats = parse_city(load_params(), Layout(), city)
        if as_json:
            typer.echo(json.dumps(stats, indent=2))
        else:
            typer.echo(
                f"scene {city}: {stats['images']} images, {stats['forwards']} parsed, "
                f"{stats['cache_hits']} from cache ({stats['backend']})"
            )
