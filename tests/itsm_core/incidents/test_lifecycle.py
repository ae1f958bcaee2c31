"""The incident state machine: every pair of states, every rule, every side effect."""

from __future__ import annotations

from datetime import timedelta
from itertools import product

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.audit.models import AuditEntry
from itsm_core.errors import InvalidTransition
from itsm_core.incidents import hierarchy, lifecycle, timeline
from itsm_core.incidents.choices import (
    FINAL_STATES,
    IncidentState,
    PendingReason,
    ResolutionCode,
    TimelineKind,
)
from itsm_core.incidents.lifecycle import MACHINE
from itsm_core.incidents.models import PendingPeriod
from tests.itsm_core.incidents import factories as f

S = IncidentState
EDGES = MACHINE.edges()
ALL_PAIRS = list(product(IncidentState, IncidentState))
ALLOWED = sorted(EDGES)
FORBIDDEN = [pair for pair in ALL_PAIRS if pair not in EDGES]

EXPECTED_EDGES = {
    (S.NEW, S.ASSIGNED): "assign",
    (S.IN_PROGRESS, S.ASSIGNED): "assign",
    (S.PENDING, S.ASSIGNED): "assign",
    (S.NEW, S.IN_PROGRESS): "accept",
    (S.ASSIGNED, S.IN_PROGRESS): "accept",
    (S.PENDING, S.IN_PROGRESS): "resume",
    (S.IN_PROGRESS, S.PENDING): "pend",
    (S.NEW, S.RESOLVED): "resolve",
    (S.ASSIGNED, S.RESOLVED): "resolve",
    (S.IN_PROGRESS, S.RESOLVED): "resolve",
    (S.PENDING, S.RESOLVED): "resolve",
    (S.RESOLVED, S.CLOSED): "close",
    (S.NEW, S.CANCELLED): "cancel",
    (S.ASSIGNED, S.CANCELLED): "cancel",
    (S.IN_PROGRESS, S.CANCELLED): "cancel",
    (S.PENDING, S.CANCELLED): "cancel",
    (S.RESOLVED, S.IN_PROGRESS): "reopen",
    (S.RESOLVED, S.ASSIGNED): "reopen_to_group",
    (S.RESOLVED, S.NEW): "reopen_to_queue",
}


def test_the_machine_has_exactly_the_documented_edges() -> None:
    assert dict(EDGES) == EXPECTED_EDGES


def test_allowed_and_forbidden_pairs_cover_every_pair() -> None:
    assert len(ALLOWED) + len(FORBIDDEN) == len(IncidentState) ** 2


@pytest.mark.parametrize("final", sorted(FINAL_STATES))
def test_final_states_have_no_way_out(final: IncidentState) -> None:
    assert MACHINE.targets(final) == []


@pytest.mark.parametrize(("source", "target"), ALLOWED)
def test_allowed_transition(session: Session, source: IncidentState, target: IncidentState) -> None:
    incident = f.incident_in(session, source)
    lifecycle.transition(session, SYSTEM, incident, target, **f.FULL_DETAILS)
    assert incident.state == target


@pytest.mark.parametrize(("source", "target"), FORBIDDEN)
def test_forbidden_transition(
    session: Session, source: IncidentState, target: IncidentState
) -> None:
    incident = f.incident_in(session, source)
    with pytest.raises(InvalidTransition) as info:
        lifecycle.transition(session, SYSTEM, incident, target, **f.FULL_DETAILS)
    assert info.value.errors["state"]
    assert incident.state == source


@pytest.mark.parametrize(("source", "target"), ALLOWED)
def test_every_move_writes_a_timeline_entry_and_an_audit_entry(
    session: Session, source: IncidentState, target: IncidentState
) -> None:
    incident = f.incident_in(session, source)
    lifecycle.transition(session, SYSTEM, incident, target, **f.FULL_DETAILS)
    last = timeline.entries(session, incident.id, [TimelineKind.STATE_CHANGE])[-1]
    assert (last.from_state, last.to_state) == (source, target)
    assert last.data["transition"] == EDGES[(source, target)]
    audit = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert audit is not None
    assert audit.action == f"incident.{EDGES[(source, target)]}"
    assert audit.entity_id == str(incident.id)
    assert audit.before is not None
    assert audit.after is not None
    assert (audit.before["state"], audit.after["state"]) == (source.value, target.value)


# --- rules -----------------------------------------------------------------------------


