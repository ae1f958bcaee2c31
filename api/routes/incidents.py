"""Incidents: create, list, edit, move through the lifecycle, assign, notes, links, merge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import Field

from api.deps import SessionDep, SettingsDep, require
from api.pagination import Page, paginate
from itsm_core.actor import Actor
from itsm_core.cmdb.impact import DEFAULT_DEPTH, MAX_DEPTH
from itsm_core.fields import MAX_DB_ID
from itsm_core.incidents import hierarchy, lifecycle, merge, service, timeline
from itsm_core.incidents.choices import TimelineKind
from itsm_core.incidents.impact import incident_impact
from itsm_core.incidents.models import Incident, TimelineEntry
from itsm_core.incidents.priority import PriorityMatrix
from itsm_core.incidents.queries import incident_query
from itsm_core.incidents.schemas import (
    AssignRequest,
    ChildLink,
    IncidentCreate,
    IncidentImpactOut,
    IncidentOut,
    IncidentPatch,
    IncidentQuery,
    MergeRequest,
    NoteCreate,
    TimelineEntryOut,
    TransitionRequest,
)
from itsm_core.people.roles import Permission

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
Reader = Annotated[Actor, Depends(require(Permission.INCIDENT_READ))]
Writer = Annotated[Actor, Depends(require(Permission.INCIDENT_WRITE))]
Id = Annotated[int, Path(ge=1, le=MAX_DB_ID)]


class IncidentListQuery(IncidentQuery):
    """The list filters plus the page position."""

    cursor: str | None = Field(default=None, max_length=200, description="From `next_cursor`.")
    limit: int = Field(default=50, ge=1, le=200, description="Rows per page.")


def _matrix(settings: SettingsDep) -> PriorityMatrix:
    return PriorityMatrix.from_settings(settings.incidents)


Matrix = Annotated[PriorityMatrix, Depends(_matrix)]
Kinds = Annotated[list[TimelineKind], Query(max_length=10, description="Only these kinds.")]
CursorQ = Annotated[str | None, Query(max_length=200, description="From `next_cursor`.")]
LimitQ = Annotated[int, Query(ge=1, le=200, description="Rows per page.")]


@router.get("/priority-matrix", summary="The impact x urgency -> priority matrix in force")
def priority_matrix(_: Reader, matrix: Matrix) -> dict[str, dict[str, str]]:
    return matrix.as_table()


@router.post("", status_code=status.HTTP_201_CREATED, summary="Record an incident")
def create_incident(
    body: IncidentCreate, session: SessionDep, actor: Writer, matrix: Matrix
) -> IncidentOut:
    return IncidentOut.of(service.create_incident(session, actor, body, matrix=matrix))


@router.get("", summary="List incidents, newest first")
def list_incidents(
    session: SessionDep, _: Reader, query: Annotated[IncidentListQuery, Query()]
) -> Page[IncidentOut]:
    rows, next_cursor = paginate(
        session, incident_query(query), Incident.id, query.cursor, query.limit
    )
    return Page(items=[IncidentOut.of(i) for i in rows], next_cursor=next_cursor)


@router.get("/{incident_id}", summary="One incident")
def get_incident(incident_id: Id, session: SessionDep, _: Reader) -> IncidentOut:
    return IncidentOut.of(service.get_incident(session, incident_id))


@router.get("/{incident_id}/impact", summary="Business services and CIs this incident takes down")
def get_impact(
    incident_id: Id,
    session: SessionDep,
    _: Reader,
    depth: Annotated[int, Query(ge=0, le=MAX_DEPTH, description="Edges to follow.")] = (
        DEFAULT_DEPTH
    ),
) -> IncidentImpactOut:
    incident = service.get_incident(session, incident_id)
    return IncidentImpactOut.of(incident, incident_impact(session, incident, depth))


@router.patch("/{incident_id}", summary="Edit an incident")
def update_incident(
    incident_id: Id, body: IncidentPatch, session: SessionDep, actor: Writer, matrix: Matrix
) -> IncidentOut:
    incident = service.get_incident(session, incident_id, for_update=True)
    return IncidentOut.of(service.update_incident(session, actor, incident, body, matrix=matrix))


@router.post("/{incident_id}/transitions", summary="Move an incident through its lifecycle")
def transition(
    incident_id: Id, body: TransitionRequest, session: SessionDep, actor: Writer
) -> IncidentOut:
    incident = service.get_incident(session, incident_id, for_update=True)
    lifecycle.transition(
        session,
        actor,
        incident,
        body.to,
        reason=body.reason,
        resolution_code=body.resolution_code,
        resolution_notes=body.resolution_notes,
        pending_category=body.pending_category,
    )
    return IncidentOut.of(incident)


@router.post("/{incident_id}/assign", summary="Assign to a group and/or a person")
def assign(incident_id: Id, body: AssignRequest, session: SessionDep, actor: Writer) -> IncidentOut:
    incident = service.get_incident(session, incident_id, for_update=True)
    service.assign(session, actor, incident, group_id=body.group_id, assignee_id=body.assignee_id)
    return IncidentOut.of(incident)


@router.post("/{incident_id}/accept", summary="Take the incident: assignee = me, in progress")
def accept(incident_id: Id, session: SessionDep, actor: Writer) -> IncidentOut:
    incident = service.get_incident(session, incident_id, for_update=True)
    return IncidentOut.of(service.accept(session, actor, incident))


@router.post("/{incident_id}/notes", status_code=status.HTTP_201_CREATED, summary="Add a work note")
def add_note(
    incident_id: Id, body: NoteCreate, session: SessionDep, actor: Writer
) -> TimelineEntryOut:
    incident = service.get_incident(session, incident_id)
    return TimelineEntryOut.of(timeline.add_note(session, actor, incident, body.body))


@router.get("/{incident_id}/notes", summary="Work notes, newest first")
def list_notes(
    incident_id: Id, session: SessionDep, _: Reader, cursor: CursorQ = None, limit: LimitQ = 50
) -> Page[TimelineEntryOut]:
    service.get_incident(session, incident_id)
    stmt = timeline.entries_query(incident_id, [TimelineKind.WORK_NOTE])
    rows, next_cursor = paginate(session, stmt, TimelineEntry.id, cursor, limit)
    return Page(items=[TimelineEntryOut.of(e) for e in rows], next_cursor=next_cursor)


@router.get("/{incident_id}/timeline", summary="Everything that happened, newest first")
def list_timeline(
    incident_id: Id,
    session: SessionDep,
    _: Reader,
    kind: Kinds = [],  # noqa: B006 - FastAPI copies query defaults
    cursor: CursorQ = None,
    limit: LimitQ = 50,
) -> Page[TimelineEntryOut]:
    service.get_incident(session, incident_id)
    stmt = timeline.entries_query(incident_id, kind)
    rows, next_cursor = paginate(session, stmt, TimelineEntry.id, cursor, limit)
    return Page(items=[TimelineEntryOut.of(e) for e in rows], next_cursor=next_cursor)


@router.post("/{incident_id}/children", summary="Link a child incident to this major incident")
def link_child(incident_id: Id, body: ChildLink, session: SessionDep, actor: Writer) -> IncidentOut:
    parent = service.get_incident(session, incident_id, for_update=True)
    child = service.get_incident(session, body.child_id, for_update=True, field="child_id")
    return IncidentOut.of(hierarchy.link_child(session, actor, parent, child))


@router.delete("/{incident_id}/children/{child_id}", summary="Unlink a child incident")
def unlink_child(incident_id: Id, child_id: Id, session: SessionDep, actor: Writer) -> IncidentOut:
    parent = service.get_incident(session, incident_id, for_update=True)
    child = service.get_incident(session, child_id, for_update=True, field="child_id")
    return IncidentOut.of(hierarchy.unlink_child(session, actor, parent, child))


@router.post("/{incident_id}/merge", summary="Merge this duplicate into another incident")
def merge_into(
    incident_id: Id, body: MergeRequest, session: SessionDep, actor: Writer
) -> IncidentOut:
    target = merge.merge_by_id(session, actor, incident_id, body.into_id)
    return IncidentOut.of(target)
