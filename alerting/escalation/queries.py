"""Listing incident escalation steps (the API's filters)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from alerting.escalation.choices import EscalationState
from alerting.escalation.models import IncidentEscalation

E = IncidentEscalation


def escalation_query(
    incident_id: int | None = None, state: EscalationState | None = None
) -> Select[Any]:
    """Steps of one incident and/or in one state (the caller orders and pages)."""
    stmt = select(E)
    if incident_id is not None:
        stmt = stmt.where(E.incident_id == incident_id)
    if state == EscalationState.ARMED:
        stmt = stmt.where(E.fired_at.is_(None), E.cancelled_at.is_(None))
    elif state == EscalationState.FIRED:
        stmt = stmt.where(E.fired_at.is_not(None))
    elif state == EscalationState.CANCELLED:
        stmt = stmt.where(E.cancelled_at.is_not(None))
    return stmt
