"""Creating, editing, assigning and accepting incidents."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.audit.models import AuditEntry
from itsm_core.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from itsm_core.incidents import lifecycle, service, timeline
from itsm_core.incidents.choices import (
    IncidentKind,
    IncidentSource,
    IncidentState,
    Level,
    Priority,
    TimelineKind,
)
from itsm_core.incidents.models import format_number
from itsm_core.incidents.priority import DEFAULT_MATRIX
from itsm_core.incidents.schemas import IncidentCreate, IncidentPatch
from tests.itsm_core.incidents import factories as f

S = IncidentState


# --- create ----------------------------------------------------------------------------


def test_number_is_derived_from_the_id() -> None:
    assert format_number(123) == "INC000123"
    assert format_number(1234567) == "INC1234567"


def test_create_computes_priority_and_starts_new(session: Session) -> None:
    incident = f.incident(
        session, impact=Level.HIGH, urgency=Level.MEDIUM, source=IncidentSource.PHONE
    )
    assert incident.priority == Priority.P2
    assert incident.priority_override_reason is None
    assert incident.state == S.NEW
    assert incident.number == format_number(incident.id)
    assert incident.created_by == "system"
    assert incident.kind == IncidentKind.INCIDENT


def test_create_defaults_to_medium_medium(session: Session) -> None:
    assert f.incident(session).priority == Priority.P3


def test_create_with_a_custom_matrix(session: Session) -> None:
    matrix = DEFAULT_MATRIX.with_overrides({"medium": {"medium": "P2"}})
    data = IncidentCreate(title="PACS viewer slow")
    assert service.create_incident(session, SYSTEM, data, matrix=matrix).priority == Priority.P2


def test_explicit_priority_needs_a_reason() -> None:
    with pytest.raises(ValidationError, match="priority_reason"):
        IncidentCreate(title="x", priority=Priority.P1)


def test_explicit_priority_with_a_reason_overrides_the_matrix(session: Session) -> None:
    incident = f.incident(
        session,
        impact=Level.LOW,
        urgency=Level.LOW,
        priority=Priority.P1,
        priority_reason="the director's office",
    )
    assert incident.priority == Priority.P1
    assert incident.priority_override_reason == "the director's office"
    created = timeline.entries(session, incident.id, [TimelineKind.CREATED])[0]
    assert created.data["priority_override_reason"] == "the director's office"


def test_create_with_a_group_starts_assigned(session: Session) -> None:
    network = f.group(session, "network")
    incident = f.incident(session, assignment_group_id=network.id)
    assert incident.state == S.ASSIGNED
    assert incident.assigned_at is not None
    kinds = [e.kind for e in timeline.entries(session, incident.id)]
    assert kinds == [TimelineKind.CREATED, TimelineKind.ASSIGNMENT, TimelineKind.STATE_CHANGE]


def test_create_records_responsible_people_and_cis(session: Session) -> None:
    first, second = f.user(session), f.user(session)
    router, cpe1, cpe2 = f.ci(session, "tw-router"), f.ci(session, "cpe-1"), f.ci(session, "cpe-2")
    incident = f.incident(
        session,
        first_responsible_id=first.id,
        second_responsible_id=second.id,
        primary_ci_id=router,
        affected_ci_ids=[cpe2, cpe1, cpe2],
    )
    assert (incident.first_responsible_id, incident.second_responsible_id) == (first.id, second.id)
    assert incident.primary_ci_id == router
    assert incident.affected_ci_ids == sorted([cpe1, cpe2])


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"assignment_group_id": 9999}, "assignment_group_id"),
        ({"assignee_id": 9999}, "assignee_id"),
        ({"first_responsible_id": 9999}, "first_responsible_id"),
        ({"second_responsible_id": 9999}, "second_responsible_id"),
        ({"primary_ci_id": 9999}, "primary_ci_id"),
        ({"affected_ci_ids": [9999]}, "affected_ci_ids"),
    ],
)
def test_create_refuses_unknown_references(session: Session, fields: dict, field: str) -> None:
    with pytest.raises(NotFound) as info:
        f.incident(session, **fields)
    assert field in info.value.errors


def test_create_refuses_an_assignee_outside_the_group(session: Session) -> None:
    outsider = f.user(session)
    network = f.group(session, "network")
    with pytest.raises(ValidationFailed) as info:
        f.incident(session, assignment_group_id=network.id, assignee_id=outsider.id)
    assert "assignee_id" in info.value.errors


def test_create_is_audited(session: Session) -> None:
    incident = f.incident(session)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "incident.create")).one()
    assert entry.entity_id == str(incident.id)


# --- assign ----------------------------------------------------------------------------


def test_assign_to_a_group_then_a_member(session: Session) -> None:
    alice = f.user(session, "alice")
    network = f.group(session, "network", alice)
    incident = f.incident(session)
    service.assign(session, SYSTEM, incident, group_id=network.id)
    assert incident.state == S.ASSIGNED
    assert incident.assignee_id is None
    service.assign(session, SYSTEM, incident, assignee_id=alice.id)
    assert incident.state == S.ASSIGNED
    assert (incident.assignment_group_id, incident.assignee_id) == (network.id, alice.id)
    notes = timeline.entries(session, incident.id, [TimelineKind.ASSIGNMENT])
    assert [n.body for n in notes] == ["Assigned to network", "Assigned to network / alice"]
    assert notes[1].data["previous_assignee_id"] is None


def test_assignee_must_belong_to_the_incidents_group(session: Session) -> None:
    network = f.group(session, "network")
    incident = f.incident(session, assignment_group_id=network.id)
    with pytest.raises(ValidationFailed) as info:
        service.assign(session, SYSTEM, incident, assignee_id=f.user(session).id)
    assert "assignee_id" in info.value.errors


def test_inactive_users_cannot_be_assigned(session: Session) -> None:
    bob = f.user(session)
    bob.active = False
    with pytest.raises(ValidationFailed, match="inactive"):
        service.assign(session, SYSTEM, f.incident(session), assignee_id=bob.id)


def test_a_new_group_without_a_person_clears_the_assignee(session: Session) -> None:
    alice = f.user(session)
    network, systems = f.group(session, "network", alice), f.group(session, "systems")
    incident = f.incident(session, assignment_group_id=network.id, assignee_id=alice.id)
    service.assign(session, SYSTEM, incident, group_id=systems.id)
    assert (incident.assignment_group_id, incident.assignee_id) == (systems.id, None)


def test_handing_over_work_in_progress_needs_a_new_acceptance(session: Session) -> None:
    alice, bob = f.user(session), f.user(session)
    network = f.group(session, "network", alice, bob)
    incident = f.incident(session, assignment_group_id=network.id, assignee_id=alice.id)
    service.accept(session, f.actor_of(alice), incident)
    service.assign(session, SYSTEM, incident, assignee_id=bob.id)
    assert incident.state == S.ASSIGNED
    assert incident.assignee_id == bob.id


def test_adding_a_group_to_my_work_keeps_it_in_progress(session: Session) -> None:
    alice = f.user(session)
    incident = f.incident(session, assignee_id=alice.id)
    service.accept(session, f.actor_of(alice), incident)
    network = f.group(session, "network", alice)
    service.assign(session, SYSTEM, incident, group_id=network.id, assignee_id=alice.id)
    assert incident.state == S.IN_PROGRESS
    assert incident.assignment_group_id == network.id


def test_assigning_the_same_owner_again_changes_nothing(session: Session) -> None:
    network = f.group(session, "network")
    incident = f.incident(session, assignment_group_id=network.id)
    before = len(timeline.entries(session, incident.id))
    service.assign(session, SYSTEM, incident, group_id=network.id)
    assert len(timeline.entries(session, incident.id)) == before


@pytest.mark.parametrize("state", [S.RESOLVED, S.CLOSED, S.CANCELLED])
def test_only_open_incidents_are_assigned(session: Session, state: IncidentState) -> None:
    incident = f.incident_in(session, state)
    with pytest.raises(InvalidTransition):
        service.assign(session, SYSTEM, incident, group_id=f.group(session).id)


def test_assign_needs_something(session: Session) -> None:
    with pytest.raises(ValidationFailed):
        service.assign(session, SYSTEM, f.incident(session))


def test_assign_refuses_unknown_group_and_user(session: Session) -> None:
    incident = f.incident(session)
    with pytest.raises(NotFound) as info:
        service.assign(session, SYSTEM, incident, group_id=4242)
    assert "group_id" in info.value.errors
    with pytest.raises(NotFound) as info:
        service.assign(session, SYSTEM, incident, assignee_id=4242)
    assert "assignee_id" in info.value.errors


def test_assign_is_audited(session: Session) -> None:
    incident = f.incident(session)
    service.assign(session, SYSTEM, incident, group_id=f.group(session).id)
    actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert "incident.assign" in actions


# --- accept ----------------------------------------------------------------------------


def test_accept_takes_the_incident(session: Session) -> None:
    alice = f.user(session)
    network = f.group(session, "network", alice)
    incident = f.incident(session, assignment_group_id=network.id)
    service.accept(session, f.actor_of(alice), incident)
    assert incident.state == S.IN_PROGRESS
    assert incident.assignee_id == alice.id
    assert incident.acknowledged_at is not None


def test_accept_a_new_unassigned_incident(session: Session) -> None:
    alice = f.user(session)
    incident = f.incident(session)
    service.accept(session, f.actor_of(alice), incident)
    assert (incident.state, incident.assignee_id) == (S.IN_PROGRESS, alice.id)


def test_accept_twice_is_harmless(session: Session) -> None:
    alice = f.user(session)
    incident = f.incident(session)
    service.accept(session, f.actor_of(alice), incident)
    before = len(timeline.entries(session, incident.id))
    service.accept(session, f.actor_of(alice), incident)
    assert len(timeline.entries(session, incident.id)) == before


def test_accept_someone_elses_work_is_refused(session: Session) -> None:
    alice, bob = f.user(session), f.user(session)
    incident = f.incident(session)
    service.accept(session, f.actor_of(alice), incident)
    with pytest.raises(InvalidTransition):
        service.accept(session, f.actor_of(bob), incident)


def test_accept_outside_the_group_is_forbidden(session: Session) -> None:
    network = f.group(session, "network")
    incident = f.incident(session, assignment_group_id=network.id)
    with pytest.raises(Forbidden, match="not a member"):
        service.accept(session, f.actor_of(f.user(session)), incident)
    assert incident.state == S.ASSIGNED


def test_the_system_cannot_accept(session: Session) -> None:
    with pytest.raises(Forbidden):
        service.accept(session, SYSTEM, f.incident(session))


# --- update ----------------------------------------------------------------------------


def _patch(session: Session, incident: object, **fields: object) -> None:
    service.update_incident(session, SYSTEM, incident, IncidentPatch(**fields))  # type: ignore[arg-type]


def test_changing_impact_recomputes_priority(session: Session) -> None:
    incident = f.incident(session)
    _patch(session, incident, impact=Level.HIGH)
    assert incident.priority == Priority.P2
    entry = timeline.entries(session, incident.id, [TimelineKind.FIELD_CHANGE])[-1]
    assert entry.data["changes"] == {"impact": ["medium", "high"], "priority": ["P3", "P2"]}


def test_changing_impact_drops_a_manual_override(session: Session) -> None:
    incident = f.incident(session, priority=Priority.P1, priority_reason="VIP")
    _patch(session, incident, urgency=Level.LOW)
    assert incident.priority == Priority.P4
    assert incident.priority_override_reason is None


def test_override_in_a_patch(session: Session) -> None:
    incident = f.incident(session)
    _patch(session, incident, impact=Level.LOW, priority=Priority.P2, priority_reason="ward round")
    assert incident.priority == Priority.P2
    assert incident.priority_override_reason == "ward round"
    _patch(session, incident, priority=None)
    assert incident.priority == Priority.P4
    assert incident.priority_override_reason is None


def test_patch_edits_text_kind_people_and_cis(session: Session) -> None:
    first = f.user(session)
    a, b, c = f.ci(session, "a"), f.ci(session, "b"), f.ci(session, "c")
    incident = f.incident(session, affected_ci_ids=[a, b])
    _patch(
        session,
        incident,
        title="EMR down on ward 5",
        kind=IncidentKind.COMPLAINT,
        first_responsible_id=first.id,
        primary_ci_id=c,
        affected_ci_ids=[b, c],
    )
    assert incident.title == "EMR down on ward 5"
    assert incident.kind == IncidentKind.COMPLAINT
    assert incident.first_responsible_id == first.id
    assert incident.primary_ci_id == c
    assert incident.affected_ci_ids == sorted([b, c])
    _patch(session, incident, primary_ci_id=None)
    assert incident.primary_ci_id is None


def test_patch_that_changes_nothing_writes_nothing(session: Session) -> None:
    incident = f.incident(session, title="same")
    before = len(timeline.entries(session, incident.id))
    _patch(session, incident, title="same")
    assert len(timeline.entries(session, incident.id)) == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"primary_ci_id": 777}, "primary_ci_id"),
        ({"affected_ci_ids": [777]}, "affected_ci_ids"),
        ({"first_responsible_id": 777}, "first_responsible_id"),
    ],
)
def test_patch_refuses_unknown_references(session: Session, fields: dict, field: str) -> None:
    with pytest.raises(NotFound) as info:
        _patch(session, f.incident(session), **fields)
    assert field in info.value.errors


@pytest.mark.parametrize("field", ["title", "impact", "kind", "affected_ci_ids", "major"])
def test_patch_refuses_null_for_required_fields(field: str) -> None:
    with pytest.raises(ValidationError) as info:
        IncidentPatch(**{field: None})
    assert info.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize("state", [S.CLOSED, S.CANCELLED])
def test_final_incidents_cannot_be_edited(session: Session, state: IncidentState) -> None:
    incident = f.incident_in(session, state)
    with pytest.raises(Conflict):
        _patch(session, incident, title="too late")


def test_resolved_incidents_can_still_be_corrected(session: Session) -> None:
    incident = f.incident_in(session, S.RESOLVED)
    _patch(session, incident, kind=IncidentKind.CONSULTATION)
    assert incident.kind == IncidentKind.CONSULTATION


def test_update_is_audited_with_before_and_after(session: Session) -> None:
    incident = f.incident(session, title="old")
    _patch(session, incident, title="new")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "incident.update")).one()
    assert (entry.before, entry.after) == ({"title": "old"}, {"title": "new"})


def test_get_incident_unknown_is_404(session: Session) -> None:
    with pytest.raises(NotFound, match="INC000404"):
        service.get_incident(session, 404)


def test_transition_path_is_shared_by_service_moves(session: Session) -> None:
    # accept() and assign() record the same state-change entries as a direct transition.
    alice = f.user(session)
    incident = f.incident(session)
    service.accept(session, f.actor_of(alice), incident)
    lifecycle.transition(session, SYSTEM, incident, S.PENDING, reason="waiting for the ward")
    moves = [
        (e.from_state, e.to_state)
        for e in timeline.entries(session, incident.id, [TimelineKind.STATE_CHANGE])
    ]
    assert moves == [(S.NEW, S.IN_PROGRESS), (S.IN_PROGRESS, S.PENDING)]
