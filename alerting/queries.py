"""Finding alerts: the list filters shared by the API and the CLI."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from alerting.intake_models import Alert, AlertOccurrence
from alerting.schemas import AlertQuery
from itsm_core.errors import NotFound


def alert_query(filters: AlertQuery) -> Select[Any]:
    """A select of the alerts matching every filter given (unordered)."""
    stmt = select(Alert)
    if filters.status is not None:
        stmt = stmt.where(Alert.status == filters.status)
    if filters.source is not None:
        stmt = stmt.where(Alert.source == filters.source)
    if filters.severity is not None:
        stmt = stmt.where(Alert.severity == filters.severity)
    if filters.ci_id is not None:
        stmt = stmt.where(Alert.ci_id == filters.ci_id)
    if filters.unbound is not None:
        stmt = stmt.where(Alert.ci_id.is_(None) if filters.unbound else Alert.ci_id.is_not(None))
    if filters.incident_id is not None:
        stmt = stmt.where(Alert.incident_id == filters.incident_id)
    if filters.flapping is not None:
        stmt = stmt.where(Alert.flapping.is_(filters.flapping))
    if filters.suppressed is not None:
        column = Alert.suppressed_reason
        stmt = stmt.where(column.is_not(None) if filters.suppressed else column.is_(None))
    if filters.name is not None:
        stmt = stmt.where(Alert.name == filters.name)
    return stmt


def get_alert(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} does not exist", errors={"id": ["no such alert"]})
    return alert


def occurrences_of(session: Session, alert_id: int, limit: int = 100) -> list[AlertOccurrence]:
    """The alert's occurrences, newest first."""
    stmt = (
        select(AlertOccurrence)
        .where(AlertOccurrence.alert_id == alert_id)
        .order_by(AlertOccurrence.seq.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))
