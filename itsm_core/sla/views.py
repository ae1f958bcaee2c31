"""Reading an incident's SLA: its records with business time used and left, its events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.errors import NotFound
from itsm_core.incidents.models import Incident, format_number
from itsm_core.sla.calendar_cache import business_calendar
from itsm_core.sla.clock import business_elapsed
from itsm_core.sla.facts import facts_of
from itsm_core.sla.models import IncidentSla, SlaCalendar, SlaEvent, SlaPolicy
from itsm_core.timeutil import utcnow

MAX_EVENTS = 500


@dataclass(frozen=True, slots=True)
class RecordView:
    """A record and the business time it has used (until ``now`` or its stop) and left."""

    record: IncidentSla
    elapsed: timedelta
    remaining: timedelta
    """``target - elapsed``; negative once overdue."""
    due_local: datetime | None


@dataclass(frozen=True, slots=True)
class IncidentSlaView:
    incident_id: int
    policy: SlaPolicy | None
    timezone: str | None
    records: list[RecordView]
    events: list[SlaEvent]


def incident_sla(
    session: Session, incident_id: int, now: datetime | None = None
) -> IncidentSlaView:
    """The SLA clocks of one incident as of ``now`` (as stored by the last sync)."""
    now = now or utcnow()
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(
            f"incident {format_number(incident_id)} does not exist",
            errors={"id": [f"no incident {incident_id}"]},
        )
    records = list(
        session.scalars(
            select(IncidentSla)
            .where(IncidentSla.incident_id == incident_id)
            .order_by(IncidentSla.id)
        )
    )
    events = list(
        session.scalars(
            select(SlaEvent)
            .where(SlaEvent.incident_id == incident_id)
            .order_by(SlaEvent.id)
            .limit(MAX_EVENTS)
        )
    )
    if not records:
        return IncidentSlaView(incident_id, None, None, [], events)
    facts = facts_of(session, incident, now)
    views = []
    timezone = None
    for record in records:
        calendar = business_calendar(session.get_one(SlaCalendar, record.calendar_id))
        timezone = calendar.definition.timezone
        stop = facts.stop(record.metric)
        until = max(stop.at if stop is not None else now, record.started_at)
        elapsed = business_elapsed(record.started_at, until, calendar, facts.pauses_until(stop))
        due_local = record.due_at.astimezone(calendar.zone) if record.due_at else None
        remaining = timedelta(minutes=record.target_minutes) - elapsed
        views.append(RecordView(record, elapsed, remaining, due_local))
    policy = session.get(SlaPolicy, records[-1].policy_id)
    return IncidentSlaView(incident_id, policy, timezone, views, events)
