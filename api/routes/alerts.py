"""Alerts, their occurrences, maintenance windows and the dead-man switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import Field

from alerting import deadman, maintenance, queries
from alerting.intake_models import Alert, MaintenanceWindow
from alerting.schemas import (
    AlertDetailOut,
    AlertOut,
    AlertQuery,
    DeadmanOut,
    MaintenanceWindowIn,
    MaintenanceWindowOut,
    MaintenanceWindowPatch,
)
from api.deps import SessionDep, SettingsDep, require
from api.pagination import CursorQuery, LimitQuery, Page, paginate
from itsm_core.actor import Actor
from itsm_core.fields import MAX_DB_ID
from itsm_core.people.roles import Permission
from itsm_core.timeutil import utcnow

router = APIRouter(prefix="/api/v1", tags=["alerts"])
Reader = Annotated[Actor, Depends(require(Permission.ALERT_READ))]
Admin = Annotated[Actor, Depends(require(Permission.ALERT_ADMIN))]
Id = Annotated[int, Path(ge=1, le=MAX_DB_ID)]


class AlertListQuery(AlertQuery):
    """The list filters plus the page position."""

    cursor: str | None = Field(default=None, max_length=200, description="From `next_cursor`.")
    limit: int = Field(default=50, ge=1, le=200, description="Rows per page.")


@router.get("/alerts", summary="List alerts, newest first")
def list_alerts(
    session: SessionDep, _: Reader, query: Annotated[AlertListQuery, Query()]
) -> Page[AlertOut]:
    rows, next_cursor = paginate(
        session, queries.alert_query(query), Alert.id, query.cursor, query.limit
    )
    return Page(items=[AlertOut.of(a) for a in rows], next_cursor=next_cursor)


# Before /alerts/{alert_id}, which would otherwise take "deadman" for an id.
@router.get("/alerts/deadman", summary="The dead-man switch on the Watchdog heartbeat")
def deadman_status(session: SessionDep, settings: SettingsDep, _: Reader) -> DeadmanOut:
    return DeadmanOut.of(deadman.status(session, settings, utcnow()))


@router.get("/alerts/{alert_id}", summary="One alert and its occurrences")
def get_alert(alert_id: Id, session: SessionDep, _: Reader) -> AlertDetailOut:
    alert = queries.get_alert(session, alert_id)
    return AlertDetailOut.with_occurrences(alert, queries.occurrences_of(session, alert.id))


@router.get("/maintenance-windows", summary="List maintenance windows, newest first")
def list_windows(
    session: SessionDep,
    _: Reader,
    active: Annotated[bool, Query(description="Only the windows in force now.")] = False,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[MaintenanceWindowOut]:
    now = utcnow()
    stmt = maintenance.windows_query(now if active else None)
    rows, next_cursor = paginate(session, stmt, MaintenanceWindow.id, cursor, limit)
    return Page(items=[MaintenanceWindowOut.of(w, now) for w in rows], next_cursor=next_cursor)


@router.post(
    "/maintenance-windows",
    status_code=status.HTTP_201_CREATED,
    summary="Create a maintenance window",
)
def create_window(
    body: MaintenanceWindowIn, session: SessionDep, actor: Admin
) -> MaintenanceWindowOut:
    window = maintenance.create_window(session, actor, body)
    return MaintenanceWindowOut.of(window, utcnow())


@router.get("/maintenance-windows/{window_id}", summary="One maintenance window")
def get_window(window_id: Id, session: SessionDep, _: Reader) -> MaintenanceWindowOut:
    return MaintenanceWindowOut.of(maintenance.get_window(session, window_id), utcnow())


@router.patch("/maintenance-windows/{window_id}", summary="Change a maintenance window")
def update_window(
    window_id: Id, body: MaintenanceWindowPatch, session: SessionDep, actor: Admin
) -> MaintenanceWindowOut:
    window = maintenance.get_window(session, window_id)
    return MaintenanceWindowOut.of(
        maintenance.update_window(session, actor, window, body), utcnow()
    )


@router.delete(
    "/maintenance-windows/{window_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a maintenance window",
)
def delete_window(window_id: Id, session: SessionDep, actor: Admin) -> Response:
    maintenance.delete_window(session, actor, maintenance.get_window(session, window_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
