"""CLI commands of this concern. Top-level imports: typer/rich/stdlib only (fast start-up)."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Annotated

import typer

SOURCES = ("synthetic", "folder", "placepulse1", "placepulse2")


def _parse_filters(items: list[str]) -> dict[str, str]:
    from perceptops.errors import ConfigError

    out: dict[str, str] = {}
    for it in items:
        key, sep, val = it.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--filter {it!r}: use KEY=VALUE, e.g. --filter city=Boston")
        out[key.strip()] = val.strip()
    return out


def add_city(
    name: str,
    source: str,
    path: str | None,
    filters: dict[str, str],
    limit: int,
    bbox: tuple[float, float, float, float] | None,
    survey: str | None,
    force: bool,
) -> dict:
    """Add a city entry to params.yaml (comments kept); the new file is validated before it is written."""
    import io

    from ruamel.yaml import YAML

    from perceptops.config import check_name, parse_params
    from perceptops.errors import ConfigError
    from perceptops.paths import project_root
    from perceptops.utils import atomic_path

    try:
        check_name(name, "city")
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if source not in SOURCES:
        raise ConfigError(f"--source {source!r}: allowed values: {', '.join(SOURCES)}")
    pfile = project_root() / "params.yaml"
    yaml = YAML()
    data = yaml.load(pfile.read_text())
    cities = data.setdefault("cities", {})
    if name in cities and not force:
        raise ConfigError(f"city {name!r} already exists in {pfile}: pick another name or pass --force")
    entry: dict = {"source": source}
    if path:
        entry["path"] = path
    if filters:
        entry["filter"] = filters
    if limit:
        entry["limit"] = limit
    if bbox:
        entry["bbox"] = list(bbox)
    if survey:
        entry["survey"] = survey
    cities[name] = entry
    buf = io.StringIO()
    yaml.dump(data, buf)
    parse_params(
        YAML(typ="safe").load(buf.getvalue()), f"{pfile} (with city {name!r})"
    )  # fail before writing
    with atomic_path(pfile) as tmp:
        tmp.write_text(buf.getvalue())
    return entry


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the root app."""
    cities = typer.Typer(help="Cities (SVI sources) in params.yaml.", no_args_is_help=True)
    app.add_typer(cities, name="cities")

    @cities.command("add")
    def cities_add(
        name: Annotated[str, typer.Argument(help="City name (lower-case letters, digits, '_', '-').")],
        source: Annotated[str, typer.Option("--source", help=f"One of: {', '.join(SOURCES)}.")],
        path: Annotated[
            str | None,
            typer.Option("--path", help="Source folder; ${PERCEPTOPS_SHARED} is expanded at run time."),
        ] = None,
        filters: Annotated[
            list[str] | None,
            typer.Option("--filter", help="KEY=VALUE on placepulse1 scores.csv (repeatable)."),
        ] = None,
        limit: Annotated[
            int, typer.Option("--limit", min=0, help="Keep the first N images by sorted id.")
        ] = 0,
        bbox: Annotated[
            tuple[float, float, float, float] | None,
            typer.Option("--bbox", help="LAT_MIN LON_MIN LAT_MAX LON_MAX: images outside are quarantined."),
        ] = None,
        survey: Annotated[
            str | None, typer.Option("--survey", help="Individual-level survey file (CSV or parquet).")
        ] = None,
        force: Annotated[
            bool, typer.Option("--force", help="Replace an existing city of that name.")
        ] = False,
    ) -> None:
        """Add a city to params.yaml; `dvc repro` then ingests and validates it (ingest@NAME, validate@NAME)."""
        entry = add_city(name, source, path, _parse_filters(filters or []), limit, bbox, survey, force)
        typer.echo(f"added city {name!r}: {json.dumps(entry)}; next: dvc repro validate@{name}")

    @cities.command("list")
    def cities_list(
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """List the cities of params.yaml with their source and what ingest/validate produced."""
        from perceptops.config import load_params
        from perceptops.paths import Layout
        from perceptops.utils import read_json

        params, lay = load_params(), Layout()
        rows = []
        for name, cp in params.cities.items():
            m = lay.metrics(f"validate/{name}")
            met = read_json(m) if m.is_file() else None
            rows.append(
                {
                    "name": name,
                    "source": cp.source,
                    "path": cp.path,
                    "limit": cp.limit,
                    "filter": dict(cp.filter),
                    "ingested": lay.manifest(name).is_file(),
                    "valid": met.get("valid") if met else None,
                    "quarantined": met.get("quarantined") if met else None,
                }
            )
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        t = Table("city", "source", "path", "limit", "filter", "valid", "quarantined")
        for r in rows:
            t.add_row(
                r["name"],
                r["source"],
                r["path"] or "(generated)",
                str(r["limit"] or "all"),
                json.dumps(r["filter"]) if r["filter"] else "",
                str(r["valid"] if r["valid"] is not None else "-"),
                str(r["quarantined"] if r["quarantined"] is not None else "-"),
            )
        Console().print(t)

    @app.command("ingest")
    def ingest_cmd(
        city: Annotated[str, typer.Option("--city", help="City name from params.yaml `cities`.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """List a city's source and write data/<city>/ingest/manifest.parquet (image id = sha256)."""
        from perceptops.config import load_params
        from perceptops.data.ingest import ingest_city, main
        from perceptops.paths import Layout

        if as_json:
            with contextlib.redirect_stdout(sys.stderr):  # progress bars to stderr: stdout is the JSON
                out = ingest_city(load_params(), Layout(), city)
            typer.echo(json.dumps(out, indent=2, sort_keys=True))
        else:
            main(city)

    @app.command("validate")
    def validate_cmd(
        city: Annotated[str, typer.Option("--city", help="City name from params.yaml `cities`.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Validate a city's manifest and images (GX + per-image checks) into valid/ and quarantine.csv."""
        from perceptops.config import load_params
        from perceptops.data.validate import main, validate_city
        from perceptops.paths import Layout

        if as_json:
            import time

            from perceptops.errors import DataError
            from perceptops.utils import read_json

            lay, start = Layout(), time.time()
            try:
                with contextlib.redirect_stdout(sys.stderr):  # progress bars to stderr: stdout is the JSON
                    out = validate_city(load_params(), lay, city)
            except DataError:  # over max_bad_share: the metrics are written; print them, then fail
                mfile = lay.metrics(f"validate/{city}")
                if mfile.is_file() and mfile.stat().st_mtime >= start - 1:  # written by this run, not stale
                    typer.echo(
                        json.dumps(read_json(lay.metrics(f"validate/{city}")), indent=2, sort_keys=True)
                    )
                raise
            typer.echo(json.dumps(out, indent=2, sort_keys=True))
        else:
            main(city)

    @app.command("survey")
    def survey_cmd(
        city: Annotated[str, typer.Option("--city", help="City name from params.yaml `cities`.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Build the individual-level votes of a city and its Q-scores per group x scenario."""
        from perceptops.config import load_params
        from perceptops.data.survey import main, survey_city
        from perceptops.paths import Layout

        if as_json:
            with contextlib.redirect_stdout(sys.stderr):  # progress bars to stderr: stdout is the JSON
                out = survey_city(load_params(), Layout(), city)
            typer.echo(json.dumps(out, indent=2, sort_keys=True))
        else:
            main(city)
