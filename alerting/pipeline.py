"""The pipeline behind ``intake.ingest``: staged alerts → alert rows → incidents.

1. **rows**: load the known alerts that changed, bind CIs for new alerts and re-fires
   (``binding``, set-based), apply re-fires and resolutions, count flapping transitions.
   New alerts are held in memory and inserted at the end, with their incident, in one
   statement (the payload's fingerprint locks keep concurrent copies out meanwhile);
2. **triage** (``triage``): suppression, own incident, same CI, upstream cause;
3. **incidents**: lock every incident about to change at once (id order), join,
   reopen, note flapping, settle incidents whose alerts all resolved (``resolution``),
   then open incidents (``opening``) — upstream alerts of the payload first, their
   downstream alerts joining as symptoms;
4. **writes**: new alerts, new occurrences, ended occurrences — one statement each.

The hot path touches incidents only through set-based statements and light rows
(``locks.IncidentRow``): an upstream incident can gather thousands of alerts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from alerting.actor import ALERTING
from alerting.binding import Bound, bind
from alerting.canonical import AlertStatus, CanonicalAlert
from alerting.choices import Binding, OccurrenceRole
from alerting.dedup import Staged, Verdict
from alerting.flapping import record_transition
from alerting.intake_models import Alert, AlertOccurrence
from alerting.links import add_links, follow_merges, link_cis, notes, touch_links
from alerting.locks import IncidentRow, lock_incidents
from alerting.notifications.outbox import NotificationEvent, notify_incident
from alerting.opening import adopt_downstream, open_incident
from alerting.resolution import settle
from alerting.settings import AlertingSettings
from alerting.suppression import Suppressor
from alerting.triage import Triage
from alerting.work import Work, lead_of
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.incidents import lifecycle
from itsm_core.incidents.choices import OPEN_STATES, IncidentState
from itsm_core.incidents.models import Incident
from itsm_core.incidents.priority import PriorityMatrix

R = OccurrenceRole
_JOINING = (R.JOINED, R.SYMPTOM)
_ALERTS = cast(Table, Alert.__table__)
_ALERT_COLUMNS = [c.key for c in _ALERTS.columns if c.key != "id"]
_INSERT_ALERTS = insert(_ALERTS).returning(_ALERTS.c.id, _ALERTS.c.fingerprint)


class Pipeline:
    """One payload's run; counts go to ``tally`` (an ``IngestResult``)."""

    def __init__(
        self,
        session: Session,
        cfg: AlertingSettings,
        matrix: PriorityMatrix,
        now: datetime,
        tally: Any,
    ) -> None:
        self.session = session
        self.cfg = cfg
        self.matrix = matrix
        self.now = now
        self.tally = tally
        # Timeline notes, written last: they name new alerts, whose ids come at insert.
        self._notes: list[tuple[int, str, list[Work], dict[str, Any]]] = []

    def run(self, staged: Staged) -> None:
        works = self._rows(staged)
        if not works:
            return
        candidates = self._apply(works)
        if candidates:
            Triage(self.session, self.cfg, self.now, Suppressor(self.session, self.now)).run(
                candidates
            )
        self._incidents(works, candidates)
        self._insert_new([w for w in works if w.verdict == Verdict.NEW])
        notes(
            self.session, ((i, body, {**_data(ws), **extra}) for i, body, ws, extra in self._notes)
        )
        self._occurrences(works)
        self._count(works)

    # -- 1. rows -----------------------------------------------------------------------

    def _rows(self, staged: Staged) -> list[Work]:
        works = self._load(staged.changed)
        rebind = [w for w in works if w.verdict == Verdict.REFIRE]
        bound = bind(self.session, [*staged.new, *(w.alert for w in rebind)])
        for work, found in zip(rebind, bound[len(staged.new) :], strict=True):
            work.bound = found
        for alert, found in zip(staged.new, bound, strict=False):
            works.append(Work(alert, self._new_row(alert, found), Verdict.NEW, bound=found))
        for work in works:
            if work.verdict == Verdict.RECHECK:
                work.bound = self._stored_binding(work.row)
        return works

    def _load(self, changed: Sequence[tuple[CanonicalAlert, int, Verdict]]) -> list[Work]:
        if not changed:
            return []
        ids = sorted(alert_id for _, alert_id, _ in changed)
        rows = {row.id: row for row in self.session.scalars(select(Alert).where(Alert.id.in_(ids)))}
        return [
            Work(alert, rows[alert_id], found, previous_incident_id=rows[alert_id].incident_id)
            for alert, alert_id, found in changed
        ]

    def _new_row(self, alert: CanonicalAlert, found: Bound) -> Alert:
        """The new alert's row, in memory until ``_insert_new``."""
        resolved = alert.status == AlertStatus.RESOLVED
        return Alert(
            source=alert.source,
            fingerprint=alert.fingerprint,
            name=alert.name[:200],
            status=alert.status,
            severity=alert.severity,
            labels=dict(alert.labels),
            annotations=dict(alert.annotations),
            starts_at=alert.starts_at,
            ends_at=(alert.ends_at or self.now) if resolved else None,
            generator_url=alert.generator_url,
            ci_id=found.ci_id,
            binding=found.how,
            incident_id=None,
            first_seen_at=self.now,
            last_seen_at=self.now,
            occurrence_count=1,
            duplicate_count=0,
            flapping=False,
            flapping_since=None,
            transitions=[],
            suppressed_reason=None,
        )

    def _stored_binding(self, row: Alert) -> Bound:
        ci = self.session.get(ConfigurationItem, row.ci_id) if row.ci_id is not None else None
        return Bound(ci, row.binding if ci is not None else Binding.NONE)

    def _apply(self, works: Sequence[Work]) -> list[Work]:
        """Apply re-fires and resolutions to the rows; the alerts that want an incident."""
        candidates: list[Work] = []
        for work in works:
            row, alert = work.row, work.alert
            if work.verdict == Verdict.REFIRE:
                row.status = AlertStatus.FIRING
                row.starts_at = alert.starts_at
                row.ends_at = None
                row.occurrence_count += 1
                row.name = alert.name[:200]
                row.severity = alert.severity
                row.labels = dict(alert.labels)
                row.annotations = dict(alert.annotations)
                row.generator_url = alert.generator_url
                row.ci_id = work.bound.ci_id
                row.binding = work.bound.how
                row.last_seen_at = self.now
                work.flap = record_transition(row, self.now, self.cfg)
                if work.flap.flapping and not work.flap.started:
                    work.role = R.DAMPED
            elif work.verdict == Verdict.RESOLVE:
                row.status = AlertStatus.RESOLVED
                row.ends_at = alert.ends_at or self.now
                row.annotations = dict(alert.annotations)
                row.last_seen_at = self.now
                work.flap = record_transition(row, self.now, self.cfg)
                work.role = R.RECORDED
            elif work.verdict == Verdict.NEW and not work.firing:
                work.role = R.RECORDED
            if work.role is None:
                candidates.append(work)
        return candidates

    # -- 3. incidents ------------------------------------------------------------------

    def _incidents(self, works: Sequence[Work], candidates: Sequence[Work]) -> None:
        session = self.session
        # A flapping alert's resolutions are damped: no note, no notification, no
        # resolve (except the one that started the flapping, which says so).
        resolving = [
            w
            for w in works
            if w.verdict == Verdict.RESOLVE
            and w.row.incident_id
            and not (w.flap is not None and w.flap.flapping and not w.flap.started)
        ]
        flap_noted = [w for w in works if w.flap is not None and w.flap.started and w.incident_id]
        final = follow_merges(
            session, (w.incident_id for w in [*resolving, *flap_noted] if w.incident_id)
        )
        targets = {w.target for w in candidates if w.target is not None}
        locked = lock_incidents(session, targets | set(final.values()))
        self._revalidate(candidates, locked)
        for work in candidates:
            if work.role in (*_JOINING, R.REOPENED):
                work.link()
        self._join(candidates, locked)
        self._reopen(candidates, locked)
        for work in flap_noted:
            incident_id = final.get(work.incident_id or 0)
            if incident_id in locked:
                self._note(incident_id, self._flap_text(work), [work], flapping=True)
        resolved: dict[int, list[Alert]] = defaultdict(list)
        for work in resolving:
            resolved[final[work.row.incident_id or 0]].append(work.row)
        if resolved:
            session.flush()
            self.tally.incidents_resolved.extend(settle(session, locked, resolved, self.now))
        self._open([w for w in candidates if w.role is None])

    def _revalidate(self, candidates: Sequence[Work], locked: dict[int, IncidentRow]) -> None:
        """Targets read before locking may have moved meanwhile: decide again if so."""
        for work in candidates:
            if work.target is None or work.role not in (*_JOINING, R.REOPENED):
                continue
            row = locked.get(work.target)
            state = row.state if row is not None else None
            if work.role == R.REOPENED and state in OPEN_STATES:
                work.role = R.JOINED
            elif (work.role == R.REOPENED and state == IncidentState.RESOLVED) or (
                work.role != R.REOPENED and state in OPEN_STATES
            ):
                continue
            else:
                work.role, work.target, work.upstream = None, None, None

    def _join(self, candidates: Sequence[Work], locked: dict[int, IncidentRow]) -> None:
        joining: dict[int, list[Work]] = defaultdict(list)
        for work in candidates:
            if work.role in _JOINING and work.target is not None:
                joining[work.target].append(work)
        if not joining:
            return
        add_links(self.session, (i for i in joining if not locked[i].linked), self.now)
        own = {
            i for i, ws in joining.items() if any(w.ci_id == locked[i].primary_ci_id for w in ws)
        }
        touch_links(self.session, own, self.now, own_ci=True)
        touch_links(self.session, set(joining) - own, self.now, own_ci=False)
        link_cis(
            self.session,
            (
                (incident_id, w.ci_id)
                for incident_id, ws in joining.items()
                for w in ws
                if w.ci_id is not None and w.ci_id != locked[incident_id].primary_ci_id
            ),
        )
        for incident_id, members in sorted(joining.items()):
            listed = "; ".join(w.describe() for w in members)
            self._note(incident_id, f"Alert(s) joined: {listed}", members)

    def _reopen(self, candidates: Sequence[Work], locked: dict[int, IncidentRow]) -> None:
        reopening: dict[int, list[Work]] = defaultdict(list)
        for work in candidates:
            if work.role == R.REOPENED and work.target is not None:
                reopening[work.target].append(work)
        if not reopening:
            return
        add_links(self.session, (i for i in reopening if not locked[i].linked), self.now)
        touch_links(self.session, reopening, self.now, own_ci=True)
        for incident_id, members in sorted(reopening.items()):
            row = locked[incident_id]
            names = ", ".join(sorted({w.alert.name for w in members}))
            if row.assignee_id is not None:
                target = IncidentState.IN_PROGRESS
            elif row.assignment_group_id is not None:
                target = IncidentState.ASSIGNED
            else:
                target = IncidentState.NEW
            incident = self.session.get_one(Incident, incident_id)
            lifecycle.transition(
                self.session, ALERTING, incident, target, reason=f"Alert(s) fired again: {names}"
            )
            self._note(incident_id, f"Reopened: alert(s) fired again: {names}", members)
            notify_incident(self.session, incident, NotificationEvent.OPENED, self.now)
            self.tally.incidents_reopened.append(incident_id)

    def _note(self, incident_id: int, body: str, members: list[Work], **extra: Any) -> None:
        self._notes.append((incident_id, body, list(members), extra))

    def _flap_text(self, work: Work) -> str:
        cfg = self.cfg
        return (
            f"Alert {work.alert.name} is flapping ({cfg.flapping_transitions} changes within "
            f"{cfg.flapping_window_minutes} min): its changes are damped until it has been "
            f"quiet for {cfg.flapping_quiet_minutes} min; this incident will not resolve "
            "itself — the NOC confirms."
        )

    def _open(self, remaining: Sequence[Work]) -> None:
        if not remaining:
            return
        groups: dict[tuple[str, int], list[Work]] = defaultdict(list)
        symptoms: list[Work] = []
        for index, work in enumerate(remaining):
            if work.root_ci is not None:
                symptoms.append(work)
            elif work.ci_id is not None:
                groups[("ci", work.ci_id)].append(work)
            else:
                groups[("alert", index)].append(work)
        opened: dict[int, Incident] = {}
        for _, members in sorted(groups.items()):
            lead = lead_of(members)
            incident = self._open_one(lead)
            for work in members:
                if work is not lead:
                    work.decide(R.JOINED, incident.id)
                    work.link()
            if lead.ci_id is not None:
                opened[lead.ci_id] = incident
            listed = "; ".join(w.describe() for w in members)
            self._note(incident.id, f"Opened from alert(s): {listed}", members)
        self._payload_symptoms(symptoms, opened)
        adopted: dict[int, int] = {}
        for _, incident in sorted(opened.items()):
            adopted.update(adopt_downstream(self.session, incident, self.cfg, self.now))
        if adopted:
            self.tally.incidents_adopted.extend(sorted(adopted))
            for work in remaining:  # alerts of this payload that had joined an adoptee
                if work.target in adopted:
                    work.decide(R.SYMPTOM, adopted[work.target])
                    work.link()

    def _open_one(self, lead: Work) -> Incident:
        incident, _ = open_incident(
            self.session, lead.alert, lead.bound.ci, lead.bound.how, self.matrix, self.now
        )
        lead.decide(R.OPENED, incident.id)
        lead.link()
        self.tally.incidents_opened.append(incident.id)
        return incident

    def _payload_symptoms(self, symptoms: Sequence[Work], opened: dict[int, Incident]) -> None:
        by_root: dict[int, list[Work]] = defaultdict(list)
        parents = {w.ci_id: w.root_ci for w in symptoms if w.ci_id is not None}
        for work in symptoms:
            root, seen_cis = work.root_ci, {work.ci_id}
            while root in parents and root not in seen_cis:  # a chain: CPE → router → core
                seen_cis.add(root)
                root = parents[root]
            if root is not None and root in opened:
                by_root[root].append(work)
                work.decide(R.SYMPTOM, opened[root].id)
                work.link()
            else:  # a cycle in the CMDB: the alert opens its own incident
                work.upstream = None
                self._open_one(work)
        for root, members in sorted(by_root.items()):
            incident_id = opened[root].id
            link_cis(self.session, ((incident_id, w.ci_id) for w in members if w.ci_id))
            listed = "; ".join(w.describe() for w in members)
            self._note(incident_id, f"Alert(s) joined: {listed}", members)

    # -- 4. writes ---------------------------------------------------------------------

    def _insert_new(self, works: Sequence[Work]) -> None:
        """Insert the new alerts in one multi-row statement and learn their ids."""
        if not works:
            return
        by_fingerprint = {w.alert.fingerprint: w for w in works}  # unique per payload
        rows = [
            {column: getattr(w.row, column) for column in _ALERT_COLUMNS}
            for w in sorted(works, key=lambda w: w.alert.fingerprint)
        ]
        self.session.flush()
        # Batched by the driver layer ("insertmanyvalues"); rows come back in any order.
        for alert_id, fingerprint in self.session.execute(_INSERT_ALERTS, rows):
            by_fingerprint[fingerprint].row.id = alert_id

    def _occurrences(self, works: Sequence[Work]) -> None:
        inserts: list[dict[str, Any]] = []
        ended: list[dict[str, Any]] = []
        rechecked: list[dict[str, Any]] = []
        for work in works:
            row = work.row
            role = work.role or R.RECORDED
            if work.new_occurrence:
                resolved = row.status == AlertStatus.RESOLVED
                inserts.append(
                    {
                        "alert_id": row.id,
                        "seq": row.occurrence_count,
                        "started_at": row.starts_at,
                        "ended_at": row.ends_at if resolved else None,
                        "received_at": self.now,
                        "resolved_received_at": self.now if resolved else None,
                        "role": role,
                        "incident_id": row.incident_id,
                        "suppressed_reason": row.suppressed_reason,
                    }
                )
            elif work.verdict == Verdict.RESOLVE:
                ended.append(
                    {"a": row.id, "s": row.occurrence_count, "e": row.ends_at, "r": self.now}
                )
            elif work.verdict == Verdict.RECHECK and role != R.SUPPRESSED:
                rechecked.append(
                    {"a": row.id, "s": row.occurrence_count, "rl": role, "i": row.incident_id}
                )
        self.session.flush()
        if inserts:
            self.session.execute(insert(AlertOccurrence), inserts)
        current = (AlertOccurrence.alert_id == bindparam("a")) & (
            AlertOccurrence.seq == bindparam("s")
        )
        connection = self.session.connection()
        if ended:
            values: dict[str, Any] = {
                "ended_at": bindparam("e"),
                "resolved_received_at": bindparam("r"),
            }
            connection.execute(update(AlertOccurrence).where(current).values(values), ended)
        if rechecked:
            values = {
                "role": bindparam("rl"),
                "incident_id": bindparam("i"),
                "suppressed_reason": None,
            }
            connection.execute(update(AlertOccurrence).where(current).values(values), rechecked)

    def _count(self, works: Sequence[Work]) -> None:
        tally = self.tally
        for work in works:
            tally.new += work.verdict == Verdict.NEW
            tally.refired += work.verdict == Verdict.REFIRE
            tally.resolved += work.verdict == Verdict.RESOLVE or (
                work.verdict == Verdict.NEW and not work.firing
            )
            tally.suppressed += work.role == R.SUPPRESSED
            tally.damped += work.role == R.DAMPED
            joined = work.role in _JOINING and work.target is not None
            listed = {*tally.incidents_joined, *tally.incidents_opened}
            if joined and work.target not in listed:
                tally.incidents_joined.append(work.target)


def _data(members: Sequence[Work]) -> dict[str, Any]:
    return {
        "alert_ids": [w.row.id for w in members],
        "fingerprints": [w.alert.fingerprint for w in members],
        "ci_ids": [w.ci_id for w in members],
        "roles": [str(w.role) for w in members],
        "upstream": [
            {"ci_id": w.upstream.ci_id, "name": w.upstream.name, "path": w.upstream.path}
            if w.upstream is not None
            else None
            for w in members
        ],
    }
