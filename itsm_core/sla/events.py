"""Recording what happens to an SLA clock: the ``sla_events`` row, the audit entry and,
for warnings and breaches, a system line on the incident's timeline.

SLA changes are derived by Fulcrum, not made by a person, so they are recorded as the
system actor; the incident change that caused them is audited under its own actor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from itsm_core import audit
from itsm_core.actor import SYSTEM
from itsm_core.incidents import timeline
from itsm_core.incidents.choices import TimelineKind
from itsm_core.incidents.models import Incident
from itsm_core.jsonable import to_json
from itsm_core.sla.choices import SlaEventKind, SlaMetric
from itsm_core.sla.models import IncidentSla, SlaEvent

# Events the people working the incident must see in its story.
_ON_TIMELINE = {SlaEventKind.WARNING, SlaEventKind.BREACH}
_LABEL = {SlaMetric.OWN: "time to own", SlaMetric.RESOLVE: "time to resolve"}


def record_event(
    session: Session,
    record: IncidentSla,
    kind: SlaEventKind,
    at: datetime,
    now: datetime,
    data: dict[str, Any] | None = None,
    *,
    incident: Incident | None = None,
) -> SlaEvent:
    """Write one event of ``record`` (already flushed, so it has an id)."""
    payload = {key: to_json(value) for key, value in (data or {}).items()}
    event = SlaEvent(
        incident_id=record.incident_id,
        incident_sla_id=record.id,
        metric=record.metric,
        kind=kind,
        at=at,
        recorded_at=now,
        data=payload,
    )
    session.add(event)
    session.flush()
    audit.record(
        session,
        SYSTEM,
        f"sla.{kind}",
        "incident",
        record.incident_id,
        after={"metric": record.metric, "at": at, **payload},
    )
    if kind in _ON_TIMELINE:
        owner = incident or session.get(Incident, record.incident_id)
        if owner is not None:
            timeline.add_entry(
                session,
                SYSTEM,
                owner,
                TimelineKind.SYSTEM,
                _sentence(record, kind),
                data={"sla_event": kind.value, "metric": record.metric.value, **payload},
            )
    return event


def _sentence(record: IncidentSla, kind: SlaEventKind) -> str:
    label = _LABEL[record.metric]
    due = record.due_at.isoformat() if record.due_at else "none"
    suffix = " (provisional: holidays not yet published)" if record.provisional else ""
    if kind is SlaEventKind.BREACH:
        return f"SLA {label} breached: was due {due}{suffix}"
    share = round(record.warning_share * 100)
    return f"SLA {label} at risk: {share}% used, due {due}{suffix}"
