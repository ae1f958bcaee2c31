"""``fulcrum poll``: Poll one target once and print its canonical samples (troubleshooting)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Poll one target once and print its canonical samples (troubleshooting).",
    no_args_is_help=True,
)
