"""Correlation: which open incident an alert belongs to instead of opening its own.

- **Same CI**: the newest open incident whose primary CI is the alert's CI joins it if
  it is still *active*: opened, or last joined by an alert on that CI, within
  ``[alerting] correlation_window_minutes`` — or with alerts still firing.
- **Upstream cause**: walking the CMDB upstream from the alert's CI (what it depends
  on, ``upstream_depth`` edges), the nearest CI with an open incident that alerts opened
  and whose own CI is still alerting (an alert on it firing, or one within
  ``upstream_window_minutes``) takes the alert as a *symptom*: the CI is linked as
  affected and the timeline says so. A township router that is down gets one incident;
  the village-clinic CPEs behind it join it.
- **Upstream arriving late**: when an incident opens on a CI, the incidents the pipeline
  opened within the upstream window on CIs downstream of it — not yet accepted by
  anyone — are merged into it (see ``opening.adopt_downstream``).

Set-based: the upstream walk reads one query per level for the whole payload (each CI
keeps its own paths: two CPEs behind one router both reach it), and one query reads the
open incidents on every CI involved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String as SqlString
from sqlalchemy import and_, bindparam, exists, select, type_coerce
from sqlalchemy.orm import Session, aliased

from alerting.canonical import AlertStatus
from alerting.intake_models import Alert, AlertIncident
from itsm_core.cmdb.choices import Direction, Lifecycle, RelationType
from itsm_core.cmdb.models import CIRelationship, ConfigurationItem
from itsm_core.cmdb.walk import start_nodes, walk
from itsm_core.incidents.choices import OPEN_STATES, IncidentState
from itsm_core.incidents.models import Incident

Rel = CIRelationship
CI = ConfigurationItem


@dataclass(frozen=True, slots=True)
class Upstream:
    """A CI the alert's CI depends on: its id, name, distance and how it is reached."""

    ci_id: int
    name: str
    depth: int
    path: str  # "cpe-07 connected_to router-3"


_onward = aliased(Rel)
# One level of the upstream walk; ``more``: the CI reached depends on something itself.
_UPSTREAM_LEVEL = (
    select(
        Rel.dependent_id,
        Rel.dependency_id,
        type_coerce(Rel.relation, SqlString),
        CI.name,
        exists(select(1).where(_onward.dependent_id == Rel.dependency_id)),
    )
    .join(CI, CI.id == Rel.dependency_id)
    .where(
        Rel.dependent_id.in_(bindparam("ids", expanding=True)),
        CI.lifecycle != Lifecycle.RETIRED,
    )
    .order_by(Rel.dependency_id, Rel.id)
)


def upstream_of(
    session: Session, starts: Mapping[int, str], depth: int
) -> dict[int, list[Upstream]]:
    """For each start CI (id → name), the CIs it depends on within ``depth`` edges,
    nearest first; one query per level for all of them. Retired CIs are not walked."""
    found: dict[int, list[Upstream]] = {ci_id: [] for ci_id in starts}
    seen: dict[int, set[int]] = {ci_id: {ci_id} for ci_id in starts}
    # CI id → the (start, path so far) that reached it on the last level.
    frontier: dict[int, list[tuple[int, list[str]]]] = {ci_id: [(ci_id, [])] for ci_id in starts}
    names = dict(starts)
    for level in range(1, depth + 1):
        if not frontier:
            break
        following: dict[int, list[tuple[int, list[str]]]] = defaultdict(list)
        rows = session.execute(_UPSTREAM_LEVEL, {"ids": sorted(frontier)})
        for dependent, dependency, relation, name, more in rows:
            names[dependency] = name
            if relation == RelationType.HOSTS.value:
                sentence = f"{name} {relation} {names.get(dependent, dependent)}"
            else:
                sentence = f"{names.get(dependent, dependent)} {relation} {name}"
            for start, path in frontier.get(dependent, []):
                if dependency in seen[start]:
                    continue
                seen[start].add(dependency)
                steps = [*path, sentence]
                found[start].append(Upstream(dependency, name, level, "; ".join(steps)))
                if more:
                    following[dependency].append((start, steps))
        frontier = dict(following)
    return found


@dataclass(frozen=True, slots=True)
class OpenIncident:
    """An open incident on a CI, with what decides whether it is still *active*."""

    id: int
    ci_id: int
    opened_by_alert: bool
    created_at: datetime
    last_alert_at: datetime | None
    firing: bool  # any of its alerts is firing
    firing_on_ci: bool  # an alert on its own CI is firing

    def active_for_same_ci(self, since: datetime) -> bool:
        recent = self.last_alert_at is not None and self.last_alert_at >= since
        return self.firing or recent or self.created_at >= since

    def active_as_cause(self, since: datetime) -> bool:
        recent = self.last_alert_at is not None and self.last_alert_at >= since
        return self.opened_by_alert and (self.firing_on_ci or recent)


_FIRING = exists(
    select(1).where(Alert.incident_id == Incident.id, Alert.status == AlertStatus.FIRING)
)
# Through the (ci_id, status, incident_id) index: the CI's own firing alerts, whatever
# the incident's size.
_FIRING_ON_CI = exists(
    select(1).where(
        and_(
            Alert.ci_id == Incident.primary_ci_id,
            Alert.status == AlertStatus.FIRING,
            Alert.incident_id == Incident.id,
        )
    )
)
_OPEN_ON = (
    select(
        Incident.id,
        Incident.primary_ci_id,
        AlertIncident.opened_by_alert,
        Incident.created_at,
        AlertIncident.last_alert_at,
        _FIRING,
        _FIRING_ON_CI,
    )
    .outerjoin(AlertIncident, AlertIncident.incident_id == Incident.id)
    .where(
        Incident.primary_ci_id.in_(bindparam("ids", expanding=True)),
        Incident.state.in_(OPEN_STATES),
    )
    .order_by(Incident.id)
)


def open_incidents_on(session: Session, ci_ids: Iterable[int]) -> dict[int, OpenIncident]:
    """CI id → the newest open incident whose primary CI it is (one query)."""
    ids = sorted(set(ci_ids))
    if not ids:
        return {}
    out: dict[int, OpenIncident] = {}
    rows = session.execute(_OPEN_ON, {"ids": ids})
    for incident_id, ci_id, by_alert, created, last, any_firing, ci_firing in rows:
        if ci_id is not None:
            out[ci_id] = OpenIncident(
                incident_id, ci_id, bool(by_alert), created, last, bool(any_firing),
                bool(ci_firing),
            )  # fmt: skip
    return out


def since(now: datetime, minutes: int) -> datetime:
    return now - timedelta(minutes=minutes)


def downstream_of(session: Session, ci_id: int, depth: int) -> list[int]:
    """The CIs a failure of ``ci_id`` takes down (not those redundancy keeps up)."""
    if depth <= 0:
        return []
    reached = walk(session, start_nodes(session, [ci_id]), Direction.DOWNSTREAM, depth)
    return [node.ci_id for node in reached if not node.degraded]


_ADOPTABLE_STATES = (IncidentState.NEW, IncidentState.ASSIGNED)


def adoptable_incidents(
    session: Session, ci_ids: Sequence[int], after: datetime, exclude: int
) -> list[int]:
    """Incidents the pipeline opened since ``after`` on these CIs that nobody took yet."""
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
                AlertIncident.created_at >= after,
                Incident.parent_id.is_(None),
                Incident.merged_into_id.is_(None),
                Incident.major.is_(False),
                Incident.id != exclude,
                AlertIncident.opened_by_alert,
            )
        )
        found.extend(session.scalars(stmt))
    return sorted(found)
