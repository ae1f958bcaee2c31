"""Overlapping windows on a shared CI: warnings on create, a block on scheduling."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.audit.models import AuditEntry
from itsm_core.changes import approvals, conflicts, lifecycle
from itsm_core.changes.choices import ChangeState, ChangeType, EventKind
from itsm_core.changes.models import ChangeEvent
from itsm_core.errors import Forbidden, InvalidTransition
from itsm_core.timeutil import utcnow
from tests.itsm_core.changes import factories as f

S = ChangeState
H = timedelta(hours=1)


def _at(hours: float) -> datetime:
    base = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    return base + timedelta(hours=hours)


@pytest.mark.parametrize(
    ("start", "end", "overlaps"),
    [
        (0, 2, True),  # the same window
        (1, 3, True),  # overlaps the end
        (-1, 1, True),  # overlaps the start
        (0.5, 1.5, True),  # inside
        (-1, 3, True),  # around
        (2, 3, False),  # starts when the other ends: touching is not overlapping
        (-1, 0, False),  # ends when the other starts
        (5, 6, False),  # later
    ],
)
def test_overlap_is_of_half_open_windows(
    session: Session, start: float, end: float, overlaps: bool
) -> None:
    b = f.board(session)
    existing = f.draft(session, b, planned_start=_at(0), planned_end=_at(2))
    found = conflicts.overlapping(session, [b.ci.id], _at(start), _at(end))
    assert [c.change.id for c in found] == ([existing.id] if overlaps else [])


def test_different_cis_never_conflict(session: Session) -> None:
    b = f.board(session)
    other = f.ci(session, "pacs-db")
    f.draft(session, b, planned_start=_at(0), planned_end=_at(2))
    assert conflicts.overlapping(session, [other.id], _at(0), _at(2)) == []


def test_shared_cis_are_named(session: Session) -> None:
    b = f.board(session)
    second, third = f.ci(session, "db-1"), f.ci(session, "db-2")
    existing = f.draft(
        session, b, planned_start=_at(0), planned_end=_at(2), ci_ids=[b.ci.id, second.id]
    )
    mine = f.draft(
        session,
        b,
        planned_start=_at(1),
        planned_end=_at(3),
        ci_ids=[second.id, third.id, b.ci.id],
    )
    (found,) = conflicts.conflicts_of(session, mine)
    assert found.change.id == existing.id
    assert found.ci_ids == tuple(sorted([b.ci.id, second.id]))
    assert not found.blocking


def test_finished_and_abandoned_changes_do_not_conflict(session: Session) -> None:
    b = f.board(session)
    for state in (S.CANCELLED, S.REJECTED, S.CLOSED, S.REVIEW, S.FAILED):
        f.in_state(session, b, state)
    start, end = f.window()
    assert conflicts.overlapping(session, [b.ci.id], start, end) == []


def test_only_committed_changes_block(session: Session) -> None:
    b = f.board(session)
    # One CI each: a scheduled change would (rightly) block scheduling another on its CI.
    items = [f.ci(session) for _ in range(5)]
    for item, state in zip(
        items, (S.NEW, S.ASSESSMENT, S.AWAITING_APPROVAL, S.SCHEDULED, S.IMPLEMENTING), strict=True
    ):
        f.in_state(session, b, state, ci_ids=[item.id])
    start, end = f.window()
    found = conflicts.overlapping(session, [i.id for i in items], start, end)
    assert {c.change.state: c.blocking for c in found} == {
        S.NEW: False,
        S.ASSESSMENT: False,
        S.AWAITING_APPROVAL: False,
        S.SCHEDULED: True,
        S.IMPLEMENTING: True,
    }


def test_a_change_without_a_window_has_no_conflicts(session: Session) -> None:
    b = f.board(session)
    f.draft(session, b)
    windowless = f.draft(session, b, planned_start=None, planned_end=None)
    assert conflicts.conflicts_of(session, windowless) == []


def test_a_change_does_not_conflict_with_itself(session: Session) -> None:
    b = f.board(session)
    change = f.draft(session, b)
    assert conflicts.conflicts_of(session, change) == []


def test_an_overlap_on_create_is_a_warning_on_the_timeline(session: Session) -> None:
    b = f.board(session)
    first = f.draft(session, b)
    second = f.draft(session, b)
    assert second.state is S.NEW
    event = session.scalars(
        select(ChangeEvent).where(
            ChangeEvent.change_id == second.id, ChangeEvent.kind == EventKind.CONFLICT
        )
    ).one()
    assert event.data["conflicts"] == [first.number]
    assert event.data["blocking"] == []


def test_quorum_over_a_committed_overlap_waits_for_a_change_manager(session: Session) -> None:
    b = f.board(session)
    scheduled = f.approved(session, b)
    change = f.awaiting(session, b)
    result = approvals.approve(session, b.approver(1), change, "ok")
    assert result.status.met
    assert [c.change.id for c in result.blocked_by] == [scheduled.id]
    assert change.state is S.AWAITING_APPROVAL

    with pytest.raises(InvalidTransition, match=f"overlaps {scheduled.number}") as caught:
        lifecycle.transition(session, b.as_requester, change, S.SCHEDULED)
    assert "conflicts" in caught.value.errors
    with pytest.raises(Forbidden):
        lifecycle.transition(
            session, b.as_requester, change, S.SCHEDULED, force=True, reason="urgent"
        )
    lifecycle.transition(
        session, b.as_manager, change, S.SCHEDULED, force=True, reason="same engineer does both"
    )
    assert change.state is S.SCHEDULED
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_id == str(change.id), AuditEntry.action == "change.approve"
        )
    ).one()
    assert entry.after is not None
    assert entry.after["forced_over"] == [scheduled.number]
    assert entry.after["reason"] == "same engineer does both"


def test_once_the_overlap_is_gone_anyone_may_schedule(session: Session) -> None:
    b = f.board(session)
    scheduled = f.approved(session, b)
    change = f.awaiting(session, b)
    approvals.approve(session, b.approver(1), change, "ok")
    lifecycle.transition(session, b.as_requester, scheduled, S.CANCELLED, reason="moved")
    lifecycle.transition(session, b.as_requester, change, S.SCHEDULED)
    assert change.state is S.SCHEDULED


def test_an_emergency_change_is_not_blocked_but_the_overlap_is_recorded(
    session: Session,
) -> None:
    b = f.board(session)
    scheduled = f.approved(session, b)
    change = f.draft(session, b, change_type=ChangeType.EMERGENCY)
    lifecycle.transition(session, b.as_requester, change, S.AWAITING_APPROVAL)
    result = approvals.approve(session, f.actor_of(b.emergency_approver), change)
    assert result.blocked_by == []
    assert change.state is S.SCHEDULED
    event = session.scalars(
        select(ChangeEvent).where(
            ChangeEvent.change_id == change.id, ChangeEvent.to_state == S.SCHEDULED
        )
    ).one()
    assert event.data["overlaps_ignored"] == [scheduled.number]


def test_editing_the_window_into_an_overlap_warns(session: Session) -> None:
    from itsm_core.changes import service

    b = f.board(session)
    f.draft(session, b, planned_start=_at(0), planned_end=_at(2))
    change = f.draft(session, b, planned_start=_at(5), planned_end=_at(6))
    service.update_change(
        session, b.as_requester, change, {"planned_start": _at(1), "planned_end": _at(3)}
    )
    kinds = session.scalars(
        select(ChangeEvent.kind).where(ChangeEvent.change_id == change.id).order_by(ChangeEvent.id)
    ).all()
    assert kinds == [EventKind.CREATED, EventKind.UPDATED, EventKind.CONFLICT]
