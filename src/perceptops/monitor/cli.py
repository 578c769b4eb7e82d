"""CLI commands of this concern. Top-level imports: typer/rich/stdlib only (fast start-up)."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the root app."""

    @app.command("drift")
    def drift(
        city: Annotated[
            str | None, typer.Option("--city", help="City to compare with the reference.")
        ] = None,
        reference: Annotated[
            str | None,
            typer.Option(
                "--reference", help="Reference city (default: params drift.reference, else train_city)."
            ),
        ] = None,
        accept: Annotated[
            str | None,
            typer.Option("--accept", help="Record that you reviewed CITY's drift report and accept it."),
        ] = None,
        reason: Annotated[
            str | None, typer.Option("--reason", help="Why the drift is acceptable (with --accept).")
        ] = None,
        by: Annotated[
            str | None, typer.Option("--by", help="Who accepts (default: $PERCEPTOPS_USER / $USER).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Drift report of a city against the reference (Evidently), or --accept a reviewed report."""
        from perceptops.config import load_params
        from perceptops.errors import ConfigError
        from perceptops.paths import project_root

        root = project_root()
        params = load_params(root / "params.yaml")
        if accept is not None:
            from perceptops.monitor.accept import accept as do_accept
            from perceptops.monitor.run import check_city

            if city is not None or reference is not None:
                raise ConfigError(
                    "--accept CITY takes no --city/--reference: run the report first, then accept it"
                )
            check_city(params, accept)
            entry = do_accept(root, accept, reason or "", by)
            if as_json:
                typer.echo(json.dumps(entry, indent=2))
            else:
                typer.echo(
                    f"accepted drift of {accept} (verdict {entry['verdict']}, share {entry['drift_share']}) "
                    f"by {entry['by']}: monitoring/acceptances/{accept}.json"
                )
            return
        if city is None:
            raise ConfigError("give --city CITY (a report) or --accept CITY --reason TEXT (accept one)")
        from perceptops.monitor.run import drift_city

        echo = (lambda m: typer.echo(m, err=True)) if as_json else typer.echo
        s = drift_city(params, root, city, reference, echo=echo)
        if as_json:
            typer.echo(json.dumps(s, indent=2, default=str))
            return
        for f in s["drifted_features"][:15]:
            typer.echo(
                f"  drifted: {f['group']:<12} {f['feature']:<28} score {f['score']}  shift {f['shift_sd']} sd"
            )
        typer.echo(f"report: monitoring/reports/{city}/report.html")
