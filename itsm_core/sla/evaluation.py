"""The SLA background job: warnings and breaches of running clocks, each recorded once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select, text
from sqlalchemy.orm import Session

from itsm_core.audit.log import _PG_LOCK_KEY as AUDIT_CHAIN_LOCK
from itsm_core.incidents.models import Incident
from itsm_core.sla.choices import ACTIVE_STATES, SlaState
from itsm_core.sla.clock import DEFAULT_WARNING_SHARE
from itsm_core.sla.models import IncidentSla
from itsm_core.sla.records import mark_breached, mark_warned, sync_incident
from itsm_core.timeutil import utcnow

BATCH = 500
"""Incidents handled per run; the rest wait for the next run."""


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
    running the job again finds nothing more to do.
    """
    now = now or utcnow()
    wanted = list(session.scalars(_work(now, warning_share).limit(batch)))
    if not wanted:
        return Evaluation()
    _queue_behind_audit_writers(session)
    # An incident someone is changing right now is skipped; its own sync settles it.
    incidents = session.scalars(
        select(Incident)
        .where(Incident.id.in_(wanted))
        .order_by(Incident.id)
        .with_for_update(skip_locked=True)
    ).all()
    warnings = breaches = resynced = 0
    for incident in incidents:
        records = session.scalars(
            select(IncidentSla)
            .where(IncidentSla.incident_id == incident.id)
            .order_by(IncidentSla.id)
            .with_for_update()
        ).all()
        before = {record.id: (record.state, record.warned_at) for record in records}
        if any(r.state in ACTIVE_STATES and r.warning_share != warning_share for r in records):
            sync_incident(session, incident, now, warning_share=warning_share)
            resynced += 1
        for record in records:
            _settle(session, record, now)
            state, warned_at = before[record.id]
            breaches += state is not SlaState.BREACHED and record.state is SlaState.BREACHED
            warnings += warned_at is None and record.warned_at is not None
    return Evaluation(warnings=warnings, breaches=breaches, resynced=resynced)


def _work(now: datetime, share: float) -> Select[int]:
    """The ids of incidents with a clock that needs the job."""
    running = IncidentSla.state == SlaState.RUNNING
    return (
        select(IncidentSla.incident_id)
        .where(
            or_(
                and_(running, IncidentSla.due_at <= now),
                and_(running, IncidentSla.warned_at.is_(None), IncidentSla.warning_at <= now),
                and_(IncidentSla.state.in_(ACTIVE_STATES), IncidentSla.warning_share != share),
            )
        )
        .distinct()
        .order_by(IncidentSla.incident_id)
    )


def _settle(session: Session, record: IncidentSla, now: datetime) -> None:
    if record.state is not SlaState.RUNNING:
        return
    if record.due_at is not None and now >= record.due_at:
        mark_breached(session, record, now)
    elif record.warned_at is None and record.warning_at is not None and now >= record.warning_at:
        mark_warned(session, record, now)


def _queue_behind_audit_writers(session: Session) -> None:
    """Take the audit chain's lock before any row lock (PostgreSQL).

    Every incident change locks its incident, then the audit chain (its audit entry),
    then its SLA records (``sync_incident``). The job writes audit entries too; holding
    incident or record locks while waiting for the chain could deadlock with such a
    change, so the job waits for the chain first and then skips locked incidents.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK})
