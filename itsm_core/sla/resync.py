"""Re-deriving the SLA records of open incidents after a policy or calendar change.

Only incidents still open (new, assigned, in progress, pending) are re-derived: a
resolved, closed or cancelled incident keeps the outcome it had under the rules of its
time. (A resolved incident that is reopened is synced then, under the current rules.)

Callers lock the incidents first (``lock_*``), then write their own audit entry, then
``resync``: the same order as an incident change (incident, audit chain, SLA records),
so a policy or calendar change and an incident change never wait on each other in a
circle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from itsm_core.incidents.choices import OPEN_STATES, Priority
from itsm_core.incidents.models import Incident
from itsm_core.sla.models import IncidentSla
from itsm_core.sla.records import sync_incident


def _open_incidents() -> Select[Incident]:
    return select(Incident).where(Incident.state.in_(OPEN_STATES))


def _lock(session: Session, incidents: Select[Incident]) -> list[Incident]:
    return list(session.scalars(incidents.order_by(Incident.id).with_for_update()))


def lock_for_priorities(session: Session, priorities: Iterable[Priority]) -> list[Incident]:
    """The open incidents a policy change for ``priorities`` concerns, locked."""
    wanted = sorted(set(priorities))
    return _lock(session, _open_incidents().where(Incident.priority.in_(wanted)))


def lock_for_calendar(session: Session, calendar_id: int) -> list[Incident]:
    """The open incidents with a clock on the calendar, locked."""
    on_calendar = select(IncidentSla.incident_id).where(IncidentSla.calendar_id == calendar_id)
    return _lock(session, _open_incidents().where(Incident.id.in_(on_calendar)))


def resync(session: Session, incidents: Sequence[Incident], now: datetime) -> int:
    """Sync each of ``incidents``; return how many."""
    for incident in incidents:
        sync_incident(session, incident, now)
    return len(incidents)