def _refused(session: Session, incident: object, target: IncidentState, **details: object) -> dict:
    with pytest.raises(InvalidTransition) as info:
        lifecycle.transition(session, SYSTEM, incident, target, **details)  # type: ignore[arg-type]
    return info.value.errors


def test_assigned_needs_a_group_or_an_assignee(session: Session) -> None:
    incident = f.incident(session)
    errors = _refused(session, incident, S.ASSIGNED)
    assert "assignment_group_id" in errors


def test_a_group_alone_is_enough_to_be_assigned(session: Session) -> None:
    incident = f.incident(session)
    incident.assignment_group_id = f.group(session).id
    lifecycle.transition(session, SYSTEM, incident, S.ASSIGNED)
    assert incident.state == S.ASSIGNED


def test_in_progress_needs_an_assignee(session: Session) -> None:
    incident = f.incident(session, assignment_group_id=f.group(session).id)
    errors = _refused(session, incident, S.IN_PROGRESS)
    assert "assignee_id" in errors


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_pending_needs_a_reason(session: Session, reason: str | None) -> None:
    incident = f.incident_in(session, S.IN_PROGRESS)
    errors = _refused(session, incident, S.PENDING, reason=reason)
    assert errors["reason"] == ["a reason is needed"]


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"resolution_notes": "done"}, "resolution_code"),
        ({"resolution_code": ResolutionCode.FIXED}, "resolution_notes"),
        ({"resolution_code": ResolutionCode.FIXED, "resolution_notes": " "}, "resolution_notes"),
    ],
)
def test_resolve_needs_code_and_notes(session: Session, details: dict, field: str) -> None:
    incident = f.incident_in(session, S.IN_PROGRESS)
    errors = _refused(session, incident, S.RESOLVED, **details)
    assert field in errors


def test_cancel_needs_a_reason(session: Session) -> None:
    incident = f.incident(session)
    errors = _refused(session, incident, S.CANCELLED)
    assert "reason" in errors


@pytest.mark.parametrize("target", [S.IN_PROGRESS, S.ASSIGNED, S.NEW])
def test_reopen_needs_a_reason(session: Session, target: IncidentState) -> None:
    incident = f.incident_in(session, S.RESOLVED, assignment_group_id=f.group(session).id)
    errors = _refused(session, incident, target)
    assert "reason" in errors


def test_reopen_to_in_progress_needs_an_assignee(session: Session) -> None:
    incident = f.incident_in(session, S.RESOLVED)
    incident.assignee_id = None
    errors = _refused(session, incident, S.IN_PROGRESS, reason="still broken")
    assert "assignee_id" in errors


def test_refusal_message_lists_where_the_incident_may_go(session: Session) -> None:
    incident = f.incident_in(session, S.CLOSED)
    with pytest.raises(InvalidTransition, match="allowed from here: none"):
        lifecycle.transition(session, SYSTEM, incident, S.IN_PROGRESS, reason="again")


def test_parent_cannot_close_or_cancel_with_an_open_child(session: Session) -> None:
    parent = f.incident_in(session, S.IN_PROGRESS)
    child = f.incident(session)
    hierarchy.link_child(session, SYSTEM, parent, child)
    errors = _refused(session, parent, S.CANCELLED, reason="mistake")
    assert "children" in errors
    lifecycle.transition(session, SYSTEM, parent, S.RESOLVED, **f.FULL_DETAILS)
    lifecycle.transition(session, SYSTEM, child, S.NEW, reason="users still cannot log in")
    errors = _refused(session, parent, S.CLOSED)
    assert "children" in errors


# --- side effects ----------------------------------------------------------------------


def test_first_assignment_and_acknowledgement_times_are_kept(session: Session) -> None:
    owner = f.user(session)
    incident = f.incident_in(session, S.NEW, owner=owner)
    assert incident.assigned_at is None
    assert incident.acknowledged_at is None
    lifecycle.transition(session, SYSTEM, incident, S.ASSIGNED)
    assigned_at = incident.assigned_at
    assert assigned_at is not None
    lifecycle.transition(session, SYSTEM, incident, S.IN_PROGRESS)
    acknowledged_at = incident.acknowledged_at
    assert acknowledged_at is not None
    assert acknowledged_at >= assigned_at
    lifecycle.transition(session, SYSTEM, incident, S.ASSIGNED, reason="hand over")
    lifecycle.transition(session, SYSTEM, incident, S.IN_PROGRESS)
    assert incident.assigned_at == assigned_at
    assert incident.acknowledged_at == acknowledged_at


