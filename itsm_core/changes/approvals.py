"""Votes on a change awaiting approval: four eyes, one vote per person, quorum per group.

``submit_for_approval`` puts a change before its approvers; ``approve`` and ``reject``
(or ``vote``) are what the API, remediation and tests call. Who may
vote (all of these, or ``Forbidden``):

- a person (Fulcrum itself never approves), active, acting in a role with
  ``change:approve``;
- not the requester, not the implementer ("谁审批谁负责": the approver answers for it);
- a member of at least one of the change's approver groups;
- who has not voted on this change before (``Conflict``; the database enforces it too).

A rejection needs a comment and rejects the change at once. When an approval fills the
last seat the change moves to ``scheduled`` by the same ``lifecycle`` path as any other
move — unless its window overlaps a committed change: then the vote stands, the change
waits with its quorum met, and a change manager forces the schedule or someone moves
the other change (``VoteResult.blocked_by`` says which).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.actor import Actor
from itsm_core.changes import conflicts, history, lifecycle, quorum
from itsm_core.changes.choices import ChangeState, ChangeType, Decision, EventKind
from itsm_core.changes.models import Approval, ApprovalRequirement, Change
from itsm_core.errors import Conflict, Forbidden, ValidationFailed
from itsm_core.people.models import User
from itsm_core.people.roles import Permission
from itsm_core.timeutil import utcnow


@dataclass(frozen=True)
class VoteResult:
    """The recorded vote, where the change now stands, and what (if anything) blocks it."""

    approval: Approval
    change: Change
    status: quorum.QuorumStatus
    blocked_by: list[conflicts.WindowConflict]


def submit_for_approval(
    session: Session,
    actor: Actor,
    change: Change,
    approver_groups: Sequence[quorum.Requirement] | None = None,
) -> Change:
    """Put ``change`` before its approvers (``awaiting_approval``), from ``new`` or ``assessment``.

    A normal change still in ``new`` passes through ``assessment`` on the way (two
    recorded moves); an emergency change goes straight there. ``approver_groups``
    replaces the default policy (see ``quorum``).
    """
    if change.state is ChangeState.NEW and change.change_type is ChangeType.NORMAL:
        lifecycle.transition(session, actor, change, ChangeState.ASSESSMENT)
    return lifecycle.transition(
        session, actor, change, ChangeState.AWAITING_APPROVAL, approver_groups=approver_groups
    )


def approve(
    session: Session,
    actor: Actor,
    change: Change,
    comment: str = "",
    *,
    now: datetime | None = None,
) -> VoteResult:
    """Record ``actor``'s approval; schedule the change if it completes the quorum."""
    return vote(session, actor, change, Decision.APPROVE, comment, now=now)


def reject(
    session: Session, actor: Actor, change: Change, comment: str, *, now: datetime | None = None
) -> VoteResult:
    """Record ``actor``'s rejection (``comment`` is the reason) and reject the change."""
    return vote(session, actor, change, Decision.REJECT, comment, now=now)


def vote(
    session: Session,
    actor: Actor,
    change: Change,
    decision: Decision,
    comment: str = "",
    *,
    now: datetime | None = None,
) -> VoteResult:
    """Cast one vote; see the module docstring for who may and what follows."""
    lifecycle.lock(session, change)
    comment = comment.strip()
    if change.state is not ChangeState.AWAITING_APPROVAL:
        raise Conflict(
            f"{change.number} is {change.state}, not awaiting approval",
            errors={"state": [f"is {change.state}"]},
        )
    user = _voter(session, actor, change)
    groups = _groups_of(session, user, change)
    if decision is Decision.REJECT and not comment:
        raise ValidationFailed.on("comment", "a rejection needs a reason")
    approval = Approval(
        change_id=change.id,
        approver_id=user.id,
        approver_name=actor.name,
        decision=decision,
        comment=comment,
        group_ids=groups,
        at=now or utcnow(),
    )
    session.add(approval)
    session.flush()
    details = {"decision": decision.value, "comment": comment, "group_ids": groups}
    history.log(
        session,
        actor,
        change,
        EventKind.VOTE,
        "change.vote",
        message=f"{decision.value}: {comment}" if comment else decision.value,
        data=details,
        after=details,
    )
    if decision is Decision.REJECT:
        lifecycle.move(session, actor, change, ChangeState.REJECTED, reason=comment, now=now)
        return VoteResult(approval, change, quorum.status(session, change), [])
    status = quorum.status(session, change)
    blocked: list[conflicts.WindowConflict] = []
    if status.met:
        if change.change_type is not ChangeType.EMERGENCY:
            blocked = conflicts.conflicts_of(session, change, committed_only=True)
        if blocked:
            history.log(
                session,
                actor,
                change,
                EventKind.CONFLICT,
                "change.schedule_blocked",
                message="quorum reached; scheduling waits: "
                + "; ".join(c.describe() for c in blocked),
                data={"conflicts": [c.change.number for c in blocked]},
                after={"conflicts": [c.change.number for c in blocked]},
            )
        else:
            lifecycle.move(session, actor, change, ChangeState.SCHEDULED, now=now)
    return VoteResult(approval, change, status, blocked)


def _voter(session: Session, actor: Actor, change: Change) -> User:
    if actor.user_id is None:
        raise Forbidden("approvals are cast by people, not by Fulcrum itself")
    if not actor.can(Permission.CHANGE_APPROVE):
        raise Forbidden(f"{actor.name} does not act in a role that may approve changes")
    user = session.get(User, actor.user_id)
    if user is None or not user.active:
        raise Forbidden(f"{actor.name} is not an active user")
    if user.id == change.requester_id:
        raise Forbidden("nobody approves their own request", errors={"approver": ["requester"]})
    if user.id == change.implementer_id:
        raise Forbidden(
            "the implementer cannot approve the change they carry out",
            errors={"approver": ["implementer"]},
        )
    earlier = session.scalar(
        select(Approval).where(Approval.change_id == change.id, Approval.approver_id == user.id)
    )
    if earlier is not None:
        raise Conflict(
            f"{actor.name} already voted ({earlier.decision}) on {change.number}",
            errors={"approver": ["already voted"]},
        )
    return user


def _groups_of(session: Session, user: User, change: Change) -> list[int]:
    required = list(
        session.scalars(
            select(ApprovalRequirement.group_id)
            .where(ApprovalRequirement.change_id == change.id)
            .order_by(ApprovalRequirement.group_id)
        )
    )
    mine = {g.id for g in user.groups}
    groups = [g for g in required if g in mine]
    if not groups:
        raise Forbidden(
            f"{user.username} is not a member of an approver group of {change.number}",
            errors={"approver": ["not in an approver group"]},
        )
    return groups
