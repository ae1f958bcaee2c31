"""``fulcrum alerts``: list alerts, replay a webhook payload, show or run the dead-man check.

``replay`` feeds a saved webhook body (Alertmanager's or the generic shape) through the
same pipeline as the API, as the ``fulcrum`` system user: handy to try routing rules or
to re-deliver what a broken receiver missed (a repeated delivery creates nothing).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy import select

from alerting import deadman, intake, queries
from alerting.adapters.alertmanager import AlertmanagerPayload
from alerting.adapters.generic import GenericPayload
from alerting.canonical import AlertSourceKind, AlertStatus
from alerting.intake_models import Alert
from alerting.jobs import run_deadman_check
from alerting.schemas import AlertQuery
from api.cli.context import context
from itsm_core.db import unit_of_work
from itsm_core.errors import FulcrumError
from itsm_core.incidents.models import format_number
from itsm_core.timeutil import utcnow

app = typer.Typer(help="Alerts: list, replay, dead-man status.", no_args_is_help=True)


class PayloadKind(StrEnum):
    ALERTMANAGER = "alertmanager"
    GENERIC = "generic"


@app.command("list")
def list_alerts(
    ctx: typer.Context,
    status: Annotated[AlertStatus | None, typer.Option(help="firing or resolved.")] = None,
    ci: Annotated[
        int | None, typer.Option("--ci", min=1, help="Only alerts of this CI id.")
    ] = None,
    unbound: Annotated[bool, typer.Option(help="Only alerts bound to no CI.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
) -> None:
    """The newest alerts: id, status, severity, name, CI, incident, occurrences."""
    cli = context(ctx)
    filters = AlertQuery(status=status, ci_id=ci, unbound=True if unbound else None)
    try:
        with cli.sessions() as session:
            stmt = queries.alert_query(filters).order_by(Alert.id.desc()).limit(limit)
            rows = list(session.scalars(stmt))
            lines = [
                f"{a.id:>6}  {a.status:<8} {a.severity:<8} {a.name[:40]:<40} "
                f"ci={a.ci_id or '-':<6} "
                f"{format_number(a.incident_id) if a.incident_id else '-':<10} "
                f"x{a.occurrence_count}"
                + (" flapping" if a.flapping else "")
                + (f" suppressed: {a.suppressed_reason}" if a.suppressed_reason else "")
                for a in rows
            ]
    finally:
        cli.engine.dispose()
    typer.echo("\n".join(lines) if lines else "no alerts")


@app.command()
def replay(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A webhook body.")],
    kind: Annotated[PayloadKind, typer.Option("--kind", help="The payload's shape.")] = (
        PayloadKind.ALERTMANAGER
    ),
) -> None:
    """Run a saved webhook body through the pipeline, as the API would."""
    text = file.read_text(encoding="utf-8")
    try:
        if kind == PayloadKind.ALERTMANAGER:
            am = AlertmanagerPayload.model_validate_json(text)
            source, digest, alerts = AlertSourceKind.ALERTMANAGER, am.digest(), am.to_canonical()
        else:
            gen = GenericPayload.model_validate_json(text)
            source, digest = AlertSourceKind.GENERIC, gen.digest()
            alerts = gen.to_canonical(utcnow())
    except ValidationError as exc:
        typer.echo(f"{file}: not a valid {kind} payload: {exc}", err=True)
        raise typer.Exit(2) from exc
    cli = context(ctx)
    try:
        with unit_of_work(cli.sessions) as session:
            result = intake.receive(
                session, source, digest, alerts, received_by="cli", settings=cli.settings
            )
    except FulcrumError as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    finally:
        cli.engine.dispose()
    typer.echo(json.dumps(result.__dict__, sort_keys=True))


@app.command("deadman")
def deadman_command(
    ctx: typer.Context,
    check: Annotated[
        bool, typer.Option("--check", help="Run the check now (what the background job does).")
    ] = False,
) -> None:
    """The Watchdog heartbeat: last seen, and the pipeline incident if one is open."""
    cli = context(ctx)
    try:
        if check:
            opened = run_deadman_check(cli.sessions, cli.settings, utcnow())
            typer.echo("opened an incident about the alert pipeline" if opened else "checked")
        with cli.sessions() as session:
            found = deadman.status(session, cli.settings, utcnow())
            # Touch the table so a missing migration fails here, not silently.
            session.execute(select(Alert.id).limit(1))
    finally:
        cli.engine.dispose()
    last = found.last_heartbeat_at.isoformat() if found.last_heartbeat_at else "never"
    lines = [
        f"{found.name}: {found.state} (expected every {found.interval_minutes} min)",
        f"last heartbeat: {last} ({found.heartbeat_count} received)",
    ]
    if found.incident_number:
        lines.append(f"incident: {found.incident_number} ({found.incident_state})")
    typer.echo("\n".join(lines))
