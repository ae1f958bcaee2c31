"""``fulcrum cmdb import FILE`` / ``fulcrum cmdb export``: bulk load or dump the CMDB."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.context import context
from itsm_core.actor import SYSTEM
from itsm_core.cmdb.bulk import export_estate, import_estate
from itsm_core.cmdb.choices import BulkFormat
from itsm_core.db import unit_of_work
from itsm_core.errors import FulcrumError

app = typer.Typer(help="The CMDB: bulk import and export.", no_args_is_help=True)

_SUFFIXES = {".csv": BulkFormat.CSV, ".yaml": BulkFormat.YAML, ".yml": BulkFormat.YAML}


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A .csv or .yaml file.")
    ],
    fmt: Annotated[
        BulkFormat | None,
        typer.Option("--format", help="csv or yaml (default: from the file's suffix)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count; keep nothing.")
    ] = False,
) -> None:
    """Load CIs and relationships, all or nothing; errors name the file's row and field."""
    fmt = fmt or _SUFFIXES.get(file.suffix.lower())
    if fmt is None:
        typer.echo(f"cannot tell the format of {file.name}: give --format csv|yaml", err=True)
        raise typer.Exit(2)
    cli = context(ctx)
    try:
        with unit_of_work(cli.sessions) as session:
            report = import_estate(session, SYSTEM, file.read_bytes(), fmt, dry_run=dry_run)
    except FulcrumError as exc:
        typer.echo(f"{file}: {exc.detail}", err=True)
        for key, messages in exc.errors.items():
            for message in messages:
                typer.echo(f"  {key}: {message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        cli.engine.dispose()
    prefix = "dry run, nothing kept: " if report.dry_run else ""
    typer.echo(
        f"{prefix}{report.created} CI(s) created, {report.updated} updated, "
        f"{report.unchanged} unchanged; {report.relationships_created} relationship(s) "
        f"created, {report.relationships_unchanged} already there"
    )


@app.command("export")
def export_command(
    ctx: typer.Context,
    fmt: Annotated[BulkFormat, typer.Option("--format", help="yaml or csv.")] = BulkFormat.YAML,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Default: stdout.")
    ] = None,
    include_retired: Annotated[
        bool, typer.Option("--include-retired", help="Retired CIs too.")
    ] = False,
) -> None:
    """Write the CMDB in the format `fulcrum cmdb import` reads."""
    cli = context(ctx)
    try:
        with cli.sessions() as session:
            text = export_estate(session, fmt, include_retired=include_retired)
    finally:
        cli.engine.dispose()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
