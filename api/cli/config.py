"""``fulcrum config show``: the effective settings, secrets masked."""

from __future__ import annotations

import json

import typer

from api.cli.context import context

app = typer.Typer(help="Configuration.", no_args_is_help=True)


@app.command()
def show(ctx: typer.Context) -> None:
    """Print the effective configuration (environment over file over defaults)."""
    typer.echo(json.dumps(context(ctx).settings.describe(), indent=2, ensure_ascii=False))
