"""The SLA background job: warnings and breaches of running clocks, each recorded once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.incidents.models import Incident
from itsm_core.sla.choices import ACTIVE_STATES, SlaState
from itsm_core.sla.clock import DEFAULT_WARNING_SHARE
from itsm_core.sla.models import IncidentSla
from itsm_core.sla.records import mark_breached, mark_warned, sync_incident
from itsm_core.timeutil import utcnow

BATCH = 1000
"""Records handled per kind and run; the rest wait for the next run."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What one run did."""

    warnings: int = 0
    breaches: int = 0
    resynced: int = 0


def evaluate(
    session: Session,
    now: datetime | None = None,
    *,
    warning_share: float = DEFAULT_WARNING_SHARE,
    batch: int = BATCH,
) -> Evaluation:
    """Issue due warnings and record due breaches of running SLA clocks.

    Driven by ``[sla] warning_share`` (``FULCRUM_SLA_WARNING_SHARE``, default 0.75): the
    share of a target after which a clock is at risk. Clocks computed with another share
    (the setting changed, or a record was synced without it) are re-derived with this one
    first.

    A running clock gets its warning once ``now >= warning_at`` and its breach once
    ``now >= due_at`` (a clock found overdue gets the breach only). Each is recorded once
    — as an ``sla_events`` row, an audit entry by the system actor and a line on the
    incident's timeline — because the record's state and ``warned_at`` change with it:
    running the job again finds nothing more to do. Rows are locked (``SKIP LOCKED`` on
    PostgreSQL), so overlapping runs do not record anything twice.
    """
    now = now or utcnow()
    resynced = _apply_share(session, now, warning_share, batch)
    breaches = 0
    overdue = session.scalars(
        select(IncidentSla)
        .where(IncidentSla.state == SlaState.RUNNING, IncidentSla.due_at <= now)
        .order_by(IncidentSla.due_at, IncidentSla.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    for record in overdue:
        mark_breached(session, record, now)
        breaches += 1
    warnings = 0
    at_risk = session.scalars(
        select(IncidentSla)
        .where(
            IncidentSla.state == SlaState.RUNNING,
            IncidentSla.warned_at.is_(None),
            IncidentSla.warning_at <= now,
        )
        .order_by(IncidentSla.warning_at, IncidentSla.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    for record in at_risk:
        mark_warned(session, record, now)
        warnings += 1
    return Evaluation(warnings=warnings, breaches=breaches, resynced=resynced)


def _apply_share(session: Session, now: datetime, share: float, batch: int) -> int:
    stale = (
        select(Incident)
        .where(
            Incident.id.in_(
                select(IncidentSla.incident_id).where(
                    IncidentSla.state.in_(ACTIVE_STATES), IncidentSla.warning_share != share
                )
            )
        )
        .order_by(Incident.id)
        .limit(batch)
    )
    incidents = session.scalars(stale).all()
    for incident in incidents:
        sync_incident(session, incident, now, warning_share=share)
    return len(incidents)
