"""The change state machine: every allowed move works, every other pair is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.audit.models import AuditEntry
from itsm_core.changes import approvals, lifecycle, service
from itsm_core.changes.choices import FINAL_STATES, ChangeState, ChangeType, ReviewOutcome
from itsm_core.changes.lifecycle import MACHINE
from itsm_core.changes.models import Change, ChangeEvent
from itsm_core.errors import Forbidden, InvalidTransition, ValidationFailed
from tests.itsm_core.changes import factories as f

S = ChangeState

# The documented edges (lifecycle docstring); the machine must say exactly this.
DOCUMENTED = {
    (S.NEW, S.ASSESSMENT): "submit",
    (S.NEW, S.AWAITING_APPROVAL): "expedite",
    (S.ASSESSMENT, S.AWAITING_APPROVAL): "request_approval",
    (S.NEW, S.SCHEDULED): "pre_approve",
    (S.AWAITING_APPROVAL, S.SCHEDULED): "approve",
    (S.AWAITING_APPROVAL, S.REJECTED): "reject",
    (S.ASSESSMENT, S.REJECTED): "decline",
    (S.NEW, S.CANCELLED): "cancel",
    (S.ASSESSMENT, S.CANCELLED): "cancel",
    (S.AWAITING_APPROVAL, S.CANCELLED): "cancel",
    (S.SCHEDULED, S.CANCELLED): "cancel",
    (S.SCHEDULED, S.IMPLEMENTING): "start",
    (S.IMPLEMENTING, S.REVIEW): "complete",
    (S.IMPLEMENTING, S.FAILED): "fail",
    (S.FAILED, S.REVIEW): "review_failure",
    (S.REVIEW, S.CLOSED): "close",
}
EDGES = MACHINE.edges()
ALL_PAIRS = [(a, b) for a in S for b in S]


def test_machine_matches_the_documented_edges() -> None:
    assert dict(EDGES) == DOCUMENTED


def test_final_states_lead_nowhere() -> None:
    for state in FINAL_STATES:
        assert lifecycle.allowed_targets(state) == []


def _standard_draft(session: Session, b: f.Board) -> Change:
    # A standard change as create_from_template makes it, before its pre-approval.
    start, end = f.window()
    return service.new_change(
        session,
        b.as_requester,
        title="reboot",
        change_type=ChangeType.STANDARD,
        description="",
        risk=None,
        category="vm.reboot",
        planned_start=start,
        planned_end=end,
        implementation_plan="reboot",
        backout_plan="start",
        ci_ids=[b.ci.id],
        incident_ids=(),
        problem_ids=(),
        implementer_id=None,
        template=f.template(session),
    )


def _perform(session: Session, b: f.Board, source: ChangeState, target: ChangeState) -> Change:
    """Make the allowed move ``source → target`` through the function a caller would use."""
    if (source, target) == (S.NEW, S.SCHEDULED):
        change = _standard_draft(session, b)
        return lifecycle.transition(session, b.as_requester, change, target)
    if (source, target) == (S.NEW, S.AWAITING_APPROVAL):
        change = f.in_state(session, b, source, change_type=ChangeType.EMERGENCY)
        return lifecycle.transition(session, b.as_requester, change, target)
    change = f.in_state(session, b, source)
    if (source, target) == (S.AWAITING_APPROVAL, S.SCHEDULED):
        return approvals.approve(session, b.approver(0), change, "fine").change
    if (source, target) == (S.AWAITING_APPROVAL, S.REJECTED):
        return approvals.reject(session, b.approver(0), change, "too risky").change
    actor = b.as_manager if target is S.REJECTED else b.as_requester
    outcome = ReviewOutcome.SUCCESSFUL if source is S.REVIEW else None
    if source is S.REVIEW and change.failed_at is not None:
        outcome = ReviewOutcome.BACKED_OUT
    return lifecycle.transition(
        session, actor, change, target, reason="a reason", review_outcome=outcome
    )


@pytest.mark.parametrize(("source", "target"), sorted(EDGES), ids=lambda s: str(s))
def test_allowed_transition(session: Session, source: ChangeState, target: ChangeState) -> None:
    b = f.board(session)
    change = _perform(session, b, source, target)
    assert change.state is target
    name = EDGES[(source, target)]
    actions = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity_type == "change", AuditEntry.entity_id == str(change.id)
        )
    ).all()
    assert f"change.{name}" in actions
    event = session.scalars(
        select(ChangeEvent)
        .where(ChangeEvent.change_id == change.id, ChangeEvent.to_state == target)
        .order_by(ChangeEvent.id.desc())
    ).first()
    assert event is not None
    assert event.from_state is source
    assert event.data["transition"] == name


@pytest.mark.parametrize(
    ("source", "target"), [p for p in ALL_PAIRS if p not in EDGES], ids=lambda s: str(s)
)
def test_forbidden_transition(session: Session, source: ChangeState, target: ChangeState) -> None:
    b = f.board(session)
    change = f.in_state(session, b, source)
    outcome = ReviewOutcome.SUCCESSFUL if target is S.CLOSED else None
    with pytest.raises(InvalidTransition, match="allowed from here"):
        lifecycle.transition(
            session, b.as_manager, change, target, reason="a reason", review_outcome=outcome
        )
    assert change.state is source


# --- the rules of each move -------------------------------------------------------------


def test_standard_changes_skip_assessment(session: Session) -> None:
    b = f.board(session)
    change = _standard_draft(session, b)
    with pytest.raises(InvalidTransition, match="pre-approved") as caught:
        lifecycle.transition(session, b.as_requester, change, S.ASSESSMENT)
    assert "change_type" in caught.value.errors


def test_only_emergency_changes_skip_assessment(session: Session) -> None:
    b = f.board(session)
    change = f.draft(session, b)
    with pytest.raises(InvalidTransition, match="only emergency"):
        lifecycle.transition(session, b.as_requester, change, S.AWAITING_APPROVAL)


def test_approval_needs_window_plans_and_a_ci(session: Session) -> None:
    b = f.board(session)
    change = f.draft(
        session,
        b,
        planned_start=None,
        planned_end=None,
        backout_plan="  ",
        implementation_plan="",
        ci_ids=[],
    )
    lifecycle.transition(session, b.as_requester, change, S.ASSESSMENT)
    with pytest.raises(InvalidTransition) as caught:
        lifecycle.transition(session, b.as_requester, change, S.AWAITING_APPROVAL)
    message = caught.value.detail
    for missing in ("planned window", "implementation plan", "back-out plan", "one CI"):
        assert missing in message
    assert change.state is S.ASSESSMENT


def test_pre_approval_is_only_for_template_changes(session: Session) -> None:
    b = f.board(session)
    change = f.draft(session, b)
    with pytest.raises(InvalidTransition, match="template") as caught:
        lifecycle.transition(session, b.as_manager, change, S.SCHEDULED)
    assert "template_id" in caught.value.errors


def test_scheduling_without_quorum_is_refused(session: Session) -> None:
    b = f.board(session)
    change = f.awaiting(session, b)
    with pytest.raises(InvalidTransition, match=r"quorum is not reached \(cab 0/1\)"):
        lifecycle.transition(session, b.as_manager, change, S.SCHEDULED)


def test_rejection_while_awaiting_approval_takes_a_vote(session: Session) -> None:
    b = f.board(session)
    change = f.awaiting(session, b)
    with pytest.raises(InvalidTransition, match="approver's vote"):
        lifecycle.transition(session, b.as_manager, change, S.REJECTED, reason="no")


def test_declining_needs_a_change_manager_a_reason_and_not_the_requester(
    session: Session,
) -> None:
    b = f.board(session)
    change = f.in_state(session, b, S.ASSESSMENT)
    with pytest.raises(Forbidden):
        lifecycle.transition(session, b.as_requester, change, S.REJECTED, reason="no")
    with pytest.raises(InvalidTransition) as caught:
        lifecycle.transition(session, b.as_manager, change, S.REJECTED)
    assert "reason" in caught.value.errors
    own = service.create_change(session, b.as_manager, title="mine")
    lifecycle.transition(session, b.as_manager, own, S.ASSESSMENT)
    with pytest.raises(InvalidTransition, match="requester cancels"):
        lifecycle.transition(session, b.as_manager, own, S.REJECTED, reason="no")
    lifecycle.transition(session, b.as_manager, change, S.REJECTED, reason="duplicate of CHG1")
    assert change.state_reason == "duplicate of CHG1"


@pytest.mark.parametrize("source", lifecycle.CANCELLABLE)
def test_cancelling_needs_a_reason(session: Session, source: ChangeState) -> None:
    b = f.board(session)
    change = f.in_state(session, b, source)
    with pytest.raises(InvalidTransition, match="reason is needed"):
        lifecycle.transition(session, b.as_requester, change, S.CANCELLED, reason="  ")
    lifecycle.transition(session, b.as_requester, change, S.CANCELLED, reason="superseded")
    assert change.state_reason == "superseded"


def test_a_normal_change_starts_inside_its_window(session: Session) -> None:
    b = f.board(session)
    change = f.approved(session, b)
    assert change.planned_start is not None
    assert change.planned_end is not None
    with pytest.raises(InvalidTransition, match="window opens") as caught:
        lifecycle.transition(
            session,
            b.as_requester,
            change,
            S.IMPLEMENTING,
            now=change.planned_start - timedelta(seconds=1),
        )
    assert "planned_start" in caught.value.errors
    with pytest.raises(InvalidTransition, match="window closed"):
        lifecycle.transition(
            session, b.as_requester, change, S.IMPLEMENTING, now=change.planned_end
        )
    lifecycle.transition(session, b.as_requester, change, S.IMPLEMENTING, now=change.planned_start)
    assert change.actual_start == change.planned_start


def test_an_emergency_change_starts_as_soon_as_it_is_approved(session: Session) -> None:
    b = f.board(session)
    start, end = f.window(start_in=timedelta(hours=3))
    change = f.draft(
        session, b, change_type=ChangeType.EMERGENCY, planned_start=start, planned_end=end
    )
    lifecycle.transition(session, b.as_requester, change, S.AWAITING_APPROVAL)
    approvals.approve(session, f.actor_of(b.emergency_approver), change, "go")
    assert change.state is S.SCHEDULED
    lifecycle.transition(session, b.as_requester, change, S.IMPLEMENTING)
    assert change.state is S.IMPLEMENTING


def test_failing_needs_a_reason_and_records_the_end(session: Session) -> None:
    b = f.board(session)
    change = f.in_state(session, b, S.IMPLEMENTING)
    with pytest.raises(InvalidTransition, match="reason"):
        lifecycle.transition(session, b.as_requester, change, S.FAILED)
    lifecycle.transition(session, b.as_requester, change, S.FAILED, reason="disk full")
    assert change.failed_at is not None
    assert change.actual_end == change.failed_at
    assert change.state_reason == "disk full"


def test_closing_needs_an_outcome_true_to_what_happened(session: Session) -> None:
    b = f.board(session)
    change = f.in_state(session, b, S.FAILED)
    lifecycle.transition(session, b.as_requester, change, S.REVIEW)
    with pytest.raises(InvalidTransition, match="review outcome is needed"):
        lifecycle.transition(session, b.as_requester, change, S.CLOSED)
    with pytest.raises(InvalidTransition, match="backed_out or unsuccessful"):
        lifecycle.transition(
            session, b.as_requester, change, S.CLOSED, review_outcome=ReviewOutcome.SUCCESSFUL
        )
    lifecycle.transition(
        session,
        b.as_requester,
        change,
        S.CLOSED,
        review_outcome=ReviewOutcome.BACKED_OUT,
        review_notes="  snapshot restored in 4 minutes ",
    )
    assert change.closed_at is not None
    assert change.review_outcome is ReviewOutcome.BACKED_OUT
    assert change.review_notes == "snapshot restored in 4 minutes"


def test_a_successful_change_records_its_actual_times(session: Session) -> None:
    b = f.board(session)
    change = f.in_state(session, b, S.CLOSED)
    assert change.approved_at is not None
    assert change.actual_start is not None
    assert change.actual_end is not None
    assert change.approved_at <= change.actual_start <= change.actual_end
    assert change.review_outcome is ReviewOutcome.SUCCESSFUL


def test_moves_need_change_write(session: Session) -> None:
    b = f.board(session)
    change = f.draft(session, b)
    with pytest.raises(Forbidden):
        lifecycle.transition(session, b.approver(0), change, S.ASSESSMENT)


def test_details_for_other_moves_are_refused(session: Session) -> None:
    b = f.board(session)
    change = f.draft(session, b)
    with pytest.raises(ValidationFailed) as caught:
        lifecycle.transition(
            session, b.as_requester, change, S.ASSESSMENT, review_outcome=ReviewOutcome.SUCCESSFUL
        )
    assert "review_outcome" in caught.value.errors
    with pytest.raises(ValidationFailed) as caught:
        lifecycle.transition(session, b.as_requester, change, S.ASSESSMENT, approver_groups=[])
    assert "approver_groups" in caught.value.errors


def test_forcing_is_for_change_managers_with_a_reason_and_only_to_schedule(
    session: Session,
) -> None:
    b = f.board(session)
    change = f.draft(session, b)
    with pytest.raises(Forbidden):
        lifecycle.transition(session, b.as_requester, change, S.SCHEDULED, force=True, reason="x")
    with pytest.raises(ValidationFailed) as caught:
        lifecycle.transition(session, b.as_manager, change, S.SCHEDULED, force=True)
    assert "reason" in caught.value.errors
    with pytest.raises(ValidationFailed) as caught:
        lifecycle.transition(session, b.as_manager, change, S.ASSESSMENT, force=True, reason="x")
    assert "force" in caught.value.errors


def test_the_system_actor_moves_changes_like_anyone(session: Session) -> None:
    b = f.board(session)
    change = f.draft(session, b)
    lifecycle.transition(session, SYSTEM, change, S.ASSESSMENT)
    assert change.state is S.ASSESSMENT
