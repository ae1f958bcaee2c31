"""Keep each incident's planned escalation steps in line with its state and policy.

"Unaccepted" is precise: the incident is ``new`` or ``assigned`` — nobody has run
``accept`` (which moves it to ``in_progress`` with themselves as assignee) — and it is
not the child of a major incident (the parent escalates for it). ``in_progress`` and
``pending`` count as accepted; ``resolved``, ``closed`` and ``cancelled`` end it.

The clock of one unaccepted stretch starts when the incident was created, or when it
last came back to ``new``/``assigned`` from an accepted or resolved state (a handover
``in_progress → assigned`` or a reopening): that moment is the step rows'
``cycle_started_at``. Each step is due ``after_minutes`` of its policy later.

:func:`sync` runs at the start of every escalation run, in its transaction:

- armed steps of incidents that were accepted, closed or made children are cancelled;
- for each unaccepted incident, the steps its priority's policy wants for the current
  stretch are inserted if missing (``ON CONFLICT DO NOTHING`` on the unique key, so two
  planners cannot double them), moved when the policy or priority changed, cancelled
  when the policy dropped them or an older stretch was superseded, and armed again when
  the policy gives a dropped step back or a child incident is unlinked.

Rows are read as plain tuples and changed with guarded ``UPDATE … WHERE fired_at IS
NULL AND cancelled_at IS NULL`` statements: a step that fired is never touched again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from alerting.escalation.choices import CancelReason, EscalationLevel
from alerting.escalation.models import IncidentEscalation
from alerting.escalation.policies import Policy
from itsm_core.incidents.choices import IncidentState, Priority, TimelineKind
from itsm_core.incidents.models import Incident, TimelineEntry

E = IncidentEscalation
S = IncidentState
UNACCEPTED = (S.NEW, S.ASSIGNED)
ACCEPTED = (S.IN_PROGRESS, S.PENDING)
CHUNK = 500
# Steps called off for a reason that can pass within the same stretch: the policy gave
# the step back, or the incident stopped being a child. They are armed again.
REARMABLE = (CancelReason.POLICY, CancelReason.CHILD)


def armed() -> ColumnElement[bool]:
    """Steps that may still fire."""
    return E.fired_at.is_(None) & E.cancelled_at.is_(None)


def escalating() -> ColumnElement[bool]:
    """Incidents whose unaccepted time counts."""
    return Incident.state.in_(UNACCEPTED) & Incident.parent_id.is_(None)


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def cancel(session: Session, step_ids: Sequence[int], reason: CancelReason, now: datetime) -> int:
    """Call off armed steps; steps that fired meanwhile are left alone."""
    done = 0
    for chunk in _chunks(step_ids):
        result = session.execute(
            update(E)
            .where(E.id.in_(chunk), armed())
            .values(cancelled_at=now, cancel_reason=reason)
            .execution_options(synchronize_session=False)
        )
        done += int(getattr(result, "rowcount", 0) or 0)
    return done


def _stop_finished(session: Session, now: datetime) -> None:
    rows = session.execute(
        select(E.id, Incident.state, Incident.parent_id)
        .join(Incident, Incident.id == E.incident_id)
        .where(armed(), ~escalating())
    ).all()
    by_reason: dict[CancelReason, list[int]] = {}
    for step_id, state, parent_id in rows:
        if state in ACCEPTED:
            reason = CancelReason.ACCEPTED
        elif state in UNACCEPTED and parent_id is not None:
            reason = CancelReason.CHILD
        else:
            reason = CancelReason.CLOSED
        by_reason.setdefault(reason, []).append(step_id)
    for reason, ids in by_reason.items():
        cancel(session, ids, reason, now)


def cycle_starts(session: Session, incidents: dict[int, datetime]) -> dict[int, datetime]:
    """When each incident's current unaccepted stretch began (``incidents``: id → created)."""
    starts = dict(incidents)
    for chunk in _chunks(sorted(incidents)):
        returns = session.execute(
            select(TimelineEntry.incident_id, func.max(TimelineEntry.at))
            .where(
                TimelineEntry.incident_id.in_(chunk),
                TimelineEntry.kind == TimelineKind.STATE_CHANGE,
                TimelineEntry.to_state.in_(UNACCEPTED),
                TimelineEntry.from_state.not_in(UNACCEPTED),
            )
            .group_by(TimelineEntry.incident_id)
        ).all()
        for incident_id, at in returns:
            if at is not None and at > starts[incident_id]:
                starts[incident_id] = at
    return starts


def _insert_ignoring_duplicates(session: Session, values: list[dict[str, Any]]) -> None:
    if not values:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(E)
        .values(values)
        .on_conflict_do_nothing(index_elements=["incident_id", "cycle_started_at", "level"])
    )
    session.execute(stmt)


def sync(session: Session, now: datetime, policies: dict[Priority, Policy]) -> None:
    """Bring every incident's armed steps in line (see the module docstring)."""
    _stop_finished(session, now)
    candidates = {
        row.id: row
        for row in session.execute(
            select(Incident.id, Incident.priority, Incident.created_at).where(escalating())
        )
    }
    if not candidates:
        return
    starts = cycle_starts(session, {i: row.created_at for i, row in candidates.items()})
    existing: dict[int, list[Any]] = {}
    for chunk in _chunks(sorted(candidates)):
        for step in session.execute(
            select(
                E.id, E.incident_id, E.cycle_started_at, E.level, E.priority, E.due_at,
                E.fired_at, E.cancelled_at, E.cancel_reason,
            ).where(E.incident_id.in_(chunk))
        ):  # fmt: skip
            existing.setdefault(step.incident_id, []).append(step)

    inserts: list[dict[str, Any]] = []
    superseded: list[int] = []
    dropped: list[int] = []
    for incident_id, incident in candidates.items():
        start = starts[incident_id]
        policy = policies[incident.priority]
        wanted = policy.steps()
        current: dict[EscalationLevel, Any] = {}
        for step in existing.get(incident_id, []):
            is_armed = step.fired_at is None and step.cancelled_at is None
            if step.cycle_started_at != start:
                if is_armed:
                    superseded.append(step.id)
                continue
            current[step.level] = step
            if is_armed and step.level not in wanted:
                dropped.append(step.id)
        for level, minutes in wanted.items():
            due = start + timedelta(minutes=minutes)
            planned = current.get(level)
            if planned is None:
                inserts.append(
                    {
                        "incident_id": incident_id,
                        "cycle_started_at": start,
                        "level": level,
                        "priority": incident.priority,
                        "after_minutes": minutes,
                        "due_at": due,
                    }
                )
            elif planned.fired_at is None and (
                (planned.due_at, planned.priority) != (due, incident.priority)
                or planned.cancel_reason in REARMABLE
            ):
                session.execute(
                    update(E)
                    .where(E.id == planned.id, E.fired_at.is_(None))
                    .where(E.cancelled_at.is_(None) | E.cancel_reason.in_(REARMABLE))
                    .values(
                        due_at=due,
                        priority=incident.priority,
                        after_minutes=minutes,
                        cancelled_at=None,
                        cancel_reason=None,
                    )
                    .execution_options(synchronize_session=False)
                )
    cancel(session, superseded, CancelReason.SUPERSEDED, now)
    cancel(session, dropped, CancelReason.POLICY, now)
    for start_at in range(0, len(inserts), CHUNK):
        _insert_ignoring_duplicates(session, inserts[start_at : start_at + CHUNK])
