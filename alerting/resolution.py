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

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.actor import ALERTING
from alerting.canonical import AlertStatus
from alerting.intake_models import Alert, AlertIncident
from alerting.links import links_of, merged_family, note
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
    family = merged_family(session, incident_ids)
    stmt = select(Alert.incident_id, Alert.status, Alert.flapping, Alert.name).where(
        Alert.incident_id.in_(sorted(family))
    )
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    for incident_id, status, flapping, name in session.execute(stmt):
        if incident_id is None:
            continue
        tally = tallies[family[incident_id]]
        tally.total += 1
        if status == AlertStatus.FIRING:
            tally.firing += 1
        if flapping:
            tally.flapping.append(name)
    return tallies


def settle(
    session: Session,
    incidents: Mapping[int, Incident],
    resolved: Mapping[int, Sequence[Alert]],
    now: datetime,
) -> list[int]:
    """Record the alerts that resolved per incident; settle incidents with none firing.

    ``resolved`` maps an incident id (merges already followed) to the alerts of this
    delivery that resolved on it. Returns the ids of the incidents resolved.
    """
    ids = sorted(i for i in resolved if i in incidents)
    if not ids:
        return []
    tallies = _tallies(session, ids)
    links = links_of(session, ids)
    done: list[int] = []
    for incident_id in ids:
        incident = incidents[incident_id]
        tally = tallies[incident_id]
        names = sorted({a.name for a in resolved[incident_id]})
        data = {
            "resolved_alert_ids": sorted(a.id for a in resolved[incident_id]),
            "still_firing": tally.firing,
            "alerts": tally.total,
        }
        if tally.firing:
            still = f"{tally.firing} of {tally.total} still firing"
            body = f"Alert(s) resolved: {', '.join(names)} ({still})"
            note(session, incident, body, data)
            continue
        if incident.state not in OPEN_STATES and incident.state != IncidentState.RESOLVED:
            continue  # closed or cancelled: nothing left to say
        link = links.get(incident_id)
        if link is not None:
            link.alerts_resolved_at = now
        if _resolve_automatically(incident, link, tally):
            note(session, incident, f"All {tally.total} alert(s) resolved; resolving automatically",
                 {**data, "all_resolved": True, "auto_resolve": True})  # fmt: skip
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
        why = _why_wait(link, tally)
        if incident.state in OPEN_STATES:
            note(session, incident, f"All {tally.total} alert(s) resolved; {why}",
                 {**data, "all_resolved": True, "auto_resolve": False})  # fmt: skip
            notify_incident(session, incident, NotificationEvent.ALERTS_RESOLVED, now)
        else:
            note(session, incident, f"All {tally.total} alert(s) resolved",
                 {**data, "all_resolved": True})  # fmt: skip
    return done


def _resolve_automatically(incident: Incident, link: AlertIncident | None, tally: _Tally) -> bool:
    return (
        incident.state in OPEN_STATES
        and link is not None
        and link.opened_by_alert
        and link.auto_resolve
        and not tally.flapping
    )


def _why_wait(link: AlertIncident | None, tally: _Tally) -> str:
    if tally.flapping:
        return f"waiting for the NOC to confirm (flapping: {', '.join(sorted(tally.flapping))})"
    if link is None or not link.opened_by_alert:
        return "waiting for the NOC to confirm (the incident was opened by people)"
    return "waiting for the NOC to confirm (the routing rule does not auto-resolve)"
