"""The link between alerts and incidents: merges followed, link rows, affected CIs, notes.

An alert points at one incident (``alerts.incident_id``); people may later merge that
incident into another, so every lookup follows ``merged_into_id`` to the incident that
is still alive, and "the alerts of an incident" include those of incidents merged into
it. ``AlertIncident`` carries what the pipeline needs later (auto-resolve, the window).

Writes here are plain set-based statements, never a load of the incident: an upstream
incident may have thousands of affected CIs and alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from alerting.actor import ALERTING
from alerting.intake_models import AlertIncident
from alerting.locks import is_postgres
from itsm_core.db import Base
from itsm_core.incidents.choices import TimelineKind
from itsm_core.incidents.models import Incident, IncidentCI, TimelineEntry
from itsm_core.timeutil import utcnow

_MAX_HOPS = 5


_MERGED = select(Incident.id, Incident.merged_into_id).where(
    Incident.id.in_(bindparam("ids", expanding=True)), Incident.merged_into_id.is_not(None)
)


def follow_merges(session: Session, incident_ids: Iterable[int]) -> dict[int, int]:
    """Each incident id → the incident it ended up merged into (itself if none)."""
    final = {i: i for i in set(incident_ids)}
    pending = set(final.values())
    for _ in range(_MAX_HOPS):
        if not pending:
            break
        rows = session.execute(_MERGED, {"ids": sorted(pending)})
        moved = {i: into for i, into in rows if into is not None}
        for start, current in final.items():
            if current in moved:
                final[start] = moved[current]
        pending = set(moved.values())
    return final


def merged_family(session: Session, incident_ids: Iterable[int]) -> dict[int, int]:
    """Incident id → the incident it counts for: the given ones and those merged into them."""
    family = {i: i for i in set(incident_ids)}
    frontier = set(family)
    for _ in range(_MAX_HOPS):
        if not frontier:
            break
        stmt = select(Incident.id, Incident.merged_into_id).where(
            Incident.merged_into_id.in_(sorted(frontier))
        )
        found = {i: into for i, into in session.execute(stmt) if into is not None}
        frontier = set()
        for child, parent in found.items():
            if child not in family:
                family[child] = family[parent]
                frontier.add(child)
    return family


def insert_ignoring(session: Session, model: type[Base]) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for ``model`` on either database."""
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model).on_conflict_do_nothing()


def add_links(session: Session, incident_ids: Iterable[int], now: datetime) -> None:
    """Link rows for incidents people opened that alerts now join (never auto-resolve)."""
    rows = [
        {"incident_id": i, "opened_by_alert": False, "auto_resolve": False,
         "last_alert_at": now, "created_at": now}
        for i in sorted(set(incident_ids))
    ]  # fmt: skip
    if rows:
        session.execute(insert_ignoring(session, AlertIncident), rows)


def touch_links(
    session: Session, incident_ids: Iterable[int], now: datetime, *, own_ci: bool
) -> None:
    """Alerts joined these incidents: they are no longer all resolved, and — for alerts
    on the incident's own CI — its correlation window starts again."""
    ids = sorted(set(incident_ids))
    if not ids:
        return
    values: dict[str, Any] = {"alerts_resolved_at": None}
    if own_ci:
        values["last_alert_at"] = now
    session.execute(
        update(AlertIncident).where(AlertIncident.incident_id.in_(ids)).values(values),
        execution_options={"synchronize_session": False},
    )


def link_cis(session: Session, pairs: Iterable[tuple[int, int]]) -> None:
    """Mark CIs as affected by incidents (``(incident id, CI id)``; existing links kept)."""
    wanted = sorted(set(pairs))
    if not wanted:
        return
    now = utcnow()
    rows = [{"incident_id": i, "ci_id": c, "added_at": now} for i, c in wanted]
    session.execute(insert_ignoring(session, IncidentCI), rows)
    # An incident object already in the session must re-read its affected CIs.
    for incident_id in {i for i, _ in wanted}:
        loaded = session.identity_map.get(identity_key(Incident, incident_id))
        if loaded is not None:
            session.expire(loaded, ["affected"])


def _entry(incident_id: int, body: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "at": utcnow(),
        "actor": ALERTING.name,
        "kind": TimelineKind.ALERT,
        "body": body[:20_000],
        "data": dict(data),
        "from_state": None,
        "to_state": None,
    }


def notes(session: Session, entries: Iterable[tuple[int, str, Mapping[str, Any]]]) -> None:
    """Several ``alert`` timeline entries in one statement."""
    rows = [_entry(*entry) for entry in entries]
    if rows:
        session.execute(insert(TimelineEntry), rows)


def note(session: Session, incident_id: int, body: str, data: Mapping[str, Any]) -> None:
    """One ``alert`` entry on the incident's timeline, written with the next flush."""
    session.add(
        TimelineEntry(
            incident_id=incident_id,
            at=utcnow(),
            actor=ALERTING.name,
            kind=TimelineKind.ALERT,
            body=body[:20_000],
            data=dict(data),
        )
    )
