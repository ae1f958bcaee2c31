"""The escalation job: fire every due step exactly once.

Driven by the escalation policies (``/api/v1/escalation-policies``) and ``[escalation]``
(``FULCRUM_ESCALATION_ENABLED``, ``…_MANAGEMENT_GROUP``, ``…_BATCH_SIZE``). Run it every
minute or so (``fulcrum notify escalate`` runs it once); a late run fires what became
due meanwhile, in order.

Exactly once, across restarts and concurrent workers: due times live in
``incident_escalations``; a step is claimed by ``UPDATE … SET fired_at = now WHERE id = …
AND fired_at IS NULL AND cancelled_at IS NULL`` and its effects (timeline, audit,
responsible field, queued notifications) are written in the same transaction as the
claim — they commit together or not at all, and a second claimant's update matches no
row. On PostgreSQL runs are also serialised by an advisory lock, so two workers never
plan the same steps at once; on SQLite the write lock taken by ``BEGIN IMMEDIATE`` does
that.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, text, update
from sqlalchemy.orm import Session

from alerting.escalation import planner
from alerting.escalation.firing import FiredEscalation, fire
from alerting.escalation.models import IncidentEscalation
from alerting.escalation.policies import policies_in_force
from alerting.escalation.settings import EscalationSettings
from itsm_core.audit.log import _PG_LOCK_KEY as AUDIT_CHAIN_LOCK
from itsm_core.incidents.models import Incident
from itsm_core.settings import Settings
from itsm_core.timeutil import utcnow

E = IncidentEscalation
ESCALATION_LOCK = 0x45534341  # "ESCA": one escalation run at a time on PostgreSQL


def _lock(session: Session, key: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def claim(session: Session, step_id: int, now: datetime) -> bool:
    """Mark the step fired if nobody did yet; True when this transaction owns it."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(E)
            .where(E.id == step_id, planner.armed())
            .values(fired_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount == 1


def evaluate_escalations(
    session: Session, settings: Settings, now: datetime | None = None
) -> list[FiredEscalation]:
    """Plan steps, call off the finished ones, and fire those due by ``now``."""
    config = settings.section(EscalationSettings)
    if not config.enabled:
        return []
    now = now or utcnow()
    _lock(session, ESCALATION_LOCK)
    policies = policies_in_force(session)
    planner.sync(session, now, policies)
    due = session.execute(
        select(E.id, E.incident_id)
        .where(planner.armed(), E.due_at <= now)
        .order_by(E.due_at, E.id)
        .limit(config.batch_size)
    ).all()
    if not due:
        return []
    # Incident changes lock the incident, then the audit chain; take the chain first and
    # skip incidents someone is changing right now (their steps fire on the next run).
    _lock(session, AUDIT_CHAIN_LOCK)
    incidents = {
        incident.id: incident
        for incident in session.scalars(
            select(Incident)
            .where(Incident.id.in_({row.incident_id for row in due}), planner.escalating())
            .order_by(Incident.id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    }
    fired: list[FiredEscalation] = []
    for step_id, incident_id in due:
        incident = incidents.get(incident_id)
        if incident is None or not claim(session, step_id, now):
            continue
        step = session.get(E, step_id, populate_existing=True)
        assert step is not None
        fired.append(fire(session, incident, step, policies[step.priority], config, now))
    return fired
