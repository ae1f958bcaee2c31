"""``fulcrum alerts``: Alerts: list, replay, dead-man status."""

from __future__ import annotations

import typer

app = typer.Typer(help="Alerts: list, replay, dead-man status.", no_args_is_help=True)
