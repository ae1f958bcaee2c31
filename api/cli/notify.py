"""``fulcrum notify``: Notifications and escalations: test a channel, run due escalations."""

from __future__ import annotations

from typing import Annotated

import typer

from alerting.escalation.evaluation import evaluate_escalations
from alerting.notifications import channels
from alerting.notifications.choices import DeliveryStatus
from alerting.notifications.deliveries import get_delivery
from alerting.notifications.dispatcher import dispatch_notifications
from api.cli.context import context
from itsm_core.actor import SYSTEM
from itsm_core.db import unit_of_work
from itsm_core.timeutil import utcnow

app = typer.Typer(
    help="Notifications and escalations: test a channel, run due escalations.", no_args_is_help=True
)


@app.command()
def test(
    ctx: typer.Context,
    channel: Annotated[str, typer.Argument(help="The channel's id or name.")],
) -> None:
    """Send a test message to CHANNEL now and say whether it arrived."""
    cli = context(ctx)
    try:
        with unit_of_work(cli.sessions) as session:
            found = channels.find_channel(session, channel)
            if found is None:
                typer.echo(f"no notification channel {channel!r}", err=True)
                raise typer.Exit(1)
            delivery_id = channels.request_test(session, SYSTEM, found, utcnow()).id
        dispatch_notifications(cli.sessions, cli.settings, only=[delivery_id])
        with cli.sessions() as session:
            delivery = get_delivery(session, delivery_id)
            state, error = delivery.status, delivery.last_error
    finally:
        cli.engine.dispose()
    if state != DeliveryStatus.SENT:
        typer.echo(f"test message {delivery_id} not delivered ({state}): {error}", err=True)
        raise typer.Exit(1)
    typer.echo(f"test message {delivery_id} delivered to {channel}")


@app.command()
def dispatch(ctx: typer.Context) -> None:
    """Send the notifications due now, once (what the background job does)."""
    cli = context(ctx)
    try:
        sent = dispatch_notifications(cli.sessions, cli.settings, utcnow())
    finally:
        cli.engine.dispose()
    typer.echo(f"sent: {sent}")


@app.command()
def escalate(ctx: typer.Context) -> None:
    """Fire the escalation steps due now, once (what the background job does)."""
    cli = context(ctx)
    try:
        with unit_of_work(cli.sessions) as session:
            fired = evaluate_escalations(session, cli.settings, utcnow())
            lines = [
                f"{f.incident_number}: {f.level.value} after {f.after_minutes} min "
                f"({f.notifications} notification(s) queued)"
                for f in fired
            ]
    finally:
        cli.engine.dispose()
    for line in lines:
        typer.echo(line)
    typer.echo(f"escalated: {len(lines)}")
