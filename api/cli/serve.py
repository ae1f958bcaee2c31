"""``fulcrum serve``: the API and the background jobs (``api.jobs``) in one process."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from api.app import create_app
from api.cli.context import context
from itsm_core import migrate


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[
            str | None, typer.Option(help="Bind address (default from settings).")
        ] = None,
        port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    ) -> None:
        """Serve the API against the configured database (run `fulcrum db upgrade` first)."""
        cli = context(ctx)
        if not migrate.is_up_to_date(cli.engine):
            typer.echo("the database schema is not current: run `fulcrum db upgrade`", err=True)
            raise typer.Exit(2)
        api = create_app(cli.settings, cli.engine, background=True)
        uvicorn.run(
            api,
            host=host or cli.settings.api.host,
            port=port or cli.settings.api.port,
            log_level="info",
        )
