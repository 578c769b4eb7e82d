"""CLI commands of this concern. Top-level imports: typer/rich/stdlib only (fast start-up)."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the root app."""

    @app.command("describe")
    def describe(
        city: Annotated[
            str, typer.Option("--city", "-c", help="City to describe (a key of params.yaml cities).")
        ],
        only: Annotated[
            str | None, typer.Option("--only", help="Only this target: 'general' or GROUP-SCENARIO.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the per-target counts as JSON.")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    ) -> None:
        """Describe every valid image of a city (general + every group x scenario) with the configured backend.

        Answers are cached (SQLite) as they arrive: a re-run calls the backend only for missing or failed items.
        """
        from perceptops.config import load_params
        from perceptops.describe.run import describe_city
        from perceptops.paths import Layout

        params = load_params()
        metrics = describe_city(params, Layout(), city, only=only, progress=not quiet and not as_json)
        if as_json:
            typer.echo(json.dumps(metrics, indent=2, sort_keys=True))
            return
        for t, m in metrics.items():
            typer.echo(
                f"{t}: described={m['described']} failed={m['failed']} calls={m['calls']} "
                f"cached={m['cached']} tokens={m['tokens']}"
            )
