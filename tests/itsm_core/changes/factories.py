"""Plain factories for change tests: people, approver groups, CIs and changes in any state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM, Actor
from itsm_core.changes import approvals, lifecycle, service, templates
from itsm_core.changes.choices import ChangeState, ChangeType, ReviewOutcome, Risk
from itsm_core.changes.models import Change, ChangeTemplate
from itsm_core.cmdb.choices import Criticality
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.incidents.choices import IncidentSource, Level, Priority
from itsm_core.incidents.models import Incident
from itsm_core.people import service as people
from itsm_core.people.models import Group, User
from itsm_core.people.roles import Role
from itsm_core.timeutil import utcnow

S = ChangeState


def user(session: Session, name: str | None = None, role: Role = Role.ENGINEER) -> User:
    return people.create_user(session, SYSTEM, name or f"u-{uuid.uuid4().hex[:6]}", roles={role})


def actor_of(member: User, role: Role | None = None) -> Actor:
    """The member acting through a token of ``role`` (default: any role they hold)."""
    chosen = role or sorted(member.roles)[0]
    return Actor(name=member.username, user_id=member.id, roles=frozenset({chosen}))


def group(session: Session, name: str, *members: User) -> Group:
    made = people.create_group(session, SYSTEM, name)
    for member in members:
        people.add_member(session, SYSTEM, made, member)
    return made


def ci(
    session: Session,
    name: str | None = None,
    *,
    ci_class: str = "vm",
    criticality: Criticality = Criticality.NORMAL,
    tags: list[str] | None = None,
) -> ConfigurationItem:
    item = ConfigurationItem(
        name=name or f"ci-{uuid.uuid4().hex[:6]}",
        ci_class=ci_class,
        criticality=criticality,
        tags=tags or [],
    )
    session.add(item)
    session.flush()
    return item


def incident(session: Session, title: str = "EMR slow") -> Incident:
    item = Incident(
        title=title,
        source=IncidentSource.PHONE,
        impact=Level.MEDIUM,
        urgency=Level.MEDIUM,
        priority=Priority.P3,
        created_by="test",
    )
    session.add(item)
    session.flush()
    return item


def window(
    start_in: timedelta = timedelta(hours=-1), length: timedelta = timedelta(hours=2)
) -> tuple[datetime, datetime]:
    """A window relative to now (default: opened an hour ago, closes in an hour)."""
    start = utcnow() + start_in
    return start, start + length


@dataclass
class Board:
    """A requester, a change manager and the approvers of a CAB and an emergency CAB."""

    requester: User
    manager: User
    cab: Group
    ecab: Group
    approvers: list[User]
    emergency_approver: User
    ci: ConfigurationItem

    @property
    def as_requester(self) -> Actor:
        return actor_of(self.requester)

    @property
    def as_manager(self) -> Actor:
        return actor_of(self.manager)

    def approver(self, i: int) -> Actor:
        return actor_of(self.approvers[i])


def board(session: Session, approvers: int = 3) -> Board:
    """The cast of most tests: ``cab`` with ``approvers`` members, ``ecab`` with one."""
    people_ = [user(session, f"cab-{i}", Role.CHANGE_APPROVER) for i in range(approvers)]
    emergency = user(session, "ecab-0", Role.CHANGE_APPROVER)
    return Board(
        requester=user(session, "requester", Role.ENGINEER),
        manager=user(session, "manager", Role.MANAGER),
        cab=group(session, "cab", *people_),
        ecab=group(session, "ecab", emergency),
        approvers=people_,
        emergency_approver=emergency,
        ci=ci(session, "gw-vm-01"),
    )


def draft(session: Session, b: Board, **overrides: Any) -> Change:
    """A complete normal change on the board's CI, its window open now."""
    start, end = window()
    fields: dict[str, Any] = {
        "title": "Patch the telemedicine gateway",
        "change_type": ChangeType.NORMAL,
        "risk": Risk.LOW,
        "planned_start": start,
        "planned_end": end,
        "implementation_plan": "apt upgrade; reboot",
        "backout_plan": "restore the snapshot",
        "ci_ids": [b.ci.id],
        **overrides,
    }
    return service.create_change(session, b.as_requester, **fields)


def template(session: Session, **overrides: Any) -> ChangeTemplate:
    fields: dict[str, Any] = {
        "name": f"reboot-{uuid.uuid4().hex[:6]}",
        "category": "vm.reboot",
        "ci_classes": ["vm"],
        "implementation_plan": "reboot through the hypervisor API",
        "backout_plan": "start the VM if it stays down",
        **overrides,
    }
    return templates.create_template(session, SYSTEM, **fields)


def standard(session: Session, b: Board, **overrides: Any) -> Change:
    start, end = window()
    fields: dict[str, Any] = {"ci_ids": [b.ci.id], "planned_start": start, "planned_end": end}
    return templates.create_from_template(
        session, b.as_requester, template(session), **{**fields, **overrides}
    )


def approved(session: Session, b: Board, **overrides: Any) -> Change:
    """A low-risk normal change approved by one CAB member: ``scheduled``."""
    change = awaiting(session, b, **overrides)
    approvals.approve(session, b.approver(0), change, "ok")
    return change


def awaiting(session: Session, b: Board, **overrides: Any) -> Change:
    change = draft(session, b, **overrides)
    lifecycle.transition(session, b.as_requester, change, S.ASSESSMENT)
    lifecycle.transition(session, b.as_requester, change, S.AWAITING_APPROVAL)
    return change


def in_state(session: Session, b: Board, state: ChangeState, **overrides: Any) -> Change:
    """A normal change brought to ``state`` through the real functions."""
    me = b.as_requester
    if state is S.NEW:
        return draft(session, b, **overrides)
    if state is S.ASSESSMENT:
        change = draft(session, b, **overrides)
        return lifecycle.transition(session, me, change, S.ASSESSMENT)
    if state is S.AWAITING_APPROVAL:
        return awaiting(session, b, **overrides)
    if state is S.REJECTED:
        change = awaiting(session, b, **overrides)
        approvals.reject(session, b.approver(0), change, "not during clinic hours")
        return change
    if state is S.CANCELLED:
        change = draft(session, b, **overrides)
        return lifecycle.transition(session, me, change, S.CANCELLED, reason="not needed")
    change = approved(session, b, **overrides)
    if state is S.SCHEDULED:
        return change
    lifecycle.transition(session, me, change, S.IMPLEMENTING)
    if state is S.IMPLEMENTING:
        return change
    if state is S.FAILED:
        return lifecycle.transition(session, me, change, S.FAILED, reason="kernel panic")
    lifecycle.transition(session, me, change, S.REVIEW)
    if state is S.REVIEW:
        return change
    assert state is S.CLOSED
    return lifecycle.transition(
        session, me, change, S.CLOSED, review_outcome=ReviewOutcome.SUCCESSFUL
    )
