"""CLI commands of this concern: ``perceptops package`` and ``perceptops serve``.

Top-level imports: typer/stdlib only (fast start-up); bentoml and mlflow load inside the commands.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

SERVICE = "perceptops.serve.service:SafetyService"


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the root app."""

    @app.command("package")
    def package_cmd(
        allow_missing: Annotated[
            bool, typer.Option("--allow-missing", help="Package without group models that have no champion.")
        ] = False,
        no_build: Annotated[
            bool, typer.Option("--no-build", help="Only import the champions into the BentoML store.")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Import every `champion` from MLflow into the BentoML store and build the bento (offline)."""
        import contextlib
        import sys

        from perceptops.config import load_params
        from perceptops.paths import project_root
        from perceptops.serve.package import package

        root = project_root()
        # Progress and library chatter go to stderr so `--json` stdout stays one JSON document.
        with contextlib.redirect_stdout(sys.stderr):
            out = package(
                load_params(root / "params.yaml"), root, allow_missing=allow_missing, build=not no_build
            )
        if as_json:
            typer.echo(json.dumps(out, indent=2))
            return
        for m in out["models"]:
            typer.echo(f"{m['name']} v{m['version']} -> {m['tag']}")
        typer.echo(f"runtime: {out['runtime']}")
        if "bento" in out:
            typer.echo(f"bento: {out['bento']}  (BENTOML_HOME={out['bentoml_home']})")
            typer.echo(
                f"serve it: perceptops serve   or   BENTOML_HOME={out['bentoml_home']} bentoml serve {out['bento']}"
            )

    @app.command("serve")
    def serve_cmd(
        bento: Annotated[
            str | None, typer.Option("--bento", help="Bento tag to serve (default: the latest packaged one).")
        ] = None,
        from_project: Annotated[
            bool,
            typer.Option(
                "--from-project", help="Serve the service code of this checkout with the packaged models."
            ),
        ] = False,
        host: Annotated[str | None, typer.Option(help="Bind address (default: params serve.host).")] = None,
        port: Annotated[int | None, typer.Option(help="Port (default: params serve.port).")] = None,
    ) -> None:
        """Run the service locally (`bentoml serve`): POST /score, POST /score_batch, GET /models."""
        import os
        import sys
        from pathlib import Path

        from perceptops.config import load_params
        from perceptops.errors import ConfigError
        from perceptops.paths import project_root
        from perceptops.serve.package import use_home

        root = project_root()
        params = load_params(root / "params.yaml")
        use_home(root)
        target, cwd = SERVICE, str(root / "src")
        if not from_project:
            import bentoml
            from bentoml.exceptions import NotFound

            try:
                target = str(bentoml.bentos.get(bento or f"{params.serve.bento}:latest").tag)
            except NotFound:
                raise ConfigError(
                    f"no bento {bento or params.serve.bento!r} in {os.environ['BENTOML_HOME']}: run "
                    "`perceptops package` (or serve the checkout with --from-project)"
                ) from None
            cwd = str(root)
            # Run the code packaged in the bento, not whatever perceptops is installed in this venv.
            bento_src = Path(bentoml.bentos.get(target).path) / "src"
            os.environ["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(bento_src), os.environ.get("PYTHONPATH")])
            )
        exe = str(Path(sys.executable).parent / "bentoml")
        args = [
            exe,
            "serve",
            target,
            "--host",
            host or params.serve.host,
            "--port",
            str(port or params.serve.port),
        ]
        if from_project:
            args += ["--working-dir", cwd]
        typer.echo(" ".join(args), err=True)
        os.chdir(cwd)
        os.execv(exe, args)  # bentoml owns the process from here (signals, workers)
