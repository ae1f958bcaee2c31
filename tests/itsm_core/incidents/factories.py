"""Plain factories for incident tests: people, groups, CIs and incidents in any state."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM, Actor
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.incidents import lifecycle, service
from itsm_core.incidents.choices import IncidentState, ResolutionCode
from itsm_core.incidents.models import Incident
from itsm_core.incidents.schemas import IncidentCreate
from itsm_core.people import service as people
from itsm_core.people.models import Group, User
from itsm_core.people.roles import Role

S = IncidentState

# How to reach each state from ``new`` (each step with details that satisfy its rules).
PATHS: dict[IncidentState, list[IncidentState]] = {
    S.NEW: [],
    S.ASSIGNED: [S.ASSIGNED],
    S.IN_PROGRESS: [S.IN_PROGRESS],
    S.PENDING: [S.IN_PROGRESS, S.PENDING],
    S.RESOLVED: [S.RESOLVED],
    S.CLOSED: [S.RESOLVED, S.CLOSED],
    S.CANCELLED: [S.CANCELLED],
}

# Details that satisfy every rule of every move.
FULL_DETAILS: dict[str, Any] = {
    "reason": "because",
    "resolution_code": ResolutionCode.FIXED,
    "resolution_notes": "replaced the SFP",
}


def user(session: Session, name: str | None = None, role: Role = Role.ENGINEER) -> User:
    return people.create_user(session, SYSTEM, name or f"u-{uuid.uuid4().hex[:6]}", roles={role})


def actor_of(member: User) -> Actor:
    return Actor(name=member.username, user_id=member.id, roles=frozenset(member.roles))


def group(session: Session, name: str | None = None, *members: User) -> Group:
    made = people.create_group(session, SYSTEM, name or f"g-{uuid.uuid4().hex[:6]}")
    for member in members:
        people.add_member(session, SYSTEM, made, member)
    return made


def ci(session: Session, name: str = "core-sw-01", ci_class: str = "network_device") -> int:
    item = ConfigurationItem(name=name, ci_class=ci_class)
    session.add(item)
    session.flush()
    return item.id


def incident(session: Session, actor: Actor = SYSTEM, **fields: Any) -> Incident:
    fields.setdefault("title", "HIS login slow in the outpatient hall")
    return service.create_incident(session, actor, IncidentCreate(**fields))


def incident_in(
    session: Session, state: IncidentState, *, owner: User | None = None, **fields: Any
) -> Incident:
    """An incident driven to ``state`` through the lifecycle, owned by ``owner``."""
    made = incident(session, **fields)
    member = owner or user(session)
    made.assignee_id = member.id
    session.flush()
    for step in PATHS[state]:
        lifecycle.transition(session, SYSTEM, made, step, **FULL_DETAILS)
    assert made.state == state
    return made
