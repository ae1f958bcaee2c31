"""Plain factories for the database-backed SLA tests: calendars, policies, incidents.

Incidents made here are ORM rows with the timestamps a test names (the lifecycle stamps
the wall clock), so the clock can be checked at exact instants; tests that go through
the incident domain functions use ``tests.itsm_core.incidents``-style calls instead.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.incidents.choices import (
    IncidentSource,
    IncidentState,
    Level,
    PendingReason,
    Priority,
    TimelineKind,
)
from itsm_core.incidents.models import Incident, IncidentCI, PendingPeriod, TimelineEntry
from itsm_core.sla import service as sla
from itsm_core.sla.definition import OfficialNotice, WeekSchedule, hours
from itsm_core.sla.models import SlaCalendar, SlaPolicy
from itsm_core.sla.schemas import CalendarCreate, PolicyCreate

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware Asia/Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def office_calendar(session: Session, name: str = "office", **fields: Any) -> SlaCalendar:
    """08:00-17:30 Monday to Friday, PRC holidays and make-up days, Asia/Shanghai."""
    fields.setdefault("week", WeekSchedule.weekdays(hours("08:00-17:30")))
    fields.setdefault("use_prc_holidays", True)
    return sla.create_calendar(session, SYSTEM, CalendarCreate(name=name, **fields))


def round_the_clock(session: Session, name: str = "24x7") -> SlaCalendar:
    """Every minute of every day: business time is elapsed time."""
    week = WeekSchedule.every_day(hours("00:00-24:00"))
    return sla.create_calendar(session, SYSTEM, CalendarCreate(name=name, week=week))


def policy(
    session: Session,
    calendar: SlaCalendar,
    priority: Priority = Priority.P3,
    own: int = 30,
    resolve: int = 480,
    **fields: Any,
) -> SlaPolicy:
    fields.setdefault("name", f"{priority} {uuid.uuid4().hex[:6]}")
    data = PolicyCreate(
        priority=priority,
        calendar_id=calendar.id,
        time_to_own_minutes=own,
        time_to_resolve_minutes=resolve,
        **fields,
    )
    return sla.create_policy(session, SYSTEM, data)


def ci(session: Session, ci_class: str = "network_device", name: str | None = None) -> int:
    item = ConfigurationItem(name=name or f"{ci_class}-{uuid.uuid4().hex[:6]}", ci_class=ci_class)
    session.add(item)
    session.flush()
    return item.id


def incident(
    session: Session,
    created_at: datetime,
    priority: Priority = Priority.P3,
    *,
    affected: tuple[int, ...] = (),
    **fields: Any,
) -> Incident:
    """An incident row logged at ``created_at``; ``fields`` set any other column."""
    fields.setdefault("state", IncidentState.NEW)
    made = Incident(
        title="HIS login slow in the outpatient hall",
        source=IncidentSource.PHONE,
        impact=Level.MEDIUM,
        urgency=Level.MEDIUM,
        priority=priority,
        created_by="desk",
        created_at=created_at,
        affected=[IncidentCI(ci_id=ci_id) for ci_id in affected],
        **fields,
    )
    session.add(made)
    session.flush()
    return made


def pending(
    session: Session,
    incident: Incident,
    start: datetime,
    end: datetime | None = None,
    category: PendingReason = PendingReason.REQUESTER,
) -> PendingPeriod:
    """A stay in ``pending``; ``end=None`` keeps the incident pending."""
    period = PendingPeriod(
        incident_id=incident.id,
        started_at=start,
        ended_at=end,
        category=category,
        on_requester=category == PendingReason.REQUESTER,
        reason="waiting",
    )
    session.add(period)
    if end is None:
        incident.state = IncidentState.PENDING
        incident.pending_category = category
    session.flush()
    return period


def resolved_between(session: Session, incident: Incident, resolved: datetime, reopened: datetime):
    """The two timeline state changes of a resolve at ``resolved`` and a reopen later."""
    for at, source, target in (
        (resolved, IncidentState.IN_PROGRESS, IncidentState.RESOLVED),
        (reopened, IncidentState.RESOLVED, IncidentState.IN_PROGRESS),
    ):
        session.add(
            TimelineEntry(
                incident_id=incident.id,
                at=at,
                actor="desk",
                kind=TimelineKind.STATE_CHANGE,
                from_state=source,
                to_state=target,
            )
        )
    session.flush()


def national_day_notice(year: int) -> OfficialNotice:
    """A notice in the usual shape: 1-7 October off, the Sunday before and the Saturday
    after worked (the real 2027 dates are not published yet; these stand in for them)."""
    first = datetime(year, 10, 1).date()
    off = {first + timedelta(days=offset): "国庆节" for offset in range(7)}
    sunday_before = max(
        first - timedelta(days=back)
        for back in range(1, 8)
        if (first - timedelta(days=back)).weekday() == 6
    )
    saturday_after = min(
        first + timedelta(days=ahead)
        for ahead in range(7, 14)
        if (first + timedelta(days=ahead)).weekday() == 5
    )
    return OfficialNotice(
        year=year,
        title=f"国务院办公厅关于{year}年部分节假日安排的通知",
        holidays=off,
        workdays={sunday_before: "国庆节调休", saturday_after: "国庆节调休"},
    )
