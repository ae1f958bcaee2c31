"""``fulcrum sla``: run the SLA job, load an official holiday notice into a calendar.

A notice file is YAML in the shape of ``OfficialNotice``::

    year: 2027
    title: 国务院办公厅关于2027年部分节假日安排的通知
    holidays:
      2027-10-01: 国庆节
      2027-10-02: 国庆节
    workdays:
      2027-09-26: 国庆节调休
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError

from api.cli.context import context
from itsm_core.actor import SYSTEM
from itsm_core.db import unit_of_work
from itsm_core.errors import FulcrumError
from itsm_core.sla import service as sla
from itsm_core.sla.definition import OfficialNotice

app = typer.Typer(help="SLA clocks and business calendars.", no_args_is_help=True)
notice_app = typer.Typer(help="Official holiday notices (节假日安排通知).", no_args_is_help=True)
app.add_typer(notice_app, name="notice")


@app.command()
def evaluate(ctx: typer.Context) -> None:
    """Record due SLA warnings and breaches now (what the background job does)."""
    cli = context(ctx)
    try:
        with unit_of_work(cli.sessions) as session:
            run = sla.evaluate(session, warning_share=cli.settings.sla.warning_share)
    finally:
        cli.engine.dispose()
    typer.echo(f"warnings: {run.warnings}, breaches: {run.breaches}, resynced: {run.resynced}")


@notice_app.command("load")
def load_notice(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The notice as YAML.")],
    calendar: Annotated[str, typer.Option("--calendar", help="The calendar's name.")],
) -> None:
    """Load the official notice of a year (holidays and make-up working days)."""
    try:
        notice = OfficialNotice.model_validate(yaml.safe_load(file.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError, UnicodeDecodeError) as exc:
        typer.echo(f"{file}: not a valid notice: {exc}", err=True)
        raise typer.Exit(2) from exc
    cli = context(ctx)
    try:
        with unit_of_work(cli.sessions) as session:
            found = sla.find_calendar(session, calendar)
            if found is None:
                typer.echo(f"no business calendar named {calendar!r}", err=True)
                raise typer.Exit(1)
            loaded = sla.load_official_notice(session, SYSTEM, found.id, notice)
            version = loaded.version
    except FulcrumError as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    finally:
        # Return the connections now: a command is the whole life of this engine.
        cli.engine.dispose()
    typer.echo(
        f"loaded the {notice.year} notice into {calendar!r} "
        f"({len(notice.holidays)} holidays, {len(notice.workdays)} make-up days); "
        f"now version {version}"
    )
