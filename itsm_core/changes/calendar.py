"""The change calendar: which changes are planned to touch what, and when.

A change is on the calendar for ``[start, end)`` when its planned window intersects that
range (half-open on both sides, so a change ending exactly at ``start`` is not shown).
Without a state filter, rejected and cancelled changes are left out: the calendar shows
what will, may, or did happen. Ranges are limited to ``MAX_SPAN`` and answers to
``MAX_ROWS`` changes (``truncated`` says when more matched).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.changes.choices import ChangeState, ChangeType
from itsm_core.changes.models import Change, ChangeCI
from itsm_core.errors import ValidationFailed

MAX_SPAN = timedelta(days=366)
MAX_ROWS = 1000
DEFAULT_STATES = frozenset(ChangeState) - {ChangeState.REJECTED, ChangeState.CANCELLED}


@dataclass(frozen=True)
class CalendarView:
    """The changes in a range, in order of their planned start."""

    start: datetime
    end: datetime
    changes: list[Change]
    truncated: bool


def calendar(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    ci_id: int | None = None,
    states: Collection[ChangeState] = (),
    types: Collection[ChangeType] = (),
    limit: int = MAX_ROWS,
) -> CalendarView:
    """Changes whose planned window intersects ``[start, end)``, filtered."""
    if start >= end:
        raise ValidationFailed.on("end", "must be after start")
    if end - start > MAX_SPAN:
        raise ValidationFailed.on("end", f"a calendar spans at most {MAX_SPAN.days} days")
    stmt = select(Change).where(Change.planned_start < end, Change.planned_end > start)
    stmt = stmt.where(Change.state.in_(sorted(states or DEFAULT_STATES)))
    if types:
        stmt = stmt.where(Change.change_type.in_(sorted(types)))
    if ci_id is not None:
        stmt = stmt.where(Change.id.in_(select(ChangeCI.change_id).where(ChangeCI.ci_id == ci_id)))
    rows = list(session.scalars(stmt.order_by(Change.planned_start, Change.id).limit(limit + 1)))
    return CalendarView(start, end, rows[:limit], truncated=len(rows) > limit)
