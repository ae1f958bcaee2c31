"""``fulcrum incidents close-resolved``: the auto-close job, run once."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from api.cli.context import context
from itsm_core.db import unit_of_work
from itsm_core.incidents.jobs import close_resolved
from itsm_core.incidents.models import format_number

app = typer.Typer(help="Incidents.", no_args_is_help=True)


@app.command("close-resolved")
def close_resolved_command(
    ctx: typer.Context,
    hours: Annotated[
        int | None,
        typer.Option(min=1, help="Resolved at least this long ago (default: the setting)."),
    ] = None,
) -> None:
    """Close incidents resolved longer ago than ``[incidents] auto_close_after_hours``."""
    cli = context(ctx)
    after = timedelta(hours=hours or cli.settings.incidents.auto_close_after_hours)
    try:
        with unit_of_work(cli.sessions) as session:
            closed = close_resolved(session, after)
    finally:
        # Hand the pooled connections back now rather than at interpreter exit.
        cli.engine.dispose()
    lines = [f"closed {len(closed)} incident(s)", *(f"  {format_number(i)}" for i in closed)]
    typer.echo("\n".join(lines))