def test_accepting_straight_from_new_sets_both_times(session: Session) -> None:
    incident = f.incident_in(session, S.IN_PROGRESS)
    assert incident.assigned_at is not None
    assert incident.acknowledged_at == incident.assigned_at


def test_pending_periods_record_each_stay_with_its_reason(session: Session) -> None:
    incident = f.incident_in(session, S.IN_PROGRESS)
    lifecycle.transition(
        session,
        SYSTEM,
        incident,
        S.PENDING,
        reason="waiting for the ward to reboot the PC",
        pending_category=PendingReason.REQUESTER,
    )
    assert incident.pending_on_requester is True
    assert incident.pending_reason == "waiting for the ward to reboot the PC"
    lifecycle.transition(session, SYSTEM, incident, S.IN_PROGRESS)
    assert incident.pending_reason is None
    assert incident.pending_category is None
    lifecycle.transition(session, SYSTEM, incident, S.PENDING, reason="vendor part on order")
    periods = list(
        session.scalars(
            select(PendingPeriod)
            .where(PendingPeriod.incident_id == incident.id)
            .order_by(PendingPeriod.id)
        )
    )
    assert [(p.category, p.on_requester) for p in periods] == [
        (PendingReason.REQUESTER, True),
        (PendingReason.OTHER, False),
    ]
    assert periods[0].ended_at is not None
    assert periods[0].ended_at >= periods[0].started_at
    assert periods[1].ended_at is None
    assert periods[1].reason == "vendor part on order"


@pytest.mark.parametrize("leave_to", [S.IN_PROGRESS, S.ASSIGNED, S.RESOLVED, S.CANCELLED])
def test_every_way_out_of_pending_ends_the_period(
    session: Session, leave_to: IncidentState
) -> None:
    incident = f.incident_in(session, S.PENDING)
    lifecycle.transition(session, SYSTEM, incident, leave_to, **f.FULL_DETAILS)
    period = session.scalars(
        select(PendingPeriod).where(PendingPeriod.incident_id == incident.id)
    ).one()
    assert period.ended_at is not None


def test_resolve_and_close_stamp_their_times(session: Session) -> None:
    incident = f.incident_in(session, S.IN_PROGRESS)
    lifecycle.transition(session, SYSTEM, incident, S.RESOLVED, **f.FULL_DETAILS)
    assert incident.resolved_at is not None
    assert incident.resolution_code == ResolutionCode.FIXED
    assert incident.resolution_notes == "replaced the SFP"
    lifecycle.transition(session, SYSTEM, incident, S.CLOSED)
    assert incident.closed_at is not None
    assert incident.closed_at - incident.resolved_at < timedelta(minutes=1)


def test_cancel_keeps_the_reason(session: Session) -> None:
    incident = f.incident(session)
    lifecycle.transition(session, SYSTEM, incident, S.CANCELLED, reason="duplicate phone call")
    assert incident.cancel_reason == "duplicate phone call"
    assert incident.cancelled_at is not None


def test_reopen_counts_and_clears_the_resolution(session: Session) -> None:
    incident = f.incident_in(session, S.RESOLVED)
    lifecycle.transition(session, SYSTEM, incident, S.IN_PROGRESS, reason="still down")
    assert incident.reopen_count == 1
    assert incident.resolved_at is None
    assert incident.resolution_code is None
    assert incident.resolution_notes is None
    entry = timeline.entries(session, incident.id, [TimelineKind.STATE_CHANGE])[-1]
    assert entry.body == "still down"


def test_resolution_notes_are_the_timeline_body(session: Session) -> None:
    incident = f.incident_in(session, S.IN_PROGRESS)
    lifecycle.transition(session, SYSTEM, incident, S.RESOLVED, **f.FULL_DETAILS)
    entry = timeline.entries(session, incident.id, [TimelineKind.STATE_CHANGE])[-1]
    assert entry.body == "replaced the SFP"
    assert entry.data["resolution_code"] == "fixed"


def test_allowed_targets_for_the_ui() -> None:
    assert lifecycle.allowed_targets(S.PENDING) == sorted(
        [S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED, S.CANCELLED]
    )


def test_timeline_and_incident_carry_the_same_instant(session: Session) -> None:
    incident = f.incident_in(session, S.RESOLVED)
    entry = timeline.entries(session, incident.id, [TimelineKind.STATE_CHANGE])[-1]
    assert entry.at == incident.resolved_at
