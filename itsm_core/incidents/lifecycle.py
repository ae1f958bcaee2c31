"""The incident lifecycle: one state machine, one ``transition`` every caller goes through.

::

    new ──assign──▶ assigned ──accept──▶ in_progress ──pend (reason)──▶ pending
    new ──accept (self)────────────────▶ in_progress ◀──resume────────── pending
    in_progress, pending ──assign (hand over)──▶ assigned
    any open state ──resolve (code + notes)──▶ resolved ──close──▶ closed (final)
    any open state ──cancel (reason)──▶ cancelled (final)
    resolved ──reopen (reason)──▶ in_progress | assigned | new

Open states are new, assigned, in_progress and pending. The moves beyond the textbook
path, and why a NOC needs them:

- **new → in_progress**: whoever picks a ticket off the queue accepts it directly
  (``service.accept`` makes them the assignee first).
- **in_progress / pending → assigned**: handing the work to another person or group; the
  new owner must accept it again. Re-assigning an ``assigned`` incident is not a state
  change at all (``service.assign`` keeps it ``assigned``).
- **resolve from any open state**: an alert that clears on its own resolves an incident
  nobody accepted yet, and a major incident resolves children in whatever state they are.
- **pending → cancelled / resolved**: the requester withdraws or the fix lands meanwhile.
- **reopen to new / assigned / in_progress**: back to whoever can act on it — the
  assignee if there is one, else the group, else the queue.

Rules (refusals are ``InvalidTransition``, 409, with the offending field named):
``assigned`` needs an assignment group or an assignee; ``in_progress`` needs an assignee;
``pending``, ``cancelled`` and reopening need a reason; ``resolved`` needs a resolution
code and notes; ``closed`` and ``cancelled`` need no child incident still open;
``closed`` and ``cancelled`` are final.

Side effects, written here and nowhere else: first ``assigned_at`` and ``acknowledged_at``
(the "unaccepted for over 30 minutes" KPI), ``resolved_at``/``closed_at``/
``cancelled_at``, one ``incident_pending_periods`` row per stay in ``pending`` (the SLA
clock pauses on those with ``on_requester``), a timeline entry and an audit entry per move,
and resolving a major incident resolves its open children.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.errors import InvalidTransition
from itsm_core.incidents import timeline
from itsm_core.incidents.choices import (
    OPEN_STATES,
    IncidentState,
    PendingReason,
    ResolutionCode,
    TimelineKind,
)
from itsm_core.incidents.models import Incident, PendingPeriod
from itsm_core.sla import records as sla
from itsm_core.statemachine import StateMachine
from itsm_core.timeutil import utcnow

S = IncidentState


@dataclass(frozen=True)
class Move:
    """What the rules of a move look at: the incident, where it goes and the details."""

    incident: Incident
    target: IncidentState
    reason: str | None = None
    resolution_code: ResolutionCode | None = None
    resolution_notes: str | None = None
    pending_category: PendingReason | None = None
    open_children: int = 0


@dataclass(frozen=True)
class FieldRule:
    """A rule whose refusal is about one input field (named in the error body)."""

    field: str
    test: Callable[[Move], bool]
    message: str

    def __call__(self, move: Move) -> str | None:
        return None if self.test(move) else self.message


def _filled(value: str | None) -> bool:
    return bool(value and value.strip())


HAS_OWNER = FieldRule(
    "assignment_group_id",
    lambda m: m.incident.assignment_group_id is not None or m.incident.assignee_id is not None,
    "an assignment group or an assignee is needed",
)
HAS_ASSIGNEE = FieldRule(
    "assignee_id", lambda m: m.incident.assignee_id is not None, "an assignee is needed"
)
HAS_REASON = FieldRule("reason", lambda m: _filled(m.reason), "a reason is needed")
HAS_RESOLUTION_CODE = FieldRule(
    "resolution_code", lambda m: m.resolution_code is not None, "a resolution code is needed"
)
HAS_RESOLUTION_NOTES = FieldRule(
    "resolution_notes", lambda m: _filled(m.resolution_notes), "resolution notes are needed"
)
NO_OPEN_CHILDREN = FieldRule(
    "children",
    lambda m: m.open_children == 0,
    "child incidents are still open; resolve them (resolving this incident does) first",
)

OPEN = sorted(OPEN_STATES)

MACHINE: StateMachine[IncidentState, Move] = (
    StateMachine[IncidentState, Move]("incident")
    .allow("assign", [S.NEW, S.IN_PROGRESS, S.PENDING], S.ASSIGNED, HAS_OWNER)
    .allow("accept", [S.NEW, S.ASSIGNED], S.IN_PROGRESS, HAS_ASSIGNEE)
    .allow("resume", [S.PENDING], S.IN_PROGRESS, HAS_ASSIGNEE)
    .allow("pend", [S.IN_PROGRESS], S.PENDING, HAS_REASON)
    .allow("resolve", OPEN, S.RESOLVED, HAS_RESOLUTION_CODE, HAS_RESOLUTION_NOTES)
    .allow("close", [S.RESOLVED], S.CLOSED, NO_OPEN_CHILDREN)
    .allow("cancel", OPEN, S.CANCELLED, HAS_REASON, NO_OPEN_CHILDREN)
    .allow("reopen", [S.RESOLVED], S.IN_PROGRESS, HAS_REASON, HAS_ASSIGNEE)
    .allow("reopen_to_group", [S.RESOLVED], S.ASSIGNED, HAS_REASON, HAS_OWNER)
    .allow("reopen_to_queue", [S.RESOLVED], S.NEW, HAS_REASON)
)


def allowed_targets(state: IncidentState) -> list[IncidentState]:
    """Where an incident in ``state`` may go next (before rules), for the UI."""
    return sorted(set(MACHINE.targets(state)))


def open_children(session: Session, incident: Incident) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Incident)
            .where(Incident.parent_id == incident.id, Incident.state.in_(OPEN_STATES))
        )
        or 0
    )


def _check(move: Move) -> str:
    current = move.incident.state
    try:
        return MACHINE.check(current, move.target, move).name
    except InvalidTransition as exc:
        edge = MACHINE.find(current, move.target)
        failed = next((r for r in edge.rules if r(move)), None) if edge else None
        if isinstance(failed, FieldRule):
            exc.errors[failed.field] = [failed.message]
        raise


def snapshot(incident: Incident) -> dict[str, Any]:
    """The fields the audit log keeps before and after each change."""
    return {
        "state": incident.state,
        "priority": incident.priority,
        "assignment_group_id": incident.assignment_group_id,
        "assignee_id": incident.assignee_id,
        "pending_reason": incident.pending_reason,
        "resolution_code": incident.resolution_code,
    }


def transition(
    session: Session,
    actor: Actor,
    incident: Incident,
    target: IncidentState,
    *,
    reason: str | None = None,
    resolution_code: ResolutionCode | None = None,
    resolution_notes: str | None = None,
    pending_category: PendingReason | None = None,
) -> Incident:
    """Move ``incident`` to ``target`` if the machine and its rules allow it.

    The one path for the API, background jobs, the alert pipeline and tests.
    """
    target = IncidentState(target)
    current = incident.state
    move = Move(
        incident,
        target,
        reason=reason.strip() if reason else None,
        resolution_code=resolution_code,
        resolution_notes=resolution_notes.strip() if resolution_notes else None,
        pending_category=pending_category,
        open_children=open_children(session, incident),
    )
    name = _check(move)
    before = snapshot(incident)
    now = utcnow()
    if current == S.PENDING:
        _end_pending(session, incident, now)
    if current == S.RESOLVED and target in OPEN_STATES:
        incident.reopen_count += 1
        incident.resolved_at = None
        incident.resolution_code = None
        incident.resolution_notes = None
    _enter(session, incident, move, now)
    incident.state = target
    session.flush()

    data: dict[str, Any] = {"transition": name}
    if move.resolution_code:
        data["resolution_code"] = move.resolution_code.value
    if target == S.PENDING:
        data["pending_category"] = incident.pending_category
    body = move.resolution_notes if target == S.RESOLVED else (move.reason or "")
    timeline.add_entry(
        session,
        actor,
        incident,
        TimelineKind.STATE_CHANGE,
        body or "",
        from_state=current,
        to_state=target,
        data=data,
        at=now,
    )
    audit.record(
        session,
        actor,
        f"incident.{name}",
        "incident",
        incident.id,
        before=before,
        after=snapshot(incident),
    )
    sla.sync_incident(session, incident, now)
    if target == S.RESOLVED:
        _resolve_children(session, actor, incident)
    return incident


def _enter(session: Session, incident: Incident, move: Move, now: datetime) -> None:
    target = move.target
    if target in (S.ASSIGNED, S.IN_PROGRESS) and incident.assigned_at is None:
        incident.assigned_at = now
    if target == S.IN_PROGRESS and incident.acknowledged_at is None:
        incident.acknowledged_at = now
    if target == S.PENDING:
        category = move.pending_category or PendingReason.OTHER
        incident.pending_reason = move.reason
        incident.pending_category = category
        session.add(
            PendingPeriod(
                incident_id=incident.id,
                started_at=now,
                category=category,
                on_requester=category == PendingReason.REQUESTER,
                reason=move.reason or "",
            )
        )
    elif target == S.RESOLVED:
        incident.resolved_at = now
        incident.resolution_code = move.resolution_code
        incident.resolution_notes = move.resolution_notes
    elif target == S.CLOSED:
        incident.closed_at = now
    elif target == S.CANCELLED:
        incident.cancelled_at = now
        incident.cancel_reason = move.reason


def _end_pending(session: Session, incident: Incident, now: datetime) -> None:
    incident.pending_reason = None
    incident.pending_category = None
    period = session.scalar(
        select(PendingPeriod).where(
            PendingPeriod.incident_id == incident.id, PendingPeriod.ended_at.is_(None)
        )
    )
    if period is not None:
        period.ended_at = now


def _resolve_children(session: Session, actor: Actor, parent: Incident) -> None:
    session.refresh(parent, ["children"])
    resolved = []
    for child in parent.children:
        if child.state in OPEN_STATES:
            transition(
                session,
                actor,
                child,
                S.RESOLVED,
                resolution_code=ResolutionCode.RESOLVED_WITH_PARENT,
                resolution_notes=f"Resolved with {parent.number}: {parent.resolution_notes}",
            )
            resolved.append(child.number)
    if resolved:
        timeline.add_entry(
            session,
            actor,
            parent,
            TimelineKind.SYSTEM,
            f"Resolved child incidents: {', '.join(resolved)}",
            data={"resolved_children": resolved},
        )
