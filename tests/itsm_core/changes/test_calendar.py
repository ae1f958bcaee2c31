"""The change calendar: changes whose window intersects [start, end), filtered."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from itsm_core.changes.calendar import calendar
from itsm_core.changes.choices import ChangeState, ChangeType
from itsm_core.errors import ValidationFailed
from itsm_core.timeutil import utcnow
from tests.itsm_core.changes import factories as f

S = ChangeState


def _day(offset_hours: float) -> datetime:
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=3)
    return midnight + timedelta(hours=offset_hours)


def test_changes_intersecting_the_range_in_start_order(session: Session) -> None:
    b = f.board(session)
    windows = {
        "before": (-5, -1),
        "touching the start": (-2, 0),
        "across the start": (-1, 1),
        "inside": (3, 4),
        "across the end": (23, 25),
        "around": (-1, 30),
        "touching the end": (24, 26),
        "after": (30, 31),
    }
    made = {
        title: f.draft(session, b, title=title, planned_start=_day(s), planned_end=_day(e))
        for title, (s, e) in windows.items()
    }
    f.draft(session, b, title="no window", planned_start=None, planned_end=None)
    view = calendar(session, _day(0), _day(24))
    assert [c.title for c in view.changes] == [
        "across the start",
        "around",
        "inside",
        "across the end",
    ]
    assert not view.truncated
    assert made["inside"] in view.changes


def test_by_default_rejected_and_cancelled_changes_are_left_out(session: Session) -> None:
    b = f.board(session)
    items = {state: f.ci(session) for state in (S.NEW, S.CANCELLED, S.REJECTED, S.CLOSED)}
    for state, item in items.items():
        f.in_state(session, b, state, ci_ids=[item.id], title=state.value)
    start, end = f.window(start_in=timedelta(hours=-2), length=timedelta(hours=4))
    assert {c.title for c in calendar(session, start, end).changes} == {"new", "closed"}
    only = calendar(session, start, end, states=[S.CANCELLED, S.REJECTED])
    assert {c.title for c in only.changes} == {"cancelled", "rejected"}


def test_filter_by_ci_and_type(session: Session) -> None:
    b = f.board(session)
    other = f.ci(session, "pacs")
    f.draft(session, b, title="gw normal")
    f.draft(session, b, title="gw emergency", change_type=ChangeType.EMERGENCY)
    f.draft(session, b, title="pacs normal", ci_ids=[other.id])
    start, end = f.window(start_in=timedelta(hours=-2), length=timedelta(hours=4))
    by_ci = calendar(session, start, end, ci_id=b.ci.id)
    assert {c.title for c in by_ci.changes} == {"gw normal", "gw emergency"}
    by_type = calendar(session, start, end, types=[ChangeType.EMERGENCY])
    assert [c.title for c in by_type.changes] == ["gw emergency"]
    both = calendar(session, start, end, ci_id=other.id, types=[ChangeType.EMERGENCY])
    assert both.changes == []


def test_a_long_answer_is_truncated_and_says_so(session: Session) -> None:
    b = f.board(session)
    for hour in range(3):
        f.draft(session, b, planned_start=_day(hour), planned_end=_day(hour + 1))
    view = calendar(session, _day(0), _day(24), limit=2)
    assert len(view.changes) == 2
    assert view.truncated


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(24, 0, "after start"), (0, 0, "after start"), (0, 24 * 367, "at most 366 days")],
)
def test_bad_ranges_are_refused(session: Session, start: int, end: int, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message) as caught:
        calendar(session, _day(start), _day(end))
    assert "end" in caught.value.errors
