"""``fulcrum db``: schema migrations."""

from __future__ import annotations

import typer

from api.cli.context import context
from itsm_core import migrate

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Bring the configured database to the newest schema (the only DDL Fulcrum runs)."""
    cli = context(ctx)
    migrate.upgrade(cli.engine)
    typer.echo(
        f"{cli.settings.database.display_url()} is at {migrate.current_revision(cli.engine)}"
    )


@app.command()
def current(ctx: typer.Context) -> None:
    """Print the schema revision of the configured database."""
    cli = context(ctx)
    typer.echo(f"current: {migrate.current_revision(cli.engine)}")
    typer.echo(f"head:    {migrate.head_revision(cli.engine)}")
