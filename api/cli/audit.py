"""``fulcrum audit verify``: check the audit log's hash chain."""

from __future__ import annotations

import typer

from api.cli.context import context
from itsm_core.audit import verify_chain

app = typer.Typer(help="The audit log.", no_args_is_help=True)


@app.command()
def verify(ctx: typer.Context) -> None:
    """Recompute the chain; exit 1 and name the first bad entry if it was tampered with."""
    with context(ctx).sessions() as session:
        report = verify_chain(session)
    if report.ok:
        typer.echo(f"audit chain intact: {report.entries} entries")
        return
    typer.echo(f"audit chain BROKEN at entry {report.first_bad_id}: {report.problem}", err=True)
    raise typer.Exit(1)
