"""Resolution: alerts resolving, and an incident whose alerts have all resolved.

Each delivery writes one ``alert`` timeline entry per incident whose alerts resolved
("2 of 5 still firing"). When none is firing any more, the entry says so and then,
as the routing rule decided when the incident opened (``AlertIncident.auto_resolve``):

- **auto-resolve**: the incident moves to ``resolved`` through the core lifecycle, code
  ``self_recovered``, and a ``resolved`` notification is queued;
- **wait**: it stays open for the NOC to confirm; an ``alerts_resolved`` notification
  is queued.

An incident with a flapping alert, or one that people opened and alerts merely joined,
always waits. Incidents must be locked by the caller (``locks.lock_incidents``), so two
deliveries resolving the last two alerts see each other's work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from alerting.actor import ALERTING
from alerting.canonical import AlertStatus
from alerting.intake_models import Alert, AlertIncident
from alerting.links import merged_family, notes
from alerting.locks import IncidentRow
from alerting.notifications.outbox import NotificationEvent, notify_incident
from itsm_core.incidents import lifecycle
from itsm_core.incidents.choices import OPEN_STATES, IncidentState, ResolutionCode
from itsm_core.incidents.models import Incident


@dataclass
class _Tally:
    total: int = 0
    firing: int = 0
    flapping: list[str] = field(default_factory=list)


def _tallies(session: Session, incident_ids: Sequence[int]) -> dict[int, _Tally]:
    """Alerts and firing alerts per incident, counted by the database (index only)."""
    family = merged_family(session, incident_ids)
    firing = func.sum(case((Alert.status == AlertStatus.FIRING, 1), else_=0))
    stmt = (
        select(Alert.incident_id, func.count(), firing)
        .where(Alert.incident_id.in_(sorted(family)))
        .group_by(Alert.incident_id)
    )
    tallies = {i: _Tally() for i in incident_ids}
    for incident_id, total, firing_count in session.execute(stmt):
        if incident_id is None:
            continue
        tally = tallies[family[incident_id]]
        tally.total += int(total)
        tally.firing += int(firing_count or 0)
    quiet = [i for i, t in tallies.items() if t.firing == 0]
    if quiet:
        members = [m for m, owner in family.items() if owner in quiet]
        flapping = select(Alert.incident_id, Alert.name).where(
            Alert.incident_id.in_(members), Alert.flapping.is_(True)
        )
        for incident_id, name in session.execute(flapping):
            if incident_id is not None:
                tallies[family[incident_id]].flapping.append(name)
    return tallies


def settle(
    session: Session,
    incidents: Mapping[int, IncidentRow],
    resolved: Mapping[int, Sequence[Alert]],
    now: datetime,
) -> list[int]:
    """Record the alerts that resolved per incident; settle incidents with none firing.

    ``incidents`` are the locked incidents; ``resolved`` maps an incident id (merges
    already followed) to the alerts of this delivery that resolved on it. Returns the
    ids of the incidents resolved.
    """
    ids = sorted(i for i in resolved if i in incidents)
    if not ids:
        return []
    tallies = _tallies(session, ids)
    done: list[int] = []
    all_resolved: list[int] = []
    entries: list[tuple[int, str, dict[str, Any]]] = []

    def note(_: Session, incident_id: int, body: str, data: dict[str, Any]) -> None:
        entries.append((incident_id, body, data))

    for incident_id in ids:
        row = incidents[incident_id]
        tally = tallies[incident_id]
        names = sorted({a.name for a in resolved[incident_id]})
        data = {
            "resolved_alert_ids": sorted(a.id for a in resolved[incident_id]),
            "still_firing": tally.firing,
            "alerts": tally.total,
        }
        if tally.firing:
            still = f"{tally.firing} of {tally.total} still firing"
            note(session, incident_id, f"Alert(s) resolved: {', '.join(names)} ({still})", data)
            continue
        if row.state not in OPEN_STATES and row.state != IncidentState.RESOLVED:
            continue  # closed or cancelled: nothing left to say
        all_resolved.append(incident_id)
        data = {**data, "all_resolved": True}
        if row.state not in OPEN_STATES:
            note(session, incident_id, f"All {tally.total} alert(s) resolved", data)
            continue
        if _resolve_automatically(row, tally):
            body = f"All {tally.total} alert(s) resolved; resolving automatically"
            note(session, incident_id, body, {**data, "auto_resolve": True})
            incident = session.get_one(Incident, incident_id)
            lifecycle.transition(
                session,
                ALERTING,
                incident,
                IncidentState.RESOLVED,
                resolution_code=ResolutionCode.SELF_RECOVERED,
                resolution_notes=(
                    f"All {tally.total} alert(s) resolved ({', '.join(names)} last); "
                    "resolved automatically as the routing rule says."
                ),
            )
            notify_incident(session, incident, NotificationEvent.RESOLVED, now)
            done.append(incident_id)
            continue
        body = f"All {tally.total} alert(s) resolved; {_why_wait(row, tally)}"
        note(session, incident_id, body, {**data, "auto_resolve": False})
        incident = session.get_one(Incident, incident_id)
        notify_incident(session, incident, NotificationEvent.ALERTS_RESOLVED, now)
    notes(session, entries)
    if all_resolved:
        session.execute(
            update(AlertIncident)
            .where(AlertIncident.incident_id.in_(all_resolved))
            .values(alerts_resolved_at=now),
            execution_options={"synchronize_session": False},
        )
    return done


def _resolve_automatically(row: IncidentRow, tally: _Tally) -> bool:
    return (
        row.state in OPEN_STATES and row.opened_by_alert and row.auto_resolve and not tally.flapping
    )


def _why_wait(row: IncidentRow, tally: _Tally) -> str:
    if tally.flapping:
        return f"waiting for the NOC to confirm (flapping: {', '.join(sorted(tally.flapping))})"
    if not row.opened_by_alert:
        return "waiting for the NOC to confirm (the incident was opened by people)"
    return "waiting for the NOC to confirm (the routing rule does not auto-resolve)"
