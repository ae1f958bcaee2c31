"""The incident timeline: work notes, state changes and system events, in one table.

Every domain function that changes an incident writes here, so the timeline reads as the
incident's story; the audit log keeps the tamper-evident copy of the state changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from itsm_core.actor import Actor
from itsm_core.errors import Conflict
from itsm_core.incidents.choices import FINAL_STATES, IncidentState, TimelineKind
from itsm_core.incidents.models import Incident, TimelineEntry, format_number
from itsm_core.timeutil import utcnow


def add_entry(
    session: Session,
    actor: Actor | str,
    incident: Incident,
    kind: TimelineKind,
    body: str = "",
    *,
    from_state: IncidentState | None = None,
    to_state: IncidentState | None = None,
    data: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> TimelineEntry:
    """Append one entry (``actor`` may be a name when copying someone else's note).

    ``at`` lets a state change carry exactly the time stamped on the incident.
    """
    entry = TimelineEntry(
        incident_id=incident.id,
        at=at or utcnow(),
        actor=actor if isinstance(actor, str) else actor.name,
        kind=kind,
        body=body,
        from_state=from_state,
        to_state=to_state,
        data=dict(data or {}),
    )
    session.add(entry)
    session.flush()
    return entry


def add_note(session: Session, actor: Actor, incident: Incident, body: str) -> TimelineEntry:
    """A work note; closed and cancelled incidents take no more notes."""
    if incident.state in FINAL_STATES:
        where = (
            f"; add it to {format_number(incident.merged_into_id)}"
            if incident.merged_into_id
            else ""
        )
        raise Conflict(
            f"{incident.number} is {incident.state}{where}",
            errors={"state": [f"no notes on a {incident.state} incident"]},
        )
    return add_entry(session, actor, incident, TimelineKind.WORK_NOTE, body)


def entries_query(incident_id: int, kinds: Iterable[TimelineKind] = ()) -> Select[Any]:
    """The timeline of one incident, optionally only some kinds (the caller orders/pages)."""
    stmt = select(TimelineEntry).where(TimelineEntry.incident_id == incident_id)
    wanted = list(kinds)
    if wanted:
        stmt = stmt.where(TimelineEntry.kind.in_(wanted))
    return stmt


def entries(
    session: Session, incident_id: int, kinds: Iterable[TimelineKind] = ()
) -> list[TimelineEntry]:
    """The whole timeline, oldest first (for tests, merges and reports)."""
    stmt = entries_query(incident_id, kinds).order_by(TimelineEntry.id)
    return list(session.scalars(stmt))
