"""Overlapping windows on the same CI.

Windows are half-open, ``[planned_start, planned_end)``, so back-to-back changes (one ends
at 10:00, the next starts at 10:00) do not conflict, and changes on different CIs never
do. Only changes that still mean to happen count (``OPEN_STATES``).

What a conflict does (``lifecycle`` applies it):

- on create and on edit it is a **warning**: recorded on the timeline and returned by
  ``GET /changes/{id}/conflicts``; drafts may overlap while people sort out the calendar;
- an overlap with a **committed** change (``scheduled`` or ``implementing``) **blocks**
  moving another normal or standard change to ``scheduled``, unless a change manager
  (``change:manage``) forces it with a reason — recorded in the audit log;
- an **emergency** change is never blocked (the outage it fixes will not wait); the
  overlap is recorded on its timeline so both implementers know.

CI relationships (a node and the VMs running on it) are not followed yet: the CMDB's
impact analysis is the place to widen this once it exists.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core.changes.choices import COMMITTED_STATES, OPEN_STATES, ChangeState
from itsm_core.changes.models import Change, ChangeCI


@dataclass(frozen=True)
class WindowConflict:
    """Another change whose window overlaps, and the CIs both touch."""

    change: Change
    ci_ids: tuple[int, ...]

    @property
    def blocking(self) -> bool:
        """Whether it blocks scheduling (the other change is approved or under way)."""
        return self.change.state in COMMITTED_STATES

    def describe(self) -> str:
        cis = ", ".join(str(i) for i in self.ci_ids)
        return (
            f"{self.change.number} ({self.change.state}, {self.change.planned_start:%Y-%m-%d %H:%M}"
            f" to {self.change.planned_end:%Y-%m-%d %H:%M} UTC) on CI {cis}"
        )


def overlapping(
    session: Session,
    ci_ids: Iterable[int],
    start: datetime,
    end: datetime,
    *,
    exclude_id: int | None = None,
    states: Collection[ChangeState] = OPEN_STATES,
) -> list[WindowConflict]:
    """Changes in ``states`` sharing a CI with ``ci_ids`` whose window meets ``[start, end)``."""
    wanted = sorted(set(ci_ids))
    if not wanted or start >= end:
        return []
    stmt = (
        select(Change, ChangeCI.ci_id)
        .join(ChangeCI, ChangeCI.change_id == Change.id)
        .where(
            ChangeCI.ci_id.in_(wanted),
            Change.state.in_(sorted(states)),
            Change.planned_start < end,
            Change.planned_end > start,
        )
        .order_by(Change.planned_start, Change.id, ChangeCI.ci_id)
    )
    if exclude_id is not None:
        stmt = stmt.where(Change.id != exclude_id)
    shared: dict[int, list[int]] = {}
    changes: dict[int, Change] = {}
    for change, ci_id in session.execute(stmt):
        changes[change.id] = change
        shared.setdefault(change.id, []).append(ci_id)
    return [WindowConflict(changes[i], tuple(shared[i])) for i in changes]


def conflicts_of(
    session: Session, change: Change, *, committed_only: bool = False
) -> list[WindowConflict]:
    """The changes overlapping ``change`` (only committed ones if ``committed_only``)."""
    if change.planned_start is None or change.planned_end is None:
        return []
    return overlapping(
        session,
        change.ci_ids,
        change.planned_start,
        change.planned_end,
        exclude_id=change.id,
        states=COMMITTED_STATES if committed_only else OPEN_STATES,
    )
