"""``fulcrum demo``: the county network of seed 000 on SQLite, served on :8000."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from api.app import create_app
from api.cli.context import context
from api.demo.seed import DEMO_TOKENS, seed_demo
from itsm_core import migrate
from itsm_core.actor import SYSTEM
from itsm_core.db import make_engine, make_session_factory, unit_of_work
from itsm_core.people import service as people
from itsm_core.settings import DatabaseSettings

DEFAULT_DATABASE = "sqlite:///./fulcrum-demo.db"


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        ctx: typer.Context,
        database: Annotated[
            str, typer.Option(help="Where the demo lives (SQLite by default).")
        ] = DEFAULT_DATABASE,
        host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port.")] = 8000,
        serve: Annotated[bool, typer.Option(help="Serve the API after seeding.")] = True,
    ) -> None:
        """Migrate, seed the demo estate (idempotent), print tokens, serve the API."""
        settings = context(ctx).settings
        settings.database = DatabaseSettings(url=database)
        engine = make_engine(settings.database)
        migrate.upgrade(engine)
        sessions = make_session_factory(engine)
        with unit_of_work(sessions) as session:
            summary = seed_demo(session)
        typer.echo(summary)
        typer.echo("\nAPI tokens for the demo people (new ones each start):")
        with unit_of_work(sessions) as session:
            for username, role in DEMO_TOKENS:
                user = people.find_user(session, username)
                assert user is not None
                issued = people.create_token(session, SYSTEM, user, role, name="demo")
                typer.echo(f"  {username:<10} {role:<16} {issued.secret}")
        if not serve:
            return
        typer.echo(f"\nServing http://{host}:{port}/docs — Ctrl-C to stop.")
        uvicorn.run(create_app(settings, engine), host=host, port=port, log_level="info")
