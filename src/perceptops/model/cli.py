"""CLI commands of this concern. Top-level imports: typer/rich/stdlib only (fast start-up)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

model_app = typer.Typer(
    help="The safety model: labels, general training, pseudo-label fine-tunes, evaluation.",
    no_args_is_help=True,
)


def _ctx():
    from perceptops.config import load_params
    from perceptops.paths import Layout

    return load_params(), Layout()


def _echo(obj: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(obj, indent=2, default=str))
    else:
        for k, v in obj.items():
            typer.echo(f"{k}: {v}")


@model_app.command("labels")
def labels_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """General labels from the training city's crowd Q-scores (mean +/- labels.k_sd sd rule)."""
    from perceptops.model.labels import make_labels

    _echo(make_labels(*_ctx()), as_json)


@model_app.command("train")
def train_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Train the general model on cached embeddings -> models/general."""
    from perceptops.model.train import train_general

    _echo(train_general(*_ctx()), as_json)


@model_app.command("finetune")
def finetune_cmd(
    group: Annotated[str, typer.Argument(help="Group name (params.yaml groups).")],
    scenario: Annotated[str, typer.Argument(help="Scenario name (params.yaml scenarios).")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Pseudo-label fine-tune of the general model for GROUP x SCENARIO -> models/finetune/<g>-<s>."""
    from perceptops.model.finetune import finetune

    params, layout = _ctx()
    _echo(finetune(params, layout, group, scenario), as_json)


@model_app.command("evaluate")
def evaluate_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """General model vs each fine-tune against the groups' own Q-scores -> reports/evaluation."""
    from perceptops.model.evaluate import evaluate

    params, layout = _ctx()
    results = evaluate(params, layout)
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        typer.echo((layout.evaluation_dir() / "table.md").read_text())


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the root app: ``perceptops model ...``."""
    app.add_typer(model_app, name="model")
