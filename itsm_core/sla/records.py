"""The incident SLA records: derived from the incident's facts by ``sync_incident``.

``sync_incident`` is idempotent: it picks the policy that matches the incident now,
recomputes both clocks (time to own, time to resolve) from ``facts`` and writes the
difference, one ``sla_events`` row per thing that changed. Call it after anything that
changes an incident's priority, CIs or lifecycle; calling it twice changes nothing.

A record's state, for a clock with due time ``due`` that stopped at ``stop`` (or not):

- ``breached`` when ``due`` passed while the clock ran: ``(stop or now) >= due``;
- else ``met`` when stopped by the work, ``cancelled`` when stopped by cancellation (or
  when no policy matches the incident any longer);
- else ``paused`` when an open pause keeps the due time from being known;
- else ``running``; the at-risk warning fires once ``now >= warning_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.errors import ValidationFailed
from itsm_core.incidents.models import Incident
from itsm_core.sla.calendar import BusinessCalendar
from itsm_core.sla.calendar_cache import business_calendar
from itsm_core.sla.choices import SlaEventKind, SlaMetric, SlaState
from itsm_core.sla.clock import DEFAULT_WARNING_SHARE, due_at, warning_at
from itsm_core.sla.events import record_event
from itsm_core.sla.facts import Facts, facts_of
from itsm_core.sla.matching import match_policy
from itsm_core.sla.models import IncidentSla, SlaCalendar, SlaPolicy
from itsm_core.timeutil import utcnow

K = SlaEventKind
_STATE_EVENT = {
    SlaState.BREACHED: K.BREACH,
    SlaState.MET: K.MET,
    SlaState.CANCELLED: K.CANCELLED,
    SlaState.PAUSED: K.PAUSED,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One clock computed from the facts at ``now``."""

    state: SlaState
    due_at: datetime | None
    warning_at: datetime | None
    provisional: bool
    stopped_at: datetime | None


def compute(
    facts: Facts,
    metric: SlaMetric,
    target: timedelta,
    calendar: BusinessCalendar,
    share: float,
    now: datetime,
) -> Outcome:
    """The state and due time of ``metric``'s clock (see the module docstring)."""
    stop = facts.stop(metric)
    pauses = facts.pauses_until(stop)
    due = due_at(facts.start, target, calendar, pauses)
    warning = warning_at(facts.start, target, calendar, pauses, share=share)
    until = stop.at if stop is not None else now
    if due.due is not None and until >= due.due:
        state = SlaState.BREACHED
    elif stop is not None:
        state = SlaState.MET if stop.done else SlaState.CANCELLED
    elif due.due is None:
        state = SlaState.PAUSED
    else:
        state = SlaState.RUNNING
    return Outcome(
        state, due.due, warning.due, due.provisional, stop.at if stop is not None else None
    )


def sync_incident(
    session: Session,
    incident: Incident,
    now: datetime | None = None,
    *,
    warning_share: float | None = None,
) -> list[IncidentSla]:
    """Bring ``incident``'s SLA records in line with its current state; idempotent.

    ``warning_share`` (``[sla] warning_share``) defaults to the share a record already
    has, else 0.75; ``evaluate`` re-applies the configured share.
    """
    now = now or utcnow()
    session.flush()
    existing = {
        record.metric: record
        for record in session.scalars(
            select(IncidentSla).where(IncidentSla.incident_id == incident.id).with_for_update()
        )
    }
    policy = match_policy(session, incident)
    if policy is None:
        for orphan in existing.values():
            _orphan(session, incident, orphan, now)
        return list(existing.values())
    calendar_row = session.get_one(SlaCalendar, policy.calendar_id)
    calendar = business_calendar(calendar_row)
    facts = facts_of(session, incident, now)
    targets = {
        SlaMetric.OWN: policy.time_to_own_minutes,
        SlaMetric.RESOLVE: policy.time_to_resolve_minutes,
    }
    records = []
    for metric, minutes in targets.items():
        current = existing.get(metric)
        share = warning_share
        if share is None:
            share = current.warning_share if current is not None else DEFAULT_WARNING_SHARE
        try:
            outcome = compute(facts, metric, timedelta(minutes=minutes), calendar, share, now)
        except ValueError as exc:
            raise ValidationFailed.on("sla", f"policy {policy.name!r}: {exc}") from exc
        records.append(
            _write(
                session,
                incident,
                current,
                metric,
                _Basis(policy, calendar_row, minutes, share),
                outcome,
                facts,
                now,
            )
        )
    return records


@dataclass(frozen=True, slots=True)
class _Basis:
    policy: SlaPolicy
    calendar: SlaCalendar
    minutes: int
    share: float


