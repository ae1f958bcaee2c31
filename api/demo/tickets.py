"""The demo's service-desk data: business calendars, SLA policies and a few incidents."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.demo.estate import Estate
from itsm_core.actor import SYSTEM
from itsm_core.incidents.choices import IncidentSource, Level, Priority
from itsm_core.incidents.models import Incident
from itsm_core.incidents.schemas import IncidentCreate
from itsm_core.incidents.service import create_incident
from itsm_core.sla.calendars import create_calendar, find_calendar
from itsm_core.sla.definition import WeekSchedule, hours
from itsm_core.sla.models import SlaPolicy
from itsm_core.sla.policies import create_policy
from itsm_core.sla.schemas import CalendarCreate, PolicyCreate

OFFICE = "门诊工作日 08:00-17:30"
ROUND_THE_CLOCK = "7x24"
# (priority, calendar, time to own, time to resolve) in business minutes.
POLICIES = [
    (Priority.P1, ROUND_THE_CLOCK, 15, 4 * 60),
    (Priority.P2, ROUND_THE_CLOCK, 30, 8 * 60),
    (Priority.P3, OFFICE, 60, 2 * 9.5 * 60),
    (Priority.P4, OFFICE, 4 * 60, 5 * 9.5 * 60),
    (Priority.P5, OFFICE, 9.5 * 60, 10 * 9.5 * 60),
]


def seed_sla(session: Session) -> None:
    calendars = {}
    for name, week, prc in (
        (OFFICE, WeekSchedule.weekdays(hours("08:00-17:30")), True),
        (ROUND_THE_CLOCK, WeekSchedule.every_day(hours("00:00-24:00")), False),
    ):
        calendars[name] = find_calendar(session, name) or create_calendar(
            session, SYSTEM, CalendarCreate(name=name, week=week, use_prc_holidays=prc)
        )
    if session.scalar(select(func.count()).select_from(SlaPolicy)):
        return
    for priority, calendar, own, resolve in POLICIES:
        create_policy(
            session,
            SYSTEM,
            PolicyCreate(
                name=f"{priority} standard",
                priority=priority,
                calendar_id=calendars[calendar].id,
                time_to_own_minutes=int(own),
                time_to_resolve_minutes=int(resolve),
            ),
        )


def seed_incidents(session: Session, estate: Estate) -> None:
    """A few open incidents for the board, created only into an empty desk."""
    if session.scalar(select(func.count()).select_from(Incident)):
        return
    network, systems = estate.groups["network"], estate.groups["systems"]
    samples = [
        IncidentCreate(
            title="城关镇卫生院路由器不可达 — 30 个村卫生室断网",
            source=IncidentSource.ALERT,
            impact=Level.HIGH,
            urgency=Level.HIGH,
            assignment_group_id=network.id,
            primary_ci_id=estate.cis["rt-t01"].id,
        ),
        IncidentCreate(
            title="远程会诊视频网关无响应",
            source=IncidentSource.PHONE,
            impact=Level.MEDIUM,
            urgency=Level.HIGH,
            requester_name="青山镇卫生院 张医生",
            requester_department="远程会诊中心",
            assignment_group_id=systems.id,
            primary_ci_id=estate.cis["tele-gw-01"].id,
        ),
        IncidentCreate(
            title="HIS 数据库服务器 CPU 持续偏高",
            source=IncidentSource.WEB,
            impact=Level.MEDIUM,
            urgency=Level.MEDIUM,
            primary_ci_id=estate.cis["his-db-01"].id,
        ),
    ]
    for data in samples:
        create_incident(session, SYSTEM, data)
