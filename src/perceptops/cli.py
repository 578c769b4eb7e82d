"""The ``perceptops`` command line (Typer + rich).

Start-up must stay fast (``perceptops --help`` in about a second): this module and the per-concern
``<package>/cli.py`` modules it registers import only typer, rich and the standard library at top
level. Each command imports what it needs (mlflow, evidently, torch, ...) inside its body.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from perceptops import __version__
from perceptops.errors import PerceptopsError

app = typer.Typer(
    name="perceptops",
    help="Population-group urban safety-perception models: data, descriptions, training, registry, serving, drift.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each concern adds its commands through ``register(app)`` in its own cli module.
COMMAND_MODULES = (
    "perceptops.data.cli",  # cities add / list, ingest, validate, survey
    "perceptops.scene.cli",  # scene
    "perceptops.describe.cli",  # describe
    "perceptops.encode.cli",  # embed
    "perceptops.model.cli",  # train / finetune / evaluate helpers
    "perceptops.registry.cli",  # registry list, audit, promote, rollback
    "perceptops.serve.cli",  # package, serve
    "perceptops.monitor.cli",  # drift
    "perceptops.maps.cli",  # score
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"perceptops {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project", "-C", help="Project folder (default: the nearest folder with params.yaml)."
        ),
    ] = None,
) -> None:
    """perceptops: run the life of urban safety-perception models for population groups."""
    if project is not None:
        import os

        from perceptops.paths import ENV_PROJECT

        os.environ[ENV_PROJECT] = str(project.resolve())


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Say what the pipeline has produced so far, stage by stage and city by city."""
    from perceptops.status import collect_status, render_status

    report = collect_status()
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        render_status(report)


@app.command("params")
def params_cmd(
    check: Annotated[bool, typer.Option("--check", help="Only validate params.yaml.")] = False,
) -> None:
    """Validate params.yaml and print the resolved parameters."""
    from perceptops.config import load_params

    p = load_params()
    if check:
        typer.echo("params.yaml is valid")
        return
    typer.echo(json.dumps(p.model_dump(mode="json", by_alias=True), indent=2))


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as err:  # a concern not installed in this build
            if err.name != name:
                raise
            continue
        mod.register(app)


_register_all()


def main() -> None:
    """Console entry point: user errors become one red line and a non-zero exit, not a traceback."""
    try:
        app(standalone_mode=False)
    except PerceptopsError as err:
        from rich.console import Console
        from rich.text import Text

        Console(stderr=True).print(Text("error: ", style="bold red") + Text(str(err)), highlight=False)
        sys.exit(err.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as err:  # click usage errors come through here in standalone_mode=False
        import click

        if isinstance(err, click.exceptions.ClickException):
            err.show()
            sys.exit(err.exit_code)
        raise


if __name__ == "__main__":
    main()