@dataclass(frozen=True, slots=True)
class _Snapshot:
    policy_id: int
    target_minutes: int
    calendar_version: int
    state: SlaState
    due_at: datetime | None
    provisional: bool
    stopped_at: datetime | None

    @classmethod
    def of(cls, record: IncidentSla) -> _Snapshot:
        return cls(
            record.policy_id,
            record.target_minutes,
            record.calendar_version,
            record.state,
            record.due_at,
            record.provisional,
            record.stopped_at,
        )

    def view(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "target_minutes": self.target_minutes,
            "state": self.state.value,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "provisional": self.provisional,
        }


def _write(
    session: Session,
    incident: Incident,
    record: IncidentSla | None,
    metric: SlaMetric,
    basis: _Basis,
    outcome: Outcome,
    facts: Facts,
    now: datetime,
) -> IncidentSla:
    before = _Snapshot.of(record) if record is not None else None
    if record is None:
        record = IncidentSla(incident_id=incident.id, metric=metric, started_at=facts.start)
        session.add(record)
    record.policy_id = basis.policy.id
    record.calendar_id = basis.calendar.id
    record.calendar_version = basis.calendar.version
    record.target_minutes = basis.minutes
    record.warning_share = basis.share
    record.started_at = facts.start
    record.state = outcome.state
    record.due_at = outcome.due_at
    record.warning_at = outcome.warning_at
    record.provisional = outcome.provisional
    record.stopped_at = outcome.stopped_at
    record.met_at = outcome.stopped_at if outcome.state is SlaState.MET else None
    record.breached_at = outcome.due_at if outcome.state is SlaState.BREACHED else None
    session.flush()

    after = _Snapshot.of(record)
    for kind in _event_kinds(before, after):
        data = after.view()
        if kind is K.RECALCULATED and before is not None:
            data["previous"] = before.view()
        record_event(session, record, kind, _event_at(kind, record, facts, now), now, data)
    _settle_warning(session, record, now)
    return record


def _event_kinds(before: _Snapshot | None, after: _Snapshot) -> list[SlaEventKind]:
    if before is None:
        started = [K.STARTED]
        if after.state in _STATE_EVENT:
            started.append(_STATE_EVENT[after.state])
        return started
    kinds: list[SlaEventKind] = []
    basis_changed = (before.policy_id, before.target_minutes, before.calendar_version) != (
        after.policy_id,
        after.target_minutes,
        after.calendar_version,
    )
    due_changed = (before.due_at, before.provisional) != (after.due_at, after.provisional)
    if before.stopped_at is not None and after.stopped_at is None:
        kinds.append(K.REOPENED)
    elif (basis_changed and due_changed) or (before.state == after.state and due_changed):
        kinds.append(K.RECALCULATED)
    if before.state != after.state:
        if after.state in _STATE_EVENT:
            kinds.append(_STATE_EVENT[after.state])
        elif before.state is SlaState.PAUSED:
            kinds.append(K.RESUMED)
        elif not kinds:
            kinds.append(K.RECALCULATED)  # breached or orphaned, running again: due moved
    return kinds


def _event_at(kind: SlaEventKind, record: IncidentSla, facts: Facts, now: datetime) -> datetime:
    """When the event happened, as far as the facts tell."""
    if kind is K.STARTED:
        return record.started_at
    if kind is K.BREACH and record.due_at is not None:
        return record.due_at
    if kind in (K.MET, K.CANCELLED) and record.stopped_at is not None:
        return record.stopped_at
    if kind is K.PAUSED:
        return facts.open_pause_start or now
    if kind is K.RESUMED:
        return facts.last_pause_end or now
    return now


def _settle_warning(session: Session, record: IncidentSla, now: datetime) -> None:
    """Issue the at-risk warning once; re-arm it when a recalculation moved it later."""
    if record.state is not SlaState.RUNNING or record.warning_at is None:
        return
    if record.warned_at is None and now >= record.warning_at:
        mark_warned(session, record, now)
    elif record.warned_at is not None and record.warning_at > now:
        record.warned_at = None


def mark_warned(session: Session, record: IncidentSla, now: datetime) -> None:
    """Record the warning of a running record whose warning time has come."""
    assert record.warning_at is not None
    record.warned_at = now
    session.flush()
    data = {"warning_at": record.warning_at, "due_at": record.due_at, "share": record.warning_share}
    record_event(session, record, K.WARNING, record.warning_at, now, data)


def mark_breached(session: Session, record: IncidentSla, now: datetime) -> None:
    """Record the breach of a running record whose due time has come."""
    assert record.due_at is not None
    record.state = SlaState.BREACHED
    record.breached_at = record.due_at
    session.flush()
    data = {"due_at": record.due_at, "provisional": record.provisional}
    record_event(session, record, K.BREACH, record.due_at, now, data)


def _orphan(session: Session, incident: Incident, record: IncidentSla, now: datetime) -> None:
    """No policy matches any longer (priority changed, policy deactivated)."""
    if record.state is SlaState.CANCELLED:
        return
    data = {"reason": "no SLA policy matches the incident", "previous_state": record.state}
    record.state = SlaState.CANCELLED
    session.flush()
    record_event(session, record, K.CANCELLED, now, now, data, incident=incident)
