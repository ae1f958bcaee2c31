"""Who must approve a change, and whether enough of them have.

A change's **approval requirements** are fixed when it is submitted for approval: for
each approver group, how many distinct members must approve. They come from the default
policy below unless the submitter names groups; a submitter may add groups or raise
counts, only a change manager (``change:manage``) may ask for less than the default.

Default policy (the groups are looked up by name; create them before the first RFC):

==========  ==========  =======================================
type        risk        requirement
==========  ==========  =======================================
normal      low         1 approver of ``cab``
normal      medium/high 2 approvers of ``cab``
emergency   any         1 approver of ``ecab`` (the emergency CAB)
standard    any         none: pre-approved by its template
==========  ==========  =======================================

An **eligible approver** is an active member of a requirement group holding a role with
``change:approve``, who is neither the requester nor the implementer (four eyes). A
submission whose requirements cannot be met by eligible people is refused at once
rather than left waiting forever.

**Quorum**: each group's count must be met by *distinct* people — one vote fills one
seat, even if the voter sits in two of the groups. Seats are assigned by a maximum
bipartite matching of approvers to groups, so the order in which people vote never
matters. Any single rejection by an eligible approver rejects the change.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from itsm_core.actor import Actor
from itsm_core.changes.choices import ChangeType, Decision, Risk
from itsm_core.changes.models import Approval, ApprovalRequirement, Change
from itsm_core.errors import Forbidden, ValidationFailed
from itsm_core.people.models import Group, User
from itsm_core.people.roles import Permission, permissions_of
from itsm_core.people.service import find_group

CAB_GROUP = "cab"
ECAB_GROUP = "ecab"
FIELD = "approver_groups"


@dataclass(frozen=True)
class Requirement:
    """``required`` distinct approvals from members of group ``group_id``."""

    group_id: int
    required: int


def default_policy(change_type: ChangeType, risk: Risk) -> list[tuple[str, int]]:
    """(group name, approvals) pairs the default policy asks for."""
    if change_type is ChangeType.STANDARD:
        return []
    if change_type is ChangeType.EMERGENCY:
        return [(ECAB_GROUP, 1)]
    return [(CAB_GROUP, 1 if risk is Risk.LOW else 2)]


def eligible(user: User, change: Change) -> bool:
    """Whether ``user`` may vote on ``change`` at all (group membership aside)."""
    return (
        user.active
        and Permission.CHANGE_APPROVE in permissions_of(user.roles)
        and user.id not in (change.requester_id, change.implementer_id)
    )


def max_assignment(
    candidates: Mapping[int, Collection[int]], capacity: Mapping[int, int]
) -> dict[int, int]:
    """Assign each person (key) to at most one of their groups, filling at most
    ``capacity[group]`` seats per group, as many seats as possible: person → group."""
    seated: dict[int, list[int]] = {group: [] for group in capacity}
    owner: dict[int, int] = {}

    def seat(person: int, seen: set[int]) -> bool:
        for group in sorted(candidates[person]):
            if group not in capacity or group in seen:
                continue
            seen.add(group)
            if len(seated[group]) < capacity[group]:
                seated[group].append(person)
                owner[person] = group
                return True
            for other in list(seated[group]):
                if seat(other, seen):  # ``other`` moved to another of their groups
                    seated[group].remove(other)
                    seated[group].append(person)
                    owner[person] = group
                    return True
        return False

    for person in candidates:
        seat(person, set())
    return owner


def resolve(
    session: Session,
    actor: Actor,
    change: Change,
    explicit: Sequence[Requirement] | None,
) -> list[Requirement]:
    """The requirements to fix on ``change`` at submission, validated."""
    defaults: list[Requirement] = []
    for name, count in default_policy(change.change_type, change.risk):
        group = find_group(session, name)
        if group is None:
            raise ValidationFailed.on(
                FIELD,
                f"the default approver group {name!r} does not exist; create it or name "
                "the approver groups explicitly",
            )
        defaults.append(Requirement(group.id, count))
    if explicit is None:
        requirements = defaults
    else:
        requirements = _checked_explicit(session, actor, explicit, defaults)
    _check_feasible(session, change, requirements)
    return requirements


def _checked_explicit(
    session: Session,
    actor: Actor,
    explicit: Sequence[Requirement],
    defaults: Sequence[Requirement],
) -> list[Requirement]:
    if not explicit:
        raise ValidationFailed.on(FIELD, "at least one approver group is needed")
    ids = [r.group_id for r in explicit]
    if len(set(ids)) != len(ids):
        raise ValidationFailed.on(FIELD, "each group may appear once")
    if any(r.required < 1 for r in explicit):
        raise ValidationFailed.on(FIELD, "each group needs at least one approval")
    missing = [i for i in ids if session.get(Group, i) is None]
    if missing:
        raise ValidationFailed.on(FIELD, f"unknown group ids: {', '.join(map(str, missing))}")
    asked = {r.group_id: r.required for r in explicit}
    weaker = [d for d in defaults if asked.get(d.group_id, 0) < d.required]
    if weaker and not actor.can(Permission.CHANGE_MANAGE):
        policy = ", ".join(f"{d.required} of {_name(session, d.group_id)}" for d in weaker)
        raise Forbidden(
            f"only a change manager may ask for less than the default approval policy ({policy})",
            errors={FIELD: ["weaker than the default policy"]},
        )
    return list(explicit)


def _name(session: Session, group_id: int) -> str:
    group = session.get(Group, group_id)
    return group.name if group is not None else str(group_id)


def _check_feasible(session: Session, change: Change, requirements: Sequence[Requirement]) -> None:
    capacity = {r.group_id: r.required for r in requirements}
    candidates: dict[int, set[int]] = {}
    for req in requirements:
        group = session.get(Group, req.group_id)
        assert group is not None
        for user in group.members:
            if eligible(user, change):
                candidates.setdefault(user.id, set()).add(req.group_id)
    seated = max_assignment(candidates, capacity)
    for req in requirements:
        filled = sum(1 for g in seated.values() if g == req.group_id)
        if filled < req.required:
            raise ValidationFailed.on(
                FIELD,
                f"group {_name(session, req.group_id)!r} has {filled} eligible approver(s) "
                f"to spare (active members holding change:approve, other than the requester "
                f"and the implementer); {req.required} needed",
            )


def fix(session: Session, change: Change, requirements: Sequence[Requirement]) -> None:
    """Store ``requirements`` on ``change``, replacing any earlier ones."""
    session.execute(delete(ApprovalRequirement).where(ApprovalRequirement.change_id == change.id))
    for req in requirements:
        session.add(
            ApprovalRequirement(change_id=change.id, group_id=req.group_id, required=req.required)
        )
    session.flush()


@dataclass(frozen=True)
class GroupTally:
    """One requirement and how many of its seats approvals fill."""

    requirement: ApprovalRequirement
    group_name: str
    approved: int

    @property
    def met(self) -> bool:
        return self.approved >= self.requirement.required


@dataclass(frozen=True)
class QuorumStatus:
    """Where the approval of a change stands."""

    tallies: list[GroupTally]
    votes: list[Approval]

    @property
    def met(self) -> bool:
        return bool(self.tallies) and all(t.met for t in self.tallies)

    @property
    def rejection(self) -> Approval | None:
        return next((v for v in self.votes if v.decision is Decision.REJECT), None)

    def describe(self) -> str:
        return ", ".join(
            f"{t.group_name} {t.approved}/{t.requirement.required}" for t in self.tallies
        )


def status(session: Session, change: Change) -> QuorumStatus:
    """Tally the votes of ``change`` against its requirements."""
    requirements = list(
        session.scalars(
            select(ApprovalRequirement)
            .where(ApprovalRequirement.change_id == change.id)
            .order_by(ApprovalRequirement.id)
        )
    )
    votes = list(
        session.scalars(
            select(Approval).where(Approval.change_id == change.id).order_by(Approval.id)
        )
    )
    capacity = {r.group_id: r.required for r in requirements}
    approvals = {v.approver_id: v.group_ids for v in votes if v.decision is Decision.APPROVE}
    seated = max_assignment(approvals, capacity)
    tallies = [
        GroupTally(
            r, _name(session, r.group_id), sum(1 for g in seated.values() if g == r.group_id)
        )
        for r in requirements
    ]
    return QuorumStatus(tallies, votes)
