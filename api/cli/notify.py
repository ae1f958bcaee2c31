"""``fulcrum notify``: Notifications and escalations: test a channel, run due escalations."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Notifications and escalations: test a channel, run due escalations.", no_args_is_help=True
)
