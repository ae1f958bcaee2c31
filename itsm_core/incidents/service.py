"""Creating, editing, assigning and accepting incidents.

State changes go through ``lifecycle.transition``; this module decides *which* move an
assignment or an acceptance implies and checks the records a request names (unknown
users, groups and CIs are ``NotFound`` keyed by the field that named them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from itsm_core.incidents import lifecycle, timeline
from itsm_core.incidents.choices import FINAL_STATES, OPEN_STATES, IncidentState, TimelineKind
from itsm_core.incidents.models import Incident, IncidentCI, format_number
from itsm_core.incidents.priority import DEFAULT_MATRIX, PriorityMatrix
from itsm_core.incidents.schemas import IncidentCreate, IncidentPatch
from itsm_core.people.models import Group, User
from itsm_core.sla import records as sla

S = IncidentState


def get_incident(
    session: Session, incident_id: int, *, for_update: bool = False, field: str = "id"
) -> Incident:
    """The incident, locked for the rest of the transaction when it is about to change.

    ``field`` names the input that carried the id, for the error body.
    """
    incident = session.get(Incident, incident_id, with_for_update=True if for_update else None)
    if incident is None:
        raise NotFound(
            f"incident {format_number(incident_id)} does not exist",
            errors={field: ["no such incident"]},
        )
    return incident


def user_ref(session: Session, user_id: int, field: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist", errors={field: ["no such user"]})
    return user


def group_ref(session: Session, group_id: int, field: str) -> Group:
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound(f"group {group_id} does not exist", errors={field: ["no such group"]})
    return group


def ci_refs(session: Session, ci_ids: Iterable[int], field: str) -> list[int]:
    """The ids, de-duplicated in order, once each is known to be a CI."""
    wanted = list(dict.fromkeys(ci_ids))
    if not wanted:
        return []
    stmt = select(ConfigurationItem.id).where(ConfigurationItem.id.in_(wanted))
    found = set(session.scalars(stmt))
    missing = [i for i in wanted if i not in found]
    if missing:
        listed = ", ".join(map(str, missing))
        raise NotFound(f"CI(s) {listed} do not exist", errors={field: [f"no such CI: {listed}"]})
    return wanted


def _group_of(session: Session, incident: Incident) -> Group | None:
    group_id = incident.assignment_group_id
    return session.get(Group, group_id) if group_id is not None else None


def _assignee(session: Session, user_id: int, group: Group | None) -> User:
    user = user_ref(session, user_id, "assignee_id")
    if not user.active:
        raise ValidationFailed.on("assignee_id", f"{user.username} is inactive")
    if group is not None and user not in group.members:
        raise ValidationFailed.on(
            "assignee_id", f"{user.username} is not a member of group {group.name!r}"
        )
    return user


def _jsonable(value: Any) -> Any:
    return getattr(value, "value", value)


def _record_assignment(
    session: Session, actor: Actor, incident: Incident, before: dict[str, Any]
) -> None:
    group = _group_of(session, incident)
    user = session.get(User, incident.assignee_id) if incident.assignee_id else None
    who = " / ".join(x for x in (group and group.name, user and user.username) if x)
    timeline.add_entry(
        session,
        actor,
        incident,
        TimelineKind.ASSIGNMENT,
        f"Assigned to {who}" if who else "Unassigned",
        data={
            "group_id": incident.assignment_group_id,
            "group": group.name if group else None,
            "assignee_id": incident.assignee_id,
            "assignee": user.username if user else None,
            "previous_group_id": before["assignment_group_id"],
            "previous_assignee_id": before["assignee_id"],
        },
    )
    audit.record(
        session,
        actor,
        "incident.assign",
        "incident",
        incident.id,
        before=before,
        after=lifecycle.snapshot(incident),
    )


def create_incident(
    session: Session,
    actor: Actor,
    data: IncidentCreate,
    *,
    matrix: PriorityMatrix = DEFAULT_MATRIX,
) -> Incident:
    """Record a new incident; with a group or an assignee it starts out ``assigned``."""
    group = (
        group_ref(session, data.assignment_group_id, "assignment_group_id")
        if (data.assignment_group_id)
        else None
    )
    assignee = _assignee(session, data.assignee_id, group) if data.assignee_id else None
    for field in ("first_responsible_id", "second_responsible_id"):
        if getattr(data, field) is not None:
            user_ref(session, getattr(data, field), field)
    if data.primary_ci_id is not None:
        ci_refs(session, [data.primary_ci_id], "primary_ci_id")
    affected = ci_refs(session, data.affected_ci_ids or [], "affected_ci_ids")

    incident = Incident(
        title=data.title,
        description=data.description,
        kind=data.kind,
        source=data.source,
        impact=data.impact,
        urgency=data.urgency,
        priority=data.priority or matrix.priority(data.impact, data.urgency),
        priority_override_reason=data.priority_reason if data.priority else None,
        requester_name=data.requester_name,
        requester_contact=data.requester_contact,
        requester_department=data.requester_department,
        first_responsible_id=data.first_responsible_id,
        second_responsible_id=data.second_responsible_id,
        primary_ci_id=data.primary_ci_id,
        affected=[IncidentCI(ci_id=ci_id) for ci_id in affected],
        state=S.NEW,
        created_by=actor.name,
    )
    session.add(incident)
    session.flush()
    timeline.add_entry(
        session,
        actor,
        incident,
        TimelineKind.CREATED,
        f"{incident.number} created from {incident.source}",
        to_state=S.NEW,
        data={
            "kind": incident.kind.value,
            "source": incident.source.value,
            "impact": incident.impact.value,
            "urgency": incident.urgency.value,
            "priority": incident.priority.value,
            "priority_override_reason": incident.priority_override_reason,
        },
    )
    after = lifecycle.snapshot(incident)
    audit.record(session, actor, "incident.create", "incident", incident.id, after=after)
    if group or assignee:
        before = lifecycle.snapshot(incident)
        incident.assignment_group_id = group.id if group else None
        incident.assignee_id = assignee.id if assignee else None
        session.flush()
        _record_assignment(session, actor, incident, before)
        lifecycle.transition(session, actor, incident, S.ASSIGNED)
    sla.sync_incident(session, incident)
    return incident


def assign(
    session: Session,
    actor: Actor,
    incident: Incident,
    *,
    group_id: int | None = None,
    assignee_id: int | None = None,
) -> Incident:
    """Give the incident to a group and/or a person.

    A new group without a named person clears the assignee (the group picks). A new
    owner must accept again, so an incident in progress or pending goes back to
    ``assigned``; re-assigning an ``assigned`` incident keeps it there.
    """
    if incident.state not in OPEN_STATES:
        raise InvalidTransition(
            "incident", incident.state, S.ASSIGNED, "only open incidents can be assigned"
        )
    if group_id is None and assignee_id is None:
        raise ValidationFailed.on("group_id", "give group_id, assignee_id or both")
    group = group_ref(session, group_id, "group_id") if group_id is not None else None
    effective_group = group or _group_of(session, incident)
    user = _assignee(session, assignee_id, effective_group) if assignee_id is not None else None

    new_group_id = effective_group.id if effective_group else None
    if user is not None:
        new_assignee_id: int | None = user.id
    elif new_group_id != incident.assignment_group_id:
        new_assignee_id = None
    else:
        new_assignee_id = incident.assignee_id
    if (new_group_id, new_assignee_id) == (incident.assignment_group_id, incident.assignee_id):
        return incident

    before = lifecycle.snapshot(incident)
    assignee_changed = new_assignee_id != incident.assignee_id
    incident.assignment_group_id = new_group_id
    incident.assignee_id = new_assignee_id
    session.flush()
    _record_assignment(session, actor, incident, before)
    if incident.state == S.NEW or (
        assignee_changed and incident.state in (S.IN_PROGRESS, S.PENDING)
    ):
        lifecycle.transition(session, actor, incident, S.ASSIGNED, reason="reassigned")
    return incident


def accept(session: Session, actor: Actor, incident: Incident) -> Incident:
    """The acting person takes the incident: assignee = them, state ``in_progress``."""
    if actor.user_id is None:
        raise Forbidden("only a person can accept an incident")
    user = user_ref(session, actor.user_id, "assignee_id")
    if incident.state == S.IN_PROGRESS and incident.assignee_id == user.id:
        return incident
    if incident.state not in (S.NEW, S.ASSIGNED):
        raise InvalidTransition(
            "incident", incident.state, S.IN_PROGRESS, "only new or assigned incidents are accepted"
        )
    group = _group_of(session, incident)
    if group is not None and user not in group.members:
        raise Forbidden(
            f"{user.username} is not a member of group {group.name!r}; reassign the incident first"
        )
    if incident.assignee_id != user.id:
        before = lifecycle.snapshot(incident)
        incident.assignee_id = user.id
        session.flush()
        _record_assignment(session, actor, incident, before)
    return lifecycle.transition(session, actor, incident, S.IN_PROGRESS, reason="accepted")


def update_incident(
    session: Session,
    actor: Actor,
    incident: Incident,
    patch: IncidentPatch,
    *,
    matrix: PriorityMatrix = DEFAULT_MATRIX,
) -> Incident:
    """Apply the fields ``patch`` sets; one timeline entry lists what changed."""
    if incident.state in FINAL_STATES:
        raise Conflict(
            f"{incident.number} is {incident.state} and can no longer be edited",
            errors={"state": [f"a {incident.state} incident is final"]},
        )
    sent = patch.model_fields_set
    changes: dict[str, list[Any]] = {}

    def put(field: str, value: Any) -> None:
        old = getattr(incident, field)
        if old != value:
            changes[field] = [_jsonable(old), _jsonable(value)]
            setattr(incident, field, value)

    for field in ("first_responsible_id", "second_responsible_id"):
        if field in sent and getattr(patch, field) is not None:
            user_ref(session, getattr(patch, field), field)
    if "primary_ci_id" in sent and patch.primary_ci_id is not None:
        ci_refs(session, [patch.primary_ci_id], "primary_ci_id")
    if patch.major is False and incident.children:
        raise ValidationFailed.on("major", "it still has child incidents; unlink them first")

    simple = (
        "title", "description", "kind", "impact", "urgency", "major", "requester_name",
        "requester_contact", "requester_department", "first_responsible_id",
        "second_responsible_id", "primary_ci_id",
    )  # fmt: skip
    for field in simple:
        if field in sent:
            put(field, getattr(patch, field))
    if patch.affected_ci_ids is not None:
        wanted = ci_refs(session, patch.affected_ci_ids, "affected_ci_ids")
        old = incident.affected_ci_ids
        if sorted(old) != sorted(wanted):
            keep = {link.ci_id: link for link in incident.affected}
            incident.affected = [keep.get(c) or IncidentCI(ci_id=c) for c in wanted]
            changes["affected_ci_ids"] = [old, sorted(wanted)]

    if "priority" in sent and patch.priority is not None:
        put("priority", patch.priority)
        put("priority_override_reason", patch.priority_reason)
    elif "priority" in sent or "impact" in changes or "urgency" in changes:
        put("priority", matrix.priority(incident.impact, incident.urgency))
        put("priority_override_reason", None)

    if not changes:
        return incident
    session.flush()
    timeline.add_entry(
        session,
        actor,
        incident,
        TimelineKind.FIELD_CHANGE,
        "Changed " + ", ".join(sorted(changes)),
        data={"changes": changes},
    )
    audit.record(
        session,
        actor,
        "incident.update",
        "incident",
        incident.id,
        before={k: v[0] for k, v in changes.items()},
        after={k: v[1] for k, v in changes.items()},
    )
    sla.sync_incident(session, incident)
    return incident
