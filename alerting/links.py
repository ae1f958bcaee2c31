"""The link between alerts and incidents: who points where, through merges, and timelines.

An alert points at one incident (``alerts.incident_id``); people may later merge that
incident into another, so every lookup follows ``merged_into_id`` to the incident that
is still alive, and "the alerts of an incident" include those of incidents merged into
it. ``AlertIncident`` carries what the pipeline needs later (auto-resolve, the window).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.actor import ALERTING
from alerting.intake_models import AlertIncident
from alerting.locks import is_postgres
from itsm_core.db import Base
from itsm_core.incidents import timeline
from itsm_core.incidents.choices import TimelineKind
from itsm_core.incidents.models import Incident

_MAX_HOPS = 5


def follow_merges(session: Session, incident_ids: Iterable[int]) -> dict[int, int]:
    """Each incident id → the incident it ended up merged into (itself if none)."""
    final = {i: i for i in set(incident_ids)}
    pending = set(final.values())
    for _ in range(_MAX_HOPS):
        if not pending:
            break
        stmt = select(Incident.id, Incident.merged_into_id).where(
            Incident.id.in_(sorted(pending)), Incident.merged_into_id.is_not(None)
        )
        moved = {i: into for i, into in session.execute(stmt) if into is not None}
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


def _insert(session: Session) -> Any:
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def insert_ignoring(session: Session, model: type[Base]) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for ``model`` on either database."""
    return _insert(session)(model).on_conflict_do_nothing()


def links_of(session: Session, incident_ids: Iterable[int]) -> dict[int, AlertIncident]:
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    stmt = select(AlertIncident).where(AlertIncident.incident_id.in_(ids))
    return {link.incident_id: link for link in session.scalars(stmt)}


def ensure_links(
    session: Session, incident_ids: Iterable[int], now: datetime
) -> dict[int, AlertIncident]:
    """The link rows of these incidents, created for incidents people opened.

    An incident opened by people that alerts join never resolves itself.
    """
    ids = sorted(set(incident_ids))
    links = links_of(session, ids)
    missing = [i for i in ids if i not in links]
    if missing:
        rows = [
            {"incident_id": i, "opened_by_alert": False, "auto_resolve": False,
             "last_alert_at": now, "created_at": now}
            for i in missing
        ]  # fmt: skip
        session.execute(insert_ignoring(session, AlertIncident), rows)
        links.update(links_of(session, missing))
    return links


def note(
    session: Session,
    incident: Incident,
    body: str,
    data: Mapping[str, Any],
    at: datetime | None = None,
) -> None:
    """One ``alert`` entry on the incident's timeline, written by the pipeline."""
    timeline.add_entry(
        session, ALERTING, incident, TimelineKind.ALERT, body[:20_000], data=data, at=at
    )
