"""CLI commands of this concern. Top-level imports: typer/rich/stdlib only (fast start-up)."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the root app."""

    @app.command("score")
    def score(
        city: Annotated[str, typer.Option("--city", help="City to score (a key of params.yaml cities).")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Score every valid image of a city with each champion model and draw its maps (maps/CITY/)."""
        from perceptops.config import load_params
        from perceptops.maps.build import score_city
        from perceptops.paths import project_root

        root = project_root()
        echo = (lambda m: typer.echo(m, err=True)) if as_json else typer.echo
        s = score_city(load_params(root / "params.yaml"), root, city, echo=echo)
        if as_json:
            typer.echo(json.dumps(s, indent=2, default=str))
            return
        for t, m in s["models"].items():
            g = s["targets"][t]
            typer.echo(
                f"{m['model']:<28} v{m['version']:<4} mean {g['mean_score']}  unsafe {g['share_unsafe']}"
            )
        typer.echo(
            f"{s['n_scored']} images scored, {s['without_coordinates']} without coordinates; "
            f"open maps/{city}/index.html"
        )
