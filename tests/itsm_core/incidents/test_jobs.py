"""The auto-close job goes through the lifecycle like everyone else."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.incidents import hierarchy, lifecycle, timeline
from itsm_core.incidents.choices import IncidentState, TimelineKind
from itsm_core.incidents.jobs import close_resolved
from itsm_core.timeutil import utcnow
from tests.itsm_core.incidents import factories as f

S = IncidentState
DAY = timedelta(hours=24)


def test_closes_only_incidents_resolved_long_enough_ago(session: Session) -> None:
    old = f.incident_in(session, S.RESOLVED)
    old.resolved_at = utcnow() - 2 * DAY
    recent = f.incident_in(session, S.RESOLVED)
    open_one = f.incident(session)
    session.flush()
    assert close_resolved(session, DAY) == [old.id]
    assert old.state == S.CLOSED
    assert recent.state == S.RESOLVED
    assert open_one.state == S.NEW
    entry = timeline.entries(session, old.id, [TimelineKind.STATE_CHANGE])[-1]
    assert entry.actor == "system"
    assert entry.body == "closed automatically 1 day, 0:00:00 after resolution"


def test_is_idempotent(session: Session) -> None:
    old = f.incident_in(session, S.RESOLVED)
    old.resolved_at = utcnow() - 2 * DAY
    session.flush()
    assert close_resolved(session, DAY) == [old.id]
    assert close_resolved(session, DAY) == []


def test_a_parent_with_a_reopened_child_waits(session: Session) -> None:
    parent, child = f.incident_in(session, S.IN_PROGRESS), f.incident(session)
    hierarchy.link_child(session, SYSTEM, parent, child)
    lifecycle.transition(session, SYSTEM, parent, S.RESOLVED, **f.FULL_DETAILS)
    lifecycle.transition(session, SYSTEM, child, S.NEW, reason="not fixed for ward 3")
    parent.resolved_at = utcnow() - 2 * DAY
    session.flush()
    assert close_resolved(session, DAY) == []
    assert parent.state == S.RESOLVED
