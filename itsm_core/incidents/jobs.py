"""Background work on incidents, run through the same lifecycle as the API."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM, Actor
from itsm_core.errors import InvalidTransition
from itsm_core.incidents import lifecycle
from itsm_core.incidents.choices import IncidentState
from itsm_core.incidents.models import Incident
from itsm_core.timeutil import utcnow


def close_resolved(
    session: Session,
    after: timedelta,
    *,
    now: datetime | None = None,
    actor: Actor = SYSTEM,
    limit: int = 500,
) -> list[int]:
    """Close incidents resolved longer than ``after`` ago; return their ids.

    Driven by ``[incidents] auto_close_after_hours``. Idempotent: a second run finds
    nothing left to close. A major incident with a reopened child stays resolved (the
    close rule refuses it) and is retried on the next run.
    """
    cutoff = (now or utcnow()) - after
    due = session.scalars(
        select(Incident)
        .where(Incident.state == IncidentState.RESOLVED, Incident.resolved_at <= cutoff)
        .order_by(Incident.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    closed = []
    for incident in due:
        try:
            with session.begin_nested():
                lifecycle.transition(
                    session,
                    actor,
                    incident,
                    IncidentState.CLOSED,
                    reason=f"closed automatically {after} after resolution",
                )
        except InvalidTransition:
            continue
        closed.append(incident.id)
    return closed
