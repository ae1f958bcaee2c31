"""SLA: business calendars and their official notices, policies, incident clocks, the job."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from sqlalchemy import select

from api.deps import SessionDep, SettingsDep, require
from api.pagination import CursorQuery, LimitQuery, Page, paginate
from itsm_core.actor import Actor
from itsm_core.fields import MAX_DB_ID
from itsm_core.incidents.choices import Priority
from itsm_core.people.roles import Permission
from itsm_core.sla import service as sla
from itsm_core.sla.definition import OfficialNotice
from itsm_core.sla.models import SlaCalendar, SlaPolicy
from itsm_core.sla.schemas import (
    CalendarCreate,
    CalendarOut,
    CalendarPatch,
    DayOut,
    EvaluationOut,
    IncidentSlaOut,
    PolicyCreate,
    PolicyOut,
    PolicyPatch,
)

router = APIRouter(prefix="/api/v1", tags=["sla"])
Reader = Annotated[Actor, Depends(require(Permission.SLA_READ))]
Admin = Annotated[Actor, Depends(require(Permission.SLA_ADMIN))]
Id = Annotated[int, Path(ge=1, le=MAX_DB_ID)]
DayQuery = Annotated[date, Query(description="A local date of the calendar (YYYY-MM-DD).")]


@router.get("/sla/calendars", summary="List business calendars")
def list_calendars(
    session: SessionDep, _: Reader, cursor: CursorQuery = None, limit: LimitQuery = 50
) -> Page[CalendarOut]:
    rows, next_cursor = paginate(session, select(SlaCalendar), SlaCalendar.id, cursor, limit)
    return Page(items=[CalendarOut.of(row) for row in rows], next_cursor=next_cursor)


@router.post(
    "/sla/calendars", status_code=status.HTTP_201_CREATED, summary="Create a business calendar"
)
def create_calendar(
    body: CalendarCreate, session: SessionDep, actor: Admin, settings: SettingsDep
) -> CalendarOut:
    calendar = sla.create_calendar(
        session, actor, body, default_timezone=settings.sla.default_timezone
    )
    return CalendarOut.of(calendar)


@router.get("/sla/calendars/{calendar_id}", summary="One business calendar")
def get_calendar(calendar_id: Id, session: SessionDep, _: Reader) -> CalendarOut:
    return CalendarOut.of(sla.get_calendar(session, calendar_id))


@router.patch(
    "/sla/calendars/{calendar_id}",
    summary="Edit a calendar (open incidents timed on it are recomputed)",
)
def update_calendar(
    calendar_id: Id, body: CalendarPatch, session: SessionDep, actor: Admin
) -> CalendarOut:
    calendar = sla.get_calendar(session, calendar_id, for_update=True)
    return CalendarOut.of(sla.update_calendar(session, actor, calendar, body))


@router.post(
    "/sla/calendars/{calendar_id}/notices",
    summary="Load the official holiday notice of a year (holidays and make-up working days)",
)
def load_notice(
    calendar_id: Id, body: OfficialNotice, session: SessionDep, actor: Admin
) -> CalendarOut:
    return CalendarOut.of(sla.load_official_notice(session, actor, calendar_id, body))


@router.get(
    "/sla/calendars/{calendar_id}/days",
    summary="How the calendar treats each day from start to end (at most 366 days)",
)
def list_days(
    calendar_id: Id, start: DayQuery, end: DayQuery, session: SessionDep, _: Reader
) -> list[DayOut]:
    days = sla.days(sla.get_calendar(session, calendar_id), start, end)
    return [DayOut.of(day) for day in days]


@router.get("/sla/policies", summary="List SLA policies")
def list_policies(
    session: SessionDep,
    _: Reader,
    priority: Priority | None = None,
    active: bool | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[PolicyOut]:
    stmt = select(SlaPolicy)
    if priority is not None:
        stmt = stmt.where(SlaPolicy.priority == priority)
    if active is not None:
        stmt = stmt.where(SlaPolicy.active.is_(active))
    rows, next_cursor = paginate(session, stmt, SlaPolicy.id, cursor, limit)
    return Page(items=[PolicyOut.of(row) for row in rows], next_cursor=next_cursor)


@router.post("/sla/policies", status_code=status.HTTP_201_CREATED, summary="Create an SLA policy")
def create_policy(body: PolicyCreate, session: SessionDep, actor: Admin) -> PolicyOut:
    return PolicyOut.of(sla.create_policy(session, actor, body))


@router.get("/sla/policies/{policy_id}", summary="One SLA policy")
def get_policy(policy_id: Id, session: SessionDep, _: Reader) -> PolicyOut:
    return PolicyOut.of(sla.get_policy(session, policy_id))


@router.patch(
    "/sla/policies/{policy_id}",
    summary="Edit an SLA policy (open incidents of its priorities are recomputed)",
)
def update_policy(policy_id: Id, body: PolicyPatch, session: SessionDep, actor: Admin) -> PolicyOut:
    policy = sla.get_policy(session, policy_id, for_update=True)
    return PolicyOut.of(sla.update_policy(session, actor, policy, body))


@router.get(
    "/incidents/{incident_id}/sla",
    summary="An incident's SLA clocks: due times, provisional flag, business time left",
)
def incident_sla(incident_id: Id, session: SessionDep, _: Reader) -> IncidentSlaOut:
    return IncidentSlaOut.of(sla.incident_sla(session, incident_id))


@router.post("/sla/evaluate", summary="Run the SLA job now: warnings and breaches")
def evaluate(session: SessionDep, _: Admin, settings: SettingsDep) -> EvaluationOut:
    run = sla.evaluate(session, warning_share=settings.sla.warning_share)
    return EvaluationOut(warnings=run.warnings, breaches=run.breaches, resynced=run.resynced)
