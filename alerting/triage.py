"""Triage: for each alert that would open an incident, whether it should, and where to go.

In order, first decision wins:

1. suppressed by its own CI or labels (``suppression``);
2. a re-fire goes back to its own incident — still open: it rejoins; resolved within
   the correlation window (or just started flapping): it reopens it;
3. the same CI's active open incident (``correlation.open_incidents_on``), read after
   taking the CI's lock so two deliveries cannot both open one;
4. suppressed by a window or change on an upstream CI;
5. a symptom of the nearest upstream CI's active alert incident;
6. a symptom of another alert of this payload on an upstream CI (that one opens);
7. otherwise it opens an incident (``opening``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.choices import OccurrenceRole
from alerting.correlation import OpenIncident, Upstream, open_incidents_on, since, upstream_of
from alerting.links import follow_merges
from alerting.locks import lock_cis
from alerting.settings import AlertingSettings
from alerting.suppression import Suppressor
from alerting.work import Work
from itsm_core.incidents.choices import OPEN_STATES, IncidentState
from itsm_core.incidents.models import Incident

R = OccurrenceRole


class Triage:
    """Runs the decisions above over one payload's candidates."""

    def __init__(
        self, session: Session, cfg: AlertingSettings, now: datetime, suppressor: Suppressor
    ) -> None:
        self.session = session
        self.cfg = cfg
        self.now = now
        self.suppressor = suppressor

    def run(self, candidates: Sequence[Work]) -> None:
        self._suppress_direct(candidates)
        self._back_to_own(_open(candidates))
        bound = [w for w in _open(candidates) if w.bound.ci is not None]
        if not bound:
            return
        starts = {w.bound.ci.id: w.bound.ci.name for w in bound if w.bound.ci is not None}
        ups = upstream_of(self.session, starts, self.cfg.upstream_depth)
        lock_cis(self.session, starts)
        upstream_ids = {u.ci_id for chain in ups.values() for u in chain}
        incidents = open_incidents_on(self.session, {*starts, *upstream_ids})
        same_since = since(self.now, self.cfg.correlation_window_minutes)
        for work in bound:
            found = incidents.get(work.ci_id or 0)
            if found is not None and found.active_for_same_ci(same_since):
                work.decide(R.JOINED, found.id)
        self._upstream(_open(bound), ups, incidents)

    def _suppress_direct(self, candidates: Sequence[Work]) -> None:
        for work in candidates:
            reason = self.suppressor.direct(work.alert.labels, work.bound.ci)
            if reason is not None:
                self._suppress(work, reason)
            else:
                work.row.suppressed_reason = None

    def _suppress(self, work: Work, reason: str) -> None:
        work.role = R.SUPPRESSED
        work.row.suppressed_reason = reason
        work.row.incident_id = None

    def _back_to_own(self, candidates: Sequence[Work]) -> None:
        own = [w for w in candidates if w.previous_incident_id is not None]
        if not own:
            return
        final = follow_merges(
            self.session, (w.previous_incident_id for w in own if w.previous_incident_id)
        )
        stmt = select(Incident.id, Incident.state, Incident.resolved_at).where(
            Incident.id.in_(sorted(set(final.values())))
        )
        states = {i: (state, resolved_at) for i, state, resolved_at in self.session.execute(stmt)}
        window = timedelta(minutes=self.cfg.correlation_window_minutes)
        for work in own:
            assert work.previous_incident_id is not None
            incident_id = final[work.previous_incident_id]
            state, resolved_at = states.get(incident_id, (None, None))
            flap_started = work.flap is not None and work.flap.started
            if state in OPEN_STATES:
                work.decide(R.JOINED, incident_id)
            elif state == IncidentState.RESOLVED and (
                flap_started or (resolved_at is not None and resolved_at >= self.now - window)
            ):
                work.decide(R.REOPENED, incident_id)

    def _upstream(
        self,
        bound: Sequence[Work],
        ups: dict[int, list[Upstream]],
        incidents: dict[int, OpenIncident],
    ) -> None:
        if not bound or not any(ups.get(w.ci_id or 0) for w in bound):
            return
        if self.cfg.maintenance_covers_downstream and self.suppressor.ci_scoped:
            for work in bound:
                chain = [(u.ci_id, u.name) for u in ups.get(work.ci_id or 0, [])]
                reason = self.suppressor.upstream(work.alert.labels, chain)
                if reason is not None:
                    self._suppress(work, reason)
        bound = _open(bound)
        cause_since = since(self.now, self.cfg.upstream_window_minutes)
        for work in bound:
            for up in ups.get(work.ci_id or 0, []):
                found = incidents.get(up.ci_id)
                if found is not None and found.active_as_cause(cause_since):
                    work.upstream = up
                    work.decide(R.SYMPTOM, found.id)
                    break
        # Alerts of this payload on upstream CIs will open incidents these join.
        opening = {w.ci_id for w in bound if w.role is None}
        for work in bound:
            if work.role is not None:
                continue
            for up in ups.get(work.ci_id or 0, []):
                if up.ci_id in opening and up.ci_id != work.ci_id:
                    work.upstream = up
                    work.root_ci = up.ci_id
                    break


def _open(works: Sequence[Work]) -> list[Work]:
    """The alerts still looking for an incident."""
    return [w for w in works if w.role is None]
