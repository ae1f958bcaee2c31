"""Re-deriving the SLA records of open incidents after a policy or calendar change.

Only incidents still open (new, assigned, in progress, pending) are re-derived: a
resolved, closed or cancelled incident keeps the outcome it had under the rules of its
time. (A resolved incident that is reopened is synced then, under the current rules.)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from itsm_core.incidents.choices import OPEN_STATES, Priority
from itsm_core.incidents.models import Incident
from itsm_core.sla.models import IncidentSla
from itsm_core.sla.records import sync_incident


def resync(session: Session, incidents: Select[Incident], now: datetime) -> int:
    """Sync every incident ``incidents`` selects (in id order); return how many."""
    count = 0
    for incident in session.scalars(incidents.order_by(Incident.id)):
        sync_incident(session, incident, now)
        count += 1
    return count


def open_incidents() -> Select[Incident]:
    """Incidents someone still has to work on."""
    return select(Incident).where(Incident.state.in_(OPEN_STATES))


def resync_priorities(session: Session, priorities: Iterable[Priority], now: datetime) -> int:
    """After a policy change: the open incidents whose priority it concerns."""
    wanted = sorted(set(priorities))
    return resync(session, open_incidents().where(Incident.priority.in_(wanted)), now)


def resync_calendar(session: Session, calendar_id: int, now: datetime) -> int:
    """After a calendar change: the open incidents with a clock on that calendar."""
    on_calendar = select(IncidentSla.incident_id).where(IncidentSla.calendar_id == calendar_id)
    return resync(session, open_incidents().where(Incident.id.in_(on_calendar)), now)
