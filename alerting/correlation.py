"""Correlation: which open incident an alert belongs to instead of opening its own.

- **Same CI**: the newest open incident whose primary CI is the alert's CI joins it, if
  it is still *active*: opened or last joined by an alert within
  ``[alerting] correlation_window_minutes``, or with alerts still firing.
- **Upstream cause**: walking the CMDB upstream from the alert's CI (what it depends
  on, ``upstream_depth`` edges), the nearest CI with an open incident that alerts opened
  and that is active within ``upstream_window_minutes`` takes the alert as a *symptom*
  (the CI is linked as affected; the timeline says so). A township router that is down
  gets one incident; the village-clinic CPEs behind it join it.
- **Upstream arriving late**: when an incident opens on a CI, the incidents the pipeline
  opened within the upstream window on CIs downstream of it — not yet accepted by
  anyone — are merged into it (see ``opening.adopt_downstream``).

The walks run only for alerts that would otherwise open an incident, one per CI.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Exists, exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from alerting.canonical import AlertStatus
from alerting.intake_models import Alert, AlertIncident
from itsm_core.cmdb.choices import Direction
from itsm_core.cmdb.walk import Reached, start_nodes, walk
from itsm_core.incidents.choices import OPEN_STATES, IncidentState
from itsm_core.incidents.models import Incident


@dataclass(frozen=True, slots=True)
class Upstream:
    """A CI the alert's CI depends on: its id, name, distance and how it is reached."""

    ci_id: int
    name: str
    depth: int
    path: str  # "cpe-07 connected_to router-3"


def _firing(incident_id: ColumnElement[int] | InstrumentedAttribute[int]) -> Exists:
    return exists(
        select(1).where(Alert.incident_id == incident_id, Alert.status == AlertStatus.FIRING)
    )


def same_ci_incidents(
    session: Session, ci_ids: Iterable[int], now: datetime, window_minutes: int
) -> dict[int, int]:
    """CI id → the newest active open incident whose primary CI it is."""
    ids = sorted(set(ci_ids))
    if not ids:
        return {}
    since = now - timedelta(minutes=window_minutes)
    stmt = (
        select(Incident.id, Incident.primary_ci_id)
        .outerjoin(AlertIncident, AlertIncident.incident_id == Incident.id)
        .where(
            Incident.primary_ci_id.in_(ids),
            Incident.state.in_(OPEN_STATES),
            or_(
                Incident.created_at >= since,
                AlertIncident.last_alert_at >= since,
                _firing(Incident.id),
            ),
        )
        .order_by(Incident.id)
    )
    return {ci_id: i for i, ci_id in session.execute(stmt) if ci_id is not None}


def upstream_of(session: Session, ci_ids: Iterable[int], depth: int) -> dict[int, list[Upstream]]:
    """For each CI, the CIs it depends on within ``depth`` edges, nearest first.

    One walk per CI: a walk from several CIs at once visits a shared router only once
    and would credit it to one of them.
    """
    if depth <= 0:
        return {}
    out: dict[int, list[Upstream]] = {}
    for start in start_nodes(session, ci_ids):
        reached = walk(session, [start], Direction.UPSTREAM, depth)
        out[start.ci_id] = [_upstream(node) for node in reached]
    return out


def _upstream(node: Reached) -> Upstream:
    sentences = [s for s in (step.sentence() for step in node.path) if s]
    return Upstream(node.ci_id, node.name, node.depth, "; ".join(sentences))


def upstream_incidents(
    session: Session, ci_ids: Iterable[int], now: datetime, window_minutes: int
) -> dict[int, int]:
    """CI id → an open, active incident alerts opened on it (the upstream cause)."""
    ids = sorted(set(ci_ids))
    if not ids:
        return {}
    since = now - timedelta(minutes=window_minutes)
    stmt = (
        select(Incident.id, Incident.primary_ci_id)
        .join(AlertIncident, AlertIncident.incident_id == Incident.id)
        .where(
            Incident.primary_ci_id.in_(ids),
            Incident.state.in_(OPEN_STATES),
            AlertIncident.opened_by_alert,
            or_(AlertIncident.last_alert_at >= since, _firing(Incident.id)),
        )
        .order_by(Incident.id)
    )
    return {ci_id: i for i, ci_id in session.execute(stmt) if ci_id is not None}


def downstream_of(session: Session, ci_id: int, depth: int) -> list[int]:
    """The CIs a failure of ``ci_id`` takes down (not those redundancy keeps up)."""
    if depth <= 0:
        return []
    reached = walk(session, start_nodes(session, [ci_id]), Direction.DOWNSTREAM, depth)
    return [node.ci_id for node in reached if not node.degraded]


_ADOPTABLE_STATES = (IncidentState.NEW, IncidentState.ASSIGNED)


def adoptable_incidents(
    session: Session, ci_ids: Sequence[int], since: datetime, exclude: int
) -> list[int]:
    """Incidents the pipeline opened since ``since`` on these CIs that nobody took yet."""
    found: list[int] = []
    # Chunked: a core router can have thousands of CIs downstream.
    for offset in range(0, len(ci_ids), 5000):
        chunk = ci_ids[offset : offset + 5000]
        stmt = (
            select(Incident.id)
            .join(AlertIncident, AlertIncident.incident_id == Incident.id)
            .where(
                Incident.primary_ci_id.in_(chunk),
                Incident.state.in_(_ADOPTABLE_STATES),
                AlertIncident.created_at >= since,
                Incident.parent_id.is_(None),
                Incident.merged_into_id.is_(None),
                Incident.major.is_(False),
                Incident.id != exclude,
                AlertIncident.opened_by_alert,
            )
        )
        found.extend(session.scalars(stmt))
    return sorted(found)
