"""CAB approvals: who may vote, one vote each, quorum per group, rejection, emergency CAB."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from itsm_core.actor import SYSTEM, Actor
from itsm_core.audit.models import AuditEntry
from itsm_core.changes import approvals, lifecycle, quorum, service
from itsm_core.changes.choices import ChangeState, ChangeType, Decision, Risk
from itsm_core.changes.models import Approval, ApprovalRequirement
from itsm_core.changes.quorum import Requirement
from itsm_core.errors import Conflict, Forbidden, ValidationFailed
from itsm_core.people import service as people
from itsm_core.people.roles import Role
from tests.itsm_core.changes import factories as f

S = ChangeState


def _actions(session: Session, change_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity_type == "change", AuditEntry.entity_id == str(change_id))
            .order_by(AuditEntry.id)
        )
    )


# --- the default policy and the quorum ---------------------------------------------------


@pytest.mark.parametrize(
    ("change_type", "risk", "expected"),
    [
        (ChangeType.NORMAL, Risk.LOW, [("cab", 1)]),
        (ChangeType.NORMAL, Risk.MEDIUM, [("cab", 2)]),
        (ChangeType.NORMAL, Risk.HIGH, [("cab", 2)]),
        (ChangeType.EMERGENCY, Risk.HIGH, [("ecab", 1)]),
        (ChangeType.STANDARD, Risk.LOW, []),
    ],
)
def test_default_policy(
    change_type: ChangeType, risk: Risk, expected: list[tuple[str, int]]
) -> None:
    assert quorum.default_policy(change_type, risk) == expected


def test_one_cab_approval_schedules_a_low_risk_change(session: Session) -> None:
    b = f.board(session)
    change = f.awaiting(session, b)
    result = approvals.approve(session, b.approver(0), change, "looks fine")
    assert result.change.state is S.SCHEDULED
    assert result.status.met
    assert result.blocked_by == []
    assert change.approved_at is not None
    assert _actions(session, change.id)[-2:] == ["change.vote", "change.approve"]


def test_a_medium_risk_change_needs_two_distinct_cab_members(session: Session) -> None:
    b = f.board(session)
    change = f.awaiting(session, b, risk=Risk.MEDIUM)
    first = approvals.approve(session, b.approver(0), change)
    assert change.state is S.AWAITING_APPROVAL
    assert first.status.describe() == "cab 1/2"
    with pytest.raises(Conflict, match="already voted"):
        approvals.approve(session, b.approver(0), change)
    approvals.approve(session, b.approver(1), change)
    assert change.state is S.SCHEDULED


def test_quorum_across_two_groups_counts_each_person_once(session: Session) -> None:
    b = f.board(session)
    both = b.approvers[0]  # sits in the CAB and in the application owners' group
    apps = f.group(session, "emr-owners", both)
    change = f.draft(session, b)
    lifecycle.transition(session, b.as_requester, change, S.ASSESSMENT)
    lifecycle.transition(
        session,
        b.as_requester,
        change,
        S.AWAITING_APPROVAL,
        approver_groups=[Requirement(b.cab.id, 2), Requirement(apps.id, 1)],
    )
    approvals.approve(session, f.actor_of(both), change)
    result = approvals.approve(session, b.approver(1), change)
    # Two people cannot fill three seats, whichever group the first one "counts" for.
    assert change.state is S.AWAITING_APPROVAL
    assert sum(t.approved for t in result.status.tallies) == 2
    assert not result.status.met
    result = approvals.approve(session, b.approver(2), change)
    assert result.status.met
    assert change.state is S.SCHEDULED


def test_seat_assignment_does_not_depend_on_vote_order() -> None:
    # Group 1 and 2 need one each; person 10 is in both, person 20 only in group 1.
    for order in ([10, 20], [20, 10]):
        candidates = {p: ({1, 2} if p == 10 else {1}) for p in order}
        seated = quorum.max_assignment(candidates, {1: 1, 2: 1})
        assert seated == {10: 2, 20: 1}


def test_a_vote_counts_for_the_groups_the_voter_was_in_when_voting(session: Session) -> None:
    b = f.board(session)
    change = f.awaiting(session, b, risk=Risk.MEDIUM)
    approvals.approve(session, b.approver(0), change)
    vote = session.scalars(select(Approval).where(Approval.change_id == change.id)).one()
    assert vote.group_ids == [b.cab.id]
    assert vote.decision is Decision.APPROVE


# --- who may vote --------------------------------------------------------------------------


def test_nobody_approves_their_own_request(session: Session) -> None:
    b = f.board(session)
    people.add_member(session, SYSTEM, b.cab, b.manager)
    change = service.create_change(
        session,
        b.as_manager,
        title="mine",
        planned_start=f.window()[0],
        planned_end=f.window()[1],
        implementation_plan="do",
        backout_plan="undo",
        ci_ids=[b.ci.id],
    )
    lifecycle.transition(session, b.as_manager, change, S.ASSESSMENT)
    lifecycle.transition(session, b.as_manager, change, S.AWAITING_APPROVAL)
    with pytest.raises(Forbidden, match="own request") as caught:
        approvals.approve(session, b.as_manager, change)
    assert caught.value.errors == {"approver": ["requester"]}
    assert change.state is S.AWAITING_APPROVAL


def test_the_implementer_does_not_approve(session: Session) -> None:
    b = f.board(session)
    change = f.awaiting(session, b, implementer_id=b.approvers[0].id)
    with pytest.raises(Forbidden, match="implementer"):
        approvals.approve(session, b.approver(0), change)
    approvals.approve(session, b.approver(1), change)
    assert change.state is S.SCHEDULED


def test_an_approver_outside_the_groups_is_refused(session: Session) -> None:
    b = f.board(session)
    outsider = f.user(session, "outsider", Role.CHANGE_APPROVER)
    change = f.awaiting(session, b)
    with pytest.raises(Forbidden, match="not a member"):
        approvals.approve(session, f.actor_of(outsider), change)


def test_a_member_without_the_approver_role_is_refused(session: Session) -> None:
    b = f.board(session)
    engineer = f.user(session, "eng", Role.ENGINEER)
    people.add_member(session, SYSTEM, b.cab, engineer)
    change = f.awaiting(session, b)
    with pytest.raises(Forbidden, match="may approve"):
        approvals.approve(session, f.actor_of(engineer), change)


def test_a_member_acting_through_another_role_is_refused(session: Session) -> None:
    b = f.board(session)
    approver = b.approvers[0]
    people.grant_role(session, SYSTEM, approver, Role.VIEWER)
    change = f.awaiting(session, b)
    with pytest.raises(Forbidden):
        approvals.approve(session, f.actor_of(approver, Role.VIEWER), change)


def test_fulcrum_itself_never_approves(session: Session) -> None:
    b = f.board(session)
    change = f.awaiting(session, b)
    with pytest.raises(Forbidden, match="people"):
        approvals.approve(session, SYSTEM, change)


def test_an_inactive_approver_is_refused(session: Session) -> None:
    b = f.board(session)
    change = f.awaiting(session, b)
    b.approvers[0].active = False
    session.flush()
    with pytest.raises(Forbidden, match="not an active user"):
        approvals.approve(session, b.approver(0), change)


def test_votes_only_while_awaiting_approval(session: Session) -> None:
    b = f.board(session)
    change = f.in_state(session, b, S.ASSESSMENT)
    with pytest.raises(Conflict, match="not awaiting approval") as caught:
        approvals.approve(session, b.approver(0), change)
    assert "state" in caught.value.errors


def test_one_vote_per_person_even_to_change_their_mind(session: Session) -> None:
    b = f.board(session)
    change = f.awaiting(session, b, risk=Risk.MEDIUM)
    approvals.approve(session, b.approver(0), change)
    with pytest.raises(Conflict, match="already voted"):
        approvals.reject(session, b.approver(0), change, "second thoughts")
    assert change.state is S.AWAITING_APPROVAL


# --- rejection -------------------------------------------------------------------------------


def test_one_rejection_rejects_the_change_with_its_reason(session: Session) -> None:
    b = f.board(session)
    change = f.awaiting(session, b, risk=Risk.MEDIUM)
    approvals.approve(session, b.approver(0), change)
    result = approvals.reject(session, b.approver(1), change, "clashes with the EMR upgrade")
    assert result.change.state is S.REJECTED
    assert change.state_reason == "clashes with the EMR upgrade"
    assert result.status.rejection is result.approval
    assert _actions(session, change.id)[-2:] == ["change.vote", "change.reject"]
    with pytest.raises(Conflict):
        approvals.approve(session, b.approver(2), change)


def test_a_rejection_needs_a_reason(session: Session) -> None:
    b = f.board(session)
    change = f.awaiting(session, b)
    with pytest.raises(ValidationFailed) as caught:
        approvals.reject(session, b.approver(0), change, "   ")
    assert "comment" in caught.value.errors
    assert change.state is S.AWAITING_APPROVAL


# --- fixing the requirements at submission ------------------------------------------------


def test_requirements_are_fixed_at_submission(session: Session) -> None:
    b = f.board(session)
    change = f.awaiting(session, b, risk=Risk.MEDIUM)
    rows = session.scalars(
        select(ApprovalRequirement).where(ApprovalRequirement.change_id == change.id)
    ).all()
    assert [(r.group_id, r.required) for r in rows] == [(b.cab.id, 2)]


def test_a_missing_default_group_is_named(session: Session) -> None:
    requester = f.user(session, "lonely")
    item = f.ci(session)
    start, end = f.window()
    change = service.create_change(
        session,
        f.actor_of(requester),
        title="t",
        planned_start=start,
        planned_end=end,
        implementation_plan="do",
        backout_plan="undo",
        ci_ids=[item.id],
    )
    lifecycle.transition(session, f.actor_of(requester), change, S.ASSESSMENT)
    with pytest.raises(ValidationFailed, match="'cab' does not exist"):
        lifecycle.transition(session, f.actor_of(requester), change, S.AWAITING_APPROVAL)
    assert change.state is S.ASSESSMENT


def test_a_quorum_nobody_can_reach_is_refused_at_submission(session: Session) -> None:
    b = f.board(session, approvers=1)
    change = f.draft(session, b, risk=Risk.MEDIUM)
    lifecycle.transition(session, b.as_requester, change, S.ASSESSMENT)
    with pytest.raises(ValidationFailed, match=r"1 eligible approver.*2 needed") as caught:
        lifecycle.transition(session, b.as_requester, change, S.AWAITING_APPROVAL)
    assert "approver_groups" in caught.value.errors


def test_the_requester_does_not_count_towards_feasibility(session: Session) -> None:
    b = f.board(session, approvers=1)
    people.add_member(session, SYSTEM, b.cab, b.manager)
    change = service.create_change(
        session,
        b.as_manager,
        title="mine",
        risk=Risk.MEDIUM,
        planned_start=f.window()[0],
        planned_end=f.window()[1],
        implementation_plan="do",
        backout_plan="undo",
        ci_ids=[b.ci.id],
    )
    lifecycle.transition(session, b.as_manager, change, S.ASSESSMENT)
    with pytest.raises(ValidationFailed, match="eligible"):
        lifecycle.transition(session, b.as_manager, change, S.AWAITING_APPROVAL)


def test_a_requester_may_ask_for_more_but_not_for_less(session: Session) -> None:
    b = f.board(session)
    change = f.in_state(session, b, S.ASSESSMENT, risk=Risk.MEDIUM)
    with pytest.raises(Forbidden, match="2 of cab"):
        lifecycle.transition(
            session,
            b.as_requester,
            change,
            S.AWAITING_APPROVAL,
            approver_groups=[Requirement(b.cab.id, 1)],
        )
    lifecycle.transition(
        session,
        b.as_requester,
        change,
        S.AWAITING_APPROVAL,
        approver_groups=[Requirement(b.cab.id, 3)],
    )
    assert change.state is S.AWAITING_APPROVAL


def test_a_change_manager_may_lower_the_policy(session: Session) -> None:
    b = f.board(session)
    change = f.in_state(session, b, S.ASSESSMENT, risk=Risk.HIGH)
    lifecycle.transition(
        session,
        b.as_manager,
        change,
        S.AWAITING_APPROVAL,
        approver_groups=[Requirement(b.ecab.id, 1)],
    )
    approvals.approve(session, f.actor_of(b.emergency_approver), change)
    assert change.state is S.SCHEDULED


@pytest.mark.parametrize(
    ("requirements", "message"),
    [
        ([], "at least one"),
        ([(0, 1), (0, 2)], "once"),
        ([(0, 0)], "at least one approval"),
        ([(999_999, 1)], "unknown group ids: 999999"),
    ],
)
def test_explicit_requirements_are_validated(
    session: Session, requirements: list[tuple[int, int]], message: str
) -> None:
    b = f.board(session)
    change = f.in_state(session, b, S.ASSESSMENT)
    groups = [Requirement(b.cab.id if g == 0 else g, n) for g, n in requirements]
    with pytest.raises(ValidationFailed, match=message):
        lifecycle.transition(
            session, b.as_manager, change, S.AWAITING_APPROVAL, approver_groups=groups
        )


# --- the emergency path -----------------------------------------------------------------------


def test_an_emergency_change_needs_one_ecab_approver(session: Session) -> None:
    b = f.board(session)
    change = f.draft(session, b, change_type=ChangeType.EMERGENCY, risk=Risk.HIGH)
    lifecycle.transition(session, b.as_requester, change, S.AWAITING_APPROVAL)
    with pytest.raises(Forbidden, match="not a member"):
        approvals.approve(session, b.approver(0), change)
    result = approvals.approve(session, f.actor_of(b.emergency_approver), change, "go ahead")
    assert result.change.state is S.SCHEDULED
    assert _actions(session, change.id) == [
        "change.create",
        "change.expedite",
        "change.vote",
        "change.approve",
    ]


def test_an_emergency_change_may_also_go_through_assessment(session: Session) -> None:
    b = f.board(session)
    change = f.in_state(session, b, S.ASSESSMENT, change_type=ChangeType.EMERGENCY)
    lifecycle.transition(session, b.as_requester, change, S.AWAITING_APPROVAL)
    approvals.approve(session, f.actor_of(b.emergency_approver), change)
    assert change.state is S.SCHEDULED


def test_approval_rows_are_unique_per_person(session: Session) -> None:
    b = f.board(session)
    change = f.awaiting(session, b, risk=Risk.MEDIUM)
    approvals.approve(session, b.approver(0), change)
    count = session.scalar(
        select(func.count()).select_from(Approval).where(Approval.change_id == change.id)
    )
    assert count == 1


def test_a_vote_on_a_stale_copy_sees_the_change_as_it_is_now(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s, s.begin():
        b = f.board(s)
        change_id = f.awaiting(s, b).id
        late_voter, first_voter = b.approver(1), b.approver(0)
    with sessions() as stale:
        with stale.begin():
            copy = service.get_change(stale, change_id)
        with sessions() as other, other.begin():
            approvals.approve(other, first_voter, service.get_change(other, change_id))
        assert copy.state is S.AWAITING_APPROVAL  # what this session last saw
        with stale.begin(), pytest.raises(Conflict, match="is scheduled"):
            approvals.approve(stale, late_voter, copy)


def test_two_last_votes_cast_at_once_still_schedule_the_change(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    with sessions() as s, s.begin():
        b = f.board(s)
        change_id = f.awaiting(s, b, risk=Risk.MEDIUM).id
        voters = [b.approver(0), b.approver(1)]
    barrier = threading.Barrier(len(voters))
    # On PostgreSQL both transactions hold the change before either votes; SQLite
    # serialises write transactions from their first statement, so there they queue.
    overlap = engine.dialect.name == "postgresql"
    errors: list[BaseException] = []

    def cast_vote(voter: Actor) -> None:
        try:
            with sessions() as s, s.begin():
                change = service.get_change(s, change_id)
                if overlap:
                    barrier.wait(timeout=10)
                approvals.approve(s, voter, change)
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=cast_vote, args=(v,)) for v in voters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with sessions() as s:
        assert service.get_change(s, change_id).state is S.SCHEDULED
        assert _actions(s, change_id).count("change.approve") == 1


def test_submit_for_approval_walks_a_new_normal_change_through_assessment(
    session: Session,
) -> None:
    b = f.board(session)
    change = f.draft(session, b, risk=Risk.MEDIUM)
    approvals.submit_for_approval(session, b.as_requester, change, [Requirement(b.cab.id, 3)])
    assert change.state is S.AWAITING_APPROVAL
    assert _actions(session, change.id)[-2:] == ["change.submit", "change.request_approval"]
    assert quorum.status(session, change).describe() == "cab 0/3"


def test_submit_for_approval_sends_an_emergency_change_straight_to_the_ecab(
    session: Session,
) -> None:
    b = f.board(session)
    change = f.draft(session, b, change_type=ChangeType.EMERGENCY)
    approvals.submit_for_approval(session, b.as_requester, change)
    assert _actions(session, change.id)[-1] == "change.expedite"
    assert quorum.status(session, change).describe() == "ecab 0/1"
