"""The ``fulcrum`` command line: ``fulcrum --help`` lists the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli import (
    alerts,
    audit,
    cmdb,
    config,
    db,
    demo,
    incidents,
    notify,
    poll,
    routing,
    serve,
    sla,
    tokens,
)
from api.cli.context import CliContext

app = typer.Typer(
    name="fulcrum",
    help="Fulcrum: monitoring-integrated AIOps and ITSM for hospital IT departments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", exists=True, dir_okay=False, help="A TOML configuration file."),
    ] = None,
) -> None:
    ctx.obj = CliContext(config_file)
    ctx.call_on_close(ctx.obj.close)


app.add_typer(db.app, name="db")
app.add_typer(tokens.app, name="token")
app.add_typer(audit.app, name="audit")
app.add_typer(config.app, name="config")
app.add_typer(cmdb.app, name="cmdb")
app.add_typer(sla.app, name="sla")
app.add_typer(incidents.app, name="incidents")
app.add_typer(alerts.app, name="alerts")
app.add_typer(notify.app, name="notify")
app.add_typer(poll.app, name="poll")
app.add_typer(routing.app, name="routing")
serve.register(app)
demo.register(app)


def main() -> None:
    app()
