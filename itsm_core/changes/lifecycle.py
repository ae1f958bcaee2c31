"""The change lifecycle: one state machine, one path every caller goes through.

::

    new ─submit─▶ assessment ─request_approval─▶ awaiting_approval ─approve (quorum)─▶ scheduled
     │ ─expedite (emergency only)───────────────▶        │                                ▲
     │              └─decline (manager, reason)─▶ rejected ◀─reject (a vote)             │
     └─pre_approve (standard, from a template)────────────────────────────────────────────┘
    scheduled ─start─▶ implementing ─complete─▶ review ─close (outcome)─▶ closed
                            └─fail (reason)─▶ failed ─review_failure─▶ review
    new | assessment | awaiting_approval | scheduled ─cancel (reason)─▶ cancelled

Final states: closed, rejected, cancelled. Seed 001 §5 is the process: raise and
classify (new), assess and prepare the back-out plan (assessment), approval by the change
manager and the CAB (awaiting_approval), implement — and back out if it fails —, then
review and close. "只有经过审批的变更才允许执行": nothing reaches ``implementing``
without an approval, a template's pre-approval, or an approver's vote.

The rules (``rules.py``), and why a hospital CAB wants them (refusals are
``InvalidTransition``, 409, naming the field at fault):

- **submit / request_approval / expedite**: standard changes never enter assessment;
  approval needs a planned window, an implementation plan, a back-out plan and at least
  one CI (the CAB judges impact on something). Only emergency changes skip assessment.
  The approval requirements are fixed here (see ``quorum``).
- **approve** (awaiting_approval → scheduled): only once the quorum is met — cast votes
  with ``approvals.approve``, which moves the change itself when the last seat is filled.
- **pre_approve** (new → scheduled): only standard changes made from a template.
- **scheduling** (approve, pre_approve) is refused while the window overlaps a scheduled
  or implementing change on a shared CI, unless forced (see ``conflicts``).
- **reject**: at awaiting_approval only through an approver's rejecting vote; earlier, a
  change manager may **decline** an RFC in assessment, with a reason.
- **start**: a normal or standard change starts inside its approved window; an emergency
  change may start as soon as it is approved (its window is indicative).
- **fail** needs a reason; a failed change still gets its post-implementation review.
- **close** needs a review outcome; a failed change cannot be reviewed as a success.
- **cancel** needs a reason and is possible until implementation starts.

Emergency changes are approved *before* implementation (one ECAB approver suffices);
retrospective approval is not offered — seed 001 allows only approved changes to run.

Permissions, checked here so jobs and the API agree: every move needs ``change:write``;
declining and forcing a schedule past a conflict need ``change:manage``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from itsm_core.actor import Actor
from itsm_core.changes import history, quorum
from itsm_core.changes.choices import ChangeState, EventKind, ReviewOutcome
from itsm_core.changes.models import Change
from itsm_core.changes.rules import (
    EMERGENCY_ONLY,
    FROM_TEMPLATE,
    NO_BLOCKING_CONFLICT,
    NOT_REQUESTER,
    NOT_STANDARD,
    OUTCOME,
    QUORUM_MET,
    READY,
    REASON,
    REJECTION_VOTED,
    WITHIN_WINDOW,
    FieldRule,
    Move,
    filled,
)
from itsm_core.errors import Forbidden, InvalidTransition, ValidationFailed
from itsm_core.people.roles import Permission
from itsm_core.statemachine import StateMachine
from itsm_core.timeutil import utcnow

S = ChangeState

CANCELLABLE = [S.NEW, S.ASSESSMENT, S.AWAITING_APPROVAL, S.SCHEDULED]

MACHINE: StateMachine[ChangeState, Move] = (
    StateMachine[ChangeState, Move]("change")
    .allow("submit", [S.NEW], S.ASSESSMENT, NOT_STANDARD)
    .allow("expedite", [S.NEW], S.AWAITING_APPROVAL, EMERGENCY_ONLY, READY)
    .allow("request_approval", [S.ASSESSMENT], S.AWAITING_APPROVAL, NOT_STANDARD, READY)
    .allow("pre_approve", [S.NEW], S.SCHEDULED, FROM_TEMPLATE, NO_BLOCKING_CONFLICT)
    .allow("approve", [S.AWAITING_APPROVAL], S.SCHEDULED, QUORUM_MET, NO_BLOCKING_CONFLICT)
    .allow("reject", [S.AWAITING_APPROVAL], S.REJECTED, REJECTION_VOTED)
    .allow("decline", [S.ASSESSMENT], S.REJECTED, REASON, NOT_REQUESTER)
    .allow("cancel", CANCELLABLE, S.CANCELLED, REASON)
    .allow("start", [S.SCHEDULED], S.IMPLEMENTING, WITHIN_WINDOW)
    .allow("complete", [S.IMPLEMENTING], S.REVIEW)
    .allow("fail", [S.IMPLEMENTING], S.FAILED, REASON)
    .allow("review_failure", [S.FAILED], S.REVIEW)
    .allow("close", [S.REVIEW], S.CLOSED, OUTCOME)
)

# Moves that need more than change:write.
PERMISSIONS = {"decline": Permission.CHANGE_MANAGE}
# The reason given is kept on the change as *the* reason for its state.
_KEEPS_REASON = {S.CANCELLED, S.REJECTED, S.FAILED}


def allowed_targets(state: ChangeState) -> list[ChangeState]:
    """Where a change in ``state`` may go next (before rules), for the UI."""
    return sorted(set(MACHINE.targets(state)))


def transition(
    session: Session,
    actor: Actor,
    change: Change,
    target: ChangeState,
    *,
    reason: str | None = None,
    force: bool = False,
    review_outcome: ReviewOutcome | None = None,
    review_notes: str | None = None,
    approver_groups: Sequence[quorum.Requirement] | None = None,
    now: datetime | None = None,
) -> Change:
    """Move ``change`` to ``target`` on behalf of ``actor``, if allowed — the one public path.

    ``approver_groups`` replaces the default approval policy when submitting for approval;
    ``force`` (with a ``reason``) schedules past conflicting committed changes.
    """
    target = ChangeState(target)
    lock(session, change)  # decide on the change as it is now, not on a stale copy
    edge = MACHINE.find(change.state, target)
    needed = PERMISSIONS.get(edge.name, Permission.CHANGE_WRITE) if edge else None
    if not actor.can(needed or Permission.CHANGE_WRITE):
        raise Forbidden(f"{actor.name} may not {edge.name if edge else 'move'} a change")
    if force:
        check_force(actor, target, reason)
    if approver_groups is not None and target is not S.AWAITING_APPROVAL:
        raise ValidationFailed.on(quorum.FIELD, "only when submitting for approval")
    if (review_outcome is not None or review_notes) and target is not S.CLOSED:
        raise ValidationFailed.on("review_outcome", "only when closing")
    return _apply(
        session,
        actor,
        change,
        target,
        reason=reason,
        force=force,
        review_outcome=review_outcome,
        review_notes=review_notes,
        approver_groups=approver_groups,
        now=now,
    )


def check_force(actor: Actor, target: ChangeState, reason: str | None) -> None:
    """Refuse a forced move unless it schedules, by a change manager, with a reason."""
    if target is not S.SCHEDULED:
        raise ValidationFailed.on("force", "only scheduling can be forced")
    if not actor.can(Permission.CHANGE_MANAGE):
        raise Forbidden(
            "only a change manager may force a schedule past conflicts",
            errors={"force": ["needs change:manage"]},
        )
    if not filled(reason):
        raise ValidationFailed.on("reason", "forcing a schedule needs a reason")


def move(
    session: Session,
    actor: Actor,
    change: Change,
    target: ChangeState,
    *,
    reason: str | None = None,
    force: bool = False,
    review_outcome: ReviewOutcome | None = None,
    review_notes: str | None = None,
    approver_groups: Sequence[quorum.Requirement] | None = None,
    now: datetime | None = None,
) -> Change:
    """Apply a move whose *permission* the caller has already settled.

    ``approvals`` moves a change when a vote decides it: the vote was the authority, so
    an approver without ``change:write`` still schedules or rejects by voting. The state
    machine and every rule apply here all the same.
    """
    lock(session, change)
    return _apply(
        session,
        actor,
        change,
        target,
        reason=reason,
        force=force,
        review_outcome=review_outcome,
        review_notes=review_notes,
        approver_groups=approver_groups,
        now=now,
    )


def _apply(
    session: Session,
    actor: Actor,
    change: Change,
    target: ChangeState,
    *,
    reason: str | None,
    force: bool,
    review_outcome: ReviewOutcome | None,
    review_notes: str | None,
    approver_groups: Sequence[quorum.Requirement] | None,
    now: datetime | None,
) -> Change:
    current = change.state
    m = Move(
        session,
        actor,
        change,
        target,
        now or utcnow(),
        reason=reason.strip() if reason else None,
        force=force,
        review_outcome=review_outcome,
    )
    name = _check(m)
    requirements: list[quorum.Requirement] = []
    if target is S.AWAITING_APPROVAL:
        requirements = quorum.resolve(session, actor, change, approver_groups)
    before = history.brief(change)
    _enter(m, review_notes)
    change.state = target
    session.flush()
    if requirements:
        quorum.fix(session, change, requirements)

    data: dict[str, Any] = {"transition": name}
    if requirements:
        data["approver_groups"] = [
            {"group_id": r.group_id, "required": r.required} for r in requirements
        ]
    if target is S.SCHEDULED:
        overlaps = [c.change.number for c in m.committed_overlaps]
        if overlaps:
            data["forced_over" if force else "overlaps_ignored"] = overlaps
        if name == "pre_approve":
            data["template_id"] = change.template_id
    if review_outcome is not None:
        data["review_outcome"] = review_outcome.value
    history.log(
        session,
        actor,
        change,
        EventKind.PRE_APPROVED if name == "pre_approve" else EventKind.TRANSITION,
        f"change.{name}",
        message=m.reason or "",
        from_state=current,
        to_state=target,
        data=data,
        before=before,
        after={**history.brief(change), **data, "reason": m.reason},
    )
    return change


def lock(session: Session, change: Change) -> None:
    """Re-read the change and hold its row until commit, so concurrent votes and moves
    queue up and none decides on a stale copy (SQLite serialises writers anyway and
    ignores ``FOR UPDATE``; the re-read still matters for long-lived sessions)."""
    session.flush()
    session.refresh(change, with_for_update=True)


def _check(m: Move) -> str:
    current = m.change.state
    try:
        return MACHINE.check(current, m.target, m).name
    except InvalidTransition as exc:
        edge = MACHINE.find(current, m.target)
        failed = next((r for r in edge.rules if r(m)), None) if edge else None
        if isinstance(failed, FieldRule):
            exc.errors[failed.field] = [failed(m) or ""]
        raise


def _enter(m: Move, review_notes: str | None) -> None:
    change, target, now = m.change, m.target, m.now
    if target in _KEEPS_REASON:
        change.state_reason = m.reason
    if target is S.SCHEDULED:
        change.approved_at = now
    elif target is S.IMPLEMENTING:
        change.actual_start = now
    elif target is S.FAILED:
        change.actual_end = now
        change.failed_at = now
    elif target is S.REVIEW and change.state is S.IMPLEMENTING:
        change.actual_end = now
    elif target is S.CLOSED:
        change.closed_at = now
        change.review_outcome = m.review_outcome
        change.review_notes = review_notes.strip() if review_notes else None
