"""CLI commands of this concern. Top-level imports: typer/stdlib only (fast start-up; mlflow is lazy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

registry_app = typer.Typer(
    help="The MLflow model registry: list models, versions, aliases, events.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _reg():
    from perceptops.registry.tracking import connect

    return connect()


@registry_app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """Show every safety-* model with its versions, aliases (candidate/champion) and key metrics."""
    from perceptops.registry.listing import list_models, render

    models = list_models(_reg())
    if as_json:
        typer.echo(json.dumps({"models": models}, indent=2))
    else:
        render(models)


@registry_app.command("events")
def events_cmd(
    model: Annotated[str, typer.Argument(help="Registered model name, e.g. safety-women-crime.")],
    as_json: JsonOpt = False,
) -> None:
    """Promotion, refusal and rollback events of MODEL (from the registry's tags)."""
    from perceptops.registry.events import model_events
    from perceptops.registry.tracking import ensure_model

    reg = _reg()
    ensure_model(reg, model)
    evs = model_events(reg, model)
    if as_json:
        typer.echo(json.dumps(evs, indent=2))
        return
    for e in evs:
        typer.echo(
            f"{e['time']}  {e['user']:<10} {e['action']:<14} {e['from']} -> {e['to']}  {e.get('reason') or ''}"
        )


def promote_cmd(
    model: Annotated[str, typer.Argument(help="Registered model name, e.g. safety-women-crime.")],
    version: Annotated[str, typer.Argument(help="Version number to make champion.")],
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if gates fail (needs --reason).")
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (recorded in the event).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the promotion gates (params.yaml `promotion`) and set alias `champion` on MODEL VERSION."""
    from perceptops.registry.promotion import format_gates, promote

    event = promote(_reg(), model, version, force=force, reason=reason)
    if as_json:
        typer.echo(json.dumps(event, indent=2))
        return
    typer.echo(f"{model}: champion {event['from']} -> {event['to']} ({event['action']})")
    typer.echo(format_gates(event["gates"]))


def rollback_cmd(
    model: Annotated[str, typer.Argument(help="Registered model name.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (recorded in the event).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Return alias `champion` of MODEL to the previous champion (recorded as an event)."""
    from perceptops.registry.promotion import rollback

    event = rollback(_reg(), model, reason=reason)
    if as_json:
        typer.echo(json.dumps(event, indent=2))
    else:
        typer.echo(f"{model}: champion rolled back {event['from']} -> {event['to']}")


def audit_cmd(
    model: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[str, typer.Argument(help="Version number.")],
    as_json: JsonOpt = False,
    export_dir: Annotated[
        Path | None,
        typer.Option(
            "--export", help="Write the exact description rows / (pseudo-)labels that trained it here."
        ),
    ] = None,
) -> None:
    """Lineage of MODEL VERSION: code, data md5s (as dvc.lock holds them), describer, encoders, metrics, events."""
    from perceptops.registry.audit import audit_report, export, render

    reg = _reg()
    report = audit_report(reg, model, version)
    if export_dir is not None:
        files = export(reg, report, export_dir)
        report["exported"] = [str(f) for f in files]
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    render(report)
    for f in report.get("exported", []):
        typer.echo(f"exported {f}")


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the root app."""
    app.add_typer(registry_app, name="registry")
    app.command("promote")(promote_cmd)
    app.command("rollback")(rollback_cmd)
    app.command("audit")(audit_cmd)
